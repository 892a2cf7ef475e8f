#!/usr/bin/env bash
# Tests of units/: the broadcaster's unit files pass systemd-analyze verify
# and rate "OK" or better in systemd-analyze security; the sysusers.d,
# tmpfiles.d and logrotate files do what their comments promise when applied
# to a scratch root directory. Prints "units: N passed, M failed".
set -u

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
units=$root/units
work=$(mktemp -d "${TMPDIR:-/tmp}/ssi-units.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT

passed=0
failed=0
pass() { passed=$((passed + 1)); }
fail() {
    failed=$((failed + 1))
    printf 'FAIL %s: %s\n' "$1" "$2"
}
skip() { printf 'skip %s: %s\n' "$1" "$2"; }

# The unit files as "make install" writes them: @BINDIR@ replaced by the
# directory of an executable ssi-broadcaster.
mkdir -p "$work/bin" "$work/units"
printf '#!/bin/sh\n' >"$work/bin/ssi-broadcaster"
chmod 755 "$work/bin/ssi-broadcaster"
for unit in ssi-broadcaster.service ssi-broadcaster.socket; do
    sed "s|@BINDIR@|$work/bin|g" "$units/$unit" >"$work/units/$unit"
done

name="systemd-analyze verify"
if out=$(systemd-analyze verify --man=no "$work/units/ssi-broadcaster.service" "$work/units/ssi-broadcaster.socket" 2>&1) && [[ -z $out ]]; then
    pass
else
    fail "$name" "exit code or output: $out"
fi

name="no @…@ left after substitution"
if grep -n '@[A-Z]*@' "$work/units/"*; then fail "$name" "placeholders remain"; else pass; fi

name="systemd-analyze security"
out=$(systemd-analyze security --offline=yes "$work/units/ssi-broadcaster.service" 2>&1)
exposure=$(sed -nE 's/.*Overall exposure level for ssi-broadcaster.service: ([0-9]+\.[0-9]+).*/\1/p' <<<"$out")
if [[ -z $exposure ]]; then
    fail "$name" "no exposure level in: $(tail -n 3 <<<"$out")"
elif awk -v e="$exposure" 'BEGIN { exit !(e <= 2.0) }'; then
    pass
    echo "units: ssi-broadcaster.service exposure $exposure"
else
    fail "$name" "exposure $exposure, expected at most 2.0: $(grep '✗' <<<"$out")"
fi

name="service runs unprivileged, notify, read-only"
problems=()
for line in Type=notify User=ssi Group=ssi ProtectSystem=strict NoNewPrivileges=yes CapabilityBoundingSet= \
    'RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX' SystemCallFilter=@system-service MemoryDenyWriteExecute=yes; do
    grep -qxF "$line" "$units/ssi-broadcaster.service" || problems+=("no \"$line\"")
done
grep -qE '^(ReadWritePaths|LogsDirectory|StateDirectory)=' "$units/ssi-broadcaster.service" && problems+=("grants write access")
if ((${#problems[@]} == 0)); then pass; else fail "$name" "${problems[*]}"; fi

name="socket listens on 127.0.0.1:5000"
if grep -qx 'ListenStream=127.0.0.1:5000' "$units/ssi-broadcaster.socket"; then pass; else fail "$name" "no ListenStream=127.0.0.1:5000"; fi

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
    skip "$name" "needs root"
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
    fail "$name" "logrotate is not installed (.ci/run installs it)"
elif ((EUID != 0)); then
    skip "$name" "needs root"
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

printf 'units: %d passed, %d failed\n' "$passed" "$failed"
((failed == 0))
