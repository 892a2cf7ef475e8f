#!/usr/bin/env bash
# name: Load average (plugin)
# description: Load average per CPU by the Monitoring Plugins' check_load: warning over 0.9/0.8/0.7, critical over 1.5/1.2/1.0
# version: 1
# schedule: *:0/1
# output: nagios
#
# A Monitoring Plugins check used as it is (see plugin-root-fs.bash): -r
# scales the 1, 5 and 15 minute load averages by the number of CPUs, so
# the thresholds suit any machine. Its performance data (load1, load5,
# load15 and their scaled_ forms, with thresholds) become metrics and
# charts. Needs monitoring-plugins-basic.
#
# Environment (optional):
#   SSI_PLUGINS_DIR  where the plugins are (default /usr/lib/nagios/plugins)

set -u

plugin=${SSI_PLUGINS_DIR:-/usr/lib/nagios/plugins}/check_load
if [[ ! -x $plugin ]]; then
    echo "LOAD UNKNOWN - $plugin is not installed (apt-get install monitoring-plugins-basic)"
    exit 3
fi
exec "$plugin" -r -w 0.9,0.8,0.7 -c 1.5,1.2,1.0
