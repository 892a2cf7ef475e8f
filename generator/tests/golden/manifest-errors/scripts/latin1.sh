#!/bin/sh
# name: Café latin1
# description: d
# version: 1
# schedule: daily
