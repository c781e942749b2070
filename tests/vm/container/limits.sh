#!/bin/sh
# Runs inside a container started with --memory 64m --pids-limit 20 --cpus 0.5:
# prints what the container sees of its own cgroup, one key=value a line.

echo "cgroup=$(cat /proc/self/cgroup)"
echo "memory.max=$(cat /sys/fs/cgroup/memory.max)"
echo "pids.max=$(cat /sys/fs/cgroup/pids.max)"
echo "cpu.max=$(cat /sys/fs/cgroup/cpu.max)"
echo "fstype=$(stat -f -c %t /sys/fs/cgroup)"
while read -r device target type options rest; do
    [ "$target" = /sys/fs/cgroup ] && echo "mount=${options%%,*}"
done < /proc/mounts
# A writable cgroup tree would let the container make itself a sibling cgroup without limits.
if mkdir /sys/fs/cgroup/escape 2>/tmp/mkdir.err; then
    rmdir /sys/fs/cgroup/escape
    echo "mkdir=allowed"
else
    echo "mkdir=$(cat /tmp/mkdir.err)"
fi
