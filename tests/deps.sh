#!/usr/bin/env bash
# The one list of what the tests and benches need, and the one place that
# installs it. `make test`, `make lint`, `make e2e`, `make bench` (through
# `make test-deps`) and .ci/run all come here; a test that needs a tool from this list fails when
# the tool is missing, it never skips.
#
#   tests/deps.sh            install what is missing (root), or say how (others)
#   tests/deps.sh --check    only say what is missing; exit 1 if anything is
#   tests/deps.sh --list     print the Debian packages, one a line
#
# Quiet when nothing is missing.
set -euo pipefail

# Debian packages, each with the tests that need it.
packages=(
    make                    # the README's commands
    tzdata                  # calendar corpus and ssi-status check: zones, right/ and posix/ zones
    systemd                 # systemd-analyze (calendar and verify oracles), systemd-sysusers, systemd-tmpfiles
    systemd-container       # make e2e: systemd-nspawn boots a real systemd
    logrotate               # tests/units.sh, make e2e: the shipped logrotate file
    shellcheck              # make lint, tests/units.sh, tests/examples/run.sh
    chromium                # broadcaster/tests/browser.rs: the dashboard in a real browser
    fonts-dejavu-core       # broadcaster/tests/browser.rs: the page title's status glyphs (⊖ for ERROR) are drawn, not missing
    man-db                  # tests/install.sh: man pages render without warnings
    pkgconf                 # tests/install.sh: PREFIX=/usr takes systemd's directories from pkg-config
    openssl                 # tests/examples/run.sh: the certificate-expiry example
    curl                    # tests/examples/run.sh: the HTTP examples
    procps                  # make e2e: pgrep
    python3                 # make e2e: the WebSocket client; helper/tests/tty.rs: the pseudo-terminal driver
    util-linux              # setpriv (ownership tests), prlimit, nsenter, unshare (broadcaster/tests/push.rs: a resolver that never answers)
    mount                   # broadcaster/tests/push.rs: mount --bind a resolv.conf in a private mount namespace
    prometheus              # ssi/tests/metrics.rs, tests/prometheus.sh: promtool check metrics, promtool test rules, the real engine
    prometheus-alertmanager # tests/prometheus.sh: alerts delivered to a webhook
    monitoring-plugins-basic    # generator/tests/run.rs, make e2e: check_dummy, check_tcp run as 'output: nagios' checks
    monitoring-plugins-standard # the plugin examples' check_disk and friends
    dpkg-dev                # make deb: dpkg-buildpackage
    debhelper               # make deb: debian/rules (dh, compat 13)
    lintian                 # make deb-test: the package is lintian clean
    piuparts                # make deb-piuparts: Debian's install/purge tester
    exim4-daemon-light      # make e2e: Debian's default MTA, mail from the email hook to a local mailbox
    msmtp                   # tests/hooks.sh: the email hook through a synchronous sendmail-compatible relay
    mawk                    # tests/hooks.sh: the webhook hook's JSON under Debian's default awk
    gawk                    # tests/hooks.sh: … under GNU awk
    busybox                 # tests/hooks.sh: … under busybox awk
    websocketd              # make bench: broadcaster/benches/fanout.rs compares websocketd + tail -F
    prometheus-node-exporter # make bench: broadcaster/benches/scrape.rs compares node_exporter's textfile collector
)
# cargo tools: binary name, crate.
cargo_tools=(
    "cargo-nextest cargo-nextest"
)

installed() {
    [[ $(dpkg-query -W -f='${Status}' "$1" 2>/dev/null) == "install ok installed" ]]
}

missing_packages=()
if command -v dpkg-query >/dev/null 2>&1; then
    for p in "${packages[@]}"; do
        installed "$p" || missing_packages+=("$p")
    done
fi
missing_tools=()
for t in "${cargo_tools[@]}"; do
    read -r bin crate <<<"$t"
    command -v "$bin" >/dev/null 2>&1 || missing_tools+=("$crate")
done

case ${1:-} in
--list)
    printf '%s\n' "${packages[@]}"
    exit 0
    ;;
--check | "") ;;
*)
    echo "usage: tests/deps.sh [--check|--list]" >&2
    exit 2
    ;;
esac

if ((${#missing_packages[@]} + ${#missing_tools[@]} == 0)); then
    exit 0
fi

apt_line="apt-get install -y --no-install-recommends ${missing_packages[*]}"
cargo_line="cargo install --locked ${missing_tools[*]}"
if [[ ${1:-} == --check || $EUID -ne 0 ]]; then
    {
        echo "The tests need what this machine does not have yet:"
        ((${#missing_packages[@]} == 0)) || echo "  Debian packages: ${missing_packages[*]}"
        ((${#missing_tools[@]} == 0)) || echo "  cargo tools: ${missing_tools[*]}"
        echo "Install them once with:"
        echo "  sudo make test-deps"
        echo "or by hand:"
        ((${#missing_packages[@]} == 0)) || echo "  sudo apt-get update && sudo $apt_line"
        ((${#missing_tools[@]} == 0)) || echo "  $cargo_line"
    } >&2
    exit 1
fi

if ((${#missing_packages[@]} > 0)); then
    command -v apt-get >/dev/null 2>&1 || {
        echo "tests/deps.sh: missing ${missing_packages[*]}, and apt-get is not here to install them" >&2
        exit 1
    }
    echo "==> installing the test prerequisites: $apt_line"
    # Refresh the package lists only when one of them does not know a package.
    for p in "${missing_packages[@]}"; do
        if ! apt-cache show --no-all-versions "$p" >/dev/null 2>&1; then
            echo "==> apt-get update (the package lists do not know $p)"
            apt-get update -qq
            break
        fi
    done
    if ! DEBIAN_FRONTEND=noninteractive $apt_line -qq >/dev/null; then
        # Lists can be stale although they name the package (a removed version).
        echo "==> apt-get update, then again"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $apt_line -qq >/dev/null
    fi
fi
if ((${#missing_tools[@]} > 0)); then
    echo "==> installing the cargo tools: $cargo_line"
    $cargo_line
fi
