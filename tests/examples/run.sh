#!/usr/bin/env bash
# Tests of the example check scripts in examples/: each runs against stub
# commands and fixture files and must print exactly one well-formed status
# line with the expected status and message, and exit 0.
#
# Usage: tests/examples/run.sh [PATTERN]   (only cases whose name contains PATTERN)
# Environment: SSI_STATUS=path/to/ssi-status also runs "ssi-status check" on
# every example. Needs bash, coreutils, findutils, gawk or mawk, openssl,
# curl, systemd-analyze and shellcheck (tests/deps.sh installs them).
set -u

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
examples=$root/examples
filter=${1:-}
work=$(mktemp -d "${TMPDIR:-/tmp}/ssi-examples.XXXXXX") || exit 1
server_pid=
cleanup() {
    [[ -n $server_pid ]] && kill "$server_pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

passed=0
failed=0
pass() {
    passed=$((passed + 1))
    [[ -n ${VERBOSE:-} ]] && printf 'ok   %s\n' "$1"
    return 0
}
fail() {
    failed=$((failed + 1))
    printf 'FAIL %s: %s\n' "$1" "$2"
}
selected() { [[ -z $filter || $1 == *"$filter"* ]]; }

# expect NAME SCRIPT STATUS MESSAGE_REGEX [VAR=value...]
# Runs examples/SCRIPT with the given environment (on top of this one) and
# checks: exit code 0, exactly one line on stdout, "YYYY-MM-DD HH:MM:SS,
# STATUS, message" with the expected STATUS and a message matching the
# extended regular expression MESSAGE_REGEX.
expect() {
    local name=$1 script=$2 want=$3 pattern=$4
    shift 4
    selected "$name" || return 0
    local out rc
    out=$(cd "$work" && env "$@" "$examples/$script" 2>"$work/stderr")
    rc=$?
    local line_re='^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}, (OK|UPDATE|WARNING|FAILURE|ERROR|UNKNOWN), (.*)$'
    if ((rc != 0)); then
        fail "$name" "exit code $rc (stdout: $out; stderr: $(head -c 300 "$work/stderr"))"
    elif [[ $out == *$'\n'* ]]; then
        fail "$name" "more than one line: $out"
    elif [[ ! $out =~ $line_re ]]; then
        fail "$name" "not a status line: \"$out\""
    elif [[ ${BASH_REMATCH[1]} != "$want" ]]; then
        fail "$name" "status ${BASH_REMATCH[1]}, expected $want: \"$out\""
    elif ! grep -Eq -- "$pattern" <<<"${BASH_REMATCH[2]}"; then
        fail "$name" "message \"${BASH_REMATCH[2]}\" does not match /$pattern/"
    else
        pass "$name"
    fi
}

# stub DIR NAME <<BODY: an executable DIR/NAME running the bash script BODY.
stub() {
    mkdir -p "$1"
    { echo '#!/bin/bash'; cat; } >"$1/$2"
    chmod 755 "$1/$2"
}

# A PATH with the basic tools the examples use and none of the optional ones,
# so "tool missing" paths can be tested on any machine.
minimal=$work/minimal-bin
mkdir -p "$minimal"
for tool in bash env date awk sed grep cat sort tail head find tr mktemp rm getconf nproc timeout; do
    ln -s "$(command -v "$tool")" "$minimal/$tool"
done

# ---------------------------------------------------------------------------
# Manifests, executable bits, shell lint, and the project's own validator.

for script in "$examples"/*.bash; do
    file=${script##*/}
    name="$file: manifest"
    selected "$name" || continue
    problems=()
    [[ -x $script ]] || problems+=("not executable")
    mode=$(git -C "$root" ls-files -s -- "examples/$file" 2>/dev/null | cut -d' ' -f1)
    [[ -z $mode || $mode == 100755 ]] || problems+=("git mode $mode, expected 100755")
    [[ $(head -n 1 "$script") == '#!/usr/bin/env bash' ]] || problems+=("shebang is not #!/usr/bin/env bash")
    grep -qx 'set -u' "$script" || problems+=("no 'set -u'")
    # The header: after the shebang, up to the first line neither blank nor a comment.
    header=$(awk 'NR == 1 && /^#!/ { next } /^[ \t]*(#|$)/ { print; next } { exit }' "$script")
    for key in name description version schedule; do
        grep -Eiq "^#[ \t]*${key}[ \t]*:[ \t]*[^ \t]" <<<"$header" || problems+=("no \"# $key:\" in the header")
    done
    schedule=$(sed -nE 's/^#[ \t]*schedule[ \t]*:[ \t]*(.*)$/\1/Ip' <<<"$header" | sed -E 's/[ \t]+#.*$//; s/[ \t]+$//')
    if [[ -n $schedule ]] && ! systemd-analyze calendar "$schedule" >/dev/null 2>&1; then
        problems+=("systemd-analyze calendar rejects schedule \"$schedule\"")
    fi
    timeout_value=$(sed -nE 's/^#[ \t]*timeout[ \t]*:[ \t]*([^ \t#]*).*$/\1/Ip' <<<"$header")
    [[ -z $timeout_value || $timeout_value =~ ^[0-9]+$ ]] || problems+=("timeout \"$timeout_value\" is not whole seconds")
    if ((${#problems[@]} == 0)); then pass "$name"; else fail "$name" "${problems[*]}"; fi
done

for script in "$examples"/*.bash "$examples"/notify/email "$examples"/notify/webhook; do
    name="${script##*/}: shellcheck"
    selected "$name" || continue
    if ! command -v shellcheck >/dev/null 2>&1; then
        fail "$name" "shellcheck is not installed (sudo make test-deps installs it)"
    elif report=$(shellcheck --shell=bash "$script" 2>&1); then
        pass "$name"
    else
        fail "$name" "$report"
    fi
done

# Until ssi-status has its "check" command (its --help says so), this is
# skipped with a note rather than failed.
if [[ -n ${SSI_STATUS:-} ]] && selected "ssi-status check" && [[ ! -x $SSI_STATUS ]]; then
    fail "ssi-status check" "SSI_STATUS=$SSI_STATUS is not an executable"
elif [[ -n ${SSI_STATUS:-} ]] && selected "ssi-status check" &&
    ! "$SSI_STATUS" --help 2>/dev/null | grep -qw check; then
    echo "note: $SSI_STATUS has no check command yet, examples not validated by it"
elif [[ -n ${SSI_STATUS:-} ]] && selected "ssi-status check"; then
    if ! out=$("$SSI_STATUS" check "$examples"/*.bash 2>&1); then
        fail "ssi-status check" "exit code $?: $out"
    else
        missing=()
        for script in "$examples"/*.bash; do
            id=${script##*/}
            id=${id%.*}
            id=${id//[-. ]/_}
            [[ $out == *"$id"* || $out == *"${script##*/}"* ]] || missing+=("$id")
        done
        if ((${#missing[@]} == 0)); then pass "ssi-status check"; else fail "ssi-status check" "output names none of: ${missing[*]}"; fi
    fi
fi

# ---------------------------------------------------------------------------
# dummy-service.bash

expect "dummy: default OK" dummy-service.bash OK '^Dummy service is running$'
expect "dummy: status from environment" dummy-service.bash WARNING '^Dummy service is running$' SSI_DUMMY_STATUS=warning
expect "dummy: failure with message" dummy-service.bash FAILURE '^it broke$' SSI_DUMMY_STATUS=FAILURE SSI_DUMMY_MESSAGE="it broke"
expect "dummy: bad status" dummy-service.bash UNKNOWN 'SSI_DUMMY_STATUS="bogus" is not a status' SSI_DUMMY_STATUS=bogus
expect "dummy: newline in message stays one line" dummy-service.bash OK '^a b$' SSI_DUMMY_MESSAGE=$'a\nb'

# ---------------------------------------------------------------------------
# system-updates.bash: apt-check (Ubuntu) and apt-get -s (Debian) paths.

apt_check() { printf "echo '%s' >&2; exit %s\n" "$2" "${3:-0}" | stub "$work/apt" "apt-check-$1"; }
apt_check none '0;0'
apt_check some '3;0'
apt_check security '5;2'
apt_check broken 'E: apt cache is broken' 1
apt_check garbled 'hello'
expect "updates: apt-check up to date" system-updates.bash OK '^System is up to date$' SSI_APT_CHECK="$work/apt/apt-check-none"
expect "updates: apt-check pending" system-updates.bash UPDATE '^3 updates pending$' SSI_APT_CHECK="$work/apt/apt-check-some"
expect "updates: apt-check security" system-updates.bash WARNING '^5 updates pending, 2 of them security updates$' SSI_APT_CHECK="$work/apt/apt-check-security"
expect "updates: apt-check fails" system-updates.bash FAILURE '^apt-check failed: E: apt cache is broken$' SSI_APT_CHECK="$work/apt/apt-check-broken"
expect "updates: apt-check garbled" system-updates.bash UNKNOWN 'printed "hello"' SSI_APT_CHECK="$work/apt/apt-check-garbled"

# apt-get stub: refuses anything but a simulation, prints $work/apt/<APT_FIXTURE>.
stub "$work/apt-bin" apt-get <<'STUB'
[[ " $* " == *" -s "* && " $* " == *" upgrade "* ]] || { echo "stub apt-get: not a simulated upgrade: $*" >&2; exit 2; }
[[ -n ${APT_FAIL:-} ]] && { echo "E: dpkg was interrupted, you must manually run 'dpkg --configure -a' to correct the problem." >&2; exit 100; }
cat "$APT_FIXTURE"
STUB
cat >"$work/apt/none" <<'OUT'
Reading package lists...
Building dependency tree...
Calculating upgrade...
0 upgraded, 0 newly installed, 0 to remove and 0 not upgraded.
OUT
cat >"$work/apt/some" <<'OUT'
Reading package lists...
Calculating upgrade...
The following packages will be upgraded:
  curl libcurl4
2 upgraded, 0 newly installed, 0 to remove and 0 not upgraded.
Inst libcurl4 [7.88.1-10+deb12u7] (7.88.1-10+deb12u8 Debian:12.9/stable [amd64])
Inst curl [7.88.1-10+deb12u7] (7.88.1-10+deb12u8 Debian:12.9/stable [amd64])
Conf libcurl4 (7.88.1-10+deb12u8 Debian:12.9/stable [amd64])
Conf curl (7.88.1-10+deb12u8 Debian:12.9/stable [amd64])
OUT
cat >"$work/apt/security" <<'OUT'
Inst libssl3 [3.0.14-1~deb12u2] (3.0.15-1~deb12u1 Debian-Security:12/stable-security [amd64])
Inst openssl [3.0.14-1~deb12u2] (3.0.15-1~deb12u1 Debian-Security:12/stable-security [amd64])
Inst tzdata [2024a-0+deb12u1] (2024b-0+deb12u1 Debian:12.9/stable-updates [all])
Conf libssl3 (3.0.15-1~deb12u1 Debian-Security:12/stable-security [amd64])
OUT
apt_path=PATH=$work/apt-bin:$PATH
expect "updates: apt-get up to date" system-updates.bash OK '^System is up to date$' SSI_APT_CHECK=/nonexistent "$apt_path" APT_FIXTURE="$work/apt/none"
expect "updates: apt-get pending" system-updates.bash UPDATE '^2 updates pending$' SSI_APT_CHECK=/nonexistent "$apt_path" APT_FIXTURE="$work/apt/some"
expect "updates: apt-get security" system-updates.bash WARNING '^3 updates pending, 2 of them security updates$' SSI_APT_CHECK=/nonexistent "$apt_path" APT_FIXTURE="$work/apt/security"
expect "updates: apt-get fails" system-updates.bash FAILURE "^apt-get -s upgrade failed: E: dpkg was interrupted" SSI_APT_CHECK=/nonexistent "$apt_path" APT_FAIL=1
expect "updates: no apt at all" system-updates.bash UNKNOWN '^neither /nonexistent nor apt-get is available$' SSI_APT_CHECK=/nonexistent PATH="$minimal"

# ---------------------------------------------------------------------------
# disk-usage.bash: a df stub reading "path percent" lines from $DF_TABLE.

stub "$work/df-bin" df <<'STUB'
[[ $1 == -P && $2 == -- ]] || { echo "stub df: unexpected arguments: $*" >&2; exit 2; }
pct=$(awk -v p="$3" '$1 == p { print $2 }' "$DF_TABLE")
[[ -n $pct ]] || { echo "df: $3: No such file or directory" >&2; exit 1; }
echo "Filesystem     1024-blocks     Used Available Capacity Mounted on"
echo "/dev/sda1        100000000 00000000  00000000      $pct% $3"
STUB
printf '/ 42\n/var 85\n/srv 95\n/edge 80\n' >"$work/df.table"
df_env=("PATH=$work/df-bin:$PATH" "DF_TABLE=$work/df.table")
expect "disk: below thresholds" disk-usage.bash OK '^/ at 42% \(warning at 80%, failure at 90%\)$' "${df_env[@]}"
expect "disk: warning" disk-usage.bash WARNING '^/var at 85%' "${df_env[@]}" SSI_DISK_PATHS=/var
expect "disk: warning at the threshold" disk-usage.bash WARNING '^/edge at 80%' "${df_env[@]}" SSI_DISK_PATHS=/edge
expect "disk: failure" disk-usage.bash FAILURE '^/srv at 95%' "${df_env[@]}" SSI_DISK_PATHS=/srv
expect "disk: worst of several paths" disk-usage.bash FAILURE '^/ at 42%; /var at 85%; /srv at 95% ' "${df_env[@]}" SSI_DISK_PATHS="/ /var /srv"
expect "disk: custom thresholds" disk-usage.bash WARNING '\(warning at 40%, failure at 50%\)$' "${df_env[@]}" SSI_DISK_WARN=40 SSI_DISK_FAIL=50
expect "disk: missing path" disk-usage.bash UNKNOWN '^/gone: cannot check \(df: /gone: No such file or directory\)' "${df_env[@]}" SSI_DISK_PATHS=/gone
expect "disk: bad threshold" disk-usage.bash UNKNOWN '^SSI_DISK_WARN="80%" is not a whole number$' "${df_env[@]}" SSI_DISK_WARN=80%
expect "disk: no df" disk-usage.bash UNKNOWN '^df is not available$' PATH="$minimal"
expect "disk: real df on /" disk-usage.bash OK '^/ at [0-9]+% ' SSI_DISK_WARN=101 SSI_DISK_FAIL=101

# ---------------------------------------------------------------------------
# failed-units.bash: a systemctl stub printing $UNITS_FIXTURE.

stub "$work/systemctl-bin" systemctl <<'STUB'
[[ " $* " == *" list-units "* && " $* " == *" --state=failed "* && " $* " == *" --plain "* ]] || { echo "stub systemctl: unexpected arguments: $*" >&2; exit 2; }
[[ -n ${SYSTEMD_DOWN:-} ]] && { echo "System has not been booted with systemd as init system (PID 1). Can't operate." >&2; echo "Failed to connect to bus: Host is down" >&2; exit 1; }
cat "$UNITS_FIXTURE"
STUB
: >"$work/units.none"
printf 'nginx.service loaded failed failed A high performance web server\n' >"$work/units.one"
printf '%s loaded failed failed Some unit\n' a.service b.service c.mount apt-daily.service >"$work/units.four"
printf '%s.service loaded failed failed Some unit\n' u1 u2 u3 u4 u5 u6 u7 >"$work/units.seven"
units_path=PATH=$work/systemctl-bin:$PATH
expect "failed-units: none" failed-units.bash OK '^No failed units$' "$units_path" UNITS_FIXTURE="$work/units.none"
expect "failed-units: one" failed-units.bash WARNING '^1 failed unit: nginx.service$' "$units_path" UNITS_FIXTURE="$work/units.one"
expect "failed-units: too many" failed-units.bash FAILURE '^4 failed units: a.service b.service c.mount apt-daily.service$' "$units_path" UNITS_FIXTURE="$work/units.four"
expect "failed-units: list is shortened" failed-units.bash FAILURE '^7 failed units: u1.service u2.service u3.service u4.service u5.service and 2 more$' "$units_path" UNITS_FIXTURE="$work/units.seven"
expect "failed-units: critical unit" failed-units.bash FAILURE '^1 failed unit, critical: nginx.service' "$units_path" UNITS_FIXTURE="$work/units.one" SSI_FAILED_UNITS_CRITICAL="ssh.service nginx.service"
expect "failed-units: ignored patterns" failed-units.bash WARNING '^2 failed units: a.service b.service$' "$units_path" UNITS_FIXTURE="$work/units.four" SSI_FAILED_UNITS_IGNORE="apt-daily*.service *.mount"
expect "failed-units: systemd not running" failed-units.bash UNKNOWN '^cannot list units: Failed to connect to bus: Host is down$' "$units_path" SYSTEMD_DOWN=1
expect "failed-units: no systemctl" failed-units.bash UNKNOWN '^systemctl is not available$' PATH="$minimal"
expect "failed-units: bad threshold" failed-units.bash UNKNOWN 'SSI_FAILED_UNITS_FAIL="0" is not a positive whole number' "$units_path" SSI_FAILED_UNITS_FAIL=0

# ---------------------------------------------------------------------------
# memory-load.bash: fixture /proc files.

# proc NAME TOTAL_KB AVAILABLE_KB LOAD5
proc() {
    mkdir -p "$work/proc-$1"
    printf 'MemTotal:       %s kB\nMemFree:          123456 kB\nMemAvailable:   %s kB\nBuffers:           1024 kB\n' "$2" "$3" >"$work/proc-$1/meminfo"
    printf '0.10 %s 0.30 1/123 4567\n' "$4" >"$work/proc-$1/loadavg"
}
proc calm 8388608 6291456 0.50
proc memwarn 8388608 838861 0.50
proc memfail 8388608 209715 0.50
proc loadwarn 8388608 6291456 7.00
proc loadfail 8388608 6291456 12.50
expect "memory-load: calm" memory-load.bash OK '^memory 25% used \(2.0 of 8.0 GiB\), load 0.12 per CPU \(0.50 on 4 CPUs\)$' SSI_PROC_DIR="$work/proc-calm" SSI_CPUS=4
expect "memory-load: memory warning" memory-load.bash WARNING '^memory 90% used' SSI_PROC_DIR="$work/proc-memwarn" SSI_CPUS=4
expect "memory-load: memory failure" memory-load.bash FAILURE '^memory 98% used' SSI_PROC_DIR="$work/proc-memfail" SSI_CPUS=4
expect "memory-load: load warning" memory-load.bash WARNING 'load 1.75 per CPU \(7.00 on 4 CPUs\)$' SSI_PROC_DIR="$work/proc-loadwarn" SSI_CPUS=4
expect "memory-load: load failure" memory-load.bash FAILURE 'load 3.12 per CPU' SSI_PROC_DIR="$work/proc-loadfail" SSI_CPUS=4
expect "memory-load: custom thresholds" memory-load.bash WARNING '^memory 25% used' SSI_PROC_DIR="$work/proc-calm" SSI_CPUS=4 SSI_MEM_WARN=20
expect "memory-load: missing meminfo" memory-load.bash UNKNOWN "^cannot read $work/empty/meminfo$" SSI_PROC_DIR="$work/empty"
expect "memory-load: bad threshold" memory-load.bash UNKNOWN '^SSI_LOAD_WARN="high" is not a number$' SSI_LOAD_WARN=high
expect "memory-load: real /proc" memory-load.bash OK '^memory [0-9]+% used .* on [0-9]+ CPUs?\)$' SSI_MEM_WARN=101 SSI_MEM_FAIL=101 SSI_LOAD_WARN=100000 SSI_LOAD_FAIL=100000

# ---------------------------------------------------------------------------
# backup-freshness.bash: fixture directories with chosen modification times.

mkdir -p "$work/backups/fresh/db" "$work/backups/old" "$work/backups/stale" "$work/backups/empty-file" "$work/backups/none"
echo data >"$work/backups/fresh/db/db-1.sql.gz"
touch -d '3 days ago' "$work/backups/fresh/db-0.sql.gz"
touch -d '1 hour ago' "$work/backups/fresh/db/db-1.sql.gz"
echo data >"$work/backups/fresh/notes.txt"
echo data >"$work/backups/old/db.sql.gz"
touch -d '30 hours ago' "$work/backups/old/db.sql.gz"
echo data >"$work/backups/stale/db.sql.gz"
touch -d '4 days ago' "$work/backups/stale/db.sql.gz"
: >"$work/backups/empty-file/db.sql.gz"
expect "backup: fresh" backup-freshness.bash OK '^newest backup db/db-1.sql.gz is 1 h old, 5 bytes$' SSI_BACKUP_DIR="$work/backups/fresh" SSI_BACKUP_NAME='*.sql.gz'
expect "backup: name filter picks the newest match" backup-freshness.bash OK '^newest backup notes.txt is [0-9]+ min old' SSI_BACKUP_DIR="$work/backups/fresh"
expect "backup: old" backup-freshness.bash WARNING '^newest backup db.sql.gz is 30 h old, 5 bytes \(warning at 26 h\)$' SSI_BACKUP_DIR="$work/backups/old"
expect "backup: stale" backup-freshness.bash FAILURE '^newest backup db.sql.gz is 4 days old, 5 bytes \(failure at 50 h\)$' SSI_BACKUP_DIR="$work/backups/stale"
expect "backup: custom age thresholds" backup-freshness.bash OK '^newest backup db.sql.gz is 4 days old' SSI_BACKUP_DIR="$work/backups/stale" SSI_BACKUP_WARN_HOURS=200 SSI_BACKUP_FAIL_HOURS=300
expect "backup: empty file" backup-freshness.bash FAILURE 'is [0-9]+ min old, 0 bytes \(smaller than 1 bytes\)$' SSI_BACKUP_DIR="$work/backups/empty-file"
expect "backup: nothing there" backup-freshness.bash FAILURE "^no backup matching \"\\*\" in $work/backups/none$" SSI_BACKUP_DIR="$work/backups/none"
expect "backup: directory missing" backup-freshness.bash FAILURE "^backup directory $work/backups/gone is missing$" SSI_BACKUP_DIR="$work/backups/gone"
expect "backup: bad threshold" backup-freshness.bash UNKNOWN '^SSI_BACKUP_FAIL_HOURS="2d" is not a whole number$' SSI_BACKUP_DIR="$work/backups/old" SSI_BACKUP_FAIL_HOURS=2d

# ---------------------------------------------------------------------------
# tls-expiry.bash: certificates made here with openssl, files and a live server.

tls=$work/tls
mkdir -p "$tls"
# cert NAME DAYS: a self-signed EC certificate valid for DAYS days.
cert() {
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
        -keyout "$tls/$1.key" -out "$tls/$1.pem" -days "$2" -subj "/CN=$1" 2>"$tls/$1.err" ||
        fail "tls: making certificate $1" "$(cat "$tls/$1.err")"
}
cert long 90
cert soon 10
cert imminent 3
# An already expired one needs "openssl ca", the only tool that sets past dates.
touch "$tls/index.txt"
echo 01 >"$tls/serial"
printf '[ca]\ndefault_ca = d\n[d]\ndatabase = %s/index.txt\nnew_certs_dir = %s\nserial = %s/serial\ndefault_md = sha256\npolicy = p\n[p]\ncommonName = supplied\n' "$tls" "$tls" "$tls" >"$tls/ca.cnf"
if ! { openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$tls/expired.key" \
    -out "$tls/expired.csr" -subj /CN=expired &&
    openssl ca -batch -config "$tls/ca.cnf" -selfsign -keyfile "$tls/expired.key" -in "$tls/expired.csr" \
        -out "$tls/expired.pem" -startdate 20200101000000Z -enddate 20200201000000Z; } >"$tls/expired.err" 2>&1; then
    fail "tls: making an expired certificate" "$(tail -n 3 "$tls/expired.err")"
fi
echo "not a certificate" >"$tls/junk.pem"

expect "tls: valid long enough" tls-expiry.bash OK "^$tls/long.pem expires in (89|90) days \\([0-9]{4}-[0-9]{2}-[0-9]{2}\\)$" SSI_TLS_TARGETS="$tls/long.pem"
expect "tls: expires soon" tls-expiry.bash WARNING "^$tls/soon.pem expires in (9|10) days" SSI_TLS_TARGETS="$tls/soon.pem"
expect "tls: expires imminently" tls-expiry.bash FAILURE "^$tls/imminent.pem expires in (2|3) days" SSI_TLS_TARGETS="$tls/imminent.pem"
expect "tls: expired" tls-expiry.bash FAILURE "^$tls/expired.pem expired [0-9]+ days ago$" SSI_TLS_TARGETS="$tls/expired.pem"
expect "tls: worst of several" tls-expiry.bash WARNING "^$tls/long.pem expires in [0-9]+ days \\(.*\\); $tls/soon.pem expires in" SSI_TLS_TARGETS="$tls/long.pem $tls/soon.pem"
expect "tls: custom thresholds" tls-expiry.bash FAILURE "^$tls/soon.pem expires" SSI_TLS_TARGETS="$tls/soon.pem" SSI_TLS_FAIL_DAYS=30 SSI_TLS_WARN_DAYS=60
expect "tls: not a certificate" tls-expiry.bash UNKNOWN "^$tls/junk.pem: no certificate \\(cannot read or connect\\)$" SSI_TLS_TARGETS="$tls/junk.pem"
expect "tls: no server" tls-expiry.bash UNKNOWN '^127.0.0.1:1: no certificate' SSI_TLS_TARGETS=127.0.0.1:1 SSI_TLS_CONNECT_TIMEOUT=5
expect "tls: malformed target" tls-expiry.bash UNKNOWN '^bad:target:x: no certificate' SSI_TLS_TARGETS=bad:target:x
expect "tls: no openssl" tls-expiry.bash UNKNOWN '^openssl is not available$' PATH="$minimal"

# A real TLS server on a loopback port, so the host:port path is exercised too.
if selected "tls: live server"; then
    for _ in 1 2 3 4 5; do
        port=$((20000 + RANDOM % 20000))
        openssl s_server -quiet -accept "127.0.0.1:$port" -cert "$tls/long.pem" -key "$tls/long.key" -www \
            >"$tls/server.log" 2>&1 </dev/null &
        server_pid=$!
        for _ in $(seq 50); do
            (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break 2
            kill -0 "$server_pid" 2>/dev/null || break
            sleep 0.1
        done
        kill "$server_pid" 2>/dev/null
        wait "$server_pid" 2>/dev/null
        server_pid=
    done
    if [[ -n $server_pid ]]; then
        expect "tls: live server" tls-expiry.bash OK "^127.0.0.1:$port expires in (89|90) days" SSI_TLS_TARGETS="127.0.0.1:$port"
        kill "$server_pid" 2>/dev/null
        wait "$server_pid" 2>/dev/null
        server_pid=
    else
        fail "tls: live server" "openssl s_server did not start: $(tail -n 3 "$tls/server.log")"
    fi
fi

# ---------------------------------------------------------------------------
# http-health.bash: a curl stub answering from "url code seconds exit" lines
# in $CURL_TABLE, like curl --write-out '%{http_code} %{time_total}'.

stub "$work/curl-bin" curl <<'STUB'
url=${!#}
[[ " $* " == *" --max-time "* ]] || { echo "stub curl: no --max-time: $*" >&2; exit 2; }
read -r _ code seconds rc < <(awk -v u="$url" '$1 == u' "$CURL_TABLE")
[[ -n ${code:-} ]] || { echo "stub curl: no fixture for $url" >&2; exit 2; }
if [[ $rc != 0 ]]; then
    echo "curl: ($rc) Failed to connect to ${url#*//} after 0 ms: Couldn't connect to server" >&2
    printf "000 0.000123"
    exit "$rc"
fi
printf "%s %s" "$code" "$seconds"
STUB
cat >"$work/curl.table" <<'TABLE'
http://ok.test/ 200 0.042 0
http://moved.test/ 301 0.010 0
http://slow.test/ 200 3.500 0
http://broken.test/ 503 0.020 0
http://missing.test/ 404 0.020 0
http://down.test/ 000 0 7
TABLE
curl_env=("PATH=$work/curl-bin:$PATH" "CURL_TABLE=$work/curl.table")
expect "http: healthy" http-health.bash OK '^http://ok.test/: HTTP 200 in 0.042s$' "${curl_env[@]}" SSI_HTTP_URLS=http://ok.test/
expect "http: redirect is healthy" http-health.bash OK '^http://moved.test/: HTTP 301 in 0.010s$' "${curl_env[@]}" SSI_HTTP_URLS=http://moved.test/
expect "http: slow" http-health.bash WARNING '^http://slow.test/: HTTP 200 in 3.500s \(slow at 2s\)$' "${curl_env[@]}" SSI_HTTP_URLS=http://slow.test/
expect "http: custom slowness" http-health.bash WARNING '\(slow at 0.01s\)$' "${curl_env[@]}" SSI_HTTP_URLS=http://ok.test/ SSI_HTTP_SLOW=0.01
expect "http: server error" http-health.bash FAILURE '^http://broken.test/: HTTP 503$' "${curl_env[@]}" SSI_HTTP_URLS=http://broken.test/
expect "http: not found" http-health.bash FAILURE '^http://missing.test/: HTTP 404$' "${curl_env[@]}" SSI_HTTP_URLS=http://missing.test/
expect "http: connection refused" http-health.bash FAILURE "^http://down.test/: curl: \\(7\\) Failed to connect" "${curl_env[@]}" SSI_HTTP_URLS=http://down.test/
expect "http: worst of several" http-health.bash FAILURE '^http://ok.test/: HTTP 200 in 0.042s; http://slow.test/: .*; http://broken.test/: HTTP 503$' "${curl_env[@]}" SSI_HTTP_URLS="http://ok.test/ http://slow.test/ http://broken.test/"
expect "http: real curl, closed port" http-health.bash FAILURE '^http://127.0.0.1:1/: curl: \(7\)' SSI_HTTP_URLS=http://127.0.0.1:1/
expect "http: no curl" http-health.bash UNKNOWN '^curl is not available$' PATH="$minimal"
expect "http: bad timeout" http-health.bash UNKNOWN '^SSI_HTTP_TIMEOUT="0" is not a positive whole number$' SSI_HTTP_TIMEOUT=0

# ---------------------------------------------------------------------------
# plugin-*.bash: Monitoring Plugins checks ("output: nagios"), run as they
# are: the plugin's exit status, its first line and its performance data
# after "|". Against the real plugins (monitoring-plugins-basic).

plugins=/usr/lib/nagios/plugins
# expect_plugin NAME SCRIPT EXIT_CODES FIRST_LINE_REGEX [VAR=value...]
# Runs examples/SCRIPT and checks: its exit code is one of EXIT_CODES
# (e.g. "0 1 2"), and its first line matches FIRST_LINE_REGEX.
expect_plugin() {
    local name=$1 script=$2 codes=$3 pattern=$4
    shift 4
    selected "$name" || return 0
    local out rc first
    out=$(cd "$work" && env "$@" "$examples/$script" 2>"$work/stderr")
    rc=$?
    first=${out%%$'\n'*}
    if [[ " $codes " != *" $rc "* ]]; then
        fail "$name" "exit code $rc, expected one of $codes (stdout: $out; stderr: $(head -c 300 "$work/stderr"))"
    elif ! grep -Eq -- "$pattern" <<<"$first"; then
        fail "$name" "first line \"$first\" does not match /$pattern/"
    else
        pass "$name"
    fi
}
for p in check_disk check_load check_http; do
    if [[ ! -x $plugins/$p ]] && selected "plugin"; then
        fail "plugin: $p" "$plugins/$p is not installed (sudo make test-deps installs monitoring-plugins-basic)"
    fi
done
expect_plugin "plugin: disk, real check_disk" plugin-root-fs.bash "0 1 2" \
    '^DISK (OK|WARNING|CRITICAL) - .*\| */=[0-9]+(B|MB|MiB);[0-9]+;[0-9]+;0;[0-9]+'
expect_plugin "plugin: load, real check_load" plugin-load.bash "0 1 2" \
    '^LOAD (OK|WARNING|CRITICAL) - .*\|load1=[0-9.]+;.* scaled_load1=[0-9.]+;0\.900;1\.500;0;'
http_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
if selected "plugin: http"; then
    mkdir -p "$work/www"
    echo hello >"$work/www/index.html"
    python3 -m http.server --bind 127.0.0.1 --directory "$work/www" "$http_port" >/dev/null 2>&1 &
    server_pid=$!
    for _ in $(seq 50); do
        (exec 3<>"/dev/tcp/127.0.0.1/$http_port") 2>/dev/null && break
        sleep 0.1
    done
    expect_plugin "plugin: http, real check_http, a listening port" plugin-dashboard-http.bash "0" \
        '^HTTP OK: HTTP/1\.[01] 200 OK - [0-9]+ bytes in [0-9.]+ second response time *\|time=[0-9.]+s;1\.0+;5\.0+;0\.0+;[0-9.]* +size=[0-9]+B;;;0' \
        SSI_HTTP_PORT="$http_port" SSI_HTTP_PATH=/index.html
    kill "$server_pid" 2>/dev/null
    wait "$server_pid" 2>/dev/null
    server_pid=
    expect_plugin "plugin: http, real check_http, a closed port" plugin-dashboard-http.bash "2" \
        "port $http_port: Connection refused" SSI_HTTP_PORT="$http_port"
fi
for script in plugin-root-fs.bash plugin-load.bash plugin-dashboard-http.bash; do
    expect_plugin "plugin: $script without the plugin" "$script" "3" \
        '^(DISK|LOAD|HTTP) UNKNOWN - /nonexistent/check_[a-z]+ is not installed \(apt-get install monitoring-plugins-basic\)$' \
        SSI_PLUGINS_DIR=/nonexistent
    name="plugin: $script says output: nagios"
    if selected "$name"; then
        if grep -Eqx '#[[:space:]]*output:[[:space:]]*nagios' "$examples/$script"; then pass "$name"; else fail "$name" "no '# output: nagios'"; fi
    fi
done

# ---------------------------------------------------------------------------
# run-as-units.sh, the runner behind "make demo": ids, logs, modes, ERROR lines.

if selected "run-as-units"; then
    demo=$work/demo
    mkdir -p "$demo/scripts"
    cp "$examples/dummy-service.bash" "$demo/scripts/Dummy Service.v2.bash"
    printf '#!/bin/bash\n# timeout: 1  # seconds\nsleep 5\n' >"$demo/scripts/slow.sh"
    printf '#!/bin/bash\necho "OK, partial"\nexit 3\n' >"$demo/scripts/crash.sh"
    printf '#!/bin/bash\necho OK\n' >"$demo/scripts/skipped.sh.disabled"
    printf '#!/bin/bash\necho OK\n' >"$demo/scripts/.hidden.sh"
    printf '#!/bin/bash\necho OK\n' >"$demo/scripts/not-executable.sh"
    chmod 755 "$demo/scripts/"*.sh "$demo/scripts/"*.bash "$demo/scripts/skipped.sh.disabled" "$demo/scripts/.hidden.sh"
    chmod 644 "$demo/scripts/not-executable.sh"
    "$root/tests/examples/run-as-units.sh" "$demo/scripts" "$demo/log" "$demo/stderr"
    logs=$(cd "$demo/log" && ls)
    name="run-as-units: one log per runnable script, named by service id"
    if [[ $logs == $'crash.log\ndummy_service_v2.log\nslow.log' ]]; then pass "$name"; else fail "$name" "logs: $logs"; fi
    name="run-as-units: logs are 0640"
    modes=$(stat -c %a "$demo/log/"*.log | sort -u)
    if [[ $modes == 640 ]]; then pass "$name"; else fail "$name" "modes: $modes"; fi
    name="run-as-units: stdout appended"
    "$root/tests/examples/run-as-units.sh" "$demo/scripts" "$demo/log" "$demo/stderr"
    if (($(grep -c ', OK, Dummy service is running$' "$demo/log/dummy_service_v2.log") == 2)); then
        pass "$name"
    else
        fail "$name" "$(cat "$demo/log/dummy_service_v2.log")"
    fi
    name="run-as-units: ERROR line after a failed run"
    if [[ $(tail -n 1 "$demo/log/crash.log") =~ ^[0-9-]{10}\ [0-9:]{8},\ ERROR,\ exited\ with\ status\ 3$ ]] &&
        grep -qx 'OK, partial' "$demo/log/crash.log"; then
        pass "$name"
    else
        fail "$name" "$(cat "$demo/log/crash.log")"
    fi
    name="run-as-units: ERROR line after a timeout from the manifest"
    if [[ $(tail -n 1 "$demo/log/slow.log") == *", ERROR, timed out after 1s" ]]; then
        pass "$name"
    else
        fail "$name" "$(cat "$demo/log/slow.log")"
    fi

    # A plugin check: without the runner an UNKNOWN line says what it needs;
    # with it (a stub recording its arguments), it runs through it with
    # --output nagios, and other scripts without.
    plug=$work/demo-plugin
    mkdir -p "$plug/scripts"
    cp "$examples/plugin-load.bash" "$examples/dummy-service.bash" "$plug/scripts/"
    "$root/tests/examples/run-as-units.sh" "$plug/scripts" "$plug/log" "$plug/stderr"
    name="run-as-units: a plugin check without the runner is UNKNOWN, saying why"
    if [[ $(cat "$plug/log/plugin_load.log") =~ ^[0-9-]{10}\ [0-9:]{8},\ UNKNOWN,\ .*needs\ the\ runner:\ set\ SSI_RUN\ to\ ssi-run$ ]]; then
        pass "$name"
    else
        fail "$name" "$(cat "$plug/log/plugin_load.log")"
    fi
    stub "$plug/bin" ssi-run <<'STUB'
echo "OK, ssi-run $*"
STUB
    rm -rf "$plug/log"
    SSI_RUN=$plug/bin/ssi-run "$root/tests/examples/run-as-units.sh" "$plug/scripts" "$plug/log" "$plug/stderr"
    name="run-as-units: with SSI_RUN, a plugin check runs through it with --output nagios"
    if [[ $(cat "$plug/log/plugin_load.log") == "OK, ssi-run --output nagios $plug/scripts/plugin-load.bash" &&
        $(cat "$plug/log/dummy_service.log") == "OK, ssi-run $plug/scripts/dummy-service.bash" ]]; then
        pass "$name"
    else
        fail "$name" "$(cat "$plug/log/"*.log)"
    fi
fi

# --- notification hooks (examples/notify): against a stub sendmail that
# records its arguments and stdin, and a real HTTP receiver on loopback.
hook_env=(SSI_EVENT=change SSI_ID=disk_usage SSI_NAME="Disk usage" SSI_STATUS=FAILURE SSI_PREVIOUS_STATUS=OK
    SSI_MESSAGE="/ at 97%" SSI_TIMESTAMP=2026-11-26T10:00:00Z SSI_HOST=web1)
hook_json='{"event":"change","id":"disk_usage","name":"Disk usage","status":"FAILURE","previous_status":"OK","message":"/ at 97%","timestamp":"2026-11-26T10:00:00Z","host":"web1"}'
notify=$work/notify
mkdir -p "$notify"
printf '#!/bin/sh\nprintf "%%s\\n" "$*" > "%s/sendmail.args"\ncat > "%s/sendmail.in"\n' "$notify" "$notify" >"$notify/sendmail"
chmod 755 "$notify/sendmail"
printf 'to = ops@example.com\nsendmail=%s\n' "$notify/sendmail" >"$notify/email.conf"
if selected "notify: email"; then
    name="notify: email hands sendmail -t a well-formed message"
    if printf '%s\n' "$hook_json" | env "${hook_env[@]}" SSI_EMAIL_CONF="$notify/email.conf" "$examples/notify/email" 2>"$work/stderr"; then
        msg=$(cat "$notify/sendmail.in")
        problems=()
        [[ $(cat "$notify/sendmail.args") == "-t -i -odi" ]] || problems+=("args: $(cat "$notify/sendmail.args")")
        headers=$(sed '/^$/q' <<<"$msg")
        for h in 'From: ssi@web1' 'To: ops@example.com' 'Subject: [web1] Disk usage: OK -> FAILURE' \
            'MIME-Version: 1.0' 'Content-Type: text/plain; charset=UTF-8'; do
            grep -qxF "$h" <<<"$headers" || problems+=("no header \"$h\"")
        done
        grep -Eq '^Date: [A-Z][a-z]{2}, [0-9]{2} [A-Z][a-z]{2} [0-9]{4} [0-9:]{8} [+-][0-9]{4}$' <<<"$headers" || problems+=("no RFC 5322 Date")
        grep -Eq '^Message-ID: <[^ ]+@web1>$' <<<"$headers" || problems+=("no Message-ID")
        grep -qxF 'Message:  / at 97%' <<<"$msg" || problems+=("no message in the body")
        # Every header line is "Name: value", then one empty line.
        grep -vEq '^([A-Za-z-]+: .*)?$' <<<"$headers" && problems+=("a malformed header line")
        if ((${#problems[@]} == 0)); then pass "$name"; else fail "$name" "${problems[*]}: $msg"; fi
    else
        fail "$name" "exit $?: $(cat "$work/stderr")"
    fi
    name="notify: email keeps a newline in the name out of the headers"
    printf '%s\n' "$hook_json" | env "${hook_env[@]}" SSI_NAME=$'Disk\nBcc: evil@example.com' SSI_EMAIL_CONF="$notify/email.conf" "$examples/notify/email" 2>/dev/null
    if grep -q '^Bcc:' "$notify/sendmail.in"; then fail "$name" "$(cat "$notify/sendmail.in")"; else pass "$name"; fi
    name="notify: email names an invalid script's event in its subject"
    printf '%s\n' "$hook_json" | env "${hook_env[@]}" SSI_EVENT=invalid SSI_STATUS= SSI_PREVIOUS_STATUS= SSI_EMAIL_CONF="$notify/email.conf" "$examples/notify/email" 2>/dev/null
    if grep -qxF 'Subject: [web1] Disk usage: script invalid, the check does not run' "$notify/sendmail.in"; then pass "$name"; else fail "$name" "$(head -n 5 "$notify/sendmail.in")"; fi
    name="notify: email without a recipient fails naming the file"
    printf 'from=x@y\n' >"$notify/empty.conf"
    if out=$(env "${hook_env[@]}" SSI_EMAIL_CONF="$notify/empty.conf" "$examples/notify/email" </dev/null 2>&1); then
        fail "$name" "exit 0"
    elif [[ $out == *"$notify/empty.conf"* ]]; then pass "$name"; else fail "$name" "$out"; fi
fi
if selected "notify: webhook"; then
    python3 "$root/tests/examples/receiver.py" "$notify/requests" "$notify/port" </dev/null 2>"$notify/receiver.err" &
    server_pid=$!
    for _ in $(seq 50); do [[ -s $notify/port ]] && break; sleep 0.1; done
    port=$(cat "$notify/port" 2>/dev/null)
    # webhook_case FORMAT PYTHON-EXPR: POSTs the event in FORMAT; EXPR (r = the
    # recorded request, b = its JSON body or None) must be true. extra_env
    # overrides the event's variables.
    extra_env=()
    webhook_case() {
        local name="notify: webhook format=$1" check=$2 out
        printf 'url=http://127.0.0.1:%s/hook\nformat=%s\n' "$port" "${1%% *}" >"$notify/webhook.conf"
        : >"$notify/requests"
        if ! out=$(printf '%s\n' "$hook_json" | env "${hook_env[@]}" "${extra_env[@]}" SSI_WEBHOOK_CONF="$notify/webhook.conf" "$examples/notify/webhook" 2>&1); then
            fail "$name" "exit code: $out"
            return
        fi
        if python3 -c 'import json, sys
reqs = [json.loads(l) for l in open(sys.argv[1])]
assert len(reqs) == 1, reqs
r = reqs[0]
try:
    b = json.loads(r["body"])
except ValueError:
    b = None
assert eval(sys.argv[2]), r' "$notify/requests" "$check" 2>"$work/stderr"; then
            pass "$name"
        else
            fail "$name" "$(tail -n 2 "$work/stderr")"
        fi
    }
    if [[ -n $port ]]; then
        webhook_case json 'r["path"] == "/hook" and r["headers"]["Content-Type"] == "application/json" and b == json.loads('"'$hook_json'"')'
        webhook_case slack 'b == {"text": "[web1] Disk usage: OK -> FAILURE (/ at 97%)"}'
        webhook_case discord 'b == {"content": "[web1] Disk usage: OK -> FAILURE (/ at 97%)"}'
        webhook_case ntfy 'r["body"] == "[web1] Disk usage: OK -> FAILURE (/ at 97%)" and r["headers"]["Title"] == "web1 Disk usage" and r["headers"]["Tags"] == "rotating_light"'
        extra_env=(SSI_EVENT=invalid SSI_STATUS= SSI_PREVIOUS_STATUS= SSI_MESSAGE='line 5: schedule "x": expected …')
        webhook_case 'ntfy (invalid)' 'r["body"] == "[web1] Disk usage: script invalid, the check does not run (line 5: schedule \"x\": expected …)" and r["headers"]["Tags"] == "no_entry"'
        extra_env=(SSI_EVENT=valid SSI_STATUS= SSI_PREVIOUS_STATUS= SSI_MESSAGE='valid again')
        webhook_case 'slack (valid)' 'b == {"text": "[web1] Disk usage: script valid again (valid again)"}'
        extra_env=()
        name="notify: webhook fails when the receiver says 500"
        kill "$server_pid" 2>/dev/null
        wait "$server_pid" 2>/dev/null
        rm -f "$notify/port"
        python3 "$root/tests/examples/receiver.py" "$notify/requests" "$notify/port" 500 </dev/null 2>>"$notify/receiver.err" &
        server_pid=$!
        for _ in $(seq 50); do [[ -s $notify/port ]] && break; sleep 0.1; done
        printf 'url=http://127.0.0.1:%s/hook\n' "$(cat "$notify/port")" >"$notify/webhook.conf"
        if printf '%s\n' "$hook_json" | env "${hook_env[@]}" SSI_WEBHOOK_CONF="$notify/webhook.conf" "$examples/notify/webhook" 2>/dev/null; then
            fail "$name" "exit 0"
        else
            pass "$name"
        fi
    else
        fail "notify: webhook" "the loopback receiver did not start: $(cat "$notify/receiver.err")"
    fi
    kill "$server_pid" 2>/dev/null
    wait "$server_pid" 2>/dev/null
    server_pid=
fi

printf 'examples: %d passed, %d failed\n' "$passed" "$failed"
((failed == 0))
