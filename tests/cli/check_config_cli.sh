#!/usr/bin/env bash
# End-to-end check of `parley check-config`: the shipped demo is ok (exit 0, "FILE: ok"), and a
# broken copy exits 2 with errors naming file, line and key on stderr.
# Usage: check_config_cli.sh PATH_TO_PARLEY (run from the project root).
set -euo pipefail
parley="$1"
fail() { echo "FAIL: $*" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The demo is valid and warning-free.
out=$("$parley" check-config examples/demo.yaml 2>"$tmp/err") || fail "demo: exit $? ($(cat "$tmp/err"))"
[ "$out" = "examples/demo.yaml: ok" ] || fail "demo: stdout '$out'"
[ ! -s "$tmp/err" ] || fail "demo: unexpected stderr: $(cat "$tmp/err")"

# A broken copy: a misspelt strategy and a misspelt key, found in one run.
broken="$tmp/broken.yaml"
sed -e 's/strategy: ring-all/strategy: fastest/' -e 's/available_on_register: true/available_on_registr: true/' \
  examples/demo.yaml >"$broken"
strategy_line=$(grep -n 'strategy: fastest' "$broken" | cut -d: -f1)
key_line=$(grep -n 'available_on_registr:' "$broken" | head -1 | cut -d: -f1)
status=0
out=$("$parley" check-config "$broken" 2>"$tmp/err") || status=$?
[ "$status" -eq 2 ] || fail "broken: exit $status (want 2)"
[ -z "$out" ] || fail "broken: stdout not empty: $out"
grep -qF "$broken:$strategy_line: queues[1].strategy: unknown strategy \"fastest\"" "$tmp/err" ||
  fail "broken: no strategy error at line $strategy_line: $(cat "$tmp/err")"
grep -qF "$broken:$key_line: agents[0].available_on_registr: unknown key; did you mean \"available_on_register\"?" "$tmp/err" ||
  fail "broken: no unknown-key error at line $key_line: $(cat "$tmp/err")"

# Unreadable file and invalid YAML: exit 2 with a message.
status=0
"$parley" check-config "$tmp/missing.yaml" 2>"$tmp/err" >/dev/null || status=$?
[ "$status" -eq 2 ] || fail "missing file: exit $status"
grep -q "cannot read" "$tmp/err" || fail "missing file: $(cat "$tmp/err")"
printf 'queues: [\n' >"$tmp/bad.yaml"
status=0
"$parley" check-config "$tmp/bad.yaml" 2>"$tmp/err" >/dev/null || status=$?
[ "$status" -eq 2 ] || fail "invalid YAML: exit $status"
grep -q "^$tmp/bad.yaml:[0-9]*: invalid YAML" "$tmp/err" || fail "invalid YAML: $(cat "$tmp/err")"
echo "check-config CLI: all checks passed"
