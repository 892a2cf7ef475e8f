#!/bin/sh
# name: Bad output
# description: an output kind that does not exist
# version: 1
# schedule: daily
# output: icinga
echo "OK"
