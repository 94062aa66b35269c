#!/usr/bin/env bash
# Runtime:WorkerThreads as an operator sets it: a silo and a gateway started by hand with one thread-pool worker each
# stream to a client of the original contract, and each reports one pool thread on its /metrics; a value that is not a
# thread count stops the process at once with a message naming the setting. Ends with "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/../.."
work=$(mktemp -d)
. tests/shell/lib.sh
# The value of a Prometheus sample (first match of its name) on a /metrics page.
sample() {
  /usr/bin/python3 -c 'import sys, urllib.request; sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=10).read().decode())' "$1" 2>/dev/null |
    awk -v name="$2" '$1 == name || index($1, name "{") == 1 {print $2; exit}'
}
# Stops the processes this test started, on every path (a failed check, Ctrl+C): SIGTERM, then SIGKILL after 40 s.
pids=()
stop_all() {
  kill "${pids[@]}" 2>/dev/null
  for _ in $(seq 1 80); do kill -0 "${pids[@]}" 2>/dev/null || break; sleep 0.5; done
  kill -9 "${pids[@]}" 2>/dev/null
  pids=()
}
trap 'stop_all; rm -rf "$work"' EXIT
silo_dll=Silo/bin/Release/net10.0/LongLived.Silo.dll
gateway_dll=Gateway/bin/Release/net10.0/LongLived.Gateway.dll

for port in 7611 8611 8711 11611 30611; do
  listening "$port" && { echo "port $port is busy: stop what runs there first"; echo "0 passed, 1 failed"; exit 1; }
done

dotnet "$silo_dll" --Runtime:WorkerThreads=1 --Orleans:SiloPort=11611 --Orleans:GatewayPort=30611 --Silo:HttpPort=8611 \
  --Silo:Dashboard=false >"$work/silo.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 120); do listening 30611 && break; sleep 0.5; done
dotnet "$gateway_dll" --Runtime:WorkerThreads=1 --Gateway:Port=7611 --Gateway:AdminPort=8711 --Orleans:GatewayPorts:0=30611 \
  >"$work/gateway.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 120); do listening 7611 && break; sleep 0.5; done

timeout 60 /usr/bin/python3 tests/python/original_client.py ipv4:127.0.0.1:7611 worker-threads 3 >"$work/client.out" 2>&1
status=$?
check "a client of the original contract gets 3 messages through a silo and a gateway with one worker each" "$status" "exit $status: $(tail -n 2 "$work/client.out")"
silo_threads=$(sample http://127.0.0.1:8611/metrics dotnet_thread_pool_thread_count_total)
gateway_threads=$(sample http://127.0.0.1:8711/metrics dotnet_thread_pool_thread_count_total)
check "the silo's /metrics reports one thread-pool thread" "$([ "$silo_threads" = 1 ] && echo 0 || echo 1)" "dotnet_thread_pool_thread_count_total ${silo_threads:-missing}"
check "the gateway's /metrics reports one thread-pool thread" "$([ "$gateway_threads" = 1 ] && echo 0 || echo 1)" "dotnet_thread_pool_thread_count_total ${gateway_threads:-missing}"
grep -qF "Thread pool: 1 worker thread(s) (Runtime:WorkerThreads)" "$work/gateway.log"
check "the gateway logs the pool size it runs with" "$?" "no such line in its log"
stop_all

timeout 60 dotnet "$gateway_dll" --Runtime:WorkerThreads=many --Gateway:Port=7611 --Gateway:AdminPort=8711 >/dev/null 2>"$work/bad.log"
status=$?
check "a value that is no thread count stops the gateway with exit code 2" "$([ "$status" -eq 2 ] && echo 0 || echo 1)" "exit $status"
grep -qF "Runtime:WorkerThreads must be 0 (.NET's default) or a number of threads from 1 to 32767, not 'many'" "$work/bad.log"
check "and its standard error says which setting is wrong and why" "$?" "$(tail -n 3 "$work/bad.log")"

if [ "$failed" -gt 0 ]; then cat "$work/client.out"; tail -n 20 "$work/silo.log" "$work/gateway.log"; fi
summary
