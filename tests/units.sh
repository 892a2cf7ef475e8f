#!/usr/bin/env bash
# Tests of units/: the broadcaster's unit files pass systemd-analyze verify
# and rate "OK" or better in systemd-analyze security; the scripts watch
# (ssi-scripts@.path/.service) verifies and its ssi-apply makes the right
# systemctl calls (against a stand-in systemctl); the sysusers.d, tmpfiles.d
# and logrotate files do what their comments promise when applied to a
# scratch root directory. Prints "units: N passed, M failed".
set -u

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
units=$root/units
work=$(mktemp -d "${TMPDIR:-/tmp}/ssi-units.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT

# shellcheck source=tests/lib/tally.sh
. "$root/tests/lib/tally.sh"
# shellcheck source=tests/lib/skip.sh
. "$root/tests/lib/skip.sh"

# The unit files as "make install" writes them: @BINDIR@ replaced by the
# directory of an executable ssi-broadcaster.
mkdir -p "$work/bin" "$work/units"
printf '#!/bin/sh\n' >"$work/bin/ssi-broadcaster"
chmod 755 "$work/bin/ssi-broadcaster"
for unit in ssi-broadcaster.service ssi-broadcaster.socket ssi-broadcaster-push.service; do
    sed "s|@BINDIR@|$work/bin|g" "$units/$unit" >"$work/units/$unit"
done

name="systemd-analyze verify"
if out=$(systemd-analyze verify --man=no "$work/units/ssi-broadcaster.service" "$work/units/ssi-broadcaster.socket" \
    "$work/units/ssi-broadcaster-push.service" 2>&1) && [[ -z $out ]]; then
    pass
else
    fail "$name" "exit code or output: $out"
fi

name="no @…@ left after substitution"
if grep -n '@[A-Z]*@' "$work/units/"*; then fail "$name" "placeholders remain"; else pass; fi

# check_exposure UNIT: systemd-analyze security rates the unit (in
# $work/units) at most 2.0 ("OK" or better).
check_exposure() {
    local unit=$1 out exposure
    name="systemd-analyze security $unit"
    out=$(systemd-analyze security --offline=yes "$work/units/$unit" 2>&1)
    exposure=$(sed -nE "s/.*Overall exposure level for ${unit//./\\.}: ([0-9]+\\.[0-9]+).*/\\1/p" <<<"$out")
    if [[ -z $exposure ]]; then
        fail "$name" "no exposure level in: $(tail -n 3 <<<"$out")"
    elif awk -v e="$exposure" 'BEGIN { exit !(e <= 2.0) }'; then
        pass
        echo "units: $unit exposure $exposure"
    else
        fail "$name" "exposure $exposure, expected at most 2.0: $(grep '✗' <<<"$out")"
    fi
}

check_exposure ssi-broadcaster.service
check_exposure ssi-broadcaster-push.service

name="service runs unprivileged, notify, read-only, reloads on SIGHUP, always restarted"
problems=()
# shellcheck disable=SC2016 # $MAINPID is systemd's, written literally in the unit
for line in Type=notify User=ssi Group=ssi ProtectSystem=strict NoNewPrivileges=yes CapabilityBoundingSet= \
    'RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX' SystemCallFilter=@system-service MemoryDenyWriteExecute=yes \
    Restart=always 'ExecReload=/bin/kill -HUP $MAINPID'; do
    grep -qxF "$line" "$units/ssi-broadcaster.service" || problems+=("no \"$line\"")
done
grep -qE '^(ReadWritePaths|LogsDirectory|StateDirectory)=' "$units/ssi-broadcaster.service" && problems+=("grants write access")
if ((${#problems[@]} == 0)); then pass; else fail "$name" "${problems[*]}"; fi

name="push unit: unprivileged, hardened like the broadcaster, no port, the key as a credential, off until configured"
problems=()
push=$units/ssi-broadcaster-push.service
# shellcheck disable=SC2016 # $SSI_PUSH_OPTIONS is systemd's, written literally in the unit
for line in Type=notify User=ssi Group=ssi ProtectSystem=strict NoNewPrivileges=yes CapabilityBoundingSet= \
    'RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX' SystemCallFilter=@system-service MemoryDenyWriteExecute=yes \
    Restart=always 'ExecStart=@BINDIR@/ssi-broadcaster --no-listen $SSI_PUSH_OPTIONS' \
    'LoadCredential=push-key:/etc/service-status-indicator/push.key' \
    'EnvironmentFile=/etc/service-status-indicator/push.conf' \
    'ConditionPathExists=/etc/service-status-indicator/push.conf'; do
    grep -qxF "$line" "$push" || problems+=("no \"$line\"")
done
grep -qE '^(ReadWritePaths|LogsDirectory|StateDirectory)=' "$push" && problems+=("grants write access")
# The local-only unit is not widened for push.
grep -qx 'IPAddressDeny=any' "$units/ssi-broadcaster.service" || problems+=("ssi-broadcaster.service lost IPAddressDeny=any")
grep -q -- '--push' "$units/ssi-broadcaster.service" && problems+=("ssi-broadcaster.service pushes")
if ((${#problems[@]} == 0)); then pass; else fail "$name" "${problems[*]}"; fi

name="socket listens on 127.0.0.1:5000"
if grep -qx 'ListenStream=127.0.0.1:5000' "$units/ssi-broadcaster.socket"; then pass; else fail "$name" "no ListenStream=127.0.0.1:5000"; fi

# --- the node_exporter textfile: ssi-metrics-textfile.{service,path,timer} --
printf '#!/bin/sh\n' >"$work/bin/ssi-status"
chmod 755 "$work/bin/ssi-status"
sed "s|@BINDIR@|$work/bin|g" "$units/ssi-metrics-textfile.service" >"$work/units/ssi-metrics-textfile.service"
cp "$units/ssi-metrics-textfile.path" "$units/ssi-metrics-textfile.timer" "$work/units/"

name="systemd-analyze verify ssi-metrics-textfile.service .path .timer"
if out=$(systemd-analyze verify --man=no "$work/units/ssi-metrics-textfile."{service,path,timer} 2>&1) && [[ -z $out ]]; then
    pass
else
    fail "$name" "exit code or output: $out"
fi

check_exposure ssi-metrics-textfile.service

name="textfile: atomic writer into node_exporter's directory, on log and script changes and every 30 s"
problems=()
scripts_dir=$(sed -n 's/^SCRIPTSDIR := //p' "$root/Makefile")
log_dir=$(sed -n 's/^d \(\/var\/log\/[^ ]*\) .*/\1/p' "$units/service-status-indicator.tmpfiles")
for line in Type=oneshot StartLimitIntervalSec=0 "ExecStart=$work/bin/ssi-status list --prometheus --output /var/lib/prometheus/node-exporter/ssi.prom" \
    ReadWritePaths=-/var/lib/prometheus/node-exporter ProtectSystem=strict NoNewPrivileges=yes PrivateNetwork=yes \
    CapabilityBoundingSet=CAP_DAC_OVERRIDE; do
    grep -qxF "$line" "$work/units/ssi-metrics-textfile.service" || problems+=("service: no \"$line\"")
done
for line in "PathChanged=$log_dir" "PathChanged=$scripts_dir" Unit=ssi-metrics-textfile.service WantedBy=paths.target; do
    grep -qxF "$line" "$units/ssi-metrics-textfile.path" || problems+=("path: no \"$line\"")
done
for line in OnUnitActiveSec=30s Unit=ssi-metrics-textfile.service WantedBy=timers.target; do
    grep -qxF "$line" "$units/ssi-metrics-textfile.timer" || problems+=("timer: no \"$line\"")
done
grep -q '^METRICS_UNITS := ssi-metrics-textfile.service ssi-metrics-textfile.path ssi-metrics-textfile.timer$' "$root/Makefile" ||
    problems+=("make install/uninstall do not name the three units")
if ((${#problems[@]} == 0)); then pass; else fail "$name" "${problems[*]}"; fi

# --- the scripts watch: ssi-scripts@.path, ssi-scripts@.service, ssi-apply -
# Templates are verified as the instances make install enables.
mkdir -p "$work/libexec"
cp "$units/ssi-apply" "$work/libexec/ssi-apply"
for i in 1 2; do
    sed "s|@LIBEXECDIR@|$work/libexec|g" "$units/ssi-scripts@.service" >"$work/units/ssi-scripts@$i.service"
    cp "$units/ssi-scripts@.path" "$work/units/ssi-scripts@$i.path"
done

name="systemd-analyze verify ssi-scripts@1.path ssi-scripts@2.path and their services"
if out=$(systemd-analyze verify --man=no "$work/units/ssi-scripts@"[12].{path,service} 2>&1) && [[ -z $out ]]; then
    pass
else
    fail "$name" "exit code or output: $out"
fi

name="no @…@ left in ssi-scripts@.service after substitution"
if grep -n '@[A-Z]*@' "$work/units/ssi-scripts@1.service"; then fail "$name" "placeholders remain"; else pass; fi

# The directory the binaries read by default (Makefile SCRIPTSDIR, tmpfiles.d).
scripts_dir=$(sed -n 's/^SCRIPTSDIR := //p' "$root/Makefile")
name="path unit watches the scripts directory with PathChanged=, two instances enabled together"
problems=()
[[ -n $scripts_dir ]] || problems+=("no SCRIPTSDIR in the Makefile")
for line in "PathChanged=$scripts_dir" 'Unit=ssi-scripts@%i.service' WantedBy=paths.target \
    'Also=ssi-scripts@1.path ssi-scripts@2.path'; do
    grep -qxF "$line" "$units/ssi-scripts@.path" || problems+=("no \"$line\"")
done
grep -qE "^d $scripts_dir " "$units/service-status-indicator.tmpfiles" || problems+=("tmpfiles.d does not create $scripts_dir")
grep -qx 'WATCHES := ssi-scripts@1.path ssi-scripts@2.path' "$root/Makefile" || problems+=("make install does not enable both")
if ((${#problems[@]} == 0)); then pass; else fail "$name" "${problems[*]}"; fi

name="reload service: oneshot, root, no start limit, sandboxed"
problems=()
for line in Type=oneshot StartLimitIntervalSec=0 "ExecStart=$work/libexec/ssi-apply" ProtectSystem=strict \
    NoNewPrivileges=yes CapabilityBoundingSet= PrivateNetwork=yes RestrictAddressFamilies=AF_UNIX; do
    grep -qxF "$line" "$work/units/ssi-scripts@1.service" || problems+=("no \"$line\"")
done
grep -qE '^(User|DynamicUser)=' "$units/ssi-scripts@.service" && problems+=("must run as root to reload systemd")
if ((${#problems[@]} == 0)); then pass; else fail "$name" "${problems[*]}"; fi

check_exposure ssi-scripts@1.service

name="ssi-apply passes shellcheck"
if ! command -v shellcheck >/dev/null 2>&1; then
    fail "$name" "shellcheck is not installed (sudo make test-deps installs it)"
elif out=$(shellcheck "$units/ssi-apply" 2>&1); then
    pass
else
    fail "$name" "$out"
fi

# ssi-apply's snapshot repeats the generator's ignored names in find(1)
# terms: both must skip exactly the same names, those of the golden "skips"
# case and a few that look alike. The generator says which it skips at
# debug level ("hidden, backup or package manager file").
name="ssi-apply skips exactly the names ssi-generator ignores"
generator=${CARGO_TARGET_DIR:-$root/target}/debug/ssi-generator
names=$work/names
mkdir -p "$names/scripts" "$names/out"
while IFS= read -r n; do
    printf '#!/bin/sh\n' >"$names/scripts/$n"
done < <(find "$root/generator/tests/golden/skips/scripts" -mindepth 1 -maxdepth 1 ! -type d -printf '%P\n'
    printf '%s\n' a.dpkg-new.sh x.bak.sh '~x' tmp disabled.sh x.swp.sh '.x~' x.dpkg-tmp)
if [[ ! -x $generator ]]; then
    fail "$name" "$generator is missing (cargo build first)"
else
    # The snapshot function of ssi-apply, run on its own.
    eval "$(sed -n '/^snapshot() {/,/^}/p' "$units/ssi-apply")"
    kept=$(dir=$names/scripts snapshot | tail -n +2 | cut -d' ' -f1 | LC_ALL=C sort)
    ignored=$(SYSTEMD_LOG_LEVEL=debug SSI_SCRIPTS_DIR=$names/scripts "$generator" "$names/out" 2>&1 |
        sed -n "s|^ssi-generator: $names/scripts/\(.*\): hidden, backup or package manager file, skipped silently\.$|\1|p" |
        LC_ALL=C sort)
    all=$(find "$names/scripts" -mindepth 1 -maxdepth 1 -printf '%P\n' | LC_ALL=C sort)
    expected_kept=$(comm -23 <(echo "$all") <(echo "$ignored"))
    if [[ -n $ignored && $kept == "$expected_kept" ]]; then
        pass
    else
        fail "$name" "ssi-apply keeps: ${kept//$'\n'/ }; ssi-generator ignores: ${ignored//$'\n'/ }"
    fi
fi

# ssi-apply against a stand-in systemctl that logs its arguments and answers
# list-units from $apply/units ("name load active sub description" lines,
# a leading "●" allowed as systemctl prints it), and a stand-in id that says
# root. RELOAD_HOOK, when set, runs on each daemon-reload.
apply=$work/apply
mkdir -p "$apply/bin" "$apply/scripts" "$apply/run"
cat >"$apply/bin/systemctl" <<'STUB'
#!/bin/bash
echo "$*" >>"$APPLY/calls"
case $1 in
daemon-reload) [[ -z ${RELOAD_HOOK:-} ]] || eval "$RELOAD_HOOK" ;;
show) [[ ! -f $APPLY/show ]] || cat "$APPLY/show" ;;
start) [[ -z ${START_EXIT:-} ]] || exit "$START_EXIT" ;;
list-units)
    want=() failed_only=
    for a in "$@"; do
        case $a in
        --state=failed) failed_only=1 ;;
        'ssi_*.timer') want+=(timer) ;;
        'ssi_*.service') want+=(service) ;;
        esac
    done
    while read -r line; do
        set -- $line
        [[ $1 == ● ]] && shift
        [[ -n $failed_only && $3 != failed ]] && continue
        for w in "${want[@]}"; do [[ $1 == *."$w" ]] && echo "$line"; done
    done <"$APPLY/units"
    ;;
esac
exit "${SYSTEMCTL_EXIT:-0}"
STUB
# shellcheck disable=SC2016 # expanded by the stand-in when it runs
printf '#!/bin/sh\necho "${FAKE_UID:-0}"\n' >"$apply/bin/id"
chmod 755 "$apply/bin/systemctl" "$apply/bin/id"
printf '#!/bin/sh\necho OK\n' >"$apply/scripts/a.sh"
chmod 755 "$apply/scripts/a.sh"

# run_apply [VAR=value...]: runs ssi-apply, its output in $apply/out and the
# systemctl calls, one a line, in $apply/calls.
run_apply() {
    : >"$apply/calls"
    env PATH="$apply/bin:$PATH" APPLY="$apply" SSI_SCRIPTS_DIR="$apply/scripts" RUNTIME_DIRECTORY="$apply/run" \
        STATE_DIRECTORY="$apply/state" \
        "$@" "$units/ssi-apply" >"$apply/out" 2>&1
}

cat >"$apply/units" <<'LIST'
ssi_new.timer       loaded    inactive dead    Timer for New check
ssi_failed.timer    loaded    failed   failed  Timer for Failed check
ssi_running.timer   loaded    active   waiting Timer for Running check
● ssi_gone.timer    not-found active   waiting ssi_gone.timer
● ssi_gone.service  not-found failed   failed  ssi_gone.service
ssi_done.service    not-found inactive dead    ssi_done.service
ssi_running.service loaded    inactive dead    Check: Running
LIST
name="ssi-apply reloads, starts stopped timers, stops and resets removed units"
expected="daemon-reload
list-units --all --plain --no-legend --no-pager ssi_*.timer
start -- ssi_new.timer ssi_failed.timer
list-units --all --plain --no-legend --no-pager ssi_*.timer ssi_*.service
stop -- ssi_gone.timer ssi_gone.service
list-units --all --plain --no-legend --no-pager --state=failed ssi_*.timer ssi_*.service
reset-failed -- ssi_gone.service
list-units --all --plain --no-legend --no-pager ssi_*.service
show --property=Id --property=LoadState --property=SourcePath --property=Environment -- ssi_running.service"
if run_apply && [[ $(cat "$apply/calls") == "$expected" ]] &&
    grep -qx 'ssi-apply: started ssi_new.timer ssi_failed.timer' "$apply/out" &&
    grep -qx 'ssi-apply: stopped ssi_gone.timer ssi_gone.service (script removed or refused)' "$apply/out"; then
    pass
else
    fail "$name" "calls:
$(diff <(echo "$expected") "$apply/calls")
output: $(cat "$apply/out")"
fi

# (The fourth call asks which scripts are new or changed: step 4.)
name="ssi-apply with nothing to start or stop only reloads"
printf '%s\n' 'ssi_running.timer loaded active waiting Timer for Running check' \
    'ssi_done.service not-found inactive dead ssi_done.service' >"$apply/units"
if run_apply && [[ $(grep -c . "$apply/calls") == 4 && $(head -n 1 "$apply/calls") == daemon-reload ]] &&
    ! grep -qE '^(start|stop|reset-failed)' "$apply/calls" && [[ ! -s $apply/out ]]; then
    pass
else
    fail "$name" "calls: $(cat "$apply/calls"); output: $(cat "$apply/out")"
fi

name="ssi-apply started by the path unit skips the reload when no script changed"
run_apply
touch "$apply/scripts/.a.sh.un~" "$apply/scripts/a.sh.swp" "$apply/scripts/a.sh~" "$apply/scripts/b.sh.disabled" "$apply/scripts/c.sh.dpkg-new"
if run_apply TRIGGER_UNIT=ssi-scripts@1.path && ! grep -q daemon-reload "$apply/calls" && grep -q '^list-units' "$apply/calls"; then
    pass
else
    fail "$name" "calls: $(cat "$apply/calls")"
fi

name="ssi-apply started by the path unit reloads after a change"
chmod 700 "$apply/scripts/a.sh"
if run_apply TRIGGER_UNIT=ssi-scripts@1.path && [[ $(grep -c '^daemon-reload$' "$apply/calls") == 1 ]]; then
    pass
else
    fail "$name" "calls: $(cat "$apply/calls")"
fi

name="ssi-apply repeats when the directory changes while it runs"
rm -f "$apply/run/once"
hook="[[ -e $apply/run/once ]] || { touch $apply/run/once; printf '#!/bin/sh\n' >$apply/scripts/late.sh; chmod 755 $apply/scripts/late.sh; }"
if run_apply RELOAD_HOOK="$hook" && [[ $(grep -c '^daemon-reload$' "$apply/calls") == 2 ]]; then
    pass
else
    fail "$name" "calls: $(cat "$apply/calls")"
fi

name="ssi-apply with a missing scripts directory still applies (stops everything)"
printf '%s\n' 'ssi_old.timer not-found active waiting ssi_old.timer' >"$apply/units"
if run_apply SSI_SCRIPTS_DIR="$apply/no-such-dir" && grep -qx 'stop -- ssi_old.timer' "$apply/calls"; then
    pass
else
    fail "$name" "calls: $(cat "$apply/calls"); output: $(cat "$apply/out")"
fi

# Step 4: what "systemctl show" says of the loaded check services.
printf '#!/bin/sh\necho "OK, quiet"\n' >"$apply/scripts/q.sh"
chmod 755 "$apply/scripts/q.sh"
cat >"$apply/show" <<SHOW
Id=ssi_a.service
SourcePath=$apply/scripts/a.sh
LoadState=loaded
Environment=

Id=ssi_q.service
SourcePath=$apply/scripts/q.sh
LoadState=loaded
Environment=SSI_RUN_ON_APPLY=no

Id=ssi_gone.service
SourcePath=$apply/scripts/gone.sh
LoadState=not-found
Environment=
SHOW
printf '%s\n' 'ssi_a.timer loaded active waiting Timer for A' 'ssi_q.timer loaded active waiting Timer for Q' \
    'ssi_a.service loaded inactive dead Check A' 'ssi_q.service loaded inactive dead Check Q' \
    'ssi_gone.service not-found inactive dead ssi_gone.service' >"$apply/units"
rm -rf "$apply/state"
started() { grep '^start --no-block' "$apply/calls"; }

name="ssi-apply runs a new script once now, but not one with run-on-apply: no"
if run_apply && [[ $(started) == "start --no-block -- ssi_a.service" ]] &&
    grep -qx 'ssi-apply: running once (new or changed script): ssi_a.service' "$apply/out"; then
    pass
else
    fail "$name" "calls: $(cat "$apply/calls"); output: $(cat "$apply/out")"
fi

name="ssi-apply does not run an unchanged script again (by hand, after a reboot: the record is in the state directory)"
if run_apply && [[ -z $(started) ]] && grep -qx 'show --property=Id --property=LoadState --property=SourcePath --property=Environment -- ssi_a.service ssi_q.service' "$apply/calls"; then
    pass
else
    fail "$name" "calls: $(cat "$apply/calls"); output: $(cat "$apply/out")"
fi

name="ssi-apply runs a script again once its content changed (not one that opted out)"
printf '#!/bin/sh\necho "OK, changed"\n' >"$apply/scripts/a.sh"
printf '#!/bin/sh\necho "OK, changed too"\n' >"$apply/scripts/q.sh"
if run_apply TRIGGER_UNIT=ssi-scripts@1.path && [[ $(started) == "start --no-block -- ssi_a.service" ]]; then
    pass
else
    fail "$name" "calls: $(cat "$apply/calls"); output: $(cat "$apply/out")"
fi

name="ssi-apply runs a changed script again on the next apply when starting it failed"
printf '#!/bin/sh\necho "OK, changed again"\n' >"$apply/scripts/a.sh"
if ! run_apply TRIGGER_UNIT=ssi-scripts@1.path START_EXIT=1 && [[ $(started) == "start --no-block -- ssi_a.service" ]] &&
    run_apply && [[ $(started) == "start --no-block -- ssi_a.service" ]]; then
    pass
else
    fail "$name" "calls: $(cat "$apply/calls"); output: $(cat "$apply/out")"
fi

name="ssi-apply started by the path unit without a reload asks nothing of step 4"
if run_apply TRIGGER_UNIT=ssi-scripts@1.path && ! grep -qE '^(show|start --no-block)' "$apply/calls"; then
    pass
else
    fail "$name" "calls: $(cat "$apply/calls")"
fi
rm -f "$apply/show"

name="ssi-apply reports a failing systemctl and exits 1"
if run_apply SYSTEMCTL_EXIT=1; then
    fail "$name" "exit 0; output: $(cat "$apply/out")"
elif grep -qx 'ssi-apply: "systemctl daemon-reload" failed' "$apply/out"; then
    pass
else
    fail "$name" "output: $(cat "$apply/out")"
fi

name="ssi-apply refuses to run as another user than root"
if run_apply FAKE_UID=1000; then
    fail "$name" "exit 0"
elif [[ ! -s $apply/calls ]] && grep -q 'must run as root' "$apply/out"; then
    pass
else
    fail "$name" "calls: $(cat "$apply/calls"); output: $(cat "$apply/out")"
fi

name="ssi-apply --help and a wrong argument"
if env PATH="$apply/bin:$PATH" "$units/ssi-apply" --help | grep -q '^Usage: ssi-apply' &&
    { env PATH="$apply/bin:$PATH" "$units/ssi-apply" --now >/dev/null 2>&1; [[ $? == 2 ]]; }; then
    pass
else
    fail "$name" "no usage text or exit code not 2"
fi

# sysusers.d into a scratch root: creates user and group ssi with no login.
sysroot=$work/root
mkdir -p "$sysroot/etc"
name="sysusers.d creates ssi"
if out=$(systemd-sysusers --root="$sysroot" "$units/service-status-indicator.sysusers" 2>&1) &&
    grep -Eq '^ssi:x:[0-9]+:[0-9]+:Service Status Indicator broadcaster:/:/(usr/)?s?bin/nologin$' "$sysroot/etc/passwd" &&
    grep -Eq '^ssi:x:[0-9]+:' "$sysroot/etc/group"; then
    pass
else
    fail "$name" "$out; passwd: $(grep ssi "$sysroot/etc/passwd" 2>&1)"
fi

# tmpfiles.d into the same root: directories, modes and owners (needs root to chown).
name="tmpfiles.d creates the log and scripts directories"
if ((EUID != 0)); then
    skip units "$name" "needs root"
else
    ssi_gid=$(awk -F: '$1 == "ssi" { print $3 }' "$sysroot/etc/group")
    out=$(systemd-tmpfiles --root="$sysroot" --create "$units/service-status-indicator.tmpfiles" 2>&1)
    logs=$(stat -c '%a %u %g' "$sysroot/var/log/service-status-indicator" 2>&1)
    scripts=$(stat -c '%a %u %g' "$sysroot/usr/local/bin/service-status-indicator" 2>&1)
    if [[ $logs == "2750 0 $ssi_gid" && $scripts == "755 0 0" ]]; then
        pass
    else
        fail "$name" "log dir \"$logs\" (expected \"2750 0 $ssi_gid\"), scripts dir \"$scripts\" (expected \"755 0 0\"); $out"
    fi
fi

# logrotate on a scratch copy: the rotated-in file keeps mode 0640 and the
# log group. The group is swapped for one this machine has, since "ssi" may
# not exist here; the directory is set up as tmpfiles.d makes it.
name="logrotate keeps 0640 root:<log group>"
if ! command -v logrotate >/dev/null 2>&1; then
    fail "$name" "logrotate is not installed (sudo make test-deps installs it)"
elif ((EUID != 0)); then
    skip units "$name" "needs root"
else
    group=nogroup
    getent group nogroup >/dev/null || group=$(id -gn nobody)
    gid=$(getent group "$group" | cut -d: -f3)
    logdir=$work/log/service-status-indicator
    mkdir -p "$logdir"
    chown "root:$group" "$logdir"
    chmod 2750 "$logdir"
    (umask 0027 && echo "2026-11-26 10:00:00, OK, before rotation" >"$logdir/dummy_service.log")
    sed -e "s|/var/log/service-status-indicator|$logdir|" -e "s|create 0640 root ssi|create 0640 root $group|" \
        "$units/service-status-indicator.logrotate" >"$work/logrotate.conf"
    out=$(logrotate --force --state "$work/logrotate.state" "$work/logrotate.conf" 2>&1)
    new=$(stat -c '%a %U %g %s' "$logdir/dummy_service.log" 2>&1)
    old=$(cat "$logdir/dummy_service.log.1" 2>&1)
    if [[ $new == "640 root $gid 0" && $old == *"before rotation"* ]]; then
        pass
    else
        fail "$name" "new log \"$new\" (expected \"640 root $gid 0\"), rotated \"$old\"; $out"
    fi
fi

# --- notifications: ssi-notify@.path/.service, ssi-notify.timer,
# ssi-notify-hook@.service, verified as the instances the notifier starts.
printf '#!/bin/sh\n' >"$work/bin/ssi-status"
chmod 755 "$work/bin/ssi-status"
cp "$units/ssi-notify.timer" "$work/units/"
for i in 1 2; do
    cp "$units/ssi-notify@.path" "$work/units/ssi-notify@$i.path"
    sed "s|@BINDIR@|$work/bin|g" "$units/ssi-notify@.service" >"$work/units/ssi-notify@$i.service"
done
sed "s|@BINDIR@|$work/bin|g" "$units/ssi-notify-hook@.service" >"$work/units/ssi-notify-hook@1-email.service"

name="systemd-analyze verify of the notifier's units"
if out=$(systemd-analyze verify --man=no "$work/units/ssi-notify@"[12].{path,service} "$work/units/ssi-notify.timer" \
    "$work/units/ssi-notify-hook@1-email.service" 2>&1) && [[ -z $out ]]; then
    pass
else
    fail "$name" "exit code or output: $out"
fi

name="notifier: watches the log directory, runs at start and every minute, root without network"
problems=()
log_dir=$(sed -n 's/^d \(\/var\/log\/[^ ]*\) .*/\1/p' "$units/service-status-indicator.tmpfiles")
for line in "PathChanged=$log_dir" 'Unit=ssi-notify@%i.service' WantedBy=paths.target; do
    grep -qxF "$line" "$units/ssi-notify@.path" || problems+=("path: no \"$line\"")
done
for line in OnActiveSec=0 OnCalendar=minutely AccuracySec=1s Unit=ssi-notify@1.service WantedBy=timers.target; do
    grep -qxF "$line" "$units/ssi-notify.timer" || problems+=("timer: no \"$line\"")
done
for line in Type=oneshot StartLimitIntervalSec=0 "ExecStart=$work/bin/ssi-status notify" StateDirectory=service-status-indicator \
    ProtectSystem=strict PrivateNetwork=yes NoNewPrivileges=yes CapabilityBoundingSet=; do
    grep -qxF "$line" "$work/units/ssi-notify@1.service" || problems+=("service: no \"$line\"")
done
if ((${#problems[@]} == 0)); then pass; else fail "$name" "${problems[*]}"; fi

name="hook unit: oneshot, bounded, retries from its environment, sandboxed"
problems=()
# shellcheck disable=SC2016 # the ${…} are systemd's, literal here
for line in Type=oneshot StartLimitIntervalSec=0 TimeoutStartSec=10min ProtectSystem=full ProtectHome=read-only PrivateTmp=yes \
    'ExecStart='"$work"'/bin/ssi-status notify-deliver --attempts ${SSI_HOOK_ATTEMPTS} --retry-sec ${SSI_HOOK_RETRY_SEC} --timeout ${SSI_HOOK_TIMEOUT_SEC} %i'; do
    grep -qxF "$line" "$work/units/ssi-notify-hook@1-email.service" || problems+=("no \"$line\"")
done
if ((${#problems[@]} == 0)); then pass; else fail "$name" "${problems[*]}"; fi

check_exposure ssi-notify@1.service
# Hooks send mail (set-group-ID postdrop, exim's user switch) and use the
# network: systemd's "OK" band (below 5.0), not the broadcaster's 2.0.
name="systemd-analyze security ssi-notify-hook@1-email.service"
out=$(systemd-analyze security --offline=yes "$work/units/ssi-notify-hook@1-email.service" 2>&1)
exposure=$(sed -nE 's/.*Overall exposure level for ssi-notify-hook@1-email\.service: ([0-9]+\.[0-9]+) OK.*/\1/p' <<<"$out")
if [[ -n $exposure ]]; then
    pass
    echo "units: ssi-notify-hook@1-email.service exposure $exposure"
else
    fail "$name" "not rated OK: $(tail -n 1 <<<"$out")"
fi

printf 'units: %d passed, %d failed\n' "$passed" "$failed"
((failed == 0))
