#!/usr/bin/env bash
# `axon policy` as a user runs it on the seed post's manifests: rejected as
# printed (exit 1, the field and the fix named), repaired by `policy fix -w`,
# then valid with the warning that frontend still cannot reach api, which
# `policy trace` confirms at the source's egress.
source "$(dirname "$0")/lib.sh"
make_tmp
# The copies of ../shared/seed/manifests (the policy unit tests check them).
seed="$SRC/tests/policy/testdata/seed"
cp "$seed"/policy-*.yaml "$TMP/"
cd "$TMP" || exit 1

out=$("$AXON" policy validate -f .); rc=$?
expect_eq "validate on the seed as printed exits 1" "$rc" 1
expect_contains "... names the empty ingress list and its fix" "$out" \
  'error: ./policy-default-deny.yaml:8: document 1 (CiliumNetworkPolicy production/default-deny): spec.ingress: empty list enables no default deny, so this policy blocks nothing; write "ingress: [{}]" to deny all ingress (or set enableDefaultDeny.ingress: true); run: axon policy fix -f ./policy-default-deny.yaml -w'
expect_contains "... names the NetworkPolicy words in allow-frontend-to-api" "$out" \
  'spec.ingress[0]: "from" and "podSelector" are Kubernetes NetworkPolicy fields'
expect_contains "... counts" "$out" "Validation failed: 5 errors, 1 warning (4 policies in 4 files)"

json=$("$AXON" policy validate -f . -o json)
if printf '%s' "$json" | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d["valid"] is False and d["errors"] == 5
errors = [p for p in d["problems"] if p["severity"] == "error"]
paths = sorted(p["path"] for p in errors)
assert paths == ["spec.egress", "spec.egress[0]", "spec.egress[0]", "spec.ingress", "spec.ingress[0]"], paths
assert all(p["fixable"] and p["fixCommand"].startswith("axon policy fix -f ") for p in errors)
# allow-dns as Cilium reads it default-denies the egress of every pod: one warning.
warnings = [p for p in d["problems"] if p["severity"] == "warning"]
assert [w["object"] for w in warnings] == ["CiliumClusterwideNetworkPolicy allow-dns"], warnings
'; then pass "validate -o json lists every problem, each error fixable"; else fail "validate -o json: $json"; fi

fixed=$("$AXON" policy fix -f policy-allow-dns.yaml 2>/dev/null); rc=$?
expect_eq "fix without -w exits 0" "$rc" 0
expect_contains "... and prints the Cilium form with both DNS ports" "$fixed" '    - toEndpoints:
        - matchLabels:
            k8s:io.kubernetes.pod.namespace: kube-system
            k8s-app: kube-dns
      toPorts:
        - ports:
            - port: "53"
              protocol: UDP
            - port: "53"
              protocol: TCP'
expect_eq "... leaving the file as it was" "$(cmp -s policy-allow-dns.yaml "$seed/policy-allow-dns.yaml"; echo $?)" 0

"$AXON" policy fix -f . -w >/dev/null 2>&1; rc=$?
expect_eq "fix -w on the four files exits 0" "$rc" 0

out=$("$AXON" policy validate -f .); rc=$?
expect_eq "validate after fix exits 0" "$rc" 0
expect_contains "... warns that frontend's egress stays shut" "$out" \
  "spec.ingress[0]: allows pods with role=frontend in namespace production to reach pods with role=api in namespace production, but the sources' egress is default-deny"
expect_contains "... and says so" "$out" "All policies are valid: 4 policies in 4 files, 3 warnings"

out=$("$AXON" policy trace -f . -s k8s:role=frontend,k8s:io.kubernetes.pod.namespace=production \
  -d k8s:role=api,k8s:io.kubernetes.pod.namespace=production --dport 8080/TCP); rc=$?
expect_eq "trace exits 0" "$rc" 0
expect_contains "trace denies frontend -> api at the source's egress" "$out" "Denied at the source's egress"
expect_eq "... last line" "$(printf '%s\n' "$out" | tail -1)" "Final verdict: DENIED"

out=$("$AXON" policy trace -f . -s k8s:role=api,k8s:io.kubernetes.pod.namespace=production \
  -d k8s:k8s-app=kube-dns,k8s:io.kubernetes.pod.namespace=kube-system --dport 53/TCP)
expect_eq "DNS over TCP from api is allowed" "$(printf '%s\n' "$out" | tail -1)" "Final verdict: ALLOWED"

err=$("$AXON" policy get --state-dir "$TMP/no-lab" 2>&1 >/dev/null); rc=$?
expect_eq "policy get without a cluster exits 1" "$rc" 1
expect_contains "... and says there is no lab" "$err" "no lab is up in $TMP/no-lab"
finish
