#!/usr/bin/env bash
# Local cluster on embedded defaults: one silo, three gateways (gRPC 7071-7073, admin 8071-8073) and the emulator
# with 10 clients against static::7071,:7072,:7073. Every log line is prefixed with its process name.
# Ctrl+C stops everything. Extra arguments go to the emulator, e.g.  ./run.sh --duration 30 --report out.json
# CHAOS=N: every N seconds kill -9 a random gateway and restart it 2 s later (the failover story, live).
set -euo pipefail
cd "$(dirname "$0")"

CONFIG=Release
BIN="bin/$CONFIG/net10.0"
CHAOS=${CHAOS:-0}
echo "[run] building ($CONFIG)…"
dotnet build LongLived.Orleans.sln -c "$CONFIG" -nologo -v quiet -clp:ErrorsOnly

state=$(mktemp -d) # one pid file per process: the chaos loop replaces gateway pids
stop_all() {
  trap - EXIT INT TERM
  if [ -f "$state/chaos.pid" ]; then kill "$(cat "$state/chaos.pid")" 2>/dev/null; rm -f "$state/chaos.pid"; fi
  for pidfile in "$state"/*.pid; do
    [ -e "$pidfile" ] && kill -TERM "$(cat "$pidfile")" 2>/dev/null
  done
  wait 2>/dev/null || true
  rm -rf "$state"
}
trap stop_all EXIT
trap 'exit 130' INT TERM

# start NAME COMMAND…: runs COMMAND in the background with its output prefixed by [NAME]; records its pid.
start() {
  local name=$1; shift
  "$@" > >(sed -u "s/^/[$name] /") 2>&1 &
  echo $! > "$state/$name.pid"
}

# wait_port PORT NAME: until something listens on 127.0.0.1:PORT (60 s at most).
wait_port() {
  for _ in $(seq 1 120); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.5
  done
  echo "[run] $2 did not open port $1 within 60 s" >&2
  exit 1
}

start_gateway() { start "gw$(($1 - 7070))" dotnet "Gateway/$BIN/LongLived.Gateway.dll" --Gateway:Port="$1"; }

start silo dotnet "Silo/$BIN/LongLived.Silo.dll"
wait_port 30000 silo
for port in 7071 7072 7073; do start_gateway $port; done
for port in 7071 7072 7073; do wait_port $port "gateway $port"; done

if [ "$CHAOS" -gt 0 ]; then
  (
    while sleep "$CHAOS"; do
      port=$((7071 + RANDOM % 3))
      echo "[chaos] kill -9 gw$((port - 7070))"
      kill -9 "$(cat "$state/gw$((port - 7070)).pid")" 2>/dev/null || true
      sleep 2
      echo "[chaos] restart gw$((port - 7070))"
      start_gateway $port
    done
  ) &
  echo $! > "$state/chaos.pid"
fi

set +e
dotnet "Emulator/$BIN/LongLived.Emulator.dll" --addr static::7071,:7072,:7073 "$@" > >(sed -u "s/^/[emulator] /") 2>&1
status=$?
set -e
exit $status
