#!/bin/sh
# name: ab
# description: d
# version: 1
# schedule: daily
