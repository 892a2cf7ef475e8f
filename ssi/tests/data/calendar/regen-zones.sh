#!/bin/bash
# Regenerates zones.expected from zones.txt with the real
# `systemd-analyze calendar` (systemd 252), one run per case. Commit it.
#
# Each case becomes a block: a line "=== TZ<tab>BASE<tab>N<tab>EXPR", then
# the lines of systemd-analyze's output that ssi-status check must match:
# "Normalized form", "Next elapse", "Iter. #n" and "(in UTC)", trimmed; or
# "invalid" when systemd rejects the expression.
set -euo pipefail
cd "$(dirname "$0")"

{
    while IFS=$'\t' read -r tz base n expr _kept; do
        case "$tz" in '#'* | '') continue ;; esac
        printf '=== %s\t%s\t%s\t%s\n' "$tz" "$base" "$n" "$expr"
        out=$(TZ="$tz" LC_ALL=C SYSTEMD_COLORS=0 SYSTEMD_PAGER=cat \
            systemd-analyze calendar --iterations="$n" --base-time="$base" -- "$expr" 2>&1 || true)
        if grep -q '^Failed to parse calendar specification' <<<"$out"; then
            echo invalid
        else
            { grep -E '^ *(Normalized form|Next elapse|Iter\. #[0-9]+|\(in UTC\)):' <<<"$out" || true; } |
                sed 's/^ *//'
        fi
    done < zones.txt
} > zones.expected
echo "regenerated $(grep -c '^===' zones.expected) cases"
