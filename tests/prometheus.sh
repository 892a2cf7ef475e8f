#!/usr/bin/env bash
# Tests of the metrics with the real engine: the shipped alert rules pass
# `promtool test rules`, the scrape snippet `promtool check config`; then
# Debian's prometheus and prometheus-alertmanager on loopback (1 s scrape
# and evaluation, their own temporary data and ports, no systemd) scrape
# three ssi-broadcasters standing for three hosts, and the test checks
# through Prometheus's HTTP API that
#   ssi_check_status{status="FAILURE"} == 1
# names exactly the failing checks of each host, that SsiCheckFailing
# fires and Alertmanager delivers it to a webhook run here, and that it
# resolves once the checks are OK again. The real check_disk's performance
# data (beta's "disk" run) reaches /metrics in bytes, promtool-clean, and
# Prometheus. Only the processes started here are ended, by their PIDs.
# Prints "prometheus: N passed, M failed".
# shellcheck disable=SC2317 # functions called through trap and wait_for
set -u

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
examples=$root/examples/prometheus
broadcaster=${CARGO_TARGET_DIR:-$root/target}/debug/ssi-broadcaster
work=$(mktemp -d "${TMPDIR:-/tmp}/ssi-prometheus.XXXXXX") || exit 1
pids=()
cleanup() {
    local p
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
    rm -rf "$work"
}
trap cleanup EXIT

# shellcheck source=tests/lib/tally.sh
. "$root/tests/lib/tally.sh"
finish() {
    echo "prometheus: $passed passed, $failed failed"
    ((failed == 0))
    exit
}

missing=()
check_disk=/usr/lib/nagios/plugins/check_disk
for tool in promtool prometheus prometheus-alertmanager python3 curl "$check_disk"; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if ((${#missing[@]} > 0)); then
    fail "prerequisites" "missing ${missing[*]}: install the test prerequisites with 'sudo make test-deps'"
    finish
fi

name="promtool test rules examples/prometheus/ssi-alerts.test.yml"
if out=$(cd "$examples" && promtool check rules ssi-alerts.yml 2>&1 && promtool test rules ssi-alerts.test.yml 2>&1); then
    pass
else
    fail "$name" "$out"
fi

name="promtool check config examples/prometheus/scrape-config.yml"
if out=$(cd "$examples" && promtool check config scrape-config.yml 2>&1); then pass; else fail "$name" "$out"; fi

if [[ ! -x $broadcaster ]]; then
    fail "real engine" "$broadcaster is missing (cargo build -p ssi-broadcaster first)"
    finish
fi

start=$SECONDS

# free_port: a port nothing listens on now (the kernel's choice).
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# host NAME CHECK...: a scripts and a log directory for one "machine".
host() {
    local h=$1 c
    shift
    mkdir -p "$work/$h/scripts" "$work/$h/logs"
    for c in "$@"; do
        printf '#!/bin/sh\n# name: Check %s\n# description: d\n# version: 1\n# schedule: hourly\necho OK\n' "$c" >"$work/$h/scripts/$c.sh"
        chmod 755 "$work/$h/scripts/$c.sh"
    done
}
# status HOST CHECK STATUS: appends a status line, as the check's run would.
status() {
    printf '%s, %s, test\n' "$(date '+%Y-%m-%d %H:%M:%S')" "$3" >>"$work/$1/logs/$2.log"
}

host alpha web db
host beta web disk
host gamma web
status alpha web OK
status alpha db FAILURE
status beta web FAILURE
status beta disk OK
status gamma web OK
# beta's disk check is the real check_disk: its performance data follows
# its status line as a plugin check's run writes it ("perfdata: ...").
disk_out=$("$check_disk" -w 20% -c 10% -p / 2>&1)
disk_perf=${disk_out#*|}
disk_perf=${disk_perf%%$'\n'*}
printf 'perfdata: %s\n' "$disk_perf" >>"$work/beta/logs/disk.log"
# What the plugin said of "/", in bytes (B, or MB/GB as 1024-multiples).
disk_bytes=$(python3 - "$disk_perf" <<'PY'
import re, sys
m = re.search(r"(?:^|\s)'?/'?=([0-9.]+)(B|KB|MB|GB|TB)?;", sys.argv[1])
k = {"B": 1, None: 1, "KB": 1 << 10, "MB": 1 << 20, "GB": 1 << 30, "TB": 1 << 40}[m.group(2)]
print(int(round(float(m.group(1)) * k)))
PY
)

# Three broadcasters on ports of their own; each prints its port.
declare -A port
for h in alpha beta gamma; do
    "$broadcaster" --listen 127.0.0.1:0 --scripts-dir "$work/$h/scripts" --log-dir "$work/$h/logs" \
        2>"$work/$h.err" &
    pids+=($!)
done
for h in alpha beta gamma; do
    for _ in $(seq 100); do
        port[$h]=$(sed -n 's|^listening on ws://127.0.0.1:\([0-9]*\)/.*|\1|p' "$work/$h.err")
        [[ -n ${port[$h]} ]] && break
        sleep 0.05
    done
done

# The webhook receiver: every POST body, one a line, in $work/webhook.
hook_port=$(free_port)
cat >"$work/hook.py" <<'PY'
import http.server, sys
out = sys.argv[2]
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with open(out, "ab") as f:
            f.write(body.replace(b"\n", b" ") + b"\n")
        self.send_response(200)
        self.end_headers()
    def log_message(self, *a):
        pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PY
: >"$work/webhook"
python3 "$work/hook.py" "$hook_port" "$work/webhook" &
pids+=($!)

am_port=$(free_port)
cat >"$work/alertmanager.yml" <<EOF
route:
  receiver: hook
  group_by: [alertname, instance, id]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: hook
    webhook_configs:
      - url: http://127.0.0.1:$hook_port/
        send_resolved: true
EOF
prometheus-alertmanager --config.file="$work/alertmanager.yml" --storage.path="$work/am-data" \
    --web.listen-address="127.0.0.1:$am_port" --cluster.listen-address= >"$work/am.log" 2>&1 &
pids+=($!)

prom_port=$(free_port)
cp "$examples/ssi-alerts.yml" "$work/"
cat >"$work/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: [ssi-alerts.yml]
alerting:
  alertmanagers:
    - static_configs:
        - targets: ["127.0.0.1:$am_port"]
scrape_configs:
  - job_name: ssi
    static_configs:
      - targets: ["127.0.0.1:${port[alpha]}"]
        labels: {host: alpha}
      - targets: ["127.0.0.1:${port[beta]}"]
        labels: {host: beta}
      - targets: ["127.0.0.1:${port[gamma]}"]
        labels: {host: gamma}
EOF
prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/prom-data" \
    --web.listen-address="127.0.0.1:$prom_port" --rules.alert.resend-delay=1s >"$work/prom.log" 2>&1 &
pids+=($!)

# query PROMQL: "host/id" of every series in the result, sorted, one a line.
query() {
    curl -sf --get "http://127.0.0.1:$prom_port/api/v1/query" --data-urlencode "query=$1" |
        python3 -c 'import json, sys
r = json.load(sys.stdin)["data"]["result"]
print("\n".join(sorted(m["metric"].get("host", "?") + "/" + m["metric"].get("id", "?") for m in r)))'
}
# wait_for SECONDS COMMAND...: until the command succeeds.
wait_for() {
    local until=$((SECONDS + $1))
    shift
    until "$@"; do
        ((SECONDS < until)) || return 1
        sleep 0.5
    done
}
failing_are() { [[ $(query 'ssi_check_status{status="FAILURE"} == 1' 2>/dev/null) == "$1" ]]; }
# hook_has STATUS HOST ID: the webhook got a notification with that alert.
hook_has() {
    python3 - "$work/webhook" "$@" <<'PY'
import json, sys
path, status, host, id_ = sys.argv[1:]
for line in open(path):
    n = json.loads(line)
    for a in n["alerts"]:
        l = a["labels"]
        if a["status"] == status and l.get("alertname") == "SsiCheckFailing" and l.get("host") == host and l.get("id") == id_:
            sys.exit(0)
sys.exit(1)
PY
}

name="Prometheus scrapes three broadcasters; FAILURE == 1 names exactly alpha/db and beta/web"
if wait_for 30 failing_are $'alpha/db\nbeta/web'; then
    pass
else
    fail "$name" "got: $(query 'ssi_check_status{status="FAILURE"} == 1' | tr '\n' ' '); up: $(query 'up' | tr '\n' ' '); log: $(tail -n 3 "$work/prom.log")"
fi

name="check_disk's performance data on /metrics in bytes, with thresholds and bounds, promtool-clean"
metrics=$(curl -sf "http://127.0.0.1:${port[beta]}/metrics")
problems=()
grep -qxF "ssi_check_perfdata{id=\"disk\",label=\"/\",unit=\"bytes\"} $disk_bytes" <<<"$metrics" ||
    problems+=("no ssi_check_perfdata of / = $disk_bytes bytes")
for f in warning critical min max; do
    grep -q "^ssi_check_perfdata_$f{id=\"disk\",label=\"/\",unit=\"bytes\"} [0-9]" <<<"$metrics" || problems+=("no _$f")
done
if ! out=$(promtool check metrics <<<"$metrics" 2>&1); then problems+=("promtool: $out"); fi
if ((${#problems[@]} == 0)); then
    pass
else
    fail "$name" "${problems[*]} (plugin said: $disk_out) $(grep perfdata <<<"$metrics")"
fi
{ echo "# check_disk: $disk_out"; grep '^ssi_check_perfdata' <<<"$metrics"; } >"$work/perfdata.prom"

name="Prometheus has check_disk's / in bytes from beta"
disk_in_prom() {
    [[ $(curl -sf --get "http://127.0.0.1:$prom_port/api/v1/query" \
        --data-urlencode 'query=ssi_check_perfdata{label="/",unit="bytes"}' |
        python3 -c 'import json, sys
r = json.load(sys.stdin)["data"]["result"]
print(" ".join(m["metric"]["host"] + "/" + m["metric"]["id"] + "=" + m["value"][1] for m in r))') == "beta/disk=$disk_bytes" ]]
}
if wait_for 15 disk_in_prom; then pass; else fail "$name" "expected beta/disk=$disk_bytes"; fi

name="every target is up and every check has its series"
# Polled: with 1 s intervals, one late scrape on a busy machine leaves a
# target down for a second; what counts is that all three come up.
all_up() {
    [[ $(query 'up == 1') == $'alpha/?\nbeta/?\ngamma/?' ]] &&
        [[ $(query 'sum by (host, id) (ssi_check_status) == 1') == $'alpha/db\nalpha/web\nbeta/disk\nbeta/web\ngamma/web' ]]
}
if wait_for 15 all_up; then
    pass
else
    fail "$name" "up: $(query 'up == 1' | tr '\n' ' '); series: $(query 'sum by (host, id) (ssi_check_status)' | tr '\n' ' ')"
fi

name="SsiCheckFailing fires and Alertmanager delivers it to the webhook"
if wait_for 30 hook_has firing alpha db && wait_for 10 hook_has firing beta web; then
    pass
else
    fail "$name" "webhook got: $(cut -c1-300 "$work/webhook"); alertmanager: $(tail -n 3 "$work/am.log")"
fi

name="no alert for the checks that are OK"
if ! hook_has firing gamma web && ! hook_has firing alpha web; then pass; else fail "$name" "$(cat "$work/webhook")"; fi

status alpha db OK
status beta web OK
name="OK again: nothing FAILURE, and the webhook hears the alerts resolve"
if wait_for 30 failing_are "" && wait_for 30 hook_has resolved alpha db && wait_for 10 hook_has resolved beta web; then
    pass
else
    fail "$name" "failing: $(query 'ssi_check_status{status="FAILURE"} == 1' | tr '\n' ' '); webhook: $(cut -c1-300 "$work/webhook")"
fi

echo "prometheus: the real-engine test took $((SECONDS - start)) s"
finish
