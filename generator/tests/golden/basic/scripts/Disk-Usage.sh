#!/bin/sh
# NAME: Disk usage
# Description: Root file system usage
# VERSION: 2.1.0
# Schedule: Mon..Fri *-*-* 08:00:00
# Timeout: 1min 30s
# author: someone (an ordinary comment)
df -h /
