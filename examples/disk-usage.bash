#!/usr/bin/env bash
# name: Disk usage
# description: Used space of each watched filesystem against warning and failure thresholds
# version: 1.0
# schedule: *:0/5  # Every 5 minutes
# timeout: 30      # Optional, in seconds (default 20)
#
# Environment (optional):
#   SSI_DISK_PATHS  space-separated paths whose filesystems are checked (default "/")
#   SSI_DISK_WARN   WARNING at or above this percentage used (default 80)
#   SSI_DISK_FAIL   FAILURE at or above this percentage used (default 90)

set -u

report() {
    local message=${2//[$'\n\r']/ }
    printf '%s, %s, %s\n' "$(date '+%Y-%m-%d %H:%M:%S')" "$1" "$message"
    exit 0
}

# require_int ENV VALUE: an UNKNOWN report naming the setting unless VALUE
# is a whole number.
require_int() {
    [[ $2 =~ ^[0-9]+$ ]] || report UNKNOWN "$1=\"$2\" is not a whole number"
}

warn=${SSI_DISK_WARN:-80}
require_int SSI_DISK_WARN "$warn"
fail=${SSI_DISK_FAIL:-90}
require_int SSI_DISK_FAIL "$fail"
read -r -a paths <<<"${SSI_DISK_PATHS:-/}"

command -v df >/dev/null 2>&1 || report UNKNOWN "df is not available"

# Severity order, so several paths report the worst of them.
declare -A rank=([OK]=0 [UNKNOWN]=1 [WARNING]=2 [FAILURE]=3)
status=OK
details=()
for path in "${paths[@]}"; do
    # POSIX format: one line per filesystem, "Use%" is the fifth field.
    if ! out=$(LC_ALL=C df -P -- "$path" 2>&1); then
        this=UNKNOWN
        details+=("$path: cannot check (${out##*$'\n'})")
    else
        used=$(awk 'NR == 2 { sub(/%$/, "", $5); print $5 }' <<<"$out")
        if [[ ! $used =~ ^[0-9]+$ ]]; then
            this=UNKNOWN
            details+=("$path: df printed no usage")
        else
            if ((used >= fail)); then
                this=FAILURE
            elif ((used >= warn)); then
                this=WARNING
            else
                this=OK
            fi
            details+=("$path at ${used}%")
        fi
    fi
    ((rank[$this] > rank[$status])) && status=$this
done

summary=$(IFS=';'; printf '%s' "${details[*]}")
report "$status" "${summary//;/; } (warning at ${warn}%, failure at ${fail}%)"
