#!/usr/bin/env bash
# The scripts directory watch under a real systemd: run as root INSIDE a
# booted systemd (e.g. the e2e suite's nspawn container, with
# "ct_exec bash tests/scripts-watch.sh") after "make install". It drops,
# removes, renames, chmods and edits check scripts in the real scripts
# directory with no systemctl command and measures how long systemd takes to
# follow. Every script it writes is named ssiwatch_*.sh and removed again.
# Prints PASS/FAIL lines with timings and "scripts-watch: N passed, M failed".
set -u

D=${SSI_SCRIPTS_DIR:-/usr/local/bin/service-status-indicator}
L=${SSI_LOG_DIR:-/var/log/service-status-indicator}
APPLY=${SSI_APPLY:-/usr/local/lib/service-status-indicator/ssi-apply}
# How long a change may take to show in systemd before it counts as missed.
LIMIT=${SSI_WATCH_LIMIT:-10}
src=$(mktemp -d /root/ssiwatch.XXXXXX) || exit 1

passed=0
failed=0
pass() {
    passed=$((passed + 1))
    echo "PASS $*"
}
fail() {
    failed=$((failed + 1))
    echo "FAIL $*"
}

now() { date +%s%N; }
# within SECONDS COMMAND...: polls COMMAND every 20 ms; prints the
# milliseconds it took, fails after SECONDS.
within() {
    local t0 limit
    t0=$(now)
    limit=$(($1 * 1000000000))
    shift
    until "$@"; do
        (($(now) - t0 > limit)) && return 1
        sleep 0.02
    done
    echo $((($(now) - t0) / 1000000))
}
active() { [[ $(systemctl is-active "$1") == active ]]; }
# Neither loaded nor listed: systemd has forgotten the unit.
gone() { [[ -z $(systemctl list-units --all --plain --no-legend "$1") ]]; }
idle() { [[ -z $(systemctl list-units --plain --no-legend --state=activating 'ssi-scripts@*.service') ]]; }
reloads() { journalctl -b _PID=1 -o cat --no-pager | grep -c '^Reloading\.$'; }
applies() { journalctl -b -u 'ssi-scripts@*.service' -o cat --no-pager | grep -c '^Finished ssi-scripts@'; }

# expect NAME COMMAND...: PASS with the time COMMAND took to succeed.
expect() {
    local name=$1 ms
    shift
    if ms=$(within "$LIMIT" "$@"); then pass "$name: ${ms} ms"; else fail "$name: not within $LIMIT s"; fi
}

# script FILE NAME SCHEDULE: a check printing an OK line.
script() {
    # shellcheck disable=SC2016 # the $(date) runs in the check, not here
    printf '#!/bin/sh\n# name: %s\n# description: scripts watch test\n# version: 1\n# schedule: %s\necho "$(date "+%%Y-%%m-%%d %%H:%%M:%%S"), OK, %s"\n' \
        "$2" "$3" "$2" >"$1"
    chmod 0755 "$1"
}

cleanup() {
    rm -f "$D"/ssiwatch_* "$D"/.ssiwatch_*
    "$APPLY" >/dev/null
    rm -rf "$src" "$L"/ssiwatch_*.log
}
trap cleanup EXIT

for u in ssi-scripts@1.path ssi-scripts@2.path; do
    if active "$u"; then pass "$u is active"; else fail "$u is $(systemctl is-active "$u") (make install enables it)"; fi
done

script "$src/ssiwatch_a.sh" "Watch A" '*:*:0/2'
t=ssi_ssiwatch_a.timer
f=$D/ssiwatch_a.sh

install -m 0755 "$src/ssiwatch_a.sh" "$f"
expect "drop (install -m 0755): $t active" active "$t"
if within 6 grep -qs OK "$L/ssiwatch_a.log" >/dev/null; then pass "the dropped check ran"; else fail "the dropped check never ran"; fi

rm "$f"
expect "rm: $t stopped and forgotten" gone "$t"
if gone ssi_ssiwatch_a.service; then pass "ssi_ssiwatch_a.service forgotten too"; else fail "ssi_ssiwatch_a.service still listed"; fi
n1=$(wc -l <"$L/ssiwatch_a.log")
sleep 4
n2=$(wc -l <"$L/ssiwatch_a.log")
if [[ $n1 == "$n2" ]]; then pass "the removed check no longer runs ($n1 log lines, 4 s later too)"; else fail "the removed check still runs: $n1 -> $n2 log lines"; fi

cat "$src/ssiwatch_a.sh" >"$f" # 0644: not a script yet
sleep 1.5
if active "$t"; then fail "a non-executable file got an active timer"; else pass "a non-executable file gets no timer"; fi
chmod 0755 "$f"
expect "chmod 0755: $t active" active "$t"

mv "$f" "$src/moved.sh"
expect "mv out of the directory: $t forgotten" gone "$t"
cp -p "$src/moved.sh" "$D/.ssiwatch_a.sh.tmp"
sleep 1
mv "$D/.ssiwatch_a.sh.tmp" "$f"
expect "mv into place from a hidden name: $t active" active "$t"

# Each change made the moment the previous one took effect: the next
# change lands while the previous apply is still finishing.
mv "$f" "$f.disabled"
expect "mv to .disabled right after the timer started: $t forgotten" gone "$t"
mv "$f.disabled" "$f"
expect "mv back right away: $t active" active "$t"
chmod 0775 "$f"
expect "chmod 0775 (refused as group-writable): $t forgotten" gone "$t"
chmod 0755 "$f"
expect "chmod 0755: $t active again" active "$t"

sed -i 's|^# schedule: .*|# schedule: *:*:0/3|' "$f"
has_new_schedule() { systemctl show -p TimersCalendar "$t" | grep -q '0/3'; }
expect "schedule edited in place (sed -i): $t has the new OnCalendar" has_new_schedule
if active "$t"; then pass "$t still active after the edit"; else fail "$t not active after the edit"; fi

within "$LIMIT" idle >/dev/null
r0=$(reloads)
a0=$(applies)
for i in 1 2 3 4 5; do
    echo "swap $i" >"$D/.ssiwatch_a.sh.swp"
    sleep 0.3
done
rm "$D/.ssiwatch_a.sh.swp"
echo backup >"$D/ssiwatch_a.sh~"
rm "$D/ssiwatch_a.sh~"
sleep 1
within "$LIMIT" idle >/dev/null
if [[ $(reloads) == "$r0" ]]; then
    pass "editor swap and backup files: $(($(applies) - a0)) applies, no daemon-reload"
else
    fail "editor swap and backup files caused $(($(reloads) - r0)) daemon-reloads"
fi
a0=$(applies)
sleep 7
if [[ $(applies) == "$a0" ]]; then pass "7 s of check runs start no apply"; else fail "check runs started $(($(applies) - a0)) applies"; fi

rm "$f"
within "$LIMIT" gone "$t" >/dev/null
cp -p "$src/ssiwatch_a.sh" "$f" && systemctl daemon-reload
expect "cp and at once a manual daemon-reload: $t active (from the reload's return)" active "$t"
rm "$f"
within "$LIMIT" gone "$t" >/dev/null

# Without the watch: the problem it solves, and the manual remedy.
within "$LIMIT" idle >/dev/null
systemctl stop ssi-scripts@1.path ssi-scripts@2.path
cp -p "$src/ssiwatch_a.sh" "$f"
systemctl daemon-reload
sleep 2
state=$(systemctl is-active "$t")
if [[ $state == inactive ]]; then
    pass "without the watch, drop + daemon-reload leaves $t inactive (the problem)"
else
    fail "without the watch, expected $t inactive after daemon-reload, got $state"
fi
systemctl start ssi-scripts@1.service
if active "$t"; then pass "systemctl start ssi-scripts@1.service: $t active on return"; else fail "manual apply: $t $(systemctl is-active "$t")"; fi
rm "$f"
"$APPLY" >/dev/null
if gone "$t"; then pass "ssi-apply by hand after rm: $t forgotten on return"; else fail "ssi-apply by hand: $t still listed"; fi
systemctl start ssi-scripts@1.path ssi-scripts@2.path

for i in $(seq -w 1 20); do script "$src/ssiwatch_b$i.sh" "Burst $i" '*:0/5'; done
all_active() { [[ $(systemctl list-units --plain --no-legend --state=active 'ssi_ssiwatch_b*.timer' | wc -l) == 20 ]]; }
none_left() { [[ -z $(systemctl list-units --all --plain --no-legend 'ssi_ssiwatch_b*') ]]; }
r0=$(reloads)
cp -p "$src"/ssiwatch_b*.sh "$D/"
expect "cp of 20 scripts at once: 20 timers active" all_active
within "$LIMIT" idle >/dev/null
echo "     (daemon-reloads: $(($(reloads) - r0)))"
r0=$(reloads)
rm "$D"/ssiwatch_b*.sh
expect "rm of 20 scripts at once: all forgotten" none_left
within "$LIMIT" idle >/dev/null
echo "     (daemon-reloads: $(($(reloads) - r0)))"

missed=0
slowest=0
for _ in $(seq 1 "${SSI_WATCH_ROUNDS:-10}"); do
    cp -p "$src/ssiwatch_a.sh" "$f"
    ms=$(within "$LIMIT" active "$t") || { missed=$((missed + 1)) && ms=0 && "$APPLY" >/dev/null; }
    ((ms > slowest)) && slowest=$ms
    rm "$f"
    ms=$(within "$LIMIT" gone "$t") || { missed=$((missed + 1)) && ms=0 && "$APPLY" >/dev/null; }
    ((ms > slowest)) && slowest=$ms
done
if ((missed == 0)); then
    pass "${SSI_WATCH_ROUNDS:-10} x drop and rm back to back: none missed, slowest ${slowest} ms"
else
    fail "$missed of $((2 * ${SSI_WATCH_ROUNDS:-10})) back-to-back changes missed"
fi

within "$LIMIT" idle >/dev/null
for u in ssi-scripts@1.service ssi-scripts@2.service; do
    result=$(systemctl show -p Result --value "$u")
    if [[ $result == success ]]; then pass "$u: last result success"; else fail "$u: last result $result"; fi
done

echo "scripts-watch: $passed passed, $failed failed"
((failed == 0))
