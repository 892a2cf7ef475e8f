#!/usr/bin/env bash
# name: System updates
# description: Pending Debian/Ubuntu package updates; pending security updates raise a warning
# version: 1.0
# schedule: *-*-* 06,18:00:00
# timeout: 120
#
# Uses /usr/lib/update-notifier/apt-check when installed (Ubuntu), otherwise
# counts the packages a simulated "apt-get -s upgrade" would install. It never
# changes the system and does not refresh the package lists (apt's own
# apt-daily.timer does that).
#
# Environment (optional):
#   SSI_APT_CHECK  path of apt-check (default /usr/lib/update-notifier/apt-check)

set -u
set -o pipefail

report() {
    local message=${2//[$'\n\r']/ }
    printf '%s, %s, %s\n' "$(date '+%Y-%m-%d %H:%M:%S')" "$1" "$message"
    exit 0
}

apt_check=${SSI_APT_CHECK:-/usr/lib/update-notifier/apt-check}

if [[ -x $apt_check ]]; then
    # apt-check prints "UPDATES;SECURITY_UPDATES" on stderr.
    if ! out=$("$apt_check" 2>&1 >/dev/null); then
        report FAILURE "apt-check failed: ${out##*$'\n'}"
    fi
    last=${out##*$'\n'}
    if [[ ! $last =~ ^([0-9]+)\;([0-9]+)$ ]]; then
        report UNKNOWN "apt-check printed \"$last\", expected \"UPDATES;SECURITY\""
    fi
    total=${BASH_REMATCH[1]}
    security=${BASH_REMATCH[2]}
elif command -v apt-get >/dev/null 2>&1; then
    if ! out=$(LC_ALL=C apt-get -s -o Debug::NoLocking=1 upgrade 2>&1); then
        report FAILURE "apt-get -s upgrade failed: ${out##*$'\n'}"
    fi
    # One "Inst package [old] (new origin [arch])" line per package to install.
    total=$(grep -c '^Inst ' <<<"$out")
    security=$(grep '^Inst ' <<<"$out" | grep -ci 'security')
else
    report UNKNOWN "neither $apt_check nor apt-get is available"
fi

if ((total == 0)); then
    report OK "System is up to date"
elif ((security > 0)); then
    report WARNING "$total updates pending, $security of them security updates"
else
    report UPDATE "$total updates pending"
fi
