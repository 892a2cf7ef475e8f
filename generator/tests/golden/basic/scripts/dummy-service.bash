#!/bin/bash
# name: Dummy Service
# description: A dummy service that always reports OK
# version: 1.0
# schedule: *:0/5  # Every 5 minutes (systemd OnCalendar format)
# timeout: 30      # Optional: Maximum runtime in seconds (default: 20)

echo "$(date '+%Y-%m-%d %H:%M:%S'), OK, Dummy service is running"
