#!/bin/bash
# Regenerates the expected outputs for corpus.txt with the real
# `systemd-analyze calendar` (systemd 252), for every zone × base time
# below. Run from anywhere; commit the files under expected/.
#
# Each zone × base time is one systemd-analyze run with all expressions as
# arguments (it goes on after a bad one): expected/ZONE@BASE.out holds its
# stdout without the clock-dependent "From now:" lines, .err its stderr.
# calendar_corpus.rs reads them back in corpus order, and also runs the
# same commands live when systemd-analyze is installed.
set -euo pipefail
cd "$(dirname "$0")"

# Keep in sync with ZONES and BASES in ssi/tests/calendar_corpus.rs.
ZONES=(UTC Europe/Berlin America/New_York)
BASES=(
    1774744200 # 2026-03-29 00:30 UTC, 30 min before Berlin springs forward
    1792888200 # 2026-10-25 00:30 UTC, 30 min before Berlin falls back
    1772951400 # 2026-03-08 06:30 UTC, 30 min before New York springs forward
    1793511000 # 2026-11-01 05:30 UTC, 30 min before New York falls back
    1835393400 # 2028-02-28 23:30 UTC, the eve of a leap day
    7258075200 # 2199-12-31 12:00 UTC, the last day systemd can schedule
)

exprs=()
while IFS= read -r line; do
    case "$line" in \"*) ;; *) continue ;; esac
    line=${line#\"}
    line=${line%\"}
    exprs+=("$(printf '%b' "$line")")
done < corpus.txt

mkdir -p expected
rm -f expected/*.out expected/*.err
for zone in "${ZONES[@]}"; do
    for base in "${BASES[@]}"; do
        name="expected/${zone//\//_}@$base"
        TZ="$zone" LC_ALL=C SYSTEMD_COLORS=0 SYSTEMD_PAGER=cat \
            systemd-analyze calendar --iterations=5 --base-time="@$base" -- "${exprs[@]}" \
            > "$name.raw" 2> "$name.err" || true
        grep -v '^ *From now:' "$name.raw" > "$name.out" || true
        rm "$name.raw"
    done
done
echo "regenerated ${#exprs[@]} expressions × ${#ZONES[@]} zones × ${#BASES[@]} base times"
