#!/usr/bin/env bash
# The benchmark suite: ./bench.sh [quick|full] [--only idle,own,fanout,history,failover] [--label before]
# quick: under 5 minutes; full: under 30. Writes bench/results/latest.json and docs/benchmarks.md (+ docs/img/*.png).
set -euo pipefail
cd "$(dirname "$0")"
dotnet tool restore >/dev/null # dotnet-gcdump: forces a full GC before memory is read
dotnet build LongLived.Orleans.sln -c Release -v quiet -nologo >/dev/null
ulimit -n 1048576 2>/dev/null || ulimit -n "$(ulimit -Hn)"
exec dotnet bench/Bench/bin/Release/net10.0/LongLived.Bench.dll "${@:-quick}"
