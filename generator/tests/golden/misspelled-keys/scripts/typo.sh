#!/bin/bash
# name: Typo Check
# Author: someone
# descripton: the description key is misspelled, so it is missing
# version: 1
# schedule: daily
# Note: ordinary comment
exit 0
