# shellcheck shell=bash
# Sourced by the shell suites: `pass` counts a passed case, `fail NAME WHY`
# a failed one and says FAIL with its name and why; each suite prints the
# counts ($passed, $failed) at its end.
passed=0
failed=0
pass() { passed=$((passed + 1)); }
fail() {
    failed=$((failed + 1))
    printf 'FAIL %s: %s\n' "$1" "$2"
}
