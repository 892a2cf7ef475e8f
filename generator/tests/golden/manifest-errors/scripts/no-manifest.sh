#!/bin/sh
echo OK
