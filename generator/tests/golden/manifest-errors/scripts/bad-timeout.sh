#!/bin/sh
# name: Bad timeout
# description: d
# version: 1
# schedule: daily
# timeout: 2d
