#!/bin/sh
# name: Ünïcödé ✓ check "quoted" \ 100%
# description: 100% "quoted" $HOME ${PATH} `tick` \back\slash; semi # hash %n
# version: 1.0-rc.1+build%5
# schedule: Sat,Sun *-*-* 03:30
