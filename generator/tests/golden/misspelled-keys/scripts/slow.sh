#!/bin/bash
# name: Slow Check
# description: a valid check whose timeout is misspelled
# version: 1
# schedule: *:0/5
# timout: 60
echo OK
