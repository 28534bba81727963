#!/usr/bin/env bash
# axon connectivity test on a 3-node lab: the whole suite passes on a healthy
# cluster (with a valid JUnit report); a cluster that drops what it should
# not fails it, naming the failed test and action, exit 1; the test policies
# never stay behind; --test selects; --cleanup removes the workloads.
source "$(dirname "$0")/lib.sh"
# The seed's values with Hubble's relay (the UI has its own test, ui_test.sh).
cluster_up 3 --set hubble.ui.enabled=false

out=$(ax connectivity test --junit-file "$STATE/junit.xml" --keep --flow-validation strict --debug 2>&1); rc=$?
expect_eq "the whole suite on a healthy cluster, drops confirmed in the flow log (strict): exit 0" "$rc" 0
expect_contains "... every test successful" "$out" "✅ [axon-test] All 14 tests"
expect_contains "echo-ingress-l7: the proxy's 403 for a request the http rules do not allow, its L7 flow DROPPED" "$out" \
  "HTTP 403; flow: DROPPED POST http://"
expect_contains "client-egress-l7: client2's own node proxy answers 403 for /private" "$out" \
  "HTTP 403; flow: DROPPED GET http://"
expect_contains "client-egress-l7-method: POST allowed through the proxy, its L7 flow FORWARDED" "$out" \
  "HTTP 200; flow: FORWARDED POST http://"
expect_contains "to-fqdns: the LAN host by name, allowed once the DNS proxy saw its answer" "$out" \
  "world world.axon-test.svc.cluster.local:8080"
expect_contains "... a policy drop seen in the flow log with its reason" "$out" "flow: DROPPED (POLICY_DENIED)"
expect_contains "... the Service without backends too" "$out" "flow: DROPPED (SERVICE_BACKEND_NOT_FOUND)"
expect_contains "pod-to-ingress-service: through a Gateway's ClusterIP to echo-other-node" "$out" \
  "/cilium-gateway-echo ("
expect_contains "dns: a large answer is truncated over UDP and comes whole over TCP" "$out" \
  "✅ truncated over UDP, all 100 records over TCP"
expect_contains "dns-udp-only: the large answer fails, its TCP retry dropped by policy" "$out" \
  "the TCP retry got no answer, as expected; flow: DROPPED (POLICY_DENIED)"
if python3 - "$STATE/junit.xml" <<'PY'
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
suites = root.findall("testsuite")
assert len(suites) == 1, suites
cases = suites[0].findall("testcase")
assert [c.get("name") for c in cases][:2] == ["no-policies", "dns"], cases
assert not list(root.iter("failure"))
PY
then pass "JUnit report: one testsuite, one testcase per test, no failure"; else fail "JUnit report"; fi
expect_eq "no test policy left behind" "$(ax get cnp -n axon-test -o name 2>/dev/null)" ""

# A cluster that drops pod traffic: the suite must say so.
printf 'apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: break-echo, namespace: axon-test}\nspec:\n  endpointSelector: {matchLabels: {app: echo-other-node}}\n  ingress: [{}]\n' > "$STATE/break.yaml"
ax apply -f "$STATE/break.yaml" >/dev/null
# --pause-on-fail waits for Enter after each failure (here: given on stdin); -t stamps lines.
out=$(printf '\n%.0s' {1..20} | ax connectivity test --test no-policies --junit-file "$STATE/junit2.xml" --keep \
  --pause-on-fail -t 2>&1); rc=$?
expect_eq "echo-other-node cut off: exit 1" "$rc" 1
expect_contains "... the failed test named" "$out" "Test [no-policies]:"
expect_contains "... with the action that failed" "$out" "-> axon-test/echo-other-node"
expect_contains "... others skipped as asked" "$out" "Skipping test [dns]"
expect_contains "... paused after the failure" "$out" "Paused after a failure: press Enter"
if grep -qE '^\[[0-9]{2}:[0-9]{2}:[0-9]{2}\] \[=\] \[axon-test\] Test \[no-policies\]' <<<"$out"; then
  pass "... lines stamped with the time (-t)"; else fail "-t: no timestamps in: $out"; fi
if grep -q '<failure message="no-policies:curl' "$STATE/junit2.xml"; then pass "JUnit names the failure"; else fail "JUnit failure: $(cat "$STATE/junit2.xml")"; fi
ax delete -f "$STATE/break.yaml" >/dev/null

out=$(ax connectivity test --test '!no-policies' --test '!^dns$' -o json 2>/dev/null); rc=$?
expect_eq "--test '!RE' excludes; -o json: exit 0" "$rc" 0
if python3 -c 'import json,sys; d=json.loads(sys.argv[1]); assert d["skipped"]==2 and d["failed"]==0 and d["tests"]==12, d' "$out"; then
  pass "... 12 run, 2 skipped, none failed"; else fail "json summary: $out"; fi

out=$(ax connectivity test --test '(' 2>&1); rc=$?
expect_eq "a bad --test regex: exit 2" "$rc" 2
out=$(ax connectivity test --cleanup 2>&1); rc=$?
expect_eq "--cleanup: exit 0" "$rc" 0
expect_eq "... the test namespace is gone" "$(ax get deploy -n axon-test -o name 2>/dev/null)" ""
finish
