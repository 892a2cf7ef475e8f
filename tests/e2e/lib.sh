# shellcheck shell=bash
# The harness of the end-to-end suite: assertions, and a real systemd as
# PID 1 of a throwaway systemd-nspawn container that boots the machine's own
# root through a volatile overlay (recipe: notes/real-systemd.md).
#
# Sourced by tests/e2e/run. Needs root, systemd-nspawn (systemd-container),
# nsenter, findmnt and pgrep. Every blocking call is bounded by a timeout, and
# teardown (halt, cgroups, leftovers check) runs on exit, failure and signals.

E2E_PASSED=0
E2E_FAILED=0
E2E_T0=$(date +%s%N)

# ---------------------------------------------------------------- output

# secs_since NANOSECONDS : seconds elapsed since that time, e.g. 0.31
secs_since() {
    local ms=$((($(date +%s%N) - $1) / 1000000))
    printf '%d.%02d' $((ms / 1000)) $((ms % 1000 / 10))
}

# Seconds since the suite started, for the log.
e2e_elapsed() { secs_since "$E2E_T0"; }

log() { printf '[%6ss] %s\n' "$(e2e_elapsed)" "$*"; }

# Prints a multi-line value indented under a PASS/FAIL line, shortened.
show_value() {
    local label=$1 value=$2 lines
    lines=$(printf '%s' "$value" | head -c 2000 | sed -n '1,25p')
    if [ -z "$value" ]; then
        printf '     %-9s (empty)\n' "$label:"
    elif [ "$(printf '%s\n' "$value" | wc -l)" -le 1 ]; then
        printf '     %-9s %s\n' "$label:" "$(printf '%s' "$lines" | cut -c1-300)"
    else
        printf '     %s\n' "$label:"
        printf '%s\n' "$lines" | sed 's/^/       | /'
        [ "$(printf '%s\n' "$value" | wc -l)" -gt 25 ] && printf '       | …\n'
    fi
    return 0
}

pass() {
    E2E_PASSED=$((E2E_PASSED + 1))
    printf 'PASS %s\n' "$1"
}

# fail DESCRIPTION [EXPECTED SEEN]
fail() {
    E2E_FAILED=$((E2E_FAILED + 1))
    printf 'FAIL %s\n' "$1"
    if [ $# -ge 3 ]; then
        show_value expected "$2"
        show_value seen "$3"
    fi
    return 0
}

# expect_eq DESCRIPTION EXPECTED SEEN
expect_eq() {
    if [ "$2" = "$3" ]; then pass "$1"; else fail "$1" "$2" "$3"; fi
}

# expect_match DESCRIPTION EXTENDED-REGEX SEEN (any line of SEEN may match)
expect_match() {
    # A here-string, not a pipe: under pipefail, grep -q leaving early
    # could fail the pipeline through the writer's SIGPIPE.
    if grep -Eq -- "$2" <<<"$3"; then pass "$1"; else fail "$1" "a line matching /$2/" "$3"; fi
}

# expect_no_match DESCRIPTION EXTENDED-REGEX SEEN
expect_no_match() {
    local hits
    hits=$(printf '%s\n' "$3" | grep -E -- "$2")
    if [ -z "$hits" ]; then pass "$1"; else fail "$1" "no line matching /$2/" "$hits"; fi
}

# wait_for SECONDS COMMAND… : polls every 0.2 s until COMMAND succeeds.
# Returns 1 on timeout; the caller turns that into PASS/FAIL.
wait_for() {
    local deadline
    deadline=$(($(date +%s%N) + ${1%.*} * 1000000000))
    shift
    until "$@"; do
        [ "$(date +%s%N)" -lt "$deadline" ] || return 1
        sleep 0.2
    done
}

# ---------------------------------------------------------------- prerequisites

# Checks that the machine can run the suite; explains what is missing.
e2e_prerequisites() {
    local missing=() tool
    if [ "$(id -u)" != 0 ]; then
        echo "e2e: must run as root (it boots a systemd-nspawn container)" >&2
        return 1
    fi
    for tool in systemd-nspawn:systemd-container nsenter:util-linux unshare:util-linux \
        findmnt:util-linux flock:util-linux pgrep:procps logrotate:logrotate python3:python3 timeout:coreutils; do
        command -v "${tool%%:*}" >/dev/null || missing+=("${tool%%:*} (Debian package ${tool#*:})")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        printf 'e2e: missing: %s\n' "${missing[@]}" >&2
        echo "e2e: install them, e.g. apt-get install systemd-container logrotate (.ci/run does)" >&2
        return 1
    fi
    if [ ! -d /sys/fs/cgroup/systemd ] && [ ! -f /sys/fs/cgroup/cgroup.controllers ]; then
        echo "e2e: no cgroup hierarchy at /sys/fs/cgroup: systemd-nspawn cannot run here" >&2
        return 1
    fi
}

# ---------------------------------------------------------------- the container

CT_MACHINE=ssie2e$$
CT_WORK=/tmp/ssi-e2e
CT_RUN=$CT_WORK/run.$CT_MACHINE
CT_ROOT=$CT_WORK/root.$CT_MACHINE
CT_NSPAWN= # pid of the current systemd-nspawn (a new one after a reboot)
CT_PID1=   # pid (host view) of the container's systemd
CT_CGROUP_DIRS=()
CT_BOOT_SECONDS=
CT_HALT_SECONDS=

# Units of the host that the container would start and that are heavy, or
# would touch files our scenario watches (logrotate.timer): masked.
CT_MASK=(postgresql.service logrotate.timer apt-daily.timer apt-daily-upgrade.timer
    man-db.timer e2scrub_all.timer fstrim.timer dpkg-db-backup.timer
    prometheus.service prometheus-alertmanager.service prometheus-node-exporter.service
    prometheus-node-exporter-apt.timer prometheus-node-exporter-ipmitool-sensor.timer
    prometheus-node-exporter-mellanox-hca-temp.timer prometheus-node-exporter-nvme.timer
    prometheus-node-exporter-smartmon.timer)

# The cgroup hierarchies nspawn needs our own directory in: the named
# systemd one and the unified one on a hybrid (v1) host, the root on v2.
ct_cgroup_roots() {
    if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
        echo /sys/fs/cgroup
    else
        echo /sys/fs/cgroup/systemd
        [ -d /sys/fs/cgroup/unified ] && echo /sys/fs/cgroup/unified
    fi
    return 0
}

# One container at a time on this machine: a second run waits for the first
# (bounded), instead of doubling the load or racing on /tmp/ssi-e2e.
ct_lock() {
    mkdir -p "$CT_WORK"
    # fd 9; every long-lived child closes it (9>&-), or a run killed outright
    # would leave the lock held by its orphans.
    exec 9>"$CT_WORK/lock"
    local waited=0
    # Short waits: a signal is handled between them, not after the whole wait.
    until flock -w 1 9; do
        [ $waited -eq 0 ] && log "another e2e run holds $CT_WORK/lock; waiting up to ${1}s"
        waited=$((waited + 1))
        [ $waited -lt "$1" ] || return 1
    done
}

# Containers of earlier runs that were killed outright (SIGKILL gives no
# chance to tear down): their cgroup is named after a pid that is gone.
# Halts them and removes their cgroups; names what it reaped.
ct_reap_orphans() {
    local root d name owner pids p
    for root in $(ct_cgroup_roots); do
        for d in "$root"/ssie2e[0-9]*; do
            [ -d "$d" ] || continue
            name=${d##*/}
            owner=${name#ssie2e}
            [ "$owner" = $$ ] && continue
            kill -0 "$owner" 2>/dev/null && continue
            pids=$(find "$d" -name cgroup.procs -exec cat {} + 2>/dev/null | sort -un | tr '\n' ' ')
            log "reaping the container of a dead run ($d, pids: ${pids:-none})"
            [ -d "$CT_WORK/run.$name" ] && touch "$CT_WORK/run.$name/stop"
            # SIGTERM to nspawn halts its container cleanly (to the
            # container's systemd it would mean "re-execute").
            for p in $pids; do
                [ "$(cat "/proc/$p/comm" 2>/dev/null)" = systemd-nspawn ] && kill -TERM "$p"
            done
            for _ in $(seq 50); do
                [ -z "$(find "$d" -name cgroup.procs -exec cat {} + 2>/dev/null)" ] && break
                sleep 0.2
            done
            pids=$(find "$d" -name cgroup.procs -exec cat {} + 2>/dev/null | tr '\n' ' ')
            # shellcheck disable=SC2086
            [ -n "$pids" ] && kill -KILL $pids 2>/dev/null && sleep 0.5
            find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
            rmdir "$CT_WORK/root.$name" 2>/dev/null
            rm -rf -- "$CT_WORK/run.$name"
        done
    done
    return 0
}

# Runs in a private mount namespace, as the container's launcher: a tmpfs
# on /run (nspawn's scratch mounts and ours vanish with the namespace), a
# non-recursive bind of / (a recursive one drags the host's /dev along), and
# our own overlay over it with the upper layer on that tmpfs. The overlay
# outlives each nspawn run, so the container can reboot (nspawn exits 133)
# and come back with its state, while the host's files stay untouched.
# Arguments: RUN-DIR ROOT-DIR NSPAWN [OPTIONS…] (without -D).
# shellcheck disable=SC2016
CT_LAUNCHER_SCRIPT='
run=$1 root=$2 nspawn=$3
shift 3
ov=/run/ssi-e2e-overlay
mount -t tmpfs -o mode=0755 tmpfs /run &&
    mount --bind / "$root" &&
    mkdir -p "$ov/upper" "$ov/work" "$ov/merged" &&
    mount -t overlay overlay -o "lowerdir=$root,upperdir=$ov/upper,workdir=$ov/work" "$ov/merged" || exit 1
while :; do
    "$nspawn" -D "$ov/merged" "$@"
    rc=$?
    if [ "$rc" != 133 ] || [ -e "$run/stop" ]; then
        exit "$rc"
    fi
    echo "ct-launcher: the container rebooted; starting it again"
done'

CT_LAUNCHER= # pid of the launcher (the private mount namespace's bash)
# shellcheck disable=SC2034 # read by the suite (run)
CT_STARTED=0 # a boot was attempted: $CT_WORK/last has its console log
CT_BOOTS=0

# The current nspawn (a new one after each reboot), or nothing.
ct_nspawn_pid() { pgrep -P "$CT_LAUNCHER" -x systemd-nspawn; }

# Sets CT_NSPAWN and CT_PID1 once the container's systemd has its private
# socket (and is not OLD-PID1, when given).
ct_find_pid1() {
    local old=${1:-}
    CT_NSPAWN=$(ct_nspawn_pid) || return 1
    CT_PID1=$(pgrep -P "$CT_NSPAWN" -x systemd) || return 1
    [ "$CT_PID1" != "$old" ] && [ -S "/proc/$CT_PID1/root/run/systemd/private" ]
}

# ct_wait_running WHAT T0 : waits for is-system-running, PASS/FAIL, sets
# CT_BOOT_SECONDS on the first boot.
ct_wait_running() {
    local state secs
    state=$(ct_exec_t 30 systemctl is-system-running --wait)
    secs=$(secs_since "$2")
    [ -n "$CT_BOOT_SECONDS" ] || CT_BOOT_SECONDS=$secs
    case $state in
    running)
        pass "container: $1 to 'running' in $secs s (systemd PID 1 = host pid $CT_PID1)"
        ;;
    degraded)
        pass "container: $1 to 'degraded' in $secs s (failed units below)"
        show_value "failed" "$(ct_exec systemctl --failed --plain --no-legend)"
        ;;
    *)
        fail "container: $1: systemctl is-system-running --wait" "running or degraded" "${state:-(nothing within 30 s)}"
        show_value "jobs" "$(ct_exec systemctl list-jobs --plain --no-legend)"
        return 1
        ;;
    esac
}

# Boots the container; sets CT_LAUNCHER, CT_NSPAWN and CT_PID1. Returns
# non-zero (with a FAIL line) when it does not reach "running" or "degraded"
# in time.
ct_boot() {
    local t0 masks=() u root
    t0=$(date +%s%N)
    # shellcheck disable=SC2034
    CT_STARTED=1
    mkdir -p "$CT_RUN" "$CT_ROOT"
    for root in $(ct_cgroup_roots); do
        mkdir "$root/$CT_MACHINE" && CT_CGROUP_DIRS+=("$root/$CT_MACHINE")
    done
    for u in "${CT_MASK[@]}"; do masks+=("systemd.mask=$u"); done
    # setsid: Ctrl-C on the terminal must reach us, not nspawn, so that the
    # teardown halts the container cleanly. Own cgroup dirs: nspawn leaves
    # nothing at the machine's cgroup roots.
    # shellcheck disable=SC2016
    setsid bash -c '
        run=$1; shift
        echo $$ > "$run/pid"
        while [ "$1" != -- ]; do echo $$ > "$1/cgroup.procs"; shift; done; shift
        exec unshare --mount --propagation private bash -c "$0" ct-launcher "$run" "$@"
    ' "$CT_LAUNCHER_SCRIPT" "$CT_RUN" "${CT_CGROUP_DIRS[@]}" -- "$CT_ROOT" \
        systemd-nspawn --boot --machine="$CT_MACHINE" \
        --register=no --keep-unit --private-network --console=read-only \
        --link-journal=no --resolv-conf=off --timezone=off \
        systemd.unit=multi-user.target "${masks[@]}" \
        >"$CT_RUN/console.log" 2>&1 </dev/null 9>&- &
    # setsid need not fork (we are no group leader) and the rest execs: this
    # is the launcher's pid. Known at once, so an interrupt right now still
    # tears it down.
    CT_LAUNCHER=$!

    if ! wait_for 10 test -s "$CT_RUN/pid"; then
        fail "container: the launcher started" "a pid in $CT_RUN/pid within 10 s" "$(cat "$CT_RUN/console.log")"
        return 1
    fi
    if [ "$(cat "$CT_RUN/pid")" != "$CT_LAUNCHER" ]; then
        fail "container: the launcher runs as the pid we started" "$CT_LAUNCHER" "$(cat "$CT_RUN/pid")"
        return 1
    fi
    if ! wait_for 20 ct_find_pid1; then
        fail "container: systemd is PID 1 with its private socket" \
            "a systemd child of nspawn within 20 s" "$(tail -n 30 "$CT_RUN/console.log")"
        return 1
    fi
    CT_BOOTS=1
    ct_wait_running "booted" "$t0"
}

# Reboots the container (systemctl reboot inside) and waits for the new
# boot; the overlay keeps everything written before.
ct_reboot() {
    local t0 old=$CT_PID1
    t0=$(date +%s%N)
    # The command may be cut off as the system goes down: its status says
    # nothing; the new PID 1 does.
    ct_exec_t 10 systemctl reboot >/dev/null 2>&1
    if ! wait_for 30 ct_find_pid1 "$old"; then
        fail "container: comes back after systemctl reboot" "a new systemd PID 1 within 30 s" \
            "$(tail -n 20 "$CT_RUN/console.log")"
        return 1
    fi
    CT_BOOTS=$((CT_BOOTS + 1))
    ct_wait_running "rebooted" "$t0"
}

# A clean, known environment for commands inside the container.
CT_ENV=(env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
    HOME=/root LANG=C.UTF-8 TERM=dumb SYSTEMD_PAGER= SYSTEMD_COLORS=0 NO_COLOR=1)

# ct_exec_t SECONDS COMMAND… : runs COMMAND in all the container's namespaces,
# bounded in time. Its exit status is COMMAND's (124 on timeout).
ct_exec_t() {
    local t=$1
    shift
    timeout -k 2 "$t" nsenter -t "$CT_PID1" -a "${CT_ENV[@]}" "$@"
}

# ct_exec COMMAND… : as ct_exec_t with 30 s.
ct_exec() { ct_exec_t 30 "$@"; }

# ct_sh SCRIPT : a bash script inside the container, 30 s.
ct_sh() { ct_exec_t 30 bash -c "$1"; }

# ct_net_t SECONDS COMMAND… : a host program in the container's network
# namespace only (it sees the container's 127.0.0.1, the host's files).
ct_net_t() {
    local t=$1
    shift
    timeout -k 2 "$t" nsenter -t "$CT_PID1" -n "$@"
}

# ct_path PATH : the host path of a file inside the container.
ct_path() { printf '/proc/%s/root%s' "$CT_PID1" "$1"; }

# Every pid (host view) in our cgroup directories.
ct_cgroup_pids() {
    local d
    for d in "${CT_CGROUP_DIRS[@]}"; do
        [ -d "$d" ] && find "$d" -name cgroup.procs -exec cat {} + 2>/dev/null
    done | sort -un
    return 0
}

ct_launcher_gone() { ! kill -0 "$CT_LAUNCHER" 2>/dev/null; }
ct_cgroups_empty() { [ -z "$(ct_cgroup_pids)" ]; }

# Halts the container (SIGTERM to nspawn = clean poweroff), kills what is
# left in our cgroups only if the halt timed out, removes the cgroup dirs and
# checks that nothing is left behind. Idempotent.
ct_teardown() {
    local t0 pids leftovers mounts d nspawn
    [ -n "$CT_LAUNCHER" ] || [ ${#CT_CGROUP_DIRS[@]} -gt 0 ] || return 0
    t0=$(date +%s%N)
    if [ -n "$CT_LAUNCHER" ] && kill -0 "$CT_LAUNCHER" 2>/dev/null; then
        # No restart after this halt, even if it races with a reboot.
        touch "$CT_RUN/stop"
        # Again every 2 s: nspawn passes SIGTERM on as SIGRTMIN+3 to the
        # container's systemd, which ignores it while it is still starting up
        # (a halt right after a boot or reboot).
        for _ in 1 2 3 4 5 6 7 8 9 10; do
            nspawn=$(ct_nspawn_pid)
            [ -n "$nspawn" ] && kill -TERM "$nspawn"
            wait_for 2 ct_launcher_gone && break
        done
        if ct_launcher_gone; then
            CT_HALT_SECONDS=$(secs_since "$t0")
            pass "teardown: container halted cleanly in ${CT_HALT_SECONDS} s"
        else
            fail "teardown: container halts on SIGTERM to nspawn" "launcher $CT_LAUNCHER gone within 20 s" \
                "still running; killing its cgroup"
        fi
    fi
    # Only processes in our own cgroup dirs, i.e. ones this suite started.
    # Repeated: a process may be forking while the others are killed.
    for _ in 1 2 3 4 5 6 7 8 9 10; do
        pids=$(ct_cgroup_pids)
        [ -n "$pids" ] || break
        # shellcheck disable=SC2086
        kill -KILL $pids 2>/dev/null
        wait_for 1 ct_cgroups_empty && break
    done
    wait "$CT_LAUNCHER" 2>/dev/null
    for d in "${CT_CGROUP_DIRS[@]}"; do
        [ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
    done
    leftovers=$(for d in "${CT_CGROUP_DIRS[@]}"; do [ -d "$d" ] && echo "$d"; done
        find /sys/fs/cgroup -maxdepth 2 -type d -name "$CT_MACHINE" 2>/dev/null)
    expect_eq "teardown: no cgroup dir of the container left" "" "$(printf '%s\n' "$leftovers" | sort -u | sed '/^$/d')"
    # Processes: anything still in a cgroup named after the machine, or
    # nspawn itself.
    leftovers=$(grep -lE "/$CT_MACHINE(/|\$)" /proc/[0-9]*/cgroup 2>/dev/null | cut -d/ -f3 | sort -un
        pgrep -f "machine=$CT_MACHINE( |\$)" 2>/dev/null)
    expect_eq "teardown: no process of the container left" "" "$leftovers"
    mounts=$(findmnt -rn -o TARGET | grep -F -e "$CT_ROOT" -e "$CT_RUN")
    expect_eq "teardown: no mount of the container left (findmnt)" "" "$mounts"
    # What a failed run needs for a post-mortem (console, client output,
    # file lists) stays in $CT_WORK/last until the next run.
    rm -f "$CT_RUN/pid"
    if [ -z "$mounts" ]; then
        rm -rf -- "$CT_WORK/last"
        mv -- "$CT_RUN" "$CT_WORK/last"
        rmdir -- "$CT_ROOT" 2>/dev/null
    fi
    CT_LAUNCHER=
    CT_NSPAWN=
    CT_CGROUP_DIRS=()
}
