#!/bin/sh
# name: Bellname
# description: d
# version: 1
# schedule: daily
