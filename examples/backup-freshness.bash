#!/usr/bin/env bash
# name: Backup freshness
# description: Age and size of the newest backup file in a directory
# version: 1.0
# schedule: hourly
#
# Environment (optional):
#   SSI_BACKUP_DIR         directory searched recursively (default /var/backups)
#   SSI_BACKUP_NAME        file name glob a backup must match (default "*")
#   SSI_BACKUP_WARN_HOURS  WARNING when the newest backup is at least this old (default 26)
#   SSI_BACKUP_FAIL_HOURS  FAILURE when the newest backup is at least this old (default 50)
#   SSI_BACKUP_MIN_BYTES   FAILURE when the newest backup is smaller than this (default 1)

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

# "45 min", "30 h" or "3 days": precise enough for a dashboard.
human_age() {
    local seconds=$1
    if ((seconds < 3600)); then
        printf '%d min' $((seconds / 60))
    elif ((seconds < 172800)); then
        printf '%d h' $((seconds / 3600))
    else
        printf '%d days' $((seconds / 86400))
    fi
}

dir=${SSI_BACKUP_DIR:-/var/backups}
name=${SSI_BACKUP_NAME:-*}
warn_hours=${SSI_BACKUP_WARN_HOURS:-26}
require_int SSI_BACKUP_WARN_HOURS "$warn_hours"
fail_hours=${SSI_BACKUP_FAIL_HOURS:-50}
require_int SSI_BACKUP_FAIL_HOURS "$fail_hours"
min_bytes=${SSI_BACKUP_MIN_BYTES:-1}
require_int SSI_BACKUP_MIN_BYTES "$min_bytes"

command -v find >/dev/null 2>&1 || report UNKNOWN "find is not available"
[[ -d $dir ]] || report FAILURE "backup directory $dir is missing"
[[ -r $dir && -x $dir ]] || report UNKNOWN "cannot read backup directory $dir"

# GNU find prints "mtime-seconds size path" for every candidate; the newest wins.
newest=$(find "$dir" -type f -name "$name" -printf '%T@ %s %p\n' 2>/dev/null | sort -n | tail -n 1)
[[ -n $newest ]] || report FAILURE "no backup matching \"$name\" in $dir"

read -r mtime size path <<<"$newest"
age=$(($(date +%s) - ${mtime%.*}))
((age < 0)) && age=0
file=${path#"$dir"/}
description="newest backup $file is $(human_age "$age") old, $size bytes"

if ((size < min_bytes)); then
    report FAILURE "$description (smaller than $min_bytes bytes)"
elif ((age >= fail_hours * 3600)); then
    report FAILURE "$description (failure at $fail_hours h)"
elif ((age >= warn_hours * 3600)); then
    report WARNING "$description (warning at $warn_hours h)"
else
    report OK "$description"
fi
