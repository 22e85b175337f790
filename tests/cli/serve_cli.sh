#!/usr/bin/env bash
# End-to-end check of `parley serve`: a copy of the demo config on free loopback ports starts,
# prints where SIP listens, SIPp registers agent 1001 with digest auth and the log shows the
# agent becoming available, SIPp unregisters it and the agent is logged out, a second server on
# the same port exits 1, and SIGTERM stops the server with exit 0. A broken config exits 2 with
# check-config's messages. Skips (exit 77) without sipp (Debian sip-tester).
# Usage: serve_cli.sh PATH_TO_PARLEY (run from the project root).
set -euo pipefail
parley="$1"
fail() { echo "FAIL: $*" >&2; [ -f "${log:-}" ] && { echo "--- parley log:" >&2; cat "$log" >&2; }; exit 1; }
tmp=$(mktemp -d)
pid=""
cleanup() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT

# A config error: exit 2, the same message as check-config, nothing started.
sed -e 's/strategy: ring-all/strategy: fastest/' examples/demo.yaml >"$tmp/broken.yaml"
status=0
timeout 10 "$parley" serve "$tmp/broken.yaml" >/dev/null 2>"$tmp/err" || status=$?
[ "$status" -eq 2 ] || fail "broken config: exit $status (want 2)"
grep -q "^$tmp/broken.yaml:[0-9]*: queues\[1\].strategy: unknown strategy" "$tmp/err" ||
  fail "broken config: $(cat "$tmp/err")"

if ! command -v sipp >/dev/null; then
  echo "SKIP: sipp not installed (Debian package sip-tester)"
  exit 77
fi

# The demo on port 0 (the OS picks free ports; the banner says which).
config="$tmp/demo.yaml"
# Its store, recordings and TTS cache are relative paths: they land in $tmp, where it runs.
sed -e 's/udp: 127.0.0.1:5060/udp: 127.0.0.1:0/' -e 's/tcp: 127.0.0.1:5060/tcp: 127.0.0.1:0/' \
  -e 's/listen: 127.0.0.1:8080/listen: 127.0.0.1:0/' \
  examples/demo.yaml >"$config"
grep -q 'udp: 127.0.0.1:0' "$config" || fail "could not rewrite the listen address"
log="$tmp/parley.log"
(cd "$tmp" && exec timeout -k 5 60 "$parley" serve "$config") >"$log" 2>&1 &
pid=$!

# Wait (bounded: 10 s) for a log line matching $1.
wait_for() {
  for _ in $(seq 100); do
    grep -qE "$1" "$log" && return 0
    kill -0 "$pid" 2>/dev/null || fail "parley exited while waiting for '$1'"
    sleep 0.1
  done
  fail "no log line '$1' within 10 s"
}
wait_for '^  SIP: udp 127\.0\.0\.1:[0-9]+'
port=$(grep -oE '^  SIP: udp 127\.0\.0\.1:[0-9]+' "$log" | head -1 | sed 's/.*://')
[ "$port" -gt 0 ] || fail "bad port '$port'"
grep -q "Register a softphone as user / password: 1001 / demo1001" "$log" || fail "no softphone hint"

# SIPp registers 1001 with digest auth, then unregisters it (the scenarios of src/sip's own
# tests). Both runs use one local port, so the unregistration names the registered contact.
sipp_port=$(python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
run_sipp() {
  (cd "$tmp" && timeout -k 5 30 sipp "127.0.0.1:$port" -sf "$OLDPWD/src/sip/testdata/$1" \
    -m 1 -t u1 -i 127.0.0.1 -p "$sipp_port" -s 1001 -au 1001 -ap demo1001 -timeout 15 \
    -timeout_error -recv_timeout 5000 -nostdin >"$tmp/sipp.log" 2>&1) ||
    fail "sipp $1 failed: $(tail -20 "$tmp/sipp.log")"
}
run_sipp register_digest.xml
wait_for 'agent 1001: logged-out -> available'
run_sipp unregister_digest.xml
wait_for 'agent 1001: available -> logged-out'

# A second server on the same UDP port cannot start: exit 1, naming the address.
sed -e "s/udp: 127.0.0.1:0/udp: 127.0.0.1:$port/" "$config" >"$tmp/taken.yaml"
status=0
(cd "$tmp" && timeout -k 5 10 "$parley" serve "$tmp/taken.yaml") >/dev/null 2>"$tmp/err" || status=$?
[ "$status" -eq 1 ] || fail "port taken: exit $status (want 1)"
grep -q "SIP server did not start: udp listen on 127.0.0.1:$port" "$tmp/err" || fail "port taken: $(cat "$tmp/err")"

# SIGTERM: clean stop, exit 0.
kill -TERM "$pid"
status=0
wait "$pid" || status=$?
pid=""
[ "$status" -eq 0 ] || fail "exit $status after SIGTERM (want 0)"
grep -q "stopped" "$log" || fail "no 'stopped' line"
echo "ok: on udp port $port 1001 registered (available), unregistered (logged out); clean stop"
