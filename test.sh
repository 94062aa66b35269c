#!/usr/bin/env bash
# The whole suite: builds, runs every test project against real parts (a real silo, real Kestrel gateways on
# loopback), and ends with one line "N passed, N failed". Installs what the tests need when it is missing.
set -euo pipefail
cd "$(dirname "$0")"

if ! command -v dotnet >/dev/null; then
  echo "test.sh: the .NET SDK 10 is required (https://dot.net)" >&2
  exit 1
fi

# Redis: the silo failover tests start their own throw-away redis-server on a free loopback port.
if ! command -v redis-server >/dev/null; then
  echo "test.sh: installing redis-server (apt)…"
  if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq redis-server >/dev/null
fi

results=$(mktemp -d)
trap 'rm -rf "$results"' EXIT

dotnet build LongLived.Orleans.sln -c Release -nologo -v quiet -clp:ErrorsOnly
set +e
dotnet test LongLived.Orleans.sln -c Release --no-build -nologo \
  --logger "trx" --logger "console;verbosity=normal" --results-directory "$results" "$@"
status=$?
set -e

# Sum the counters of every result file, so a run that executed no test shows as "0 passed".
passed=0; failed=0
for trx in "$results"/*.trx; do
  [ -e "$trx" ] || continue
  counters=$(grep -o '<Counters [^>]*>' "$trx")
  p=$(sed -n 's/.* passed="\([0-9]*\)".*/\1/p' <<<"$counters")
  f=$(sed -n 's/.* failed="\([0-9]*\)".*/\1/p' <<<"$counters")
  passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0}))
done
echo "$passed passed, $failed failed"
if [ "$status" -eq 0 ] && [ "$passed" -eq 0 ]; then
  echo "test.sh: no test ran" >&2
  exit 1
fi
exit $status
