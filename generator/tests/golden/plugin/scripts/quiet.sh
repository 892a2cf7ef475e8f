#!/bin/sh
# name: Quiet check
# description: runs only on its schedule, never when applied
# version: 1
# schedule: daily
# run-on-apply: no
echo "OK, quiet"
