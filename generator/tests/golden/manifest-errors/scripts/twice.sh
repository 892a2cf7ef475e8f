#!/bin/sh
# name: Twice
# description: d
# version: 1
# schedule: daily
# schedule: hourly
