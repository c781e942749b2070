#!/bin/sh
# Runs inside a container started with --pids-limit 20: a bounded fork bomb in a
# subshell, which dies when fork fails; then, with builtins only (no fork is possible
# while the sleepers hold every pid), prints how far it got and what the cgroup counted.

echo 0 > /tmp/forks
(
    i=0
    while [ "$i" -lt 60 ]; do
        sleep 60 &
        i=$((i + 1))
        echo "$i" > /tmp/forks
    done
) 2>/dev/null
read -r forks < /tmp/forks
read -r current < /sys/fs/cgroup/pids.current
while read -r key value; do
    [ "$key" = max ] && events=$value
done < /sys/fs/cgroup/pids.events
echo "forks=$forks"
echo "current=$current"
echo "events=$events"
echo "survived=yes"
