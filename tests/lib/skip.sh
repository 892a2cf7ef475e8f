# shellcheck shell=bash
# Sourced by the shell suites: `skip SUITE NAME REASON` says SKIPPED and
# records it for make test's summary (tests/run.sh). Only for what
# tests/deps.sh cannot fix, such as not being root.
skip() {
    printf 'SKIPPED %s: %s\n' "$2" "$3"
    if [[ -n ${SSI_TEST_SKIPS:-} ]]; then
        printf '%s\t%s: %s\n' "$1" "$2" "$3" >>"$SSI_TEST_SKIPS"
    fi
}
