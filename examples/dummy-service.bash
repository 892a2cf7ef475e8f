#!/usr/bin/env bash
# name: Dummy service
# description: Reports OK every minute to show that timers, logs and the dashboard work
# version: 1.0
# schedule: *:0/1
#
# Environment (optional, for demos and tests):
#   SSI_DUMMY_STATUS   status to report instead of OK (OK UPDATE WARNING FAILURE ERROR UNKNOWN)
#   SSI_DUMMY_MESSAGE  message to report (default "Dummy service is running")

set -u

# One status line, "YYYY-MM-DD HH:MM:SS, STATUS, message", then exit 0:
# a non-zero exit would make the unit append an ERROR line after ours.
report() {
    local message=${2//[$'\n\r']/ }
    printf '%s, %s, %s\n' "$(date '+%Y-%m-%d %H:%M:%S')" "$1" "$message"
    exit 0
}

status=${SSI_DUMMY_STATUS:-OK}
status=${status^^}
case $status in
    OK | UPDATE | WARNING | FAILURE | ERROR | UNKNOWN) ;;
    *) report UNKNOWN "SSI_DUMMY_STATUS=\"${SSI_DUMMY_STATUS}\" is not a status (expected OK, UPDATE, WARNING, FAILURE, ERROR or UNKNOWN)" ;;
esac
report "$status" "${SSI_DUMMY_MESSAGE:-Dummy service is running}"
