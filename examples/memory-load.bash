#!/usr/bin/env bash
# name: Memory and load
# description: Memory in use and 5-minute load average per CPU against thresholds
# version: 1.0
# schedule: *:0/5
#
# "Used" memory is what the kernel cannot hand out without swapping:
# MemTotal - MemAvailable, as a percentage of MemTotal.
#
# Environment (optional):
#   SSI_MEM_WARN   WARNING at or above this percentage of memory used (default 85)
#   SSI_MEM_FAIL   FAILURE at or above this percentage of memory used (default 95)
#   SSI_LOAD_WARN  WARNING at or above this 5-minute load per CPU (default 1.5)
#   SSI_LOAD_FAIL  FAILURE at or above this 5-minute load per CPU (default 3)
#   SSI_CPUS       number of CPUs (default: online CPUs)
#   SSI_PROC_DIR   where meminfo and loadavg are read (default /proc)

set -u

report() {
    local message=${2//[$'\n\r']/ }
    printf '%s, %s, %s\n' "$(date '+%Y-%m-%d %H:%M:%S')" "$1" "$message"
    exit 0
}

# require_number ENV VALUE: an UNKNOWN report naming the setting unless
# VALUE is a non-negative decimal number.
require_number() {
    [[ $2 =~ ^[0-9]+(\.[0-9]+)?$ ]] || report UNKNOWN "$1=\"$2\" is not a number"
}

mem_warn=${SSI_MEM_WARN:-85}
require_number SSI_MEM_WARN "$mem_warn"
mem_fail=${SSI_MEM_FAIL:-95}
require_number SSI_MEM_FAIL "$mem_fail"
load_warn=${SSI_LOAD_WARN:-1.5}
require_number SSI_LOAD_WARN "$load_warn"
load_fail=${SSI_LOAD_FAIL:-3}
require_number SSI_LOAD_FAIL "$load_fail"
proc=${SSI_PROC_DIR:-/proc}

command -v awk >/dev/null 2>&1 || report UNKNOWN "awk is not available"

cpus=${SSI_CPUS:-$(getconf _NPROCESSORS_ONLN 2>/dev/null || nproc 2>/dev/null)}
[[ $cpus =~ ^[1-9][0-9]*$ ]] || report UNKNOWN "cannot tell the number of CPUs (got \"$cpus\"); set SSI_CPUS"

[[ -r $proc/meminfo ]] || report UNKNOWN "cannot read $proc/meminfo"
[[ -r $proc/loadavg ]] || report UNKNOWN "cannot read $proc/loadavg"

# awk does the arithmetic (bash has no decimals) and prints one line:
# "STATUS message".
result=$(awk -v mem_warn="$mem_warn" -v mem_fail="$mem_fail" \
    -v load_warn="$load_warn" -v load_fail="$load_fail" -v cpus="$cpus" '
    FILENAME ~ /meminfo$/ && $1 == "MemTotal:" { total = $2 }
    FILENAME ~ /meminfo$/ && $1 == "MemAvailable:" { avail = $2; have_avail = 1 }
    FILENAME ~ /loadavg$/ && FNR == 1 { load = $2; have_load = 1 }
    function level(value, warn, fail) { return value >= fail ? 2 : value >= warn ? 1 : 0 }
    END {
        if (total <= 0 || !have_avail) { print "UNKNOWN no MemTotal/MemAvailable in meminfo"; exit }
        if (!have_load) { print "UNKNOWN no load average in loadavg"; exit }
        used = 100 * (total - avail) / total
        per_cpu = load / cpus
        worst = level(used, mem_warn, mem_fail)
        l = level(per_cpu, load_warn, load_fail)
        if (l > worst) worst = l
        split("OK WARNING FAILURE", names, " ")
        printf "%s memory %.0f%% used (%.1f of %.1f GiB), load %.2f per CPU (%.2f on %d CPU%s)\n",
            names[worst + 1], used, (total - avail) / 1048576, total / 1048576, per_cpu, load, cpus, cpus == 1 ? "" : "s"
    }' "$proc/meminfo" "$proc/loadavg" 2>&1)

report "${result%% *}" "${result#* }"
