#!/usr/bin/env bash
# name: HTTP endpoint health
# description: HTTP status and response time of web endpoints
# version: 1.0
# schedule: *:0/2
# timeout: 60
#
# A 2xx or 3xx answer is healthy (redirects are not followed); an answer
# slower than SSI_HTTP_SLOW is a warning; anything else is a failure.
#
# Environment (optional):
#   SSI_HTTP_URLS     space-separated URLs (default "http://127.0.0.1:5000/", the dashboard)
#   SSI_HTTP_SLOW     WARNING when an answer takes at least this many seconds (default 2)
#   SSI_HTTP_TIMEOUT  seconds allowed per URL (default 10)

set -u

report() {
    local message=${2//[$'\n\r']/ }
    printf '%s, %s, %s\n' "$(date '+%Y-%m-%d %H:%M:%S')" "$1" "$message"
    exit 0
}

slow=${SSI_HTTP_SLOW:-2}
[[ $slow =~ ^[0-9]+(\.[0-9]+)?$ ]] || report UNKNOWN "SSI_HTTP_SLOW=\"$slow\" is not a number"
max_time=${SSI_HTTP_TIMEOUT:-10}
[[ $max_time =~ ^[1-9][0-9]*$ ]] || report UNKNOWN "SSI_HTTP_TIMEOUT=\"$max_time\" is not a positive whole number"
read -r -a urls <<<"${SSI_HTTP_URLS:-http://127.0.0.1:5000/}"
((${#urls[@]} > 0)) || report UNKNOWN "SSI_HTTP_URLS is empty"

command -v curl >/dev/null 2>&1 || report UNKNOWN "curl is not available"

declare -A rank=([OK]=0 [UNKNOWN]=1 [WARNING]=2 [FAILURE]=3)
status=OK
details=()
errors=$(mktemp) || report UNKNOWN "cannot create a temporary file"
trap 'rm -f "$errors"' EXIT
for url in "${urls[@]}"; do
    # curl prints "CODE SECONDS" on stdout and its own error on stderr.
    out=$(curl --silent --show-error --output /dev/null --max-time "$max_time" \
        --write-out '%{http_code} %{time_total}' -- "$url" 2>"$errors")
    rc=$?
    read -r code seconds <<<"$out"
    if ((rc != 0)); then
        this=FAILURE
        error=$(head -n 1 "$errors")
        details+=("$url: ${error:-curl exit code $rc}")
    elif [[ ! $code =~ ^[23][0-9][0-9]$ ]]; then
        this=FAILURE
        details+=("$url: HTTP $code")
    elif awk -v t="$seconds" -v slow="$slow" 'BEGIN { exit !(t >= slow) }'; then
        this=WARNING
        details+=("$url: HTTP $code in ${seconds}s (slow at ${slow}s)")
    else
        this=OK
        details+=("$url: HTTP $code in ${seconds}s")
    fi
    ((rank[$this] > rank[$status])) && status=$this
done

summary=$(IFS=';'; printf '%s' "${details[*]}")
report "$status" "${summary//;/; }"
