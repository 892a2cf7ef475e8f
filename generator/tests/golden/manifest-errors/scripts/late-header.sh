#!/bin/sh
set -e
# name: Too late
# description: d
# version: 1
# schedule: daily
