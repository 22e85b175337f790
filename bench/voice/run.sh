#!/usr/bin/env bash
# Voice load benchmark: SIPp callers -> `parley serve` (IVR menu, queue) -> SIPp agents, all on
# 127.0.0.1. See docs/BENCHMARKS.md ("Voice (SIPp)").
#
#   bench/voice/run.sh [setup-rate|concurrent|latency|all]     (default: all)
#
# Processes: Parley; one SIPp UAS answering for every agent (agent_uas.xml, -rtp_echo sends
# each RTP packet back to Parley); one SIPp UAC registering the agents with digest auth
# (agent_register.xml, Contacts point at the UAS); one SIPp UAC placing calls (caller.xml:
# INVITE, ACK, RTP both ways by rtp_stream, "1" by SIP INFO, talk, BYE).
#
# Modes:
#   setup-rate  calls at RATES calls/s in turn (STEP_S seconds each, TALK_MS talk time); the
#               highest rate whose calls all succeeded (SIPp) and all reached an agent (Parley).
#   concurrent  CALLS calls at CPS calls/s held HOLD_S seconds: failed calls, RTP loss (socket drops),
#               Parley CPU over the steady window (all calls up), memory per active call, CPU
#               per relayed packet (the packets Parley relayed in the window, read from
#               GET /api/status with curl at both ends; the expected count if that fails).
#   latency     LAT_CALLS callers wait in the queue, then agents register one by one at
#               LAT_REG_RATE/s: time from an agent's REGISTER 200 to its INVITE (p50/p99).
# Everything is bounded by `timeout` (TOTAL_TIMEOUT s) and every process started is stopped.
# Output: a summary table on stdout; logs in WORK (kept with KEEP=1 or on failure).
set -u

HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
PARLEY="$(realpath -m "${PARLEY:-$ROOT/build/src/app/parley}")"
MODE="${1:-all}"
TOTAL_TIMEOUT="${TOTAL_TIMEOUT:-600}"

if [ -z "${BENCH_VOICE_BOUNDED:-}" ]; then
  export BENCH_VOICE_BOUNDED=1
  exec timeout -k 10 "$TOTAL_TIMEOUT" "$0" "$@"
fi

AGENTS="${AGENTS:-600}"             # agents 2001.. (>= the most calls up at once)
RATES="${RATES:-25 50 100 150 200}" # setup-rate: calls/s tried in turn
STEP_S="${STEP_S:-10}"             # setup-rate: seconds of calls per rate
TALK_MS="${TALK_MS:-2000}"          # setup-rate: time on the line after pressing 1
CALLS="${CALLS:-1000}"              # concurrent: calls held at once
export MEDIA_IO="${MEDIA_IO:-auto}" # media.io of Parley's config: auto, io_uring or epoll
CPS="${CPS:-50}"                    # concurrent: calls/s while ramping up
HOLD_S="${HOLD_S:-45}"              # concurrent: each call's time on the line after pressing 1
LAT_CALLS="${LAT_CALLS:-50}"        # latency: agents measured (callers waiting in the queue)
LAT_REG_RATE="${LAT_REG_RATE:-20}"  # latency: registrations per second

for tool in sipp sox python3; do
  command -v "$tool" >/dev/null || { echo "bench-voice: $tool is not installed"; exit 77; }
done
[ -x "$PARLEY" ] || { echo "bench-voice: no parley binary at $PARLEY"; exit 1; }

# Each call holds 2 RTP sockets in Parley and 1 in the caller's SIPp.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

WORK="$(mktemp -d /tmp/parley-bench-voice.XXXXXX)"
PIDS=()
FAILED=0   # the harness broke (exit 1)
MISSED=0   # a goal of issue 4 was missed (reported; logs kept; exit 0)
SUMMARY=()

cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do
    kill -TERM "$pid" 2>/dev/null
  done
  sleep 0.5
  for pid in "${PIDS[@]}"; do
    kill -KILL "$pid" 2>/dev/null
  done
  if [ "${KEEP:-0}" = 1 ] || [ "$FAILED" != 0 ] || [ "$MISSED" != 0 ]; then
    echo "bench-voice: logs kept in $WORK"
  else
    rm -rf "$WORK"
  fi
}
trap cleanup EXIT
trap 'exit 124' TERM INT

free_port() { # a free UDP port on 127.0.0.1 (the kernel's choice)
  python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# wait_for FILE NEEDLE SECONDS: bounded poll for a log line.
wait_for() {
  local deadline=$((SECONDS + $3))
  while [ "$SECONDS" -lt "$deadline" ]; do
    grep -q -- "$2" "$1" 2>/dev/null && return 0
    sleep 0.2
  done
  echo "bench-voice: timed out waiting for '$2' in $1"
  return 1
}

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# relayed_packets: Parley's media packets_relayed from GET /api/status (the `bench` user of
# gen_config.py), or nothing if it cannot be read (no curl, no answer in 3 s, "media": null).
relayed_packets() {
  command -v curl >/dev/null || return 0
  curl -s --max-time 3 -u bench:benchstatus "http://127.0.0.1:$HTTP_PORT/api/status" 2>/dev/null |
    sed -n 's/.*"packets_relayed":\([0-9][0-9]*\).*/\1/p'
}
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
sock_drops() { python3 "$HERE/sock_drops.py" "$@"; } # PID [PORT] -> "ALL ON_PORT" receive drops
count() { grep -c -- "$2" "$1" 2>/dev/null || true; }
# caller_totals STAT_CSV -> "SUCCESSFUL FAILED" from the last row of a SIPp -trace_stat file
# ("0 -1" if it cannot be read).
caller_totals() {
  python3 - "$1" <<'EOF'
import csv, sys
try:
    rows = list(csv.reader(open(sys.argv[1]), delimiter=";"))
    head, last = rows[0], rows[-1]
    print(last[head.index("SuccessfulCall(C)")], last[head.index("FailedCall(C)")])
except Exception:
    print("0 -1")
EOF
}

# start_parley DIR AGENTS: config, Parley, the agents' UAS, registrations. Sets P_PID, SIP,
# UAS_PORT, HTTP_PORT, and registers all agents unless NO_REGISTER=1.
start_parley() {
  local dir="$1" agents="$2"
  mkdir -p "$dir"
  SIP="$(free_port)"
  UAS_PORT="$(free_port)"
  local uas_mp
  HTTP_PORT="$(free_port)"
  uas_mp=$((50000 + RANDOM % 2000 * 2))
  python3 "$HERE/gen_config.py" "$dir" "$agents" "$SIP" "$HTTP_PORT" "$UAS_PORT" 20000 49999 || return 1
  (cd "$dir" && exec "$PARLEY" serve parley.yaml --log-level info >parley.log 2>&1) &
  P_PID=$!
  PIDS+=("$P_PID")
  wait_for "$dir/parley.log" "Stop with Ctrl-C" 60 || return 1
  # The agents' phones: answer, echo RTP.
  (cd "$dir" && exec sipp -sf "$HERE/agent_uas.xml" -i 127.0.0.1 -p "$UAS_PORT" \
      -mi 127.0.0.1 -mp "$uas_mp" -rtp_echo -rtp_buffsize 4194304 -nostdin -trace_err -error_file uas_errors.log \
      -trace_logs -log_file uas_events.log -trace_stat -stf uas_stat.csv -fd 1 \
      >uas.out 2>&1) &
  UAS_PID=$!
  PIDS+=("$UAS_PID")
  [ "${NO_REGISTER:-0}" = 1 ] && return 0
  register_agents "$dir" "$agents" 200
}

# register_agents DIR N RATE: one SIPp UAC registers agents from agents.csv, N at RATE/s.
register_agents() {
  local dir="$1" n="$2" rate="$3" rc
  (cd "$dir" && timeout -k 5 $((n / rate + 60)) sipp "127.0.0.1:$SIP" \
      -sf "$HERE/agent_register.xml" -inf agents.csv -i 127.0.0.1 -p "$(free_port)" \
      -m "$n" -r "$rate" -l 200 -nostdin -timeout $((n / rate + 50)) -timeout_error \
      -trace_err -error_file reg_errors.log -trace_logs -log_file reg_events.log \
      >reg.out 2>&1)
  rc=$?
  if [ "$rc" != 0 ]; then
    echo "bench-voice: agent registration failed (sipp exit $rc); see $dir/reg.out"
    return 1
  fi
}

# stop_parley DIR: SIGTERM, wait (bounded), echo the media counters "received sent relayed dropped".
stop_parley() {
  local dir="$1" i
  kill -TERM "$P_PID" 2>/dev/null
  for i in $(seq 1 100); do
    kill -0 "$P_PID" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$P_PID" 2>/dev/null
  wait "$P_PID" 2>/dev/null
  sed -n 's/.*media: \([0-9]*\) RTP packets received, \([0-9]*\) sent, \([0-9]*\) relayed, \([0-9]*\) dropped.*/\1 \2 \3 \4/p' \
    "$dir/parley.log" | tail -1
}

stop_sipp_uas() { # every SIPp we started (the UAS runs until stopped)
  local pid
  for pid in "${PIDS[@]}"; do
    [ "$pid" = "$P_PID" ] && continue
    kill -TERM "$pid" 2>/dev/null
  done
}

# run_callers DIR N RATE TALK_MS LIMIT_S: the caller SIPp; sets C_RC and C_OK/C_FAIL from
# its statistics file.
run_callers() {
  local dir="$1" n="$2" rate="$3" talk="$4" limit="$5"
  sox -n -r 8000 -c 1 -e u-law -t raw "$dir/caller.ulaw" synth 10 sine 350 vol 0.5
  rm -f "$dir/caller_stat.csv"
  (cd "$dir" && timeout -k 5 "$limit" sipp "127.0.0.1:$SIP" -sf "$HERE/caller.xml" -s 100 \
      -i 127.0.0.1 -p "$(free_port)" -mi 127.0.0.1 -mp $((52000 + RANDOM % 2000 * 2)) \
      -m "$n" -r "$rate" -d "$talk" -l $((n + 10)) -nostdin \
      -recv_timeout 15000 \
      -trace_err -error_file caller_errors.log -trace_stat -stf caller_stat.csv -fd 1 \
      >caller.out 2>&1)
  C_RC=$?
  read -r C_OK C_FAIL < <(caller_totals "$dir/caller_stat.csv")
}

# ---------------------------------------------------------------------------------------------
mode_setup_rate() {
  local dir="$WORK/setup-rate" best=0 rate n before after connected sip_drops
  start_parley "$dir" "$AGENTS" || { FAILED=1; return; }
  for rate in $RATES; do
    n=$((rate * STEP_S))
    before=$(count "$dir/parley.log" "connected to agent")
    run_callers "$dir" "$n" "$rate" "$TALK_MS" $((STEP_S + TALK_MS / 1000 + 60))
    after=$(count "$dir/parley.log" "connected to agent")
    connected=$((after - before))
    read -r _ sip_drops < <(sock_drops "$P_PID" "$SIP")
    cp "$dir/caller.out" "$dir/caller-$rate.out"
    SUMMARY+=("$(printf 'setup-rate %4d/s  %5d calls  ok %5s  failed %3s  reached agent %5d  SIP socket drops so far %d' \
      "$rate" "$n" "$C_OK" "$C_FAIL" "$connected" "$sip_drops")")
    if [ "$C_RC" = 0 ] && [ "$C_FAIL" = 0 ] && [ "$C_OK" = "$n" ] && [ "$connected" = "$n" ]; then
      best=$rate
    else
      echo "bench-voice: at $rate calls/s: sipp exit $C_RC, $C_FAIL failed, $connected of $n reached an agent"
      tail -5 "$dir/caller_errors.log" 2>/dev/null
      break
    fi
  done
  stop_parley "$dir" >/dev/null
  stop_sipp_uas
  SUMMARY+=("$(printf 'setup-rate: highest rate with zero failed calls: %d calls/s (talk %d ms, %d agents)' \
    "$best" "$TALK_MS" "$AGENTS")")
  goal "setup rate >= 200 calls/s through IVR, queue and agent" "$([ "$best" -ge 200 ] && echo 1)"
}

goal() { # goal TEXT MET
  if [ -n "$2" ]; then SUMMARY+=("  goal met:    $1"); else SUMMARY+=("  goal MISSED: $1"); MISSED=1; fi
}

mode_concurrent() {
  local dir="$WORK/concurrent" agents=$((CALLS + 10)) ramp_s t0 rss0 rss_peak=0 rss cpu0 cpu1
  local w0 w1 p_drops sip_drops uas_drops hz media connected callers_pid steady_start steady_end
  local relayed0 relayed1
  start_parley "$dir" "$agents" || { FAILED=1; return; }
  hz=$(getconf CLK_TCK)
  ramp_s=$(((CALLS + CPS - 1) / CPS))
  if [ "$HOLD_S" -le $((ramp_s + 6)) ]; then
    echo "bench-voice: HOLD_S ($HOLD_S) must exceed the ramp ($ramp_s s) by more than 6 s"
    FAILED=1
    return
  fi
  rss0=$(rss_kib "$P_PID")
  t0=$SECONDS
  run_callers "$dir" "$CALLS" "$CPS" $((HOLD_S * 1000)) $((ramp_s + HOLD_S + 60)) &
  callers_pid=$!
  PIDS+=("$callers_pid")
  # Steady window: every call is up (ramp + 3 s) until the first hangs up (hold - 2 s).
  steady_start=$((t0 + ramp_s + 3))
  steady_end=$((t0 + HOLD_S - 2))
  while [ "$SECONDS" -lt "$steady_start" ]; do sleep 0.2; done
  # The same order at both ends, so the status request's delay shifts both counts alike.
  cpu0=$(cpu_ticks "$P_PID"); w0=$(date +%s.%N); relayed0=$(relayed_packets)
  connected=$(count "$dir/parley.log" "connected to agent")
  while [ "$SECONDS" -lt "$steady_end" ]; do
    rss=$(rss_kib "$P_PID")
    [ "$rss" -gt "$rss_peak" ] && rss_peak=$rss
    sleep 1
  done
  cpu1=$(cpu_ticks "$P_PID"); w1=$(date +%s.%N); relayed1=$(relayed_packets)
  read -r p_drops sip_drops < <(sock_drops "$P_PID" "$SIP")
  read -r uas_drops _ < <(sock_drops "$UAS_PID")
  wait "$callers_pid"
  # run_callers ran in a subshell: read its figures again from its statistics file.
  read -r C_OK C_FAIL < <(caller_totals "$dir/caller_stat.csv")
  local total_cpu uas_fail
  total_cpu=$(cpu_ticks "$P_PID")
  uas_fail=$(python3 -c 'import csv,sys
rows=list(csv.reader(open(sys.argv[1]),delimiter=";")); print(rows[-1][rows[0].index("FailedCall(C)")])' \
    "$dir/uas_stat.csv" 2>/dev/null || echo "?")
  media=$(stop_parley "$dir")
  stop_sipp_uas
  GOALS="$dir/goals.txt" python3 - "$CALLS" "$C_OK" "$C_FAIL" "$connected" "$cpu0" "$cpu1" "$w0" "$w1" "$hz" \
      "$rss0" "$rss_peak" "$p_drops" "$total_cpu" "$uas_drops" "$sip_drops" \
      "${relayed0:--}" "${relayed1:--}" $media >"$dir/summary.txt" <<'EOF'
import sys
a = sys.argv[1:]
calls, ok, fail, connected = int(a[0]), int(a[1]), int(a[2]), int(a[3])
cpu0, cpu1, w0, w1, hz = int(a[4]), int(a[5]), float(a[6]), float(a[7]), int(a[8])
rss0, rss_peak, drops, total_cpu = int(a[9]), int(a[10]), int(a[11]), int(a[12])
uas_drops, sip_drops = int(a[13]), int(a[14])
relayed0, relayed1 = a[15], a[16]  # packets_relayed from GET /api/status, "-" if unread
media = [int(x) for x in a[17:21]] if len(a) >= 21 else [0, 0, 0, 0]
win = w1 - w0
cpu = (cpu1 - cpu0) / hz
# Expected: in the steady window each connected call relays 50 packets/s each way.
pps = connected * 100.0
expected = pps * win
# Actual: what Parley relayed in the window (the agents' echo socket drops some, so fewer).
actual = None
if relayed0.isdigit() and relayed1.isdigit() and int(relayed1) > int(relayed0):
    actual = int(relayed1) - int(relayed0)
packets = actual if actual is not None else expected
us = 1e6 * cpu / packets if packets else 0
lines = [
    "concurrent: %d calls held, %d ok, %d failed (%.2f%%), %d connected to an agent at the window start"
    % (calls, ok, fail, 100.0 * max(fail, 0) / calls, connected),
    "  steady window %.1f s: Parley CPU %.2f s = %.1f%% of one core; %s"
    % (win, cpu, 100.0 * cpu / win,
       "%.0f packets/s relayed (GET /api/status), %.0f expected (%.1f%% fewer)"
       % (actual / win, pps, 100.0 * (1 - actual / expected) if expected else 0)
       if actual is not None and win else "%.0f relayed packets/s expected" % pps),
    "  Parley CPU per relayed packet (steady window, all CPU counted): %.2f us%s"
    % (us, " over the %d packets relayed" % actual if actual is not None else
       " over the EXPECTED packets: GET /api/status could not be read (%s, %s), so this is"
       " optimistic by the packets the agents' echo socket dropped" % (relayed0, relayed1)),
    "  whole run: Parley CPU %.2f s, media %d received, %d sent, %d relayed, %d dropped: %.2f us per relayed packet, %.2f ms per call"
    % (total_cpu / hz, media[0], media[1], media[2], media[3],
       1e6 * total_cpu / hz / media[2] if media[2] else 0, 1e3 * total_cpu / hz / calls),
    "  RSS %d KiB before calls, %d KiB peak: %.1f KiB per active call"
    % (rss0, rss_peak, (rss_peak - rss0) / connected if connected else 0),
    "  RTP loss (receive-buffer drops up to the window end): Parley's RTP sockets %d (%.3f%% of %d received), agents' echo socket %d (%.3f%%)"
    % (drops - sip_drops, 100.0 * (drops - sip_drops) / (media[0] + drops) if media[0] else 0,
       media[0], uas_drops, 200.0 * uas_drops / media[2] if media[2] else 0),
    "  SIP messages dropped at Parley's SIP socket (receive buffer full): %d" % sip_drops,
]
if actual is not None:  # the figure runs before /api/status gave, for comparison
    lines.insert(3, "  (per expected packet, as before: %.2f us)" % (1e6 * cpu / expected if expected else 0))
print("\n".join(lines))
us = us if packets else 1e9
kib = (rss_peak - rss0) / connected if connected else 1e9
import os
with open(os.environ["GOALS"], "w") as g:
    g.write("1,000 concurrent bridged calls with < 0.1%% failed (this run: %d calls, %d failed)|%s\n"
            % (calls, calls - ok, "1" if calls >= 1000 and (calls - ok) * 1000 < calls else ""))
    g.write("<= 5 us of Parley CPU per relayed RTP packet|%s\n" % ("1" if us <= 5 else ""))
    g.write("< 64 KiB per active call|%s\n" % ("1" if kib < 64 else ""))
EOF
  while IFS= read -r line; do SUMMARY+=("$line"); done <"$dir/summary.txt"
  SUMMARY+=("  agents' SIPp: $uas_fail failed calls")
  while IFS='|' read -r text met; do goal "$text" "$met"; done <"$dir/goals.txt"
}

mode_latency() {
  local dir="$WORK/latency" reg_pid
  NO_REGISTER=1 start_parley "$dir" "$LAT_CALLS" || { FAILED=1; return; }
  # Callers first: with no agent registered they all wait in the queue (music on hold).
  run_callers "$dir" "$LAT_CALLS" 50 $((LAT_CALLS / LAT_REG_RATE * 1000 + 8000)) \
    $((LAT_CALLS / LAT_REG_RATE + 80)) &
  reg_pid=$!
  PIDS+=("$reg_pid")
  local deadline=$((SECONDS + 30))
  while [ "$(count "$dir/parley.log" "answered, flow")" -lt "$LAT_CALLS" ] && [ "$SECONDS" -lt "$deadline" ]; do
    sleep 0.2
  done
  sleep 2 # each caller presses 1 after 300 ms and is then queued
  register_agents "$dir" "$LAT_CALLS" "$LAT_REG_RATE" || { FAILED=1; return; }
  wait "$reg_pid"
  local connected
  connected=$(count "$dir/parley.log" "connected to agent")
  stop_parley "$dir" >/dev/null
  stop_sipp_uas
  sleep 0.5
  python3 - "$dir" >"$dir/summary.txt" <<'EOF'
import re, sys, os, glob
d = sys.argv[1]
def events(pattern, word):
    out = {}
    for path in glob.glob(os.path.join(d, pattern)):
        for line in open(path, errors="replace"):
            m = re.search(r"(\d+\.\d+)\s+%s (\d+)" % word, line)
            if m and m.group(2) not in out:
                out[m.group(2)] = float(m.group(1))
    return out
reg = events("reg_events.log", "registered")
inv = events("uas_events.log", "invite")
d_ms = sorted((inv[a] - reg[a]) * 1000 for a in reg if a in inv)
if not d_ms:
    print("latency: no agent got an INVITE after registering (%d registered)" % len(reg))
else:
    p = lambda q: d_ms[min(len(d_ms) - 1, int(q * len(d_ms)))]
    print("latency: agent available (REGISTER 200) to its INVITE, %d agents: p50 %.2f ms, p99 %.2f ms, max %.2f ms"
          % (len(d_ms), p(0.5), p(0.99), d_ms[-1]))
EOF
  while IFS= read -r line; do SUMMARY+=("$line"); done <"$dir/summary.txt"
  SUMMARY+=("  ($connected of $LAT_CALLS waiting callers connected; registrations at $LAT_REG_RATE/s)")
  local p99
  p99=$(sed -n 's/.*p99 \([0-9.]*\) ms.*/\1/p' "$dir/summary.txt")
  goal "agent available to INVITE p99 < 10 ms" \
    "$([ -n "$p99" ] && [ "$connected" = "$LAT_CALLS" ] && python3 -c "import sys; sys.exit(0 if $p99 < 10 else 1)" && echo 1)"
}

case "$MODE" in
  setup-rate) mode_setup_rate ;;
  concurrent) mode_concurrent ;;
  latency) mode_latency ;;
  all) mode_setup_rate; mode_concurrent; mode_latency ;;
  *) echo "usage: $0 [setup-rate|concurrent|latency|all]"; exit 2 ;;
esac

echo
echo "== bench-voice ($(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ)) =="
for line in "${SUMMARY[@]}"; do echo "$line"; done
[ "$MISSED" = 0 ] || echo "(some goals missed; logs kept in $WORK)"
[ "$FAILED" = 0 ]
