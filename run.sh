#!/usr/bin/env bash
# Local cluster on embedded defaults: one silo, three gateways (gRPC 7071-7073, admin 8071-8073) and the emulator
# with 10 clients against static::7071,:7072,:7073. Every log line is prefixed with its process name.
# Ctrl+C stops everything: the emulator first (its summary and report), then the gateways drain and the silo stops;
# a second Ctrl+C kills what is left at once. Extra arguments go to the emulator, e.g.  ./run.sh --duration 30 --report out.json
# CHAOS=N: every N seconds kill -9 a random gateway and restart it 2 s later (the failover story, live).
set -euo pipefail
cd "$(dirname "$0")"

CONFIG=Release
BIN="bin/$CONFIG/net10.0"
CHAOS=${CHAOS:-0}
echo "[run] building ($CONFIG)…"
dotnet build LongLived.Orleans.sln -c "$CONFIG" -nologo -v quiet -clp:ErrorsOnly

state=$(mktemp -d) # one pid file per process: the chaos loop replaces gateway pids
# kill_all: SIGKILL to every process this script started (a second Ctrl+C).
kill_all() {
  local pidfile
  for pidfile in "$state"/*.pid; do [ -e "$pidfile" ] && kill -KILL "$(cat "$pidfile")" 2>/dev/null; done
  rm -rf "$state"
}
# Stops every process this script started, whatever happened to them (some may have been killed from outside), and
# exits with the status the script was leaving with (the emulator's). Runs with errexit off: a kill of an already dead
# pid must not end the clean-up half way. A Ctrl+C while the gateways drain kills them at once.
stop_all() {
  local status=$?
  set +e
  trap - EXIT
  trap 'kill_all; exit 130' INT TERM
  # The gateways (and the emulator, the chaos loop) first: they drain while the silo still serves them; then the silo
  # leaves its cluster. Each group gets 30 s, then whatever is left of it is killed.
  local pidfile others=()
  for pidfile in "$state"/*.pid; do [ -e "$pidfile" ] && [ "$pidfile" != "$state/silo.pid" ] && others+=("$pidfile"); done
  stop_group "${others[@]}"
  stop_group "$state/silo.pid"
  rm -rf "$state"
  exit "$status"
}
# stop_group PIDFILE…: SIGTERM to each, wait up to 30 s for all to end, SIGKILL what is left.
stop_group() {
  local pids=() pid pidfile
  for pidfile in "$@"; do
    [ -e "$pidfile" ] || continue
    pid=$(cat "$pidfile")
    kill -TERM "$pid" 2>/dev/null && pids+=("$pid")
  done
  for _ in $(seq 1 60); do
    local alive=0
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && break
    sleep 0.5
  done
  for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null; done
}
trap stop_all EXIT
trap 'exit 130' INT TERM

# prefix NAME: copies its input with every line prefixed by [NAME]. It ignores Ctrl+C (the terminal sends SIGINT to
# the whole process group), so the lines the processes print while they stop are not lost.
prefix() { trap '' INT; exec sed -u "s/^/[$1] /"; }

# start NAME COMMAND…: runs COMMAND in the background with its output prefixed by [NAME]; records its pid.
start() {
  local name=$1; shift
  "$@" > >(prefix "$name") 2>&1 &
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

# The emulator runs in the background, so that this script can take Ctrl+C while it runs (bash runs a trap only
# between commands). Background commands of a script ignore SIGINT: the first Ctrl+C is passed on as SIGTERM, which
# the emulator handles like Ctrl+C (stops its clients, writes its summary and report); a second kills everything.
set +e
dotnet "Emulator/$BIN/LongLived.Emulator.dll" --addr static::7071,:7072,:7073 "$@" > >(prefix emulator) 2>&1 &
emulator=$!
echo "$emulator" > "$state/emulator.pid"
interrupt() {
  if [ -z "${stopping:-}" ]; then
    stopping=1
    echo "[run] stopping: the emulator reports, then the gateways drain (Ctrl+C again to kill at once)"
    kill -TERM "$emulator" 2>/dev/null
  else
    trap - EXIT
    kill_all
    exit 130
  fi
}
trap interrupt INT TERM
while :; do
  wait "$emulator"
  status=$?
  kill -0 "$emulator" 2>/dev/null || break # wait returned for a signal, not because the emulator ended
done
exit $status # the emulator's status; stop_all (EXIT) stops the rest and keeps it
