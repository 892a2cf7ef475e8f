#!/usr/bin/env bash
# Tests of "make install" and "make uninstall" into scratch DESTDIRs with
# fake binaries (NOBUILD=1, so no cargo runs): the exact list of installed
# files and their modes, the @BINDIR@ substitution, the systemd directories
# chosen for each PREFIX, a user's scripts surviving both, uninstall leaving
# nothing of ours behind; and the man pages rendering without warnings (and
# documenting every option of the built binaries, when they are built).
# Prints "install: N passed, M failed".
set -u

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/ssi-install.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT
make=${MAKE:-make}

# shellcheck source=tests/lib/tally.sh
. "$root/tests/lib/tally.sh"

# Fake release binaries in a private target dir; CARGO=false proves that
# NOBUILD=1 never runs cargo.
fake_target=$work/target
mkdir -p "$fake_target/release"
for b in ssi-generator ssi-status ssi-broadcaster ssi-run; do
    printf '#!/bin/sh\necho fake %s\n' "$b" >"$fake_target/release/$b"
    chmod 755 "$fake_target/release/$b"
done

# listing DIR: "mode type path" for everything under DIR, sorted.
listing() { (cd "$1" && find . -mindepth 1 -printf '%m %y %P\n' | sort -k3); }

# run_make DESTDIR TARGET [VAR=value...]
run_make() {
    local dest=$1 target=$2
    shift 2
    "$make" --no-print-directory -C "$root" "$target" DESTDIR="$dest" NOBUILD=1 CARGO=false \
        CARGO_TARGET_DIR="$fake_target" "$@" >"$work/make.out" 2>&1
}

# What make install ships: examples/*.bash, the notification hooks and the
# Prometheus rules and scrape config (issue 22: the README tells people to
# load them).
examples=$(cd "$root/examples" && ls -- *.bash)
hook_examples=$(cd "$root/examples/notify" && ls)
prometheus_examples=$(cd "$root/examples/prometheus" && ls)

# --- PREFIX=/usr/local (the default) ----------------------------------------
dest=$work/local
mkdir -p "$dest"
name="install, PREFIX=/usr/local"
if run_make "$dest" install; then
    expected=$(
        {
            echo "755 f usr/local/bin/ssi-broadcaster"
            echo "755 f usr/local/bin/ssi-status"
            echo "755 f usr/local/lib/systemd/system-generators/ssi-generator"
            echo "644 f usr/local/lib/systemd/system/ssi-broadcaster.service"
            echo "644 f usr/local/lib/systemd/system/ssi-broadcaster-push.service"
            echo "644 f usr/local/lib/systemd/system/ssi-broadcaster.socket"
            echo "644 f usr/local/lib/systemd/system/ssi-scripts@.path"
            echo "644 f usr/local/lib/systemd/system/ssi-scripts@.service"
            echo "644 f usr/local/lib/systemd/system/ssi-metrics-textfile.path"
            echo "644 f usr/local/lib/systemd/system/ssi-metrics-textfile.service"
            echo "644 f usr/local/lib/systemd/system/ssi-metrics-textfile.timer"
            for u in ssi-notify@.path ssi-notify.timer ssi-notify@.service ssi-notify-hook@.service; do
                echo "644 f usr/local/lib/systemd/system/$u"
            done
            echo "755 f usr/local/lib/service-status-indicator/ssi-apply"
            echo "755 f usr/local/lib/service-status-indicator/ssi-run"
            echo "644 f usr/local/lib/sysusers.d/service-status-indicator.conf"
            echo "644 f usr/local/lib/tmpfiles.d/service-status-indicator.conf"
            echo "644 f etc/logrotate.d/service-status-indicator"
            echo "644 f usr/local/share/man/man1/ssi-status.1"
            echo "644 f usr/local/share/man/man5/ssi-script.5"
            echo "644 f usr/local/share/man/man8/ssi-broadcaster.8"
            echo "644 f usr/local/share/man/man8/ssi-generator.8"
            for e in $examples; do echo "755 f usr/local/share/doc/service-status-indicator/examples/$e"; done
            for e in $hook_examples; do echo "644 f usr/local/share/doc/service-status-indicator/examples/notify/$e"; done
            for e in $prometheus_examples; do echo "644 f usr/local/share/doc/service-status-indicator/examples/prometheus/$e"; done
            echo "755 d usr/local/bin/service-status-indicator"
            echo "755 d etc/service-status-indicator/notify.d"
        } | sort -k3
    )
    actual=$(listing "$dest" | grep -v ' d ' ; listing "$dest" | grep -E ' d (usr/local/bin/service-status-indicator|etc/service-status-indicator/notify.d)$')
    actual=$(sort -k3 <<<"$actual")
    if [[ $actual == "$expected" ]]; then
        pass
    else
        fail "$name" "listing differs:
$(diff <(echo "$expected") <(echo "$actual"))"
    fi
else
    fail "$name" "make failed: $(tail -n 5 "$work/make.out")"
fi

name="installed unit runs the installed binary"
unit=$dest/usr/local/lib/systemd/system/ssi-broadcaster.service
if grep -qx 'ExecStart=/usr/local/bin/ssi-broadcaster' "$unit" && ! grep -qE '@[A-Z]+@' "$unit"; then
    pass
else
    fail "$name" "$(grep -nE 'ExecStart|@[A-Z]+@' "$unit" 2>&1)"
fi

name="installed push unit runs the installed binary without listening"
unit=$dest/usr/local/lib/systemd/system/ssi-broadcaster-push.service
# shellcheck disable=SC2016 # $SSI_PUSH_OPTIONS is systemd's, written literally in the unit
if grep -qx 'ExecStart=/usr/local/bin/ssi-broadcaster --no-listen $SSI_PUSH_OPTIONS' "$unit" && ! grep -qE '@[A-Z]+@' "$unit"; then
    pass
else
    fail "$name" "$(grep -nE 'ExecStart|@[A-Z]+@' "$unit" 2>&1)"
fi

name="installed scripts watch runs the installed ssi-apply"
unit=$dest/usr/local/lib/systemd/system/ssi-scripts@.service
if grep -qx 'ExecStart=/usr/local/lib/service-status-indicator/ssi-apply' "$unit" && ! grep -qE '@[A-Z]+@' "$unit"; then
    pass
else
    fail "$name" "$(grep -nE 'ExecStart|@[A-Z]+@' "$unit" 2>&1)"
fi

name="installed metrics textfile unit runs the installed ssi-status"
unit=$dest/usr/local/lib/systemd/system/ssi-metrics-textfile.service
if grep -qx 'ExecStart=/usr/local/bin/ssi-status list --prometheus --output /var/lib/prometheus/node-exporter/ssi.prom' "$unit" &&
    ! grep -qE '@[A-Z]+@' "$unit"; then
    pass
else
    fail "$name" "$(grep -nE 'ExecStart|@[A-Z]+@' "$unit" 2>&1)"
fi

name="installed files are the sources"
if cmp -s "$root/units/ssi-broadcaster.socket" "$dest/usr/local/lib/systemd/system/ssi-broadcaster.socket" &&
    cmp -s "$root/units/ssi-scripts@.path" "$dest/usr/local/lib/systemd/system/ssi-scripts@.path" &&
    cmp -s "$root/units/ssi-metrics-textfile.path" "$dest/usr/local/lib/systemd/system/ssi-metrics-textfile.path" &&
    cmp -s "$root/units/ssi-metrics-textfile.timer" "$dest/usr/local/lib/systemd/system/ssi-metrics-textfile.timer" &&
    cmp -s "$root/units/ssi-apply" "$dest/usr/local/lib/service-status-indicator/ssi-apply" &&
    cmp -s "$root/units/service-status-indicator.logrotate" "$dest/etc/logrotate.d/service-status-indicator" &&
    cmp -s "$fake_target/release/ssi-generator" "$dest/usr/local/lib/systemd/system-generators/ssi-generator"; then
    pass
else
    fail "$name" "an installed file differs from its source"
fi

name="installed man pages are found by man"
if out=$(MANPATH=$dest/usr/local/share/man MANWIDTH=80 man --warnings ssi-script 2>&1 >/dev/null) && [[ -z $out ]] &&
    MANPATH=$dest/usr/local/share/man man -w ssi-broadcaster >/dev/null 2>&1; then
    pass
else
    fail "$name" "$out"
fi

# A user's script in the scripts directory survives a reinstall and uninstall.
scripts=$dest/usr/local/bin/service-status-indicator
printf '#!/bin/sh\necho OK\n' >"$scripts/mine.sh"
chmod 700 "$scripts/mine.sh"
chmod 750 "$scripts"
name="reinstall leaves the scripts directory alone"
if run_make "$dest" install && [[ $(cat "$scripts/mine.sh") == $'#!/bin/sh\necho OK' && $(stat -c %a "$scripts") == 750 ]]; then
    pass
else
    fail "$name" "script or directory mode changed: $(stat -c %a "$scripts" 2>&1); $(tail -n 3 "$work/make.out")"
fi
chmod 755 "$scripts"

name="uninstall removes our files and keeps the user's script"
if run_make "$dest" uninstall; then
    left=$(listing "$dest" | grep -v ' d ')
    if [[ $left == "700 f usr/local/bin/service-status-indicator/mine.sh" ]]; then
        pass
    else
        fail "$name" "left behind: $left"
    fi
else
    fail "$name" "make failed: $(tail -n 5 "$work/make.out")"
fi

name="uninstall removes our directories"
if [[ ! -e $dest/usr/local/share/doc/service-status-indicator && ! -e $dest/usr/local/lib/service-status-indicator ]]; then
    pass
else
    fail "$name" "$(ls -d "$dest"/usr/local/share/doc/service-status-indicator "$dest"/usr/local/lib/service-status-indicator 2>/dev/null)"
fi

name="uninstall of an empty scripts directory removes it"
rm "$scripts/mine.sh"
if run_make "$dest" uninstall && [[ ! -e $scripts ]]; then pass; else fail "$name" "$(ls -la "$scripts" 2>&1)"; fi

name="uninstall twice is harmless"
if run_make "$dest" uninstall; then pass; else fail "$name" "$(tail -n 5 "$work/make.out")"; fi

# --- PREFIX=/usr: systemd's own directories from pkg-config -----------------
dest=$work/usr
mkdir -p "$dest"
name="install, PREFIX=/usr uses pkg-config's directories"
if run_make "$dest" install PREFIX=/usr; then
    gen=$(pkg-config --variable=systemdsystemgeneratordir systemd 2>/dev/null || echo /usr/lib/systemd/system-generators)
    units=$(pkg-config --variable=systemdsystemunitdir systemd 2>/dev/null || echo /usr/lib/systemd/system)
    sysusers=$(pkg-config --variable=sysusersdir systemd 2>/dev/null || echo /usr/lib/sysusers.d)
    missing=()
    for f in "$gen/ssi-generator" "$units/ssi-broadcaster.service" "$units/ssi-scripts@.path" "$sysusers/service-status-indicator.conf" \
        /usr/bin/ssi-status /usr/lib/service-status-indicator/ssi-apply /usr/lib/service-status-indicator/ssi-run /usr/share/man/man8/ssi-generator.8 \
        /etc/logrotate.d/service-status-indicator; do
        [[ -f $dest$f ]] || missing+=("$f")
    done
    grep -qx 'ExecStart=/usr/bin/ssi-broadcaster' "$dest$units/ssi-broadcaster.service" 2>/dev/null || missing+=("ExecStart=/usr/bin/ssi-broadcaster")
    grep -qx 'ExecStart=/usr/lib/service-status-indicator/ssi-apply' "$dest$units/ssi-scripts@.service" 2>/dev/null ||
        missing+=("ExecStart=/usr/lib/service-status-indicator/ssi-apply")
    if ((${#missing[@]} == 0)); then pass; else fail "$name" "missing: ${missing[*]}"; fi
else
    fail "$name" "make failed: $(tail -n 5 "$work/make.out")"
fi
name="uninstall, PREFIX=/usr"
if run_make "$dest" uninstall PREFIX=/usr && ! listing "$dest" | grep -qv ' d '; then
    pass
else
    fail "$name" "left behind: $(listing "$dest" | grep -v ' d ')"
fi

# --- PREFIX elsewhere: systemd only looks in /etc ---------------------------
dest=$work/opt
mkdir -p "$dest"
name="install, PREFIX=/opt/ssi puts systemd files under /etc"
if run_make "$dest" install PREFIX=/opt/ssi &&
    [[ -f $dest/etc/systemd/system-generators/ssi-generator && -f $dest/etc/systemd/system/ssi-broadcaster.service &&
        -f $dest/etc/systemd/system/ssi-scripts@.path && -x $dest/opt/ssi/lib/service-status-indicator/ssi-apply &&
        $(grep '^ExecStart=' "$dest/etc/systemd/system/ssi-scripts@.service") == ExecStart=/opt/ssi/lib/service-status-indicator/ssi-apply &&
        -f $dest/etc/sysusers.d/service-status-indicator.conf && -f $dest/etc/tmpfiles.d/service-status-indicator.conf &&
        -f $dest/opt/ssi/bin/ssi-status ]]; then
    pass
else
    fail "$name" "$(listing "$dest" | grep -v ' d ')"
fi

name="install without built binaries says what to do"
if "$make" --no-print-directory -C "$root" install DESTDIR="$work/none" NOBUILD=1 CARGO=false \
    CARGO_TARGET_DIR="$work/empty-target" >"$work/make.out" 2>&1; then
    fail "$name" "succeeded without binaries"
elif grep -q "ssi-generator is missing; run 'make' first" "$work/make.out" && [[ ! -e $work/none ]]; then
    pass
else
    fail "$name" "$(cat "$work/make.out")"
fi

# Without NOBUILD=1: cargo runs when it can be found (here: a stand-in
# that records its arguments), and is skipped with a note when it cannot
# (sudo's PATH), installing what is built.
printf '#!/bin/sh\necho "$@" >"%s/cargo.args"\n' "$work" >"$work/fake-cargo"
chmod 755 "$work/fake-cargo"
name="install without NOBUILD runs cargo build --release first"
if "$make" --no-print-directory -C "$root" install DESTDIR="$work/built" CARGO="$work/fake-cargo" \
    CARGO_TARGET_DIR="$fake_target" >"$work/make.out" 2>&1 &&
    [[ $(cat "$work/cargo.args" 2>&1) == "build --release --locked --workspace" && -x $work/built/usr/local/bin/ssi-status ]]; then
    pass
else
    fail "$name" "cargo args: $(cat "$work/cargo.args" 2>&1); $(tail -n 3 "$work/make.out")"
fi
name="install without NOBUILD and without cargo installs what is built"
if "$make" --no-print-directory -C "$root" install DESTDIR="$work/nocargo" CARGO="$work/no-such-cargo" \
    CARGO_TARGET_DIR="$fake_target" >"$work/make.out" 2>&1 &&
    grep -q "not found (sudo resets PATH)" "$work/make.out" && [[ -x $work/nocargo/usr/local/bin/ssi-status ]]; then
    pass
else
    fail "$name" "$(tail -n 3 "$work/make.out")"
fi
name="install stops when the build fails"
if "$make" --no-print-directory -C "$root" install DESTDIR="$work/buildfail" CARGO=false \
    CARGO_TARGET_DIR="$fake_target" >"$work/make.out" 2>&1; then
    fail "$name" "succeeded although cargo failed"
elif [[ ! -e $work/buildfail ]]; then
    pass
else
    fail "$name" "installed files although cargo failed"
fi

# --- man pages --------------------------------------------------------------
for page in "$root"/man/*.[0-9]; do
    name="man ${page##*/} renders without warnings"
    out=$(MANWIDTH=80 man --warnings -l "$page" 2>&1 >/dev/null)
    if [[ -z $out ]]; then pass; else fail "$name" "$out"; fi
done

# Every long option a built binary's --help lists is in its man page.
for pair in ssi-broadcaster:ssi-broadcaster.8 ssi-status:ssi-status.1 ssi-generator:ssi-generator.8; do
    bin=${pair%%:*}
    page=$root/man/${pair#*:}
    for dir in "${CARGO_TARGET_DIR:-$root/target}/debug" "${CARGO_TARGET_DIR:-$root/target}/release"; do
        [[ -x $dir/$bin ]] || continue
        help=$("$dir/$bin" --help 2>/dev/null) || continue
        [[ -n $help ]] || continue
        name="man ${page##*/} documents every option of $dir/$bin"
        text=$(MANWIDTH=200 man -l "$page" 2>/dev/null)
        missing=()
        while read -r option; do
            grep -qF -- "$option" <<<"$text" || missing+=("$option")
        done < <(grep -oE -- '--[a-z][a-z-]+' <<<"$help" | sort -u)
        if ((${#missing[@]} == 0)); then pass; else fail "$name" "not documented: ${missing[*]}"; fi
        break
    done
done

printf 'install: %d passed, %d failed\n' "$passed" "$failed"
((failed == 0))
