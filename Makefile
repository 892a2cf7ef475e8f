# Service Status Indicator. `make demo` and `make test` are the two commands
# a fresh clone needs; packagers use `make`, `make install`, `make uninstall`.

CARGO ?= cargo
CARGO_TARGET_DIR ?= target
export CARGO_TARGET_DIR
RELEASE := $(CARGO_TARGET_DIR)/release

# Installation layout. Packagers set DESTDIR and PREFIX (e.g. PREFIX=/usr),
# and NOBUILD=1 to install binaries already built in $(RELEASE).
DESTDIR ?=
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
DATADIR ?= $(PREFIX)/share
MANDIR ?= $(DATADIR)/man
DOCDIR ?= $(DATADIR)/doc/service-status-indicator
# ssi-apply, run by ssi-scripts@.service (and by hand), and ssi-run, run by
# every generated check unit: programs for systemd, not for PATH. The build
# tells ssi-generator where ssi-run is (SSI_LIBEXECDIR).
LIBEXECDIR ?= $(PREFIX)/lib/service-status-indicator
export SSI_LIBEXECDIR := $(LIBEXECDIR)
SYSCONFDIR ?= /etc
LOGROTATEDIR ?= $(SYSCONFDIR)/logrotate.d
PKG_CONFIG ?= pkg-config

# systemd directories: what pkg-config says when PREFIX is systemd's own
# prefix; under /usr/local the directories systemd also searches there
# (generators and units: systemd.generator(7), systemd.unit(5); sysusers.d
# and tmpfiles.d: systemd-sysusers/systemd-tmpfiles --cat-config on systemd
# 252 list /usr/local/lib/*.d); for any other PREFIX, /etc, because systemd
# would never look under that prefix.
systemd_prefix := $(shell $(PKG_CONFIG) --variable=prefix systemd 2>/dev/null)
systemd_var = $(shell $(PKG_CONFIG) --variable=$(1) systemd 2>/dev/null)
ifeq ($(PREFIX),$(if $(systemd_prefix),$(systemd_prefix),/usr))
GENERATORDIR ?= $(or $(call systemd_var,systemdsystemgeneratordir),$(PREFIX)/lib/systemd/system-generators)
UNITDIR ?= $(or $(call systemd_var,systemdsystemunitdir),$(PREFIX)/lib/systemd/system)
SYSUSERSDIR ?= $(or $(call systemd_var,sysusersdir),$(PREFIX)/lib/sysusers.d)
TMPFILESDIR ?= $(or $(call systemd_var,tmpfilesdir),$(PREFIX)/lib/tmpfiles.d)
else ifeq ($(PREFIX),/usr/local)
GENERATORDIR ?= $(PREFIX)/lib/systemd/system-generators
UNITDIR ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
TMPFILESDIR ?= $(PREFIX)/lib/tmpfiles.d
else
GENERATORDIR ?= $(SYSCONFDIR)/systemd/system-generators
UNITDIR ?= $(SYSCONFDIR)/systemd/system
SYSUSERSDIR ?= $(SYSCONFDIR)/sysusers.d
TMPFILESDIR ?= $(SYSCONFDIR)/tmpfiles.d
endif

# Where the binaries look for check scripts by default (see ssi-script(5));
# units/service-status-indicator.tmpfiles names the same directory.
SCRIPTSDIR := /usr/local/bin/service-status-indicator

BINARIES := ssi-generator ssi-status ssi-broadcaster ssi-run
MANPAGES := man/ssi-status.1 man/ssi-script.5 man/ssi-generator.8 man/ssi-broadcaster.8
EXAMPLES := $(wildcard examples/*.bash)
# Notification hooks shipped as examples (installed as documentation, run
# only once copied into $(HOOKSDIR)).
HOOK_EXAMPLES := examples/notify/email examples/notify/webhook examples/notify/README
HOOKSDIR := $(SYSCONFDIR)/service-status-indicator/notify.d
# The Prometheus alert rules (with their promtool test) and scrape config
# the README's "Many machines" loads, installed as documentation.
PROMETHEUS_EXAMPLES := examples/prometheus/ssi-alerts.yml examples/prometheus/ssi-alerts.test.yml examples/prometheus/scrape-config.yml
# The notifier's units: installed, enabled by the administrator
# (systemctl enable --now ssi-notify.timer ssi-notify@1.path ssi-notify@2.path).
NOTIFY_UNITS := ssi-notify@.path ssi-notify.timer ssi-notify@.service ssi-notify-hook@.service
# The two instances of the scripts directory watch (units/ssi-scripts@.path
# says why two).
WATCHES := ssi-scripts@1.path ssi-scripts@2.path
NAME := service-status-indicator
# The node_exporter textfile writer: installed, enabled only by the
# administrator (README "Many machines").
METRICS_UNITS := ssi-metrics-textfile.service ssi-metrics-textfile.path ssi-metrics-textfile.timer

# `make demo` and `make dashboard` work in $(DEMO), without root or systemd.
DEMO := $(CARGO_TARGET_DIR)/demo
DEMO_ENV := SSI_SCRIPTS_DIR=$(DEMO)/scripts SSI_LOG_DIR=$(DEMO)/log
DASHBOARD_LISTEN ?= 127.0.0.1:5000
DASHBOARD_INTERVAL ?= 15

# The one version: Cargo.toml's [workspace.package] version, which
# ssi-status --version, ssi-broadcaster --version and ssi-generator
# --version print (CARGO_PKG_VERSION) and which `make deb` writes into
# debian/changelog. A semver pre-release (0.2.0-rc.1) becomes Debian's
# 0.2.0~rc.1, which sorts before 0.2.0 as it does for cargo.
VERSION := $(shell sed -n '/^\[workspace.package\]/,/^\[/s/^version *= *"\(.*\)"/\1/p' Cargo.toml)
DEB_VERSION := $(subst -,~,$(VERSION))
# Where `make deb` puts the package (with its .buildinfo and .changes).
DEB_OUT ?= $(CARGO_TARGET_DIR)/deb

.PHONY: all build test test-deps lint demo dashboard install uninstall bench clean e2e fresh deb deb-test deb-piuparts

all: build

build:
	$(CARGO) build --release --locked --workspace

# What the tests need (Debian packages, cargo tools), from the one list in
# tests/deps.sh: installed when run as root, otherwise a message naming the
# command, before anything is built. Quiet when nothing is missing.
test-deps:
	@tests/deps.sh

lint: test-deps
	$(CARGO) fmt --all --check
	$(CARGO) clippy --locked --workspace --all-targets -- -D warnings
	shellcheck -x tests/e2e/run tests/e2e/lib.sh tests/deps.sh tests/run.sh tests/lib/skip.sh tests/lib/tally.sh tests/fresh/run \
	    tests/units.sh tests/install.sh tests/prometheus.sh tests/examples/run.sh tests/examples/run-as-units.sh tests/scripts-watch.sh tests/bench.sh units/ssi-apply \
	    examples/notify/email examples/notify/webhook tests/deb/run tests/hooks.sh
	shellcheck -s sh debian/service-status-indicator.postinst debian/service-status-indicator.prerm debian/service-status-indicator.postrm

# Every suite to its end, then one summary with the skipped tests and why
# (tests/run.sh).
test: test-deps
	@tests/run.sh

# End-to-end under a real systemd (root, systemd-nspawn): installs the built
# binaries inside a throwaway container and drives them (tests/e2e/run).
e2e: test-deps build
	tests/e2e/run

# The README's two commands from a fresh clone on a fresh copy of this
# machine with the test prerequisites purged (root, systemd-nspawn, network
# for apt; several minutes): tests/fresh/run.
fresh: test-deps
	tests/fresh/run

# The demo uses the release build, the binaries `make install` installs.
demo: build
	@rm -rf $(DEMO)
	@mkdir -p $(DEMO)/units $(DEMO)/log
	@# A copy, so every script is 0755 whatever the checkout's umask made it:
	@# the generator refuses group- or world-writable scripts.
	@install -d -m 0755 $(DEMO)/scripts
	@install -m 0755 $(EXAMPLES) $(DEMO)/scripts/
	@echo "==> ssi-generator $(DEMO)/units   (scripts: $(DEMO)/scripts, logs: $(DEMO)/log)"
	@$(DEMO_ENV) $(RELEASE)/ssi-generator $(DEMO)/units
	@cd $(DEMO)/units && echo "    wrote $$(ls | grep -c '\.service$$') services, $$(ls | grep -c '\.timer$$') timers and $$(ls timers.target.wants 2>/dev/null | wc -l) timers.target.wants links"
	@echo "==> running every check once, stdout appended to $(DEMO)/log/<id>.log as its unit would"
	@SSI_RUN=$(RELEASE)/ssi-run tests/examples/run-as-units.sh $(DEMO)/scripts $(DEMO)/log $(DEMO)/stderr.log
	@echo "==> ssi-status"
	@$(DEMO_ENV) $(RELEASE)/ssi-status
	@echo
	@echo "Live dashboard: run 'make dashboard' and open http://$(DASHBOARD_LISTEN)/"
	@echo "Details of one check: $(DEMO_ENV) $(RELEASE)/ssi-status show dummy_service"

# Serves the demo logs and re-runs the checks every $(DASHBOARD_INTERVAL) s
# until interrupted; the background loop ends with the recipe.
dashboard: demo
	@echo "==> ssi-broadcaster on http://$(DASHBOARD_LISTEN)/ (checks re-run every $(DASHBOARD_INTERVAL) s; Ctrl-C stops)"
	@# The loop waits on a background sleep so that its TERM trap fires at
	@# once; Ctrl-C reaches the broadcaster, and the EXIT trap ends the loop.
	@set -u; \
	( trap 'exit 0' TERM; \
	  while :; do \
	    sleep $(DASHBOARD_INTERVAL) & wait $$!; \
	    SSI_RUN=$(RELEASE)/ssi-run tests/examples/run-as-units.sh $(DEMO)/scripts $(DEMO)/log $(DEMO)/stderr.log; \
	  done ) & loop=$$!; \
	trap 'kill $$loop 2>/dev/null' EXIT; trap 'exit 130' INT TERM; \
	$(DEMO_ENV) $(RELEASE)/ssi-broadcaster --listen $(DASHBOARD_LISTEN)

# Without NOBUILD=1, install first brings the release build up to date;
# "sudo make install" often runs without cargo in PATH (sudo resets it), and
# then the binaries `make` already built are installed as they are.
install:
	@if [ "$(NOBUILD)" != 1 ]; then \
	    if command -v $(CARGO) >/dev/null 2>&1; then \
	        echo "$(CARGO) build --release --locked --workspace"; \
	        $(CARGO) build --release --locked --workspace || exit 1; \
	    else \
	        echo "install: $(CARGO) not found (sudo resets PATH); installing the binaries built in $(RELEASE)"; \
	    fi; \
	fi
	@for b in $(BINARIES); do \
	    [ -x $(RELEASE)/$$b ] || { echo "install: $(RELEASE)/$$b is missing; run 'make' first (or drop NOBUILD=1)" >&2; exit 1; }; \
	done
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(GENERATORDIR) $(DESTDIR)$(UNITDIR) $(DESTDIR)$(LIBEXECDIR) \
	    $(DESTDIR)$(SYSUSERSDIR) $(DESTDIR)$(TMPFILESDIR) $(DESTDIR)$(LOGROTATEDIR) \
	    $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8 \
	    $(DESTDIR)$(DOCDIR)/examples $(DESTDIR)$(DOCDIR)/examples/notify $(DESTDIR)$(DOCDIR)/examples/prometheus
	install -m 0755 $(RELEASE)/ssi-status $(RELEASE)/ssi-broadcaster $(DESTDIR)$(BINDIR)/
	install -m 0755 $(RELEASE)/ssi-generator $(DESTDIR)$(GENERATORDIR)/
	sed 's|@BINDIR@|$(BINDIR)|g' units/ssi-broadcaster.service >$(DESTDIR)$(UNITDIR)/ssi-broadcaster.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/ssi-broadcaster.service
	sed 's|@BINDIR@|$(BINDIR)|g' units/ssi-broadcaster-push.service >$(DESTDIR)$(UNITDIR)/ssi-broadcaster-push.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/ssi-broadcaster-push.service
	install -m 0644 units/ssi-broadcaster.socket $(DESTDIR)$(UNITDIR)/
	install -m 0755 units/ssi-apply $(RELEASE)/ssi-run $(DESTDIR)$(LIBEXECDIR)/
	sed 's|@LIBEXECDIR@|$(LIBEXECDIR)|g' units/ssi-scripts@.service >$(DESTDIR)$(UNITDIR)/ssi-scripts@.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/ssi-scripts@.service
	install -m 0644 units/ssi-scripts@.path $(DESTDIR)$(UNITDIR)/
	sed 's|@BINDIR@|$(BINDIR)|g' units/ssi-metrics-textfile.service >$(DESTDIR)$(UNITDIR)/ssi-metrics-textfile.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/ssi-metrics-textfile.service
	install -m 0644 units/ssi-metrics-textfile.path units/ssi-metrics-textfile.timer $(DESTDIR)$(UNITDIR)/
	install -m 0644 units/ssi-notify@.path units/ssi-notify.timer $(DESTDIR)$(UNITDIR)/
	for u in ssi-notify@.service ssi-notify-hook@.service; do \
	    sed 's|@BINDIR@|$(BINDIR)|g' units/$$u >$(DESTDIR)$(UNITDIR)/$$u && chmod 0644 $(DESTDIR)$(UNITDIR)/$$u || exit 1; \
	done
	install -m 0644 units/$(NAME).sysusers $(DESTDIR)$(SYSUSERSDIR)/$(NAME).conf
	install -m 0644 units/$(NAME).tmpfiles $(DESTDIR)$(TMPFILESDIR)/$(NAME).conf
	install -m 0644 units/$(NAME).logrotate $(DESTDIR)$(LOGROTATEDIR)/$(NAME)
	install -m 0644 man/ssi-status.1 $(DESTDIR)$(MANDIR)/man1/
	install -m 0644 man/ssi-script.5 $(DESTDIR)$(MANDIR)/man5/
	install -m 0644 man/ssi-generator.8 man/ssi-broadcaster.8 $(DESTDIR)$(MANDIR)/man8/
	install -m 0755 $(EXAMPLES) $(DESTDIR)$(DOCDIR)/examples/
	install -m 0644 $(HOOK_EXAMPLES) $(DESTDIR)$(DOCDIR)/examples/notify/
	install -m 0644 $(PROMETHEUS_EXAMPLES) $(DESTDIR)$(DOCDIR)/examples/prometheus/
	@# The hooks directory, like the scripts directory, is the administrator's.
	@if [ ! -d $(DESTDIR)$(HOOKSDIR) ]; then \
	    echo "install -d -m 0755 $(DESTDIR)$(HOOKSDIR)"; \
	    install -d -m 0755 $(DESTDIR)$(HOOKSDIR); \
	fi
	@# The scripts directory is created once and never touched again: it
	@# holds the administrator's scripts.
	@if [ ! -d $(DESTDIR)$(SCRIPTSDIR) ]; then \
	    echo "install -d -m 0755 $(DESTDIR)$(SCRIPTSDIR)"; \
	    install -d -m 0755 $(DESTDIR)$(SCRIPTSDIR); \
	fi
	@# ssi-apply reloads systemd (the generator makes the check units, and
	@# systemd learns of ssi-scripts@.*) and starts the timers of the scripts
	@# already there; the enabled path unit then applies every later change.
	@if [ -z "$(DESTDIR)" ] && [ -d /run/systemd/system ]; then \
	    echo "==> creating the ssi user and group: systemd-sysusers $(SYSUSERSDIR)/$(NAME).conf"; \
	    systemd-sysusers $(SYSUSERSDIR)/$(NAME).conf && \
	    echo "==> creating the log and scripts directories: systemd-tmpfiles --create $(TMPFILESDIR)/$(NAME).conf" && \
	    systemd-tmpfiles --create $(TMPFILESDIR)/$(NAME).conf && \
	    echo "==> running the generator and starting the check timers: $(LIBEXECDIR)/ssi-apply" && \
	    $(LIBEXECDIR)/ssi-apply && \
	    echo "==> watching $(SCRIPTSDIR): systemctl enable --now $(WATCHES)" && \
	    systemctl enable --now $(WATCHES) && \
	    echo "==> restarting the broadcaster if it runs (new binary): systemctl try-restart ssi-broadcaster.service ssi-broadcaster-push.service" && \
	    systemctl try-restart ssi-broadcaster.service ssi-broadcaster-push.service && \
	    echo "Installed. Put check scripts in $(SCRIPTSDIR): each starts running within seconds" && \
	    echo "(removing one stops it); see them with 'ssi-status'." && \
	    echo "Dashboard: systemctl enable --now ssi-broadcaster.service, then http://127.0.0.1:5000/" && \
	    echo "Metrics for node_exporter: systemctl enable --now ssi-metrics-textfile.path ssi-metrics-textfile.timer" && \
	    echo "Notifications: hooks in $(HOOKSDIR) (examples in $(DOCDIR)/examples/notify), then" && \
	    echo "  systemctl enable --now ssi-notify.timer ssi-notify@1.path ssi-notify@2.path" && \
	    echo "Reporting to a collector: write /etc/service-status-indicator/push.conf, then systemctl enable --now ssi-broadcaster-push.service (see ssi-broadcaster(8))"; \
	elif [ -z "$(DESTDIR)" ]; then \
	    echo "==> systemd is not running: systemctl enable $(WATCHES)"; \
	    systemctl enable $(WATCHES) || exit 1; \
	    echo "On the target system run systemd-sysusers, systemd-tmpfiles --create and systemctl daemon-reload"; \
	else \
	    echo "Packagers: enable $(WATCHES) (WantedBy=paths.target) on the target system."; \
	fi

# Removes exactly what `install` added, and what the programs wrote that
# would go on acting without them: node_exporter's textfile (or its alerts
# fire forever), the runtime directory, failed or not-found units. What is
# the administrator's or history (scripts, hooks and configuration, logs,
# the notifier's state, "systemctl edit" drop-ins, the ssi user) is kept
# and listed, with the command that removes it.
TEXTFILE := /var/lib/prometheus/node-exporter/ssi.prom
uninstall:
	@if [ -z "$(DESTDIR)" ] && [ -d /run/systemd/system ]; then \
	    prom=$$(systemctl show -p ExecStart --value ssi-metrics-textfile.service 2>/dev/null | sed -n 's/.*--output \([^ ;]*\).*/\1/p' | head -n 1); \
	    echo "==> stopping the broadcaster: systemctl disable --now ssi-broadcaster.socket ssi-broadcaster.service ssi-broadcaster-push.service"; \
	    systemctl disable --now ssi-broadcaster.socket ssi-broadcaster.service ssi-broadcaster-push.service || true; \
	    echo "==> stopping the metrics textfile: systemctl disable --now ssi-metrics-textfile.path ssi-metrics-textfile.timer"; \
	    systemctl disable --now ssi-metrics-textfile.path ssi-metrics-textfile.timer || true; \
	    echo "==> stopping the notifier: systemctl disable --now ssi-notify.timer ssi-notify@1.path ssi-notify@2.path"; \
	    systemctl disable --now ssi-notify.timer ssi-notify@1.path ssi-notify@2.path || true; \
	    echo "==> stopping the scripts watch: systemctl disable --now $(WATCHES)"; \
	    systemctl disable --now $(WATCHES) || true; \
	    echo "==> stopping the checks: systemctl stop 'ssi_*.timer', then the services"; \
	    systemctl stop 'ssi_*.timer' || true; \
	    : "A run under way finishes (stopping it would leave it failed), bounded."; \
	    for i in $$(seq 60); do \
	        systemctl list-units --plain --no-legend --state=activating,deactivating 'ssi_*.service' 'ssi-*.service' | grep -q . || break; \
	        sleep 0.5; \
	    done; \
	    systemctl stop 'ssi-scripts@*.service' 'ssi_*.service' 'ssi-notify@*.service' 'ssi-notify-hook@*.service' ssi-metrics-textfile.service || true; \
	    for f in $(TEXTFILE) $$prom; do \
	        if [ -f "$$f" ]; then echo "==> removing node_exporter's textfile (its ssi_ series would stay and alert): rm $$f"; rm -f "$$f"; fi; \
	    done; \
	    if [ -d /run/$(NAME) ]; then echo "==> rm -r /run/$(NAME)"; rm -rf /run/$(NAME); fi; \
	elif [ -z "$(DESTDIR)" ]; then \
	    echo "==> systemd is not running: systemctl disable $(WATCHES)"; \
	    systemctl disable $(WATCHES) || true; \
	    if [ -f $(TEXTFILE) ]; then echo "==> rm $(TEXTFILE)"; rm -f $(TEXTFILE); fi; \
	fi
	rm -f $(addprefix $(DESTDIR)$(BINDIR)/,ssi-status ssi-broadcaster) \
	    $(DESTDIR)$(GENERATORDIR)/ssi-generator $(DESTDIR)$(LIBEXECDIR)/ssi-apply $(DESTDIR)$(LIBEXECDIR)/ssi-run \
	    $(addprefix $(DESTDIR)$(UNITDIR)/,ssi-broadcaster.service ssi-broadcaster-push.service ssi-broadcaster.socket ssi-scripts@.path ssi-scripts@.service $(METRICS_UNITS) $(NOTIFY_UNITS)) \
	    $(DESTDIR)$(SYSUSERSDIR)/$(NAME).conf $(DESTDIR)$(TMPFILESDIR)/$(NAME).conf \
	    $(DESTDIR)$(LOGROTATEDIR)/$(NAME) \
	    $(addprefix $(DESTDIR)$(MANDIR)/man,1/ssi-status.1 5/ssi-script.5 8/ssi-generator.8 8/ssi-broadcaster.8) \
	    $(addprefix $(DESTDIR)$(DOCDIR)/examples/,$(notdir $(EXAMPLES))) \
	    $(addprefix $(DESTDIR)$(DOCDIR)/examples/notify/,$(notdir $(HOOK_EXAMPLES))) \
	    $(addprefix $(DESTDIR)$(DOCDIR)/examples/prometheus/,$(notdir $(PROMETHEUS_EXAMPLES)))
	rmdir --ignore-fail-on-non-empty $(DESTDIR)$(DOCDIR)/examples/notify $(DESTDIR)$(DOCDIR)/examples/prometheus $(DESTDIR)$(DOCDIR)/examples $(DESTDIR)$(DOCDIR) 2>/dev/null || true
	@# The hooks directory goes only if no hook is left in it.
	@[ ! -d $(DESTDIR)$(HOOKSDIR) ] || rmdir --ignore-fail-on-non-empty $(DESTDIR)$(HOOKSDIR) $(DESTDIR)$(SYSCONFDIR)/service-status-indicator
	rmdir --ignore-fail-on-non-empty $(DESTDIR)$(LIBEXECDIR) 2>/dev/null || true
	@# The scripts directory goes only if no script is left in it.
	@[ ! -d $(DESTDIR)$(SCRIPTSDIR) ] || rmdir --ignore-fail-on-non-empty $(DESTDIR)$(SCRIPTSDIR)
	@if [ -z "$(DESTDIR)" ] && [ -d /run/systemd/system ]; then \
	    echo "==> removing the generated check units: systemctl daemon-reload"; \
	    systemctl daemon-reload; \
	    echo "==> forgetting failed units of ours: systemctl reset-failed 'ssi_*' 'ssi-*'"; \
	    systemctl reset-failed 'ssi_*' 'ssi-*' 2>/dev/null || true; \
	fi
	@# What is kept, each only if it is there, and the one command that removes it.
	@kept=; \
	stamps=$(DESTDIR)/var/lib/systemd/timers/stamp-ssi_*.timer; \
	for p in $(DESTDIR)$(SCRIPTSDIR) $(DESTDIR)$(SYSCONFDIR)/$(NAME) $(DESTDIR)/var/log/$(NAME) $(DESTDIR)/var/lib/$(NAME) \
	    $(DESTDIR)$(SYSCONFDIR)/systemd/system/ssi_*.d $(DESTDIR)$(SYSCONFDIR)/systemd/system/ssi-*.d "$$stamps"; do \
	    : "The stamps, one per check that ran, are named by their pattern."; \
	    if [ "$$p" = "$$stamps" ]; then \
	        n=$$(ls $$stamps 2>/dev/null | wc -l); [ "$$n" -gt 0 ] || continue; \
	    else \
	        [ -e "$$p" ] || continue; \
	    fi; \
	    case $$p in \
	    *$(SCRIPTSDIR)) what="your check scripts";; \
	    *$(SYSCONFDIR)/$(NAME)) what="configuration: notification hooks, push.conf, push.key";; \
	    */var/log/$(NAME)) what="the checks' logs";; \
	    */var/lib/$(NAME)) what="the notifier's state (silences, acknowledgements, what was told)";; \
	    */stamp-*) what="systemd's timer stamps of the checks (Persistent=), $$n";; \
	    *) what="a drop-in of yours (systemctl edit)";; \
	    esac; \
	    [ -n "$$kept" ] || echo "Kept:"; \
	    printf '  %-60s %s\n' "$$p" "$$what"; \
	    kept="$$kept $$p"; \
	done; \
	user=; if [ -z "$(DESTDIR)" ] && getent passwd ssi >/dev/null 2>&1; then user=1; echo "  the ssi user and group (a system user is not deleted: files may belong to it)"; fi; \
	if [ -n "$$kept$$user" ]; then \
	    echo "To remove all of it too:"; \
	    printf '  sudo rm -r%s' "$$kept"; [ -z "$$user" ] || printf ' && sudo userdel ssi'; echo; \
	fi

# The Debian package, built by debhelper from debian/ (debian/rules installs
# with `make install PREFIX=/usr`): $(DEB_OUT)/$(NAME)_$(DEB_VERSION)_ARCH.deb.
# The crates are fetched first (the only step that may use the network);
# debian/changelog is written from $(VERSION), the one version.
deb:
	@command -v dpkg-buildpackage >/dev/null && command -v dh >/dev/null || { \
	    echo "deb: needs dpkg-buildpackage and debhelper: sudo apt-get install dpkg-dev debhelper" >&2; exit 1; }
	$(CARGO) fetch --locked
	@mkdir -p $(DEB_OUT)
	@date=$$(git log -1 --format=%cD 2>/dev/null || date -R); \
	{ echo "$(NAME) ($(DEB_VERSION)) unstable; urgency=medium"; echo; \
	  echo "  * Built from the source tree with make deb; the release notes are in"; \
	  echo "    the project's history."; echo; \
	  echo " -- Service Status Indicator maintainers <ssi-maintainers@example.org>  $$date"; \
	} >debian/changelog
	DEB_OUT=$(abspath $(DEB_OUT)) dpkg-buildpackage --build=binary --no-sign \
	    --buildinfo-option=-u$(abspath $(DEB_OUT)) --buildinfo-option=-O$(abspath $(DEB_OUT))/$(NAME)_$(DEB_VERSION).buildinfo \
	    --changes-option=-u$(abspath $(DEB_OUT)) --changes-option=-O$(abspath $(DEB_OUT))/$(NAME)_$(DEB_VERSION).changes
	@echo "==> $$(ls $(DEB_OUT)/$(NAME)_$(DEB_VERSION)_*.deb)"
	@echo "Install it with: sudo apt-get install ./$$(ls $(DEB_OUT)/$(NAME)_$(DEB_VERSION)_*.deb)"

# The package checked: lintian (errors and warnings fail; the overrides and
# their reasons are in debian/*.lintian-overrides), then its lifecycle
# under a real systemd: install, upgrade from the previous build, remove,
# purge (root, systemd-nspawn; a few minutes): tests/deb/run.
deb-test: test-deps deb
	lintian --fail-on error,warning $(DEB_OUT)/$(NAME)_$(DEB_VERSION).changes
	tests/deb/run

# Debian's install/remove/purge tester on the built package, in a fresh
# Debian 12 chroot made with debootstrap from the package mirror (root,
# network, a few minutes; not part of `make test`). Ignored: directories that
# systemd, pulled in as a dependency and purged with us, leaves from its own
# tmpfiles.d (piuparts.debian.org ignores them for the same reason).
PIUPARTS_MIRROR ?= http://deb.debian.org/debian
deb-piuparts: deb
	piuparts -d bookworm -m $(PIUPARTS_MIRROR) \
	    -i /root/.ssh/ -i /var/cache/private/ -i /var/lib/private/ -i /var/log/private/ \
	    -i /var/lib/systemd/coredump/ -i /var/lib/systemd/pstore/ \
	    $(DEB_OUT)/$(NAME)_$(DEB_VERSION)_$(shell dpkg --print-architecture).deb

# `make bench BASELINE=REV` (e.g. HEAD~1): the broadcaster's benches also
# measure the ssi-broadcaster of git revision REV, side by side in the same
# run. REV is resolved to its commit, and that commit is built from
# `git archive` in a directory of its own, $(BASELINE_ROOT)/<commit>/, so a
# build of one revision is never taken for another's (the archive's files
# all carry the commit's date, and cargo judges freshness by mtime).
# `make bench` first installs what the comparisons need (websocketd,
# prometheus-node-exporter) through test-deps, as `make test` does.
BASELINE ?=
BASELINE_ROOT := $(abspath $(CARGO_TARGET_DIR))/baseline
BASELINE_SHA := $(if $(BASELINE),$(shell git rev-parse --verify --quiet '$(BASELINE)^{commit}' 2>/dev/null))
BASELINE_BIN = $(BASELINE_ROOT)/$(BASELINE_SHA)/target/release/ssi-broadcaster
BENCH_BASELINE = $(if $(BASELINE),SSI_BENCH_BASELINE=$(BASELINE_BIN))

bench: test-deps
ifneq ($(BASELINE),)
	@[ -n "$(BASELINE_SHA)" ] || { echo "bench: BASELINE=$(BASELINE) does not name a commit of this repository (git rev-parse --verify '$(BASELINE)^{commit}' failed)" >&2; exit 1; }
	@echo "==> baseline $(BASELINE) is $(BASELINE_SHA): building its ssi-broadcaster in $(BASELINE_ROOT)/$(BASELINE_SHA)"
	rm -rf $(BASELINE_ROOT)/$(BASELINE_SHA)/src && mkdir -p $(BASELINE_ROOT)/$(BASELINE_SHA)/src
	git archive $(BASELINE_SHA) | tar -x -C $(BASELINE_ROOT)/$(BASELINE_SHA)/src
	$(CARGO) build --release --locked -p ssi-broadcaster \
	  --manifest-path $(BASELINE_ROOT)/$(BASELINE_SHA)/src/Cargo.toml --target-dir $(BASELINE_ROOT)/$(BASELINE_SHA)/target
endif
	$(CARGO) bench --locked -p ssi --bench library
	$(CARGO) bench --locked -p ssi-generator --bench generator
	$(CARGO) bench --locked -p ssi --bench calendar
	$(CARGO) bench --locked -p ssi --bench metrics
	$(CARGO) bench --locked -p ssi-status --bench status
	$(CARGO) bench --locked -p ssi-status --bench notify
	$(BENCH_BASELINE) $(CARGO) bench --locked -p ssi-broadcaster --bench fanout
	@# The scrape bench writes node_exporter's textfile with this build's
	@# ssi-status, which it finds beside this build's ssi-broadcaster.
	$(CARGO) build --release --locked -p ssi-status
	$(BENCH_BASELINE) $(CARGO) bench --locked -p ssi-broadcaster --bench scrape
	$(BENCH_BASELINE) $(CARGO) bench --locked -p ssi-broadcaster --bench history

clean:
	$(CARGO) clean
