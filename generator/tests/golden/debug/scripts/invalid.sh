#!/bin/sh
echo no manifest
