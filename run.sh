#!/usr/bin/env bash
# Local cluster on embedded defaults: one silo, three gateways (gRPC 7071-7073) and the emulator with 10 clients
# against static::7071,:7072,:7073. Every log line is prefixed with its process name. Ctrl+C stops everything.
# Extra arguments go to the emulator, e.g.  ./run.sh --duration 30 --report out.json
set -euo pipefail
cd "$(dirname "$0")"

CONFIG=Release
BIN="bin/$CONFIG/net10.0"
echo "[run] building ($CONFIG)…"
dotnet build LongLived.Orleans.sln -c "$CONFIG" -nologo -v quiet -clp:ErrorsOnly

pids=()
stop_all() {
  trap - EXIT INT TERM
  if ((${#pids[@]})); then
    kill -TERM "${pids[@]}" 2>/dev/null || true
    wait "${pids[@]}" 2>/dev/null || true
  fi
}
trap stop_all EXIT
trap 'exit 130' INT TERM

# start NAME COMMAND…: runs COMMAND in the background, its output prefixed with [NAME]; $! is the process itself.
start() {
  local name=$1; shift
  "$@" > >(sed -u "s/^/[$name] /") 2>&1 &
  pids+=($!)
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

start silo dotnet "Silo/$BIN/LongLived.Silo.dll"
wait_port 30000 silo
for port in 7071 7072 7073; do
  start "gw$((port - 7070))" dotnet "Gateway/$BIN/LongLived.Gateway.dll" --Gateway:Port=$port
done
for port in 7071 7072 7073; do wait_port $port "gateway $port"; done

set +e
dotnet "Emulator/$BIN/LongLived.Emulator.dll" --addr static::7071,:7072,:7073 "$@" > >(sed -u "s/^/[emulator] /") 2>&1
status=$?
set -e
exit $status
