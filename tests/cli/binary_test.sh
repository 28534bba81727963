#!/usr/bin/env bash
# The installed binary's contract as a script sees it: exit codes, streams.
source "$(dirname "$0")/lib.sh"

out=$("$AXON" --help); rc=$?
expect_eq "axon --help exits 0" "$rc" 0
for cmd in install status connectivity policy observe; do
  expect_contains "axon --help lists $cmd" "$out" "  $cmd "
done

err=$("$AXON" observe --verdict MAYBE 2>&1 >/dev/null); rc=$?
expect_eq "observe --verdict MAYBE exits 2" "$rc" 2
expect_eq "... with one line on stderr" "$(printf '%s\n' "$err" | wc -l)" 1
expect_contains "... naming the valid choices" "$err" "FORWARDED, DROPPED, AUDIT, REDIRECTED, ERROR, TRACED, TRANSLATED"

err=$("$AXON" nosuch 2>&1 >/dev/null); rc=$?
expect_eq "axon nosuch exits 2" "$rc" 2
expect_eq "... with one line on stderr" "$(printf '%s\n' "$err" | wc -l)" 1
for cmd in connectivity install observe policy status; do
  expect_contains "... listing $cmd among the valid commands" "$err" " $cmd,"
done

stdout=$("$AXON" observe 2>/dev/null); rc=$?
expect_eq "observe (not built yet) exits 1" "$rc" 1
expect_eq "... and prints nothing on stdout" "$stdout" ""

json=$("$AXON" version -o json); rc=$?
expect_eq "version -o json exits 0" "$rc" 0
if printf '%s' "$json" | python3 -c 'import json,sys; d=json.load(sys.stdin); assert all(d[k] for k in ("version","gitCommit","compiler","libbpf","kernel"))'; then
  pass "version -o json is JSON with every field"
else
  fail "version -o json: $json"
fi
expect_contains "version shows the running kernel" "$("$AXON" version)" "$(uname -r)"

# apply -f - reads standard input; an invalid object is refused before any
# cluster is looked for (exit 2, the line and field on stderr).
make_tmp
err=$(printf 'apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  ports:\n    - port: 0\n' |
  "$AXON" --state-dir "$TMP" apply -f - 2>&1 >/dev/null); rc=$?
expect_eq "apply -f - of an invalid Service exits 2" "$rc" 2
expect_contains "... naming the line and field" "$err" "-:7: document 1 (Service web): spec.ports[0].port: 0 is out of range"
err=$(printf 'apiVersion: v1\nkind: Namespace\nmetadata: {name: x}\n' |
  "$AXON" --state-dir "$TMP" apply -f - 2>&1 >/dev/null); rc=$?
expect_eq "apply -f - of a valid object without a lab exits 1" "$rc" 1
expect_contains "... saying how to get one" "$err" "axon lab up"

# `axon ... | head` must not die of SIGPIPE noise.
"$AXON" completion bash | head -1 >/dev/null
expect_eq "completion piped into head exits cleanly" "${PIPESTATUS[0]}" 0
finish
