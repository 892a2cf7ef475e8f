#!/usr/bin/env bash
# name: Failed systemd units
# description: Units systemd reports as failed; critical units or too many failures raise a failure
# version: 1.0
# schedule: *:0/10
#
# Environment (optional):
#   SSI_FAILED_UNITS_IGNORE    space-separated glob patterns of units to ignore (e.g. "apt-daily*.service")
#   SSI_FAILED_UNITS_CRITICAL  space-separated units whose failure alone is a FAILURE (e.g. "ssh.service")
#   SSI_FAILED_UNITS_FAIL      FAILURE at or above this many failed units (default 3); fewer is a WARNING

set -u

report() {
    local message=${2//[$'\n\r']/ }
    printf '%s, %s, %s\n' "$(date '+%Y-%m-%d %H:%M:%S')" "$1" "$message"
    exit 0
}

fail_at=${SSI_FAILED_UNITS_FAIL:-3}
[[ $fail_at =~ ^[1-9][0-9]*$ ]] || report UNKNOWN "SSI_FAILED_UNITS_FAIL=\"$fail_at\" is not a positive whole number"
read -r -a ignore <<<"${SSI_FAILED_UNITS_IGNORE:-}"
read -r -a critical <<<"${SSI_FAILED_UNITS_CRITICAL:-}"

command -v systemctl >/dev/null 2>&1 || report UNKNOWN "systemctl is not available"
if ! out=$(systemctl list-units --state=failed --all --plain --no-legend --no-pager 2>&1); then
    report UNKNOWN "cannot list units: ${out##*$'\n'}"
fi

failed=()
critical_failed=()
while read -r unit _; do
    [[ -n $unit ]] || continue
    for pattern in "${ignore[@]}"; do
        # shellcheck disable=SC2053 # the pattern is a glob on purpose
        [[ $unit == $pattern ]] && continue 2
    done
    failed+=("$unit")
    for name in "${critical[@]}"; do
        [[ $unit == "$name" ]] && critical_failed+=("$unit")
    done
done <<<"$out"

count=${#failed[@]}
((count == 0)) && report OK "No failed units"

# Name at most five units so the line stays readable on the dashboard.
shown=$(IFS=' '; printf '%s' "${failed[*]:0:5}")
((count > 5)) && shown+=" and $((count - 5)) more"
noun=units
((count == 1)) && noun=unit

if ((${#critical_failed[@]} > 0)); then
    report FAILURE "$count failed $noun, critical: ${critical_failed[*]} (failed: $shown)"
elif ((count >= fail_at)); then
    report FAILURE "$count failed $noun: $shown"
else
    report WARNING "$count failed $noun: $shown"
fi
