#!/usr/bin/env bash
# deploy/prometheus with promtool (Debian's prometheus package, installed when missing): the configuration loads, the
# rules are valid, and their unit tests (rules.test.yml: every alert firing and not firing) pass.
# Ends with "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/../.."
. tests/shell/lib.sh
if ! command -v promtool >/dev/null; then
  if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq prometheus >/dev/null
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The configuration as the container sees it: rules under /etc/prometheus, the token file written at start.
sed -e "s#/etc/prometheus/rules.yml#$PWD/deploy/prometheus/rules.yml#" -e "s#/tmp/admin-token#$work/admin-token#" deploy/prometheus/prometheus.yml > "$work/prometheus.yml"
echo token > "$work/admin-token"
out=$(promtool check config "$work/prometheus.yml" 2>&1); check "promtool check config deploy/prometheus/prometheus.yml" $? "$out"
out=$(promtool check rules deploy/prometheus/rules.yml 2>&1); check "promtool check rules deploy/prometheus/rules.yml" $? "$out"
out=$(cd deploy/prometheus && promtool test rules rules.test.yml 2>&1); check "promtool test rules: every alert fires and stays quiet as its tests say" $? "$out"
summary
