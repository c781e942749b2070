#!/bin/sh
# Runs inside a container started with --cpus 0.5: spins for 4 seconds of wall time,
# then prints the CPU time the cgroup was given and how often it was throttled.

timeout 4 sh -c 'while :; do :; done'
while read -r key value; do
    case "$key" in
        usage_usec) usage=$value ;;
        nr_throttled) throttled=$value ;;
    esac
done < /sys/fs/cgroup/cpu.stat
echo "usage_usec=$usage"
echo "nr_throttled=$throttled"
