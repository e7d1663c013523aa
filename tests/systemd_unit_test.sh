#!/usr/bin/env bash
# Checks the shipped unit: `systemd-analyze verify` accepts it (with ExecStart pointed at the built binary), and
# `systemd-analyze security --offline` scores its exposure at 2.0 or less ("OK").
#   usage: tests/systemd_unit_test.sh UNIT DELIVERYD_BINARY
set -euo pipefail
unit=$1 binary=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The man pages of Documentation= exist only where the package is installed (verify opens them): the package test
# (tests/package/package_test.sh) verifies the unit there, as installed.
sed -e "s#/usr/sbin/deliveryd#$binary#g" -e '/^Documentation=/d' "$unit" > "$work/deliveryd.service"
systemd-analyze verify "$work/deliveryd.service"
score=$(systemd-analyze security --offline=true "$work/deliveryd.service" 2>&1 | sed -n 's/.*Overall exposure level for deliveryd.service: \([0-9.]*\).*/\1/p')
[ -n "$score" ] || { echo "no exposure score from systemd-analyze security"; exit 1; }
echo "exposure $score"
awk -v s="$score" 'BEGIN { exit !(s <= 2.0) }' || { echo "exposure $score is above 2.0"; exit 1; }
