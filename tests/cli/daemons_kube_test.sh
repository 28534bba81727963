#!/usr/bin/env bash
# The operator, relay and UI on a real kube-apiserver (Kubernetes 1.26,
# kube_lib.sh), each authenticated as the ServiceAccount `axon install`
# made, with a bound token (TokenRequest): only the ClusterRoles install
# rendered authorize them, and any 403 fails the test. The operator leads
# through a coordination.k8s.io Lease (one leader of two; a stopped leader
# hands over at once), hands out pod CIDRs (cluster-pool), releases
# identities no pod has, writes no EndpointSlices (Kubernetes' controller
# does), and at steady state only renews its Lease: no list.
source "$(dirname "$0")/lib.sh"
make_tmp
source "$(dirname "$0")/kube_lib.sh"
start_kube
SEED="$SRC/../shared/seed/manifests/cilium-values.yaml"
"$AXON" install -f "$SEED" --set gatewayApi=null --set gatewayAPI.enabled=true --kubeconfig kc.yaml > install.out 2>&1 ||
  { fail "install: $(tail -3 install.out)"; finish; }
for sa in axon-operator hubble-relay hubble-ui axon-agent; do with_token "$sa"; done

# wait_for SECONDS PYTHON_EXPR_ON_J PATH: polls GET PATH (as admin) until the expression holds.
wait_for() {
  local deadline=$((SECONDS + $1))
  while ((SECONDS < deadline)); do
    kube GET "$3" > poll.json
    python3 -c "import json,sys; j=json.load(open('poll.json')); sys.exit(0 if ($2) else 1)" 2>/dev/null && return 0
    sleep 0.3
  done
  return 1
}
LEASE=/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/axon-operator-resource-lock
holder() { kube GET "$LEASE" | python3 -c 'import json,sys; print(json.load(sys.stdin).get("spec",{}).get("holderIdentity",""))'; }

mkdir cfg
printf cluster-pool > cfg/ipam
printf 10.200.0.0/16 > cfg/cluster-pool-ipv4-cidr
printf 24 > cfg/cluster-pool-ipv4-mask-size
printf 2s > cfg/identity-gc-interval
kube POST /api/v1/nodes '{"apiVersion":"v1","kind":"Node","metadata":{"name":"node-a"}}' > /dev/null
# An identity no pod has: the operator releases it after identity-gc-interval.
kube POST /apis/cilium.io/v2/ciliumidentities '{"apiVersion":"cilium.io/v2","kind":"CiliumIdentity","metadata":{"name":"4242"},"security-labels":{"k8s:app":"gone"}}' > /dev/null

# 1. Two operators: one leads.
reset_log
daemon op1 env POD_NAMESPACE=kube-system "$AXON" operator --config-dir cfg --kubeconfig axon-operator.yaml
daemon op2 env POD_NAMESPACE=kube-system "$AXON" operator --config-dir cfg --kubeconfig axon-operator.yaml
if wait_for 20 'j.get("spec",{}).get("holderIdentity","") != ""' "$LEASE"; then
  pass "the Lease axon-operator-resource-lock has a holder"
else fail "no operator took the Lease: $(tail -3 op1.log)"; fi
first=$(holder)
leaders=$(grep -l " leads (Lease" op1.log op2.log | wc -l)
expect_eq "exactly one of two operators leads" "$leaders" 1

# 2. The leader's work on Kubernetes.
if wait_for 20 'j.get("spec",{}).get("ipam",{}).get("podCIDRs") == ["10.200.0.0/24"]' /apis/cilium.io/v2/ciliumnodes/node-a; then
  pass "cluster-pool: node-a's CiliumNode gets 10.200.0.0/24"
else fail "no pod CIDR for node-a: $(cat poll.json | head -c 300)"; fi
if wait_for 20 'j.get("code") == 404' /apis/cilium.io/v2/ciliumidentities/4242; then
  pass "an identity no pod has is released after identity-gc-interval"
else fail "identity 4242 was not released"; fi
kube POST /api/v1/namespaces/default/services '{"apiVersion":"v1","kind":"Service","metadata":{"name":"web"},"spec":{"selector":{"app":"web"},"ports":[{"port":80}]}}' > /dev/null
sleep 2
if log_check 'not any(r["path"].startswith("/apis/discovery.k8s.io/") and r["verb"] in ("create", "update", "patch", "delete") for r in reqs)'; then
  pass "no EndpointSlice written: Kubernetes' endpoint-slice controller owns them"
else fail "the operator wrote EndpointSlices on Kubernetes"; fi

# 3. Steady state: the Lease renewed, nothing listed.
sleep 1
reset_log
sleep 6
if log_check 'len(reqs) > 0 and all(r["path"] == "'$LEASE'" and r["verb"] in ("get", "update") for r in reqs)'; then
  pass "at steady state the operators only read and renew the Lease (no list)"
else fail "steady-state requests other than the Lease"; fi
if log_check 'sum(r["verb"] == "update" for r in reqs) >= 2'; then
  pass "the leader renews every 2 s"
else fail "no renewals"; fi

# 4. The leader stops: it releases the Lease and the other takes over at once.
leader_pid=$PID_op1
grep -q " leads (Lease" op2.log && leader_pid=$PID_op2
kill -TERM "$leader_pid"
wait "$leader_pid" 2>/dev/null
t0=$SECONDS
if wait_for 10 'j.get("spec",{}).get("holderIdentity","") not in ("", "'"$first"'")' "$LEASE"; then
  pass "a stopped leader's Lease is taken over within $((SECONDS - t0)) s (released, not expired)"
else fail "no takeover after the leader stopped (holder: $(holder))"; fi

# 5. The relay: Nodes from the API with its own token.
port=$(free_ports 1)
reset_log
daemon relay "$AXON" relay --kubeconfig hubble-relay.yaml --listen-address "127.0.0.1:$port" --socket "" --metrics-listen-address ""
for _ in $(seq 50); do grep -q "relay serving" relay.log && break; sleep 0.2; done
expect_contains "relay: nodes from the Kubernetes API" "$(cat relay.log)" "relay: nodes from Kubernetes API $API"
sleep 1
if log_check 'any(r["user"] == "system:serviceaccount:kube-system:hubble-relay" and r["path"] == "/api/v1/nodes" and r["verb"] == "list" and r["code"] == 200 for r in reqs)'; then
  pass "relay lists and watches Nodes as hubble-relay"
else fail "relay did not read Nodes"; fi

# 6. Nothing forbidden: every request of every daemon was allowed.
if forbidden_check axon-operator hubble-relay; then pass "no request of any daemon was forbidden (bound tokens, install's ClusterRoles)"
else fail "daemons got 403s"; fi
finish
