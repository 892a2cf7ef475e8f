#!/bin/sh
# name: Valid check
# description: Fine
# version: 1
# schedule: *-*-* 06:00
