#!/usr/bin/env bash
# name: TLS certificate expiry
# description: Days until the TLS certificates of servers or certificate files expire
# version: 1.0
# schedule: *-*-* 07:00:00
# timeout: 60
#
# Environment (optional):
#   SSI_TLS_TARGETS    space-separated targets: "host[:port]" (port 443 by default)
#                      or the path of a PEM certificate file (starting with "/" or ".")
#                      (default "localhost:443")
#   SSI_TLS_WARN_DAYS  WARNING when a certificate expires within this many days (default 21)
#   SSI_TLS_FAIL_DAYS  FAILURE when a certificate expires within this many days (default 7)
#   SSI_TLS_CONNECT_TIMEOUT  seconds allowed per server (default 10)

set -u
set -o pipefail

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

warn_days=${SSI_TLS_WARN_DAYS:-21}
require_int SSI_TLS_WARN_DAYS "$warn_days"
fail_days=${SSI_TLS_FAIL_DAYS:-7}
require_int SSI_TLS_FAIL_DAYS "$fail_days"
connect_timeout=${SSI_TLS_CONNECT_TIMEOUT:-10}
require_int SSI_TLS_CONNECT_TIMEOUT "$connect_timeout"
read -r -a targets <<<"${SSI_TLS_TARGETS:-localhost:443}"
((${#targets[@]} > 0)) || report UNKNOWN "SSI_TLS_TARGETS is empty"

command -v openssl >/dev/null 2>&1 || report UNKNOWN "openssl is not available"
command -v timeout >/dev/null 2>&1 || report UNKNOWN "timeout is not available"

# Prints the certificate's "notAfter=…" line for TARGET, or fails.
end_date() {
    local target=$1 host port sni
    case $target in
        /* | .*)
            openssl x509 -noout -enddate -in "$target" 2>/dev/null
            ;;
        *)
            # "host", "host:port", "[v6 address]" or "[v6 address]:port".
            if [[ $target =~ ^(\[[^]]*\]|[^:]+)(:([0-9]+))?$ ]]; then
                host=${BASH_REMATCH[1]}
                port=${BASH_REMATCH[3]:-443}
            else
                return 1
            fi
            # Server name indication takes names only, not IP addresses.
            sni=()
            [[ $host =~ ^\[|^[0-9.]+$ ]] || sni=(-servername "$host")
            timeout "$connect_timeout" openssl s_client -connect "$host:$port" "${sni[@]}" \
                </dev/null 2>/dev/null | openssl x509 -noout -enddate 2>/dev/null
            ;;
    esac
}

declare -A rank=([OK]=0 [UNKNOWN]=1 [WARNING]=2 [FAILURE]=3)
status=OK
details=()
now=$(date +%s)
for target in "${targets[@]}"; do
    if ! line=$(end_date "$target") || [[ $line != notAfter=* ]]; then
        this=UNKNOWN
        details+=("$target: no certificate (cannot read or connect)")
    elif ! end=$(date -d "${line#notAfter=}" +%s 2>/dev/null); then
        this=UNKNOWN
        details+=("$target: unreadable expiry date \"${line#notAfter=}\"")
    else
        left=$((end - now))
        # Whole days, rounded down, so "expires in 0 days" means today.
        days=$((left / 86400))
        if ((left <= 0)); then
            this=FAILURE
            details+=("$target expired $(((-left) / 86400)) days ago")
        else
            if ((days < fail_days)); then
                this=FAILURE
            elif ((days < warn_days)); then
                this=WARNING
            else
                this=OK
            fi
            details+=("$target expires in $days days ($(date -u -d "@$end" '+%Y-%m-%d'))")
        fi
    fi
    ((rank[$this] > rank[$status])) && status=$this
done

summary=$(IFS=';'; printf '%s' "${details[*]}")
report "$status" "${summary//;/; }"
