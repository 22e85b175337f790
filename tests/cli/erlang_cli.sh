#!/usr/bin/env bash
# End-to-end check of `parley erlang`: JSON fields for Erlang C, Erlang A and --target-sl, and
# exit status 2 with a message on stderr for bad input. Usage: erlang_cli.sh PATH_TO_PARLEY
set -euo pipefail
parley="$1"
fail() { echo "FAIL: $*" >&2; exit 1; }

# Checks a JSON object on stdin with a Python expression over `d` (the parsed object).
check() {
  python3 -c '
import json, math, sys
d = json.load(sys.stdin)
if not eval(sys.argv[1]):
    sys.exit("condition failed: " + sys.argv[1] + "\n" + json.dumps(d, indent=2))
' "$1" || fail "$2"
}

# Erlang C, A = 2 Erlangs on 3 agents: P(wait) = 4/9, SL = 1 - 4/9 e^{-2/3}, ASA = 40/3 s.
out=$("$parley" erlang --agents 3 --calls-per-hour 240 --aht 30 --sl-seconds 20 --json)
echo "$out" | check 'd["model"] == "erlang_c" and d["agents"] == 3 and d["stable"]' "erlang c model"
echo "$out" | check 'abs(d["p_wait"] - 4/9) < 1e-9' "erlang c p_wait"
echo "$out" | check 'abs(d["service_level"] - (1 - 4/9 * math.exp(-2/3))) < 1e-9' "erlang c SL"
echo "$out" | check 'abs(d["asa_seconds"] - 40/3) < 1e-9 and abs(d["occupancy"] - 2/3) < 1e-9' \
  "erlang c ASA/occupancy"
echo "$out" | check 'd["load_erlangs"] == 2 and d["calls_per_hour"] == 240 and d["aht_seconds"] == 30 and d["sl_seconds"] == 20' \
  "erlang c echoed inputs"

# Unstable Erlang C: flagged, ASA null (infinite).
out=$("$parley" erlang --agents 2 --calls-per-hour 240 --aht 30 --sl-seconds 20 --json)
echo "$out" | check 'not d["stable"] and d["p_wait"] == 1 and d["service_level"] == 0 and d["asa_seconds"] is None' \
  "unstable erlang c"

# Erlang A with abandonment.
out=$("$parley" erlang --agents 12 --calls-per-hour 200 --aht 180 --sl-seconds 20 --patience 60 --json)
echo "$out" | check 'd["model"] == "erlang_a" and d["patience_seconds"] == 60' "erlang a model"
echo "$out" | check '0 < d["abandon_rate"] < 0.2 and 0 < d["service_level"] <= d["service_level_answered"] <= 1' \
  "erlang a rates"

# Target: the classic 100 calls per 30 minutes at AHT 180 s, 80% in 20 s -> 14 agents.
out=$("$parley" erlang --calls-per-hour 200 --aht 180 --sl-seconds 20 --target-sl 0.8 --json)
echo "$out" | check 'd["agents_needed"] == 14 and d["agents"] == 14 and d["target_sl"] == 0.8 and d["service_level"] >= 0.8' \
  "agents needed"

# Human output is a table that names the key figures.
human=$("$parley" erlang --agents 3 --calls-per-hour 240 --aht 30 --sl-seconds 20)
for label in "P(wait > 0)" "service level" "ASA" "occupancy" "44.44 %"; do
  grep -qF "$label" <<<"$human" || fail "human output lacks '$label'"
done

# Bad input: exit status 2, a message on stderr, nothing on stdout.
bad() {
  local status=0 err out
  err=$(mktemp)
  out=$("$parley" erlang "$@" 2>"$err") || status=$?
  [ "$status" -eq 2 ] || fail "exit $status (want 2) for: $*"
  grep -q "parley erlang:" "$err" || fail "no message on stderr for: $*"
  [ -z "$out" ] || fail "stdout not empty for: $*"
  rm -f "$err"
}
bad --agents 0 --calls-per-hour 240 --aht 30 --sl-seconds 20
bad --agents -3 --calls-per-hour 240 --aht 30 --sl-seconds 20
bad --agents 3 --calls-per-hour -240 --aht 30 --sl-seconds 20
bad --agents 3 --calls-per-hour 240 --aht 0 --sl-seconds 20
bad --agents 3 --calls-per-hour 240 --aht 30
bad --agents 3 --calls-per-hour 240 --aht 30 --sl-seconds 20 --patience -5
bad --agents three --calls-per-hour 240 --aht 30 --sl-seconds 20
bad --agents --calls-per-hour 240 --aht 30 --sl-seconds 20
bad --calls-per-hour 240 --aht 30 --sl-seconds 20
bad --calls-per-hour 240 --aht 30 --sl-seconds 20 --target-sl 80
bad --agents 3 --calls-per-hour 240 --aht 30 --sl-seconds 20 --unknown 1
echo "erlang CLI: all checks passed"
