#!/bin/bash
# name: CRLF check
# description: Windows line endings
# version: 1
# schedule: hourly
echo OK
