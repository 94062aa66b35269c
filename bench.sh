#!/usr/bin/env bash
# The benchmark suite: ./bench.sh [quick|full] [--only idle,own,fanout,history,failover] [--label before] | render [label]
# quick: under 5 minutes; full: about 30. Writes bench/results/latest.json and docs/benchmarks.md (+ docs/img/*.png);
# a run with --only writes bench/results/<label>.json only (default label: partial). Experiments: BENCH_SIDES=product|bare
# runs one side only; BENCH_SILO_ARGS / BENCH_GATEWAY_ARGS add settings to the product's processes; an Orleans__*
# variable reaches silo and gateway alike (Orleans__Delivery=observer: delivery without streams); BENCH_WORKER_THREADS sizes
# every server's thread pool, product and bare relay alike (default 1; 0: .NET's default).
set -euo pipefail
cd "$(dirname "$0")"
dotnet tool restore >/dev/null # dotnet-gcdump: forces a full GC before memory is read
dotnet build LongLived.Orleans.sln -c Release -v quiet -nologo >/dev/null
ulimit -n 1048576 2>/dev/null || ulimit -n "$(ulimit -Hn)"
exec dotnet bench/Bench/bin/Release/net10.0/LongLived.Bench.dll "${@:-quick}"
