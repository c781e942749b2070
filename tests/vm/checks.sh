#!/bin/sh
# The checks of `cargo xtask vm-test`, run by the VM's init on a pure cgroup2 kernel.
#
# Each check prints `VMTEST PASS name` or `VMTEST FAIL name: detail`, and asserts what
# the kernel shows (cgroup files seen from inside and outside, exit codes, the kernel
# log), not only what ch02 prints. The scripts under /rootfs/vmtest (tests/vm/container)
# run inside the containers and print key=value lines.

CG=/sys/fs/cgroup
ROOTFS=/rootfs
# A container run takes a few seconds under emulation; a hung one is stopped after this
# many, so that the checks after it still run within the host's timeout for the VM.
RUN_TIMEOUT=20

# pass NAME [MEASURED]
pass() { echo "VMTEST PASS $1${2:+: $2}"; }
fail() { echo "VMTEST FAIL $1: $2"; }

# expect NAME WANTED ACTUAL
expect() {
    if [ "$3" = "$2" ]; then pass "$1"; else fail "$1" "want '$2', got '$3'"; fi
}

# expect_within NAME LOW HIGH ACTUAL: LOW <= ACTUAL <= HIGH, as integers.
expect_within() {
    case "$4" in
        '' | *[!0-9]*) fail "$1" "want a number in $2..$3, got '$4'"; return ;;
    esac
    if [ "$4" -ge "$2" ] && [ "$4" -le "$3" ]; then pass "$1" "$4"; else fail "$1" "want $2..$3, got $4"; fi
}

# expect_contains NAME TEXT ACTUAL
expect_contains() {
    case "$3" in
        *"$2"*) pass "$1" ;;
        *) fail "$1" "want '$2' in '$3'" ;;
    esac
}

# value KEY: the value of `KEY=value` in the last container's output.
value() {
    echo "$OUT" | sed -n "s/^$1=//p" | head -n 1
}

# run_container NAME ARGS...: `ch02 run --rootfs /rootfs ARGS...` with a time limit;
# sets OUT, ERR (first bytes of stderr, one line) and STATUS, then checks that the
# container's cgroup is gone.
run_container() {
    name=$1
    shift
    OUT=$(timeout "$RUN_TIMEOUT" ch02 run --rootfs "$ROOTFS" "$@" 2>/tmp/vmtest.err)
    STATUS=$?
    ERR=$(head -c 300 /tmp/vmtest.err | tr '\n' ' ')
    check_cgroup_removed "$name"
}

# expect_status NAME WANTED: the last container's exit status, with its stderr on failure.
expect_status() {
    if [ "$STATUS" = "$2" ]; then
        pass "$1"
    else
        fail "$1" "want exit $2, got $STATUS; stderr: $ERR"
    fi
}

# 6. Nothing of a container is left under the berth parent once ch02 returns. Leftovers
#    are killed and removed so that they do not spoil the checks after this one.
check_cgroup_removed() {
    left=$(find "$CG/berth" -mindepth 1 -type d 2>/dev/null)
    if [ -z "$left" ]; then
        pass "cgroup_removed_after_$1"
        return
    fi
    fail "cgroup_removed_after_$1" "left behind: $(echo $left)"
    for dir in $(echo "$left" | sort -r); do
        echo 1 > "$dir/cgroup.kill" 2>/dev/null
        rmdir "$dir" 2>/dev/null
    done
}

# 1. The kernel runs cgroup2 only: the mount is cgroup2 (magic 0x63677270), no v1
#    hierarchy is mounted, and this process sits in the single v2 hierarchy.
check_cgroup2_only() {
    magic=$(stat -f -c %t "$CG")
    type=$(awk '$2 == "/sys/fs/cgroup" { print $3 }' /proc/mounts)
    v1=$(awk '$3 == "cgroup"' /proc/mounts | wc -l)
    self=$(cat /proc/self/cgroup)
    expect cgroup2_only "63677270 cgroup2 v1=0 0::/" "$magic $type v1=$v1 $self"
}

check_controllers_enabled() {
    enabled=$(cat "$CG/cgroup.subtree_control")
    for controller in cpu cpuset memory pids; do
        case " $enabled " in
            *" $controller "*) ;;
            *) fail controllers_enabled "$controller missing from '$enabled'"; return ;;
        esac
    done
    pass controllers_enabled
}

check_ch02_help() {
    out=$(ch02 --help 2>&1)
    status=$?
    case "$out" in
        *run*) expect ch02_help 0 "$status" ;;
        *) fail ch02_help "exit $status, no 'run' in: $(echo "$out" | head -n 3)" ;;
    esac
}

# 2. The limits as the container sees them, through its own cgroup namespace, and the
#    cgroup tree mounted read-only.
check_limits_inside() {
    run_container limits --memory 64m --pids-limit 20 --cpus 0.5 sh /vmtest/limits.sh
    expect_status limits_run 0
    expect cgroupns_private "0::/" "$(value cgroup)"
    expect memory_max 67108864 "$(value memory.max)"
    expect pids_max 20 "$(value pids.max)"
    expect cpu_max "50000 100000" "$(value cpu.max)"
    expect cgroup_mount_is_cgroup2 63677270 "$(value fstype)"
    expect cgroup_mount_readonly ro "$(value mount)"
    expect_contains cgroup_mkdir_refused "Read-only file system" "$(value mkdir)"
}

# 2'. The same limits seen from the VM's side: find the container's init by its cgroup
#     (under /berth/) while it sleeps, and read the files of that cgroup.
check_limits_outside() {
    timeout "$RUN_TIMEOUT" ch02 run --rootfs "$ROOTFS" --memory 64m --pids-limit 20 --cpus 0.5 sleep 3 \
        >/dev/null 2>/tmp/vmtest.err &
    runner=$!
    path=
    tries=0
    while [ -z "$path" ] && [ "$tries" -lt 50 ]; do
        for file in /proc/[0-9]*/cgroup; do
            read -r line < "$file" 2>/dev/null || continue
            case "$line" in
                0::/berth/*) path=${line#0::} ;;
            esac
        done
        [ -z "$path" ] || break
        kill -0 "$runner" 2>/dev/null || break
        sleep 0.1
        tries=$((tries + 1))
    done
    if [ -z "$path" ]; then
        fail limits_seen_from_outside "no process in a cgroup under /berth while ch02 ran"
    else
        seen="$(cat "$CG$path/memory.max") $(cat "$CG$path/pids.max") $(cat "$CG$path/cpu.max")"
        expect limits_seen_from_outside "67108864 20 50000 100000" "$seen"
    fi
    wait "$runner"
    STATUS=$?
    ERR=$(head -c 300 /tmp/vmtest.err | tr '\n' ' ')
    expect_status limits_outside_run 0
    check_cgroup_removed limits_outside
}

# 3. A process allocating past --memory is killed by the kernel's OOM killer inside the
#    container's cgroup: exit 137, an oom-kill record naming a cgroup under /berth, and
#    ch02 saying so.
check_oom() {
    before=$(dmesg | grep -c 'oom_memcg=/berth/')
    run_container oom --memory 16m sh -c 'head -c 64m /dev/zero | tail'
    after=$(dmesg | grep -c 'oom_memcg=/berth/')
    expect_status oom_exit_137 137
    expect oom_killed_in_container_cgroup 1 "$((after > before))"
    case "$ERR" in
        *OOM* | *oom* | *"out of memory"* | *"Out of memory"*) pass oom_reported ;;
        *) fail oom_reported "stderr does not mention the OOM killer: $ERR" ;;
    esac
}

# 4. A fork bomb stops at --pids-limit, and the container's init survives it.
check_pids() {
    run_container pids --pids-limit 20 sh /vmtest/pids.sh
    expect_status pids_container_survives 0
    expect pids_bomb_finished yes "$(value survived)"
    # 20 pids: the container's sh and the bomb's subshell leave 18 for sleepers.
    expect_within pids_forks_stopped_by_limit 10 19 "$(value forks)"
    expect_within pids_current_at_most_limit 1 20 "$(value current)"
    expect_within pids_limit_hit_recorded 1 1000000 "$(value events)"
}

# 5. The devices program: mknod works, opening a disk or the serial console does not
#    (EPERM), /dev/null and /dev/zero do. Outside any container the same nodes give
#    "No such device" and open fine: the EPERM comes from the container's program.
check_devices() {
    rm -f /tmp/vm-disk /tmp/vm-serial
    mknod /tmp/vm-disk b 8 0
    mknod /tmp/vm-serial c 4 64
    expect_contains devices_outside_disk_absent "No such device or address" \
        "$(head -c 0 /tmp/vm-disk 2>&1)"
    expect devices_outside_serial_opens opened "$(head -c 0 /tmp/vm-serial 2>&1 && echo opened)"
    rm -f /tmp/vm-disk /tmp/vm-serial

    run_container devices sh /vmtest/devices.sh
    expect_status devices_run 0
    expect devices_mknod_allowed ok "$(value mknod)"
    expect_contains devices_disk_open_denied "Operation not permitted" "$(value disk)"
    expect_contains devices_serial_open_denied "Operation not permitted" "$(value serial)"
    expect devices_null_usable ok "$(value null)"
    expect devices_zero_usable 4 "$(value zero)"
}

# --cpus 0.5 holds a busy loop near half a core: over 4 s of wall time the cgroup gets
# about 2 s of CPU, and the scheduler records throttling.
check_cpu() {
    run_container cpu --cpus 0.5 sh /vmtest/cpu.sh
    expect_status cpu_run 0
    usage=$(value usage_usec)
    case "$usage" in
        '' | *[!0-9]*) percent=none ;;
        *) percent=$((usage / 40000)) ;;
    esac
    expect_within cpu_percent_near_50 30 70 "$percent"
    expect_within cpu_throttled 1 1000000 "$(value nr_throttled)"
}

# Nothing else is left behind on the VM's side: no mount of a container, no runtime state.
check_nothing_left() {
    mounts=$(grep -c -e " $ROOTFS" -e ' /run/berth' -e ' /var/lib/berth/' /proc/self/mountinfo)
    expect no_mounts_left 0 "$mounts"
    # Top-level directories (bundles/, runtime/) are berth's layout; anything deeper or any
    # file belongs to a container.
    left=$( (find /run/berth -mindepth 1 ! -type d; find /run/berth -mindepth 2) 2>/dev/null | sort -u)
    expect runtime_dir_empty "" "$(echo "$left" | head -n 5 | tr '\n' ' ' | sed 's/ $//')"
}

check_cgroup2_only
check_controllers_enabled
check_ch02_help
check_limits_inside
check_limits_outside
check_oom
check_pids
check_devices
check_cpu
check_nothing_left

# Reaching this line means every check ran; a syntax error above exits non-zero.
exit 0
