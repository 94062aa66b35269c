#!/usr/bin/env bash
# The whole suite: builds, runs the xUnit tests (a real silo, real Kestrel gateways on loopback, real processes
# killed and restarted, a real Redis), the Node.js interop tests (grpc-js, reflection client, plain HTTP) and the shell
# tests (./run.sh driven from outside), and ends with one line "N passed, N failed" summed over all of them. Installs what the tests need when it is missing.
set -euo pipefail
cd "$(dirname "$0")"

if ! command -v dotnet >/dev/null; then
  echo "test.sh: the .NET SDK 10 is required (https://dot.net)" >&2
  exit 1
fi

# What the tests need, from Debian packages when it is missing.
apt_install() {
  echo "test.sh: installing $* (apt)…"
  if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$@" >/dev/null
}
# Redis: the silo failover tests start their own throw-away redis-server on a free loopback port.
command -v redis-server >/dev/null || apt_install redis-server
# Node.js: the interop tests use independent gRPC implementations (grpc-js) from npm.
{ command -v node && command -v npm; } >/dev/null || apt_install nodejs npm
# gRPC C-core: a client of the original contract on Debian's python3-grpcio (tests/python), run by /usr/bin/python3.
/usr/bin/python3 -c 'import grpc, google.protobuf' 2>/dev/null || apt_install python3-grpcio python3-protobuf
# tmux: tests/shell presses Ctrl+C in a real pseudo-terminal.
command -v tmux >/dev/null || apt_install tmux
# libfaketime: a gateway runs with its host clock an hour behind (Failover/ClockSkewTests.cs).
[ -e /usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1 ] || apt_install libfaketime
(cd tests/interop && npm ci --no-audit --no-fund --loglevel=error)

results=$(mktemp -d)
trap 'rm -rf "$results"' EXIT

dotnet build LongLived.Orleans.sln -c Release -nologo -v quiet -clp:ErrorsOnly
set +e
dotnet test LongLived.Orleans.sln -c Release --no-build -nologo \
  --logger "trx" --logger "console;verbosity=normal" --results-directory "$results" "$@"
status=$?
(cd tests/interop && CONFIGURATION=Release node --test --test-reporter=tap --test-concurrency=1) | tee "$results/interop.tap"
node_status=${PIPESTATUS[0]}
[ "$node_status" -eq 0 ] || status=$node_status
# Shell tests: the scripts users run (./run.sh), driven from outside; each ends with "N passed, N failed".
for script in tests/shell/*_test.sh; do
  "$script" | tee "$results/$(basename "$script").out"
  shell_status=${PIPESTATUS[0]}
  [ "$shell_status" -eq 0 ] || status=$shell_status
done
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
# node --test (TAP) ends with "# pass N" and "# fail N".
p=$(sed -n 's/^# pass \([0-9]*\)$/\1/p' "$results/interop.tap" | tail -n 1)
f=$(sed -n 's/^# fail \([0-9]*\)$/\1/p' "$results/interop.tap" | tail -n 1)
passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0}))
for out in "$results"/*_test.sh.out; do
  [ -e "$out" ] || continue
  line=$(grep -aE '^[0-9]+ passed, [0-9]+ failed$' "$out" | tail -n 1)
  p=${line%% passed*}; f=${line#*passed, }; f=${f%% failed}
  passed=$((passed + ${p:-0})); failed=$((failed + ${f:-1}))
done
# The names of what failed, last (a CI log is often read from its tail): xUnit from the trx, Node from the TAP.
if [ "$failed" -gt 0 ]; then
  echo "failed:"
  for trx in "$results"/*.trx; do
    [ -e "$trx" ] || continue
    grep -o '<UnitTestResult [^>]*outcome="Failed"[^>]*>' "$trx" | sed -n 's/.*testName="\([^"]*\)".*/  xunit: \1/p' || true
  done
  grep -aE '^ *not ok ' "$results/interop.tap" | sed 's/^ */  node: /' || true
  grep -ahE '^not ok ' "$results"/*_test.sh.out 2>/dev/null | sed 's/^/  shell: /' || true
fi
echo "$passed passed, $failed failed"
if [ "$status" -eq 0 ] && [ "$passed" -eq 0 ]; then
  echo "test.sh: no test ran" >&2
  exit 1
fi
exit $status
