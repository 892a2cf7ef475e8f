#!/bin/sh
# name: SSH port
# description: check_tcp against the local SSH port
# version: 1
# schedule: *:0/5
# output: nagios
exec /usr/lib/nagios/plugins/check_tcp -H 127.0.0.1 -p 22
