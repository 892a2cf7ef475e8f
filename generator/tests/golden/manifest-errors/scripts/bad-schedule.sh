#!/bin/sh
# name: Bad schedule
# description: d
# version: 1
# schedule: *:0/5x
