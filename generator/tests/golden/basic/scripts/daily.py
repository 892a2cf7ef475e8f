#!/usr/bin/env python3
# name: Daily Python check
# description: Defaults: no timeout given
# version: 7
# schedule: daily
print("OK")
