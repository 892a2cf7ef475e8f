#!/usr/bin/env bash
# `make test`: every suite runs to its end, whatever an earlier one did,
# then one summary: how many passed, failed and were skipped, and why each
# skip happened. A skip is only for what tests/deps.sh cannot fix (e.g. not
# root); a missing tool is a failure.
#
# Tests report a skip by appending "suite<TAB>test: reason" to the file
# named by $SSI_TEST_SKIPS (tests/lib/skip.sh for shell, a small function
# in the Rust test files), besides saying SKIPPED on their own output.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

target=${CARGO_TARGET_DIR:-target}
results=$(realpath -m "$target/test-results")
rm -rf "$results"
mkdir -p "$results"
export SSI_TEST_SKIPS=$results/skipped
: >"$SSI_TEST_SKIPS"

passed=0
failed=0
ignored=0
broken=()

# sum PATTERN FILE: the numbers of every match of "N word;" added up.
sum() {
    grep -oE "$1" "$2" | awk '{ n += $1 } END { print n + 0 }'
}

# suite NAME CMD…: runs it, keeps its output in $results/NAME.log.
suite() {
    local name=$1 rc
    shift
    echo "==> $name: $*"
    "$@" 2>&1 | tee "$results/$name.log"
    rc=${PIPESTATUS[0]}
    local log=$results/$name.log p=0 f=0 i=0 line
    case $name in
    nextest)
        # "Summary [ 12.3s] 163 tests run: 162 passed, 1 failed, 1 skipped"
        line=$(grep -E '^ *Summary \[' "$log" | tail -n 1)
        p=$(grep -oE '[0-9]+ passed' <<<"$line" | grep -oE '[0-9]+' || echo 0)
        f=$(grep -oE '[0-9]+ failed' <<<"$line" | grep -oE '[0-9]+' || echo 0)
        i=$(grep -oE '[0-9]+ skipped' <<<"$line" | grep -oE '[0-9]+' || echo 0)
        ;;
    doctest)
        # "test result: ok. 3 passed; 0 failed; 1 ignored; …", one per crate
        p=$(sum '[0-9]+ passed;' "$log")
        f=$(sum '[0-9]+ failed;' "$log")
        i=$(sum '[0-9]+ ignored;' "$log")
        ;;
    *)
        # the shell suites end with "NAME: N passed, N failed"
        line=$(grep -E '^[a-z-]+: [0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
        p=$(sed -nE 's/^[a-z-]+: ([0-9]+) passed.*/\1/p' <<<"$line")
        f=$(sed -nE 's/^[a-z-]+: [0-9]+ passed, ([0-9]+) failed.*/\1/p' <<<"$line")
        ;;
    esac
    p=${p:-0} f=${f:-0} i=${i:-0}
    if ((rc != 0 && f == 0)); then
        f=1 # it failed before it could count (a build error, a crash)
    fi
    ((rc == 0)) || broken+=("$name (exit $rc, log: $log)")
    passed=$((passed + p))
    failed=$((failed + f))
    ignored=$((ignored + i))
}

suite nextest cargo nextest run --locked --workspace --no-fail-fast
suite doctest cargo test --locked --workspace --doc
suite examples env SSI_STATUS="$target/debug/ssi-status" tests/examples/run.sh
suite units tests/units.sh
suite install tests/install.sh
suite bench tests/bench.sh
suite prometheus tests/prometheus.sh
suite hooks env SSI_STATUS="$target/debug/ssi-status" tests/hooks.sh

# Rust tests that skipped themselves were counted as passed by their runner.
rust_skips=$(grep -c '^rust	' "$SSI_TEST_SKIPS" || true)
skipped=$(wc -l <"$SSI_TEST_SKIPS")
passed=$((passed - rust_skips))

echo
echo "==> make test summary (logs in $results)"
if ((skipped > 0)); then
    echo "skipped (tests/deps.sh cannot fix these):"
    cut -f2- "$SSI_TEST_SKIPS" | sed 's/^/  SKIPPED /'
fi
((ignored == 0)) || echo "$ignored test(s) marked #[ignore] were not run (see their reasons: cargo nextest list --run-ignored only)"
for b in "${broken[@]}"; do echo "  failed suite: $b"; done
echo "make-test: $passed passed, $failed failed, $skipped skipped"
((failed == 0 && ${#broken[@]} == 0))
