#!/usr/bin/env bash
# Ctrl+C as a person presses it: ./run.sh in a real pseudo-terminal (tmux), its output on that terminal, one C-c once
# the clients stream. Checks that the emulator reports, the gateways drain and the silo stops, that the prompt comes
# back with the emulator's status, that nothing is left running, and that a normal run and stop log nothing above
# Information (no fail:/warn: line, no line per grain placement). Then kill -TERM of the emulator alone, with its
# control API on: it ends the same way. Ends with "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/../.."
work=$(mktemp -d)
session="llctrlc$$"
. tests/shell/lib.sh
finish() {
  tmux kill-session -t "$session" 2>/dev/null
  pkill -9 -f "LongLived\.(Silo|Gateway|Emulator)\.dll" 2>/dev/null # whatever a failed run left must not break the next suite
  rm -rf "$work"
  summary
  exit
}
if ! command -v tmux >/dev/null; then
  if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq tmux >/dev/null
fi
for port in 7071 7072 7073 7080 30000; do
  listening "$port" && { echo "port $port is busy: stop what runs there first"; failed=1; finish; }
done

# The terminal's output goes to run.log (pipe-pane) while run.sh writes to the terminal itself, as for a person.
tmux new-session -d -s "$session" -x 220 -y 50 "bash --norc"
tmux pipe-pane -t "$session" -o "cat >> '$work/run.log'"
tmux send-keys -t "$session" "./run.sh --clients 5 --quiet --report '$work/report.json'; echo \"rc=\$?\" > '$work/rc'" Enter
streaming=1
for _ in $(seq 1 240); do grep -aq '^\[emulator\] summary clients 5 received [1-9]' "$work/run.log" 2>/dev/null && { streaming=0; break; }; sleep 0.5; done
check "the clients stream (a summary with messages received)" "$streaming" "no summary within 120 s"
sleep 2
tmux send-keys -t "$session" C-c
pressed=$(date +%s)
for _ in $(seq 1 120); do [ -s "$work/rc" ] && break; sleep 0.5; done
took=$(( $(date +%s) - pressed ))
check "one Ctrl+C returns the prompt (within 60 s)" "$([ -s "$work/rc" ] && echo 0 || echo 1)" "still running after ${took} s"
rc=$(sed -n 's/^rc=//p' "$work/rc" 2>/dev/null)
check "run.sh ends with the emulator's status for an interrupted run (130)" "$([ "$rc" = 130 ] && echo 0 || echo 1)" "rc=${rc:-none}"
check "the emulator wrote its report" "$(grep -q '"clients"' "$work/report.json" 2>/dev/null && echo 0 || echo 1)" "no report"
check "the emulator printed its summary table after Ctrl+C" "$(grep -aq '^\[emulator\] report written to' "$work/run.log" && echo 0 || echo 1)" "no 'report written' line"
check "the gateways' drain reached the terminal (the prefixers outlive Ctrl+C)" "$(grep -aqE '^\[gw[123]\] .*Draining' "$work/run.log" && echo 0 || echo 1)" "no drain line"
sleep 1
left=""
for port in 7071 7072 7073 8071 8072 8073 8090 7080 30000; do listening "$port" && left="$left $port"; done
pgrep -f "LongLived\.(Silo|Gateway|Emulator)\.dll" >/dev/null && left="$left (processes)"
check "every process run.sh started is stopped" "$([ -z "$left" ] && echo 0 || echo 1)" "still running:$left"
noisy=$(grep -acE '(fail|warn|crit): |Polly' "$work/run.log")
check "a normal run and stop log nothing above Information and no line per placement" "$([ "$noisy" -eq 0 ] && echo 0 || echo 1)" "$noisy lines: $(grep -aE '(fail|warn|crit): |Polly' "$work/run.log" | head -n 3 | cut -c1-200)"
if [ "$failed" -gt 0 ]; then tail -n 40 "$work/run.log"; fi

# kill -TERM of the emulator, its control API on (:7080): the run ends with its summary and report.
dotnet Emulator/bin/Release/net10.0/LongLived.Emulator.dll --addr static::7071 --clients 2 --quiet --control-port 7080 \
  --report "$work/term.json" >"$work/term.log" 2>&1 &
emulator=$!
for _ in $(seq 1 60); do listening 7080 && break; sleep 0.5; done
kill -TERM "$emulator"
for _ in $(seq 1 40); do kill -0 "$emulator" 2>/dev/null || break; sleep 0.5; done
if kill -0 "$emulator" 2>/dev/null; then kill -9 "$emulator"; stopped=1; else stopped=0; fi
wait "$emulator"; status=$?
check "kill -TERM ends the emulator (control API on) within 20 s" "$stopped" "still running"
check "… with its report and the interrupted status (130)" "$([ "$status" = 130 ] && grep -q '"clients"' "$work/term.json" 2>/dev/null && echo 0 || echo 1)" "status $status, report: $(ls "$work/term.json" 2>&1)"
finish
