#!/usr/bin/env bash
# The container cluster end to end, as a user runs it: docker compose (Redis, two silos, three gateways) built from
# the Dockerfile, the emulator on the host against static::7071,:7072,:7073 with 200 clients for about 90 s, and
# mid-run: kill -9 one gateway, SIGTERM (drain) another, kill -9 one silo. Asserts from the emulator's JSON report:
# no gap, no duplicate, nothing unrecoverable (Redis storage), every client received after the last kill.
# Runs with auth on (docker-compose.auth.yml, tokens minted by the emulator) and an admin token; checks that operator
# endpoints refuse callers outside the container without it and that a call without a bearer token is UNAUTHENTICATED.
# Always tears down (down -v); prints the compose logs on failure. Ends with "N passed, N failed".
#   tests/docker/e2e.sh                 CLIENTS=200 DURATION=90 tests/docker/e2e.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD

CLIENTS=${CLIENTS:-200}
DURATION=${DURATION:-90}
# Seconds into the run: kill -9 gateway1, stop (drain) gateway2, kill -9 silo2.
KILL_GATEWAY_AT=${KILL_GATEWAY_AT:-20}
STOP_GATEWAY_AT=${STOP_GATEWAY_AT:-35}
KILL_SILO_AT=${KILL_SILO_AT:-50}
PROJECT=${PROJECT:-longlived-e2e}
export DOCKER_BUILDKIT=0 # the classic builder: what these machines have
work=$(mktemp -d)
report=$work/report.json
passed=0; failed=0
log() { echo "[e2e $(date +%H:%M:%S)] $*"; }
check() { # check NAME CONDITION-RESULT(0|1) DETAIL
  if [ "$2" -eq 0 ]; then passed=$((passed + 1)); echo "ok - $1 ($3)"; else failed=$((failed + 1)); echo "not ok - $1 ($3)"; fi
}

# docker compose v2 (what users have) or docker-compose v1.29 (what these machines have).
if docker compose version >/dev/null 2>&1; then compose=(docker compose); else compose=(docker-compose); fi
# With auth on (the documented override) and an admin token, so the failover story runs as a hardened cluster would.
export LONGLIVED_TOKEN_KEY=${LONGLIVED_TOKEN_KEY:-e2e-token-key-$(date +%s%N)-0123456789abcdef}
export LONGLIVED_ADMIN_TOKEN=${LONGLIVED_ADMIN_TOKEN:-e2e-admin-$(date +%s%N)}
dc() { "${compose[@]}" -p "$PROJECT" -f "$root/docker-compose.yml" -f "$root/docker-compose.auth.yml" "$@"; }

# Without a registry, the public base images come from the stand-in script (it also starts dockerd).
standin=""
for candidate in "${STANDIN_SCRIPT:-}" "$root/../shared/tools/docker-standin-images.sh" /work/shared/tools/docker-standin-images.sh; do
  if [ -n "$candidate" ] && [ -f "$candidate" ]; then standin=$candidate; break; fi
done
have_images() {
  docker info >/dev/null 2>&1 &&
    docker image inspect mcr.microsoft.com/dotnet/sdk:10.0 mcr.microsoft.com/dotnet/aspnet:10.0 redis:7 >/dev/null 2>&1
}
# A dockerd that died without cleaning up (the machine was stopped with it running) leaves its pid files, and the next
# dockerd refuses to start ("pid file found"). Remove them only when that pid is no dockerd or containerd now.
remove_stale_pid_files() {
  local f pid
  for f in /var/run/docker.pid /var/run/docker/containerd/containerd.pid; do
    [ -f "$f" ] || continue
    pid=$(cat "$f" 2>/dev/null || true)
    case "$(cat "/proc/${pid:-0}/comm" 2>/dev/null)" in
      dockerd | containerd) ;;
      *) log "removing stale $f (pid ${pid:-none} is no docker daemon)"; rm -f "$f" 2>/dev/null || log "cannot remove $f" ;;
    esac
  done
}
if ! docker info >/dev/null 2>&1; then remove_stale_pid_files; fi
if ! have_images && [ -n "$standin" ]; then
  log "base images or dockerd missing: running $standin"
  bash "$standin" | tail -n 8 || true # its failure is reported just below, with the daemon's log
fi
if ! docker info >/dev/null 2>&1; then
  echo "e2e: no docker engine (install docker, or set STANDIN_SCRIPT)"
  [ -f /var/log/dockerd-standin.log ] && { echo "last lines of /var/log/dockerd-standin.log:"; tail -n 5 /var/log/dockerd-standin.log || true; }
  echo "0 passed, 1 failed"; exit 1
fi

emulator_pid=""
finish() {
  local status=$?
  [ -n "$emulator_pid" ] && kill "$emulator_pid" 2>/dev/null || true
  if [ "$failed" -gt 0 ] || [ "$status" -ne 0 ]; then
    log "failure: compose logs (last 80 lines per service)"
    dc logs --no-color --tail 80 2>&1 || true
    [ -f "$work/emulator.log" ] && { log "emulator log (last 40 lines)"; tail -n 40 "$work/emulator.log"; }
  fi
  log "tearing down"
  dc down -v --remove-orphans >/dev/null 2>&1 || true
  rm -rf "$work"
  [ "$status" -ne 0 ] && [ "$((passed + failed))" -eq 0 ] && failed=1
  echo "$passed passed, $failed failed"
  [ "$failed" -eq 0 ] && [ "$status" -eq 0 ]
}
trap finish EXIT

# health STATE of one service's container ("healthy", "unhealthy", "starting", or "none").
health() { docker inspect -f '{{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}' "$(dc ps -q "$1")" 2>/dev/null || echo none; }
wait_healthy() { # wait_healthy SECONDS SERVICE...
  local deadline=$(( $(date +%s) + $1 )); shift
  while [ "$(date +%s)" -lt "$deadline" ]; do
    local all=1 s
    for s in "$@"; do [ "$(health "$s")" = healthy ] || { all=0; break; }; done
    [ "$all" = 1 ] && return 0
    sleep 1
  done
  for s in "$@"; do echo "  $s: $(health "$s")"; done
  return 1
}

services=(redis silo1 silo2 gateway1 gateway2 gateway3)
dc down -v --remove-orphans >/dev/null 2>&1 || true
log "building images"
t0=$(date +%s)
dc build >"$work/build.log" 2>&1 || { tail -n 40 "$work/build.log"; check "images build" 1 "docker compose build failed"; exit 1; }
check "images build" 0 "$(( $(date +%s) - t0 )) s: $(docker image inspect -f '{{.RepoTags}} {{.Size}}' longlived/silo:local longlived/gateway:local longlived/emulator:local | awk '{printf "%s %.0f MB; ", $1, $2/1e6}')"
log "docker compose up"
t0=$(date +%s)
# The compose files as docker sees them (what `docker inspect` would show): no secret on a command line, and every
# long-running service restarts after a crash (Redis included: a crashed Redis must not stay down).
dc --profile emulator config >"$work/config.yml" 2>&1
leaked=$(grep -c -- "$LONGLIVED_TOKEN_KEY" "$work/config.yml" | tr -d ' '); in_env=$(grep -cE "(SigningKey|LONGLIVED_TOKEN_KEY): .*$LONGLIVED_TOKEN_KEY" "$work/config.yml" | tr -d ' ')
check "the signing key is passed in the environment only, never on a command line" "$([ "$leaked" -gt 0 ] && [ "$leaked" = "$in_env" ] && echo 0 || echo 1)" \
  "$leaked occurrences, $in_env of them environment entries"
norestart=$(node -e '
  const lines = require("fs").readFileSync(process.argv[1], "utf8").split("\n"); let svc = null, inServices = false; const seen = {};
  for (const l of lines) {
    if (/^services:/.test(l)) { inServices = true; continue; } if (/^\S/.test(l)) inServices = false;
    const m = inServices && /^  ([a-z0-9_-]+):\s*$/.exec(l); if (m) { svc = m[1]; seen[svc] = seen[svc] || false; continue; }
    if (svc && /^    restart: (unless-stopped|always)/.test(l)) seen[svc] = true; }
  console.log(Object.keys(seen).filter(s => s !== "emulator" && !seen[s]).join(" "));' "$work/config.yml")
check "every server restarts after a crash (restart policy)" "$([ -z "$norestart" ] && echo 0 || echo 1)" "${norestart:+no restart policy: }${norestart:-every server has one}"
dc --profile monitoring up -d >"$work/up.log" 2>&1 || { cat "$work/up.log"; check "cluster up" 1 "up failed"; exit 1; }
if wait_healthy 240 "${services[@]}"; then check "cluster healthy" 0 "$(( $(date +%s) - t0 )) s from up to all six healthy"
else check "cluster healthy" 1 "not healthy within 240 s"; exit 1; fi

# From the host, callers arrive at the containers from docker's bridge, not loopback: operator endpoints need the token.
status() { node -e '
  fetch(process.argv[1], { headers: process.argv[2] ? { authorization: `Bearer ${process.argv[2]}` } : {} })
    .then(r => console.log(r.status), e => console.log("error " + e.message))' "$@"; }
gw_anon=$(status http://127.0.0.1:8071/metrics); gw_token=$(status http://127.0.0.1:8071/metrics "$LONGLIVED_ADMIN_TOKEN")
silo_anon=$(status http://127.0.0.1:8090/metrics); silo_token=$(status http://127.0.0.1:8090/metrics "$LONGLIVED_ADMIN_TOKEN")
health_anon=$(status http://127.0.0.1:8071/healthz)
check "operator endpoints need the admin token from outside" \
  "$([ "$gw_anon" = 401 ] && [ "$gw_token" = 200 ] && [ "$silo_anon" = 401 ] && [ "$silo_token" = 200 ] && [ "$health_anon" = 200 ] && echo 0 || echo 1)" \
  "gateway /metrics $gw_anon without, $gw_token with; silo /metrics $silo_anon without, $silo_token with; /healthz $health_anon"
# A Publish{channel "x", data "y"} without a token, over h2c with node's own http2: UNAUTHENTICATED (16).
anonymous=$(node -e '
  const c = require("http2").connect("http://127.0.0.1:7071"); const done = s => { console.log(s); c.close(); };
  const req = c.request({ ":method": "POST", ":path": "/protos.Longlived/Publish", "content-type": "application/grpc", te: "trailers" });
  req.on("response", h => { if (h["grpc-status"]) done(h["grpc-status"]); });
  req.on("trailers", t => done(t["grpc-status"])); req.on("error", e => done("error " + e.message)); req.resume();
  req.end(Buffer.from([0, 0, 0, 0, 6, 0x0a, 1, 0x78, 0x12, 1, 0x79])); setTimeout(() => done("timeout"), 10000).unref();')
check "a publish without a token is UNAUTHENTICATED" "$([ "$anonymous" = 16 ] && echo 0 || echo 1)" "grpc-status $anonymous"

log "building the emulator on the host"
dotnet build "$root/Emulator/Emulator.csproj" -c Release -nologo -v quiet -clp:ErrorsOnly >/dev/null
log "emulator: $CLIENTS clients for $DURATION s against static::7071,:7072,:7073"
dotnet "$root/Emulator/bin/Release/net10.0/LongLived.Emulator.dll" --addr static::7071,:7072,:7073 --clients "$CLIENTS" \
  --duration "$DURATION" --ramp-up 5s --quiet --control-port 0 --report "$report" >"$work/emulator.log" 2>&1 & # the signing key from LONGLIVED_TOKEN_KEY, not the command line
emulator_pid=$!
start=$(date +%s)
at() { local wait=$(( start + $1 - $(date +%s) )); [ "$wait" -gt 0 ] && sleep "$wait"; return 0; }

# Monitoring (the compose profile): Prometheus scrapes every silo and gateway with the admin token, and counts the
# emulator's streams. prom QUERY prints the first value of an instant query.
prom() { node -e '
  fetch("http://127.0.0.1:9090/api/v1/query?query=" + encodeURIComponent(process.argv[1])).then(r => r.json())
    .then(j => console.log(j.data.result.length ? j.data.result[0].value[1] : "none")).catch(e => console.log("error " + e.message))' "$1"; }
targets() { node -e '
  fetch("http://127.0.0.1:9090/api/v1/targets").then(r => r.json())
    .then(j => console.log(j.data.activeTargets.map(t => t.labels.instance + "=" + t.health).sort().join(" "))).catch(e => console.log("error " + e.message))'; }
up_targets=""; streams=""
for _ in $(seq 1 30); do
  up_targets=$(targets); streams=$(prom 'sum(longlived_gateway_streams_active)')
  [ "$(grep -o '=up' <<<"$up_targets" | wc -l)" -eq 5 ] && [ "$streams" = "$CLIENTS" ] && break
  sleep 1
done
check "Prometheus scrapes every silo and gateway (monitoring profile)" "$([ "$(grep -o '=up' <<<"$up_targets" | wc -l)" -eq 5 ] && echo 0 || echo 1)" "$up_targets"
check "sum(longlived_gateway_streams_active) is the emulator's client count" "$([ "$streams" = "$CLIENTS" ] && echo 0 || echo 1)" "$streams of $CLIENTS"

at "$KILL_GATEWAY_AT"; log "kill -9 gateway1 (crash)"; dc kill -s SIGKILL gateway1 >/dev/null 2>&1
at "$STOP_GATEWAY_AT"; log "stop gateway2 (SIGTERM: drain)"; t0=$(date +%s); dc stop gateway2 >/dev/null 2>&1
log "gateway2 stopped in $(( $(date +%s) - t0 )) s"
at "$KILL_SILO_AT"; log "kill -9 silo2"; dc kill -s SIGKILL silo2 >/dev/null 2>&1
last_kill_ms=$(date +%s%3N)
alerts() { node -e '
  fetch("http://127.0.0.1:9090/api/v1/alerts").then(r => r.json())
    .then(j => console.log(j.data.alerts.map(a => a.labels.alertname + ":" + (a.labels.instance || "") + ":" + a.state).join(" "))).catch(e => console.log("error " + e.message))'; }
gateway_down=""
for _ in $(seq 1 30); do
  gateway_down=$(alerts); grep -qE 'LongLivedTargetDown:gateway1:8071:(pending|firing)' <<<"$gateway_down" && break; sleep 1
done
check "the gateway-down alert is pending or firing for the killed gateway" "$(grep -qE 'LongLivedTargetDown:gateway1:8071:(pending|firing)' <<<"$gateway_down" && echo 0 || echo 1)" "${gateway_down:-no alerts}"

set +e
wait "$emulator_pid"; emulator_status=$?
set -e
emulator_pid=""
check "emulator exit code" "$([ "$emulator_status" -eq 0 ] && echo 0 || echo 1)" "exit $emulator_status"
[ -f "$report" ] || { check "emulator report" 1 "no report written"; exit 1; }

# One line per figure from the report (node: the test suite's interop tests need it anyway).
figure() { node -e "const r=require(process.argv[1]); console.log($1)" "$report"; }
gaps=$(figure r.gaps); duplicates=$(figure r.duplicates); unrecoverable=$(figure r.unrecoverable)
late=$(figure "r.perClient.filter(c => c.lastReceivedUnixMs <= $last_kill_ms).map(c => c.id).join(' ')")
check "no gaps" "$([ "$gaps" -eq 0 ] && echo 0 || echo 1)" "gaps $gaps"
check "no duplicates" "$([ "$duplicates" -eq 0 ] && echo 0 || echo 1)" "duplicates $duplicates"
refused=$(figure r.refusedClients)
check "every client's token accepted" "$([ "$refused" -eq 0 ] && echo 0 || echo 1)" "refused clients $refused"
check "nothing unrecoverable (Redis storage)" "$([ "$unrecoverable" -eq 0 ] && echo 0 || echo 1)" "unrecoverable $unrecoverable"
# Each failed acknowledgement leaves a client's stored position behind (an original-contract client would get a
# duplicate at its next reconnect): after kills and a drain, at most 1 % may fail.
acked=$(figure r.received); notify_failures=$(figure r.notifyFailures)
check "acknowledgements delivered (failed ≤ 1 % of messages)" "$([ $((notify_failures * 100)) -le "$acked" ] && echo 0 || echo 1)" \
  "$notify_failures of $acked failed: $(figure 'JSON.stringify(r.notifyFailureKinds)')"
log "failed acknowledgements: $notify_failures of $acked $(figure 'JSON.stringify(r.notifyFailureKinds)')"
check "every client received after the last kill" "$([ -z "$late" ] && echo 0 || echo 1)" "${late:-all $(figure r.clients) clients}"
log "$(figure '`clients ${r.clients} received ${r.received} reconnects ${r.reconnects} resumed clients ${r.resumedClients}; resume p50 ${r.resumeMs.p50} ms p99 ${r.resumeMs.p99} ms; reattach p50 ${r.reattachMs.p50} ms p99 ${r.reattachMs.p99} ms; latency p50 ${r.latencyMs.p50} ms p99 ${r.latencyMs.p99} ms`')"
# Why streams broke, by status and the start of its message, and the longest waits the retry policy chose: what to
# read first when the resume tail is long.
# LongLived.Client logs each as "Subscription of <id> failed (<status>: <detail>); resuming in <ms> ms (attempt <n>)".
log "stream failures: $(grep -ao 'Subscription of [^ ]* failed ([^;]*' "$work/emulator.log" | sed 's/.* failed (//' | cut -c1-140 | sort | uniq -c | sort -rn | head -n 6 |
  awk '{ n = $1; $1 = ""; printf "%s x%s;", $0, n }')"
log "longest retry waits: $(grep -ao 'resuming in [0-9]* ms (attempt [0-9]*' "$work/emulator.log" | sort -k3 -n | tail -n 3 | tr '\n' ';')"
