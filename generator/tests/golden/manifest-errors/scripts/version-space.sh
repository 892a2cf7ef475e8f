#!/bin/sh
# name: Version with space
# description: d
# version: 1 beta
# schedule: daily
