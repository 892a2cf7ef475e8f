#!/usr/bin/env bash
# Tests of `make bench`'s set-up, without running a bench: it installs its
# prerequisites first (test-deps), and `BASELINE=REV` resolves REV to its
# commit and builds that commit in a directory of its own,
# target/baseline/<commit>/ (one shared directory let a build of one
# revision pass for another's: git archive stamps every file with the
# commit's date, and cargo judges freshness by mtime); a REV that names no
# commit fails at once, saying so, before anything is built. The revisions
# are those of a scratch repository (GIT_DIR), so the test needs no history
# in this clone. Prints "bench: N passed, M failed".
set -u

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/ssi-bench.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT
make=${MAKE:-make}

# shellcheck source=tests/lib/tally.sh
. "$root/tests/lib/tally.sh"

# Two commits, A then B, in a scratch repository.
repo=$work/repo
git() { command git -C "$repo" -c user.name=bench -c user.email=bench@example.org "$@"; }
mkdir -p "$repo"
git -c init.defaultBranch=main init -q
git commit -q --allow-empty -m A
git commit -q --allow-empty -m B
a=$(git rev-parse HEAD~1)
b=$(git rev-parse HEAD)
target=$work/target

# bench_make ARGS…: make in this tree, revisions from the scratch repository,
# a private target dir, cargo that must never run; output in $work/make.out.
bench_make() {
    GIT_DIR=$repo/.git "$make" --no-print-directory -C "$root" CARGO=false \
        CARGO_TARGET_DIR="$target" "$@" >"$work/make.out" 2>&1
}

name="make bench installs its prerequisites first (tests/deps.sh)"
if bench_make -n bench && [[ $(head -n 1 "$work/make.out") == tests/deps.sh ]]; then
    pass
else
    fail "$name" "$(head -n 3 "$work/make.out")"
fi

# baseline_of REV: the SSI_BENCH_BASELINE that make bench BASELINE=REV passes.
baseline_of() {
    bench_make -n bench BASELINE="$1" &&
        sed -n 's/.*SSI_BENCH_BASELINE=\([^ ]*\) .*/\1/p' "$work/make.out" | sort -u
}

for case in "HEAD~1 $a" "HEAD $b" "${a:0:10} $a"; do
    read -r rev sha <<<"$case"
    name="BASELINE=$rev builds commit $sha in target/baseline/$sha/ and benches that binary"
    got=$(baseline_of "$rev")
    want=$target/baseline/$sha/target/release/ssi-broadcaster
    if [[ $got == "$want" ]] &&
        grep -qxF "git archive $sha | tar -x -C $target/baseline/$sha/src" "$work/make.out" &&
        grep -qF -- "--manifest-path $target/baseline/$sha/src/Cargo.toml --target-dir $target/baseline/$sha/target" "$work/make.out"; then
        pass
    else
        fail "$name" "SSI_BENCH_BASELINE=${got:-nothing} (want $want); $(grep -E 'git archive|target-dir' "$work/make.out")"
    fi
done

name="two revisions never share a build directory"
if [[ $(baseline_of HEAD~1) != "$(baseline_of HEAD)" ]]; then
    pass
else
    fail "$name" "both use $(baseline_of HEAD)"
fi

name="without BASELINE nothing is built for a baseline"
if bench_make -n bench && ! grep -qE 'SSI_BENCH_BASELINE|git archive|baseline' "$work/make.out"; then
    pass
else
    fail "$name" "$(grep -E 'SSI_BENCH_BASELINE|git archive|baseline' "$work/make.out")"
fi

# Really run (test-deps taken as done): the check must stop make before
# cargo (CARGO=false would fail with no word of the revision).
for rev in no-such-rev 'HEAD^{tree}'; do
    name="BASELINE=$rev (no commit) fails at once, naming it"
    if bench_make -o test-deps bench BASELINE="$rev"; then
        fail "$name" "make succeeded: $(cat "$work/make.out")"
    elif grep -qF "bench: BASELINE=$rev does not name a commit of this repository" "$work/make.out" &&
        ! grep -qE '^false|git archive' "$work/make.out"; then
        pass
    else
        fail "$name" "$(cat "$work/make.out")"
    fi
done

echo "bench: $passed passed, $failed failed"
((failed == 0))
