#!/usr/bin/env bash
# name: Dashboard over HTTP (plugin)
# description: The ssi-broadcaster dashboard answers on 127.0.0.1:5000 by the Monitoring Plugins' check_http: warning over 1 s, critical over 5 s
# version: 1
# schedule: *:0/2
# timeout: 30
# output: nagios
#
# A Monitoring Plugins check used as it is (see plugin-root-fs.bash),
# against a local web service: this machine's own dashboard. A refused
# connection is CRITICAL, so FAILURE; the response time ("time", in
# seconds) and size ("size", in bytes) become metrics and charts. Point it
# at any service with SSI_HTTP_HOST, SSI_HTTP_PORT and SSI_HTTP_PATH.
# Needs monitoring-plugins-basic.
#
# Environment (optional):
#   SSI_PLUGINS_DIR  where the plugins are (default /usr/lib/nagios/plugins)
#   SSI_HTTP_HOST    host to ask (default 127.0.0.1)
#   SSI_HTTP_PORT    port (default 5000, the dashboard)
#   SSI_HTTP_PATH    path (default /metrics)

set -u

plugin=${SSI_PLUGINS_DIR:-/usr/lib/nagios/plugins}/check_http
if [[ ! -x $plugin ]]; then
    echo "HTTP UNKNOWN - $plugin is not installed (apt-get install monitoring-plugins-basic)"
    exit 3
fi
exec "$plugin" -H "${SSI_HTTP_HOST:-127.0.0.1}" -p "${SSI_HTTP_PORT:-5000}" -u "${SSI_HTTP_PATH:-/metrics}" -w 1 -c 5 -t 20
