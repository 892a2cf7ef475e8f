#!/usr/bin/env bash
# name: Root file system (plugin)
# description: Free space on / by the Monitoring Plugins' check_disk: warning under 20%, critical under 10%
# version: 1
# schedule: *:0/5
# output: nagios
#
# A Monitoring Plugins check used as it is: with "output: nagios" its exit
# status and first line become the status line (0 OK, 1 WARNING,
# 2 FAILURE, 3 UNKNOWN), and the performance data after "|" (here "/" in
# bytes, its thresholds and size) becomes ssi_check_perfdata on /metrics
# and a chart in the dashboard. Needs monitoring-plugins-basic.
#
# Environment (optional):
#   SSI_PLUGINS_DIR  where the plugins are (default /usr/lib/nagios/plugins)

set -u

plugin=${SSI_PLUGINS_DIR:-/usr/lib/nagios/plugins}/check_disk
if [[ ! -x $plugin ]]; then
    # The plugin API's own UNKNOWN, so the status says what is missing.
    echo "DISK UNKNOWN - $plugin is not installed (apt-get install monitoring-plugins-basic)"
    exit 3
fi
exec "$plugin" -w 20% -c 10% -p /
