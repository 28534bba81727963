#!/usr/bin/env bash
# Faults on a real kube-apiserver (Kubernetes 1.26, kube_lib.sh), met by
# the operator and the CLI as the issue lists them: a token the server does
# not accept, an API server unreachable at start, the API server restarted
# while the operator watches, and 429 Too Many Requests from API Priority
# and Fairness. Each error names the server and the verb; the daemons retry
# with backoff and carry on once the server is back.
source "$(dirname "$0")/lib.sh"
make_tmp
source "$(dirname "$0")/kube_lib.sh"
start_kube --enable-priority-and-fairness=true  # the script turns APF off; section 4 needs it
SEED="$SRC/../shared/seed/manifests/cilium-values.yaml"
"$AXON" install -f "$SEED" --set gatewayApi=null --set gatewayAPI.enabled=true --kubeconfig kc.yaml > install.out 2>&1 ||
  { fail "install: $(tail -3 install.out)"; finish; }
with_token axon-operator
mkdir cfg
printf cluster-pool > cfg/ipam
printf 10.200.0.0/16 > cfg/cluster-pool-ipv4-cidr
printf 24 > cfg/cluster-pool-ipv4-mask-size
LEASE=/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/axon-operator-resource-lock
# wait_log SECONDS FILE TEXT: until FILE contains TEXT.
wait_log() {
  local deadline=$((SECONDS + $1))
  while ((SECONDS < deadline)); do grep -qF -- "$3" "$2" 2>/dev/null && return 0; sleep 0.2; done
  return 1
}
# wait_cidr SECONDS NODE: until NODE's CiliumNode has a pod CIDR.
wait_cidr() {
  local deadline=$((SECONDS + $1))
  while ((SECONDS < deadline)); do
    kube GET "/apis/cilium.io/v2/ciliumnodes/$2" | grep -q '"podCIDRs"' && return 0
    sleep 0.3
  done
  return 1
}

# 1. A token the server does not accept: 401, naming the server and the verb; retried.
sed "s|token: .*|token: not-a-token|" axon-operator.yaml > bad.yaml
daemon badtoken env POD_NAMESPACE=kube-system "$AXON" operator --config-dir cfg --kubeconfig bad.yaml
if wait_log 15 badtoken.log "401 Unauthorized"; then
  expect_contains "bad token: the error names the verb and the server" "$(grep -m1 '401 Unauthorized' badtoken.log)" "list "
  expect_contains "... and the server" "$(grep -m1 '401 Unauthorized' badtoken.log)" "at $API"
else fail "bad token: no 401 reported: $(tail -3 badtoken.log)"; fi
sleep 3
n=$(python3 -c '
import json
print(sum(1 for l in open("audit.log") for e in [json.loads(l)] if e.get("responseStatus", {}).get("code") == 401 and e.get("userAgent", "").startswith("axon/")))')
if ((n >= 8 && n < 200)); then pass "bad token: retried with backoff ($n refused requests in a few seconds, not a tight loop)"
else fail "bad token: $n refused requests"; fi
kill -TERM "$PID_badtoken"; wait "$PID_badtoken" 2>/dev/null

# 2. The API server unreachable at start: the operator says where it cannot
# reach, keeps trying, and leads once the server answers.
port=$(free_ports 1)
sed "s|server: .*|server: https://127.0.0.1:$port|" axon-operator.yaml > late.yaml
daemon late env POD_NAMESPACE=kube-system "$AXON" operator --config-dir cfg --kubeconfig late.yaml
if wait_log 15 late.log "cannot reach the API server at https://127.0.0.1:$port"; then
  pass "unreachable at start: the error names the server"
else fail "unreachable at start: no error naming the server: $(tail -3 late.log)"; fi
daemon fwd python3 "$SRC/tests/support/netns_forward.py" - "$port" "127.0.0.1:${API##*:}"
if wait_log 30 late.log " leads (Lease"; then pass "... and leads once the server answers"
else fail "the operator did not recover: $(tail -3 late.log)"; fi
expect_contains "... logging the recovery" "$(cat late.log)" "recovered"

# 3. The API server restarts while the operator watches: it carries on (a
# Node created after the restart gets its pod CIDR).
kube POST /api/v1/nodes '{"apiVersion":"v1","kind":"Node","metadata":{"name":"before"}}' > /dev/null
wait_cidr 20 before && pass "before the restart: node 'before' has a pod CIDR" || fail "no pod CIDR before the restart"
api_pid=$(sed -n 2p "$KUBE_RUN/pids")
mapfile -d '' api_cmd < "/proc/$api_pid/cmdline"
kill -TERM "$api_pid"
for _ in $(seq 100); do kill -0 "$api_pid" 2>/dev/null || break; sleep 0.1; done
"${api_cmd[@]}" < /dev/null > apiserver2.log 2>&1 &
new_pid=$!
sed -i "2s/.*/$new_pid/" "$KUBE_RUN/pids"  # stop-kube stops this one
up=0
for _ in $(seq 150); do
  [[ $(kube GET /readyz 2>/dev/null) == ok ]] && { up=1; break; }
  sleep 0.2
done
((up)) && pass "the API server restarted (pid $new_pid)" || fail "the API server did not come back: $(tail -3 apiserver2.log)"
kube POST /api/v1/nodes '{"apiVersion":"v1","kind":"Node","metadata":{"name":"after"}}' > /dev/null
if wait_cidr 40 after; then pass "after the restart the operator carries on: node 'after' gets a pod CIDR"
else fail "the operator did not resume after the restart: $(tail -5 late.log)"; fi
holder=$(kube GET "$LEASE" | python3 -c 'import json,sys; print(json.load(sys.stdin)["spec"].get("holderIdentity",""))')
[[ -n $holder ]] && pass "the Lease is held after the restart" || fail "no Lease holder after the restart"

# 4. 429 from API Priority and Fairness: a user whose priority level rejects
# what exceeds its share. axon's requests as that user all succeed, retried
# after Retry-After; the server did answer some with 429.
kube POST /apis/flowcontrol.apiserver.k8s.io/v1beta3/prioritylevelconfigurations '{"apiVersion":"flowcontrol.apiserver.k8s.io/v1beta3","kind":"PriorityLevelConfiguration","metadata":{"name":"axon-test-tiny"},"spec":{"type":"Limited","limited":{"nominalConcurrencyShares":1,"lendablePercent":0,"borrowingLimitPercent":0,"limitResponse":{"type":"Reject"}}}}' > /dev/null
kube POST /apis/flowcontrol.apiserver.k8s.io/v1beta3/flowschemas '{"apiVersion":"flowcontrol.apiserver.k8s.io/v1beta3","kind":"FlowSchema","metadata":{"name":"axon-test-tiny"},"spec":{"priorityLevelConfiguration":{"name":"axon-test-tiny"},"matchingPrecedence":100,"distinguisherMethod":{"type":"ByUser"},"rules":[{"subjects":[{"kind":"User","user":{"name":"throttled"}}],"resourceRules":[{"verbs":["*"],"apiGroups":["*"],"resources":["*"],"clusterScope":true,"namespaces":["*"]}],"nonResourceRules":[{"verbs":["*"],"nonResourceURLs":["*"]}]}]}}' > /dev/null
# (Not the "view" role: it is aggregated by kube-controller-manager, which does not run here.)
kube POST /apis/rbac.authorization.k8s.io/v1/clusterroles '{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"ClusterRole","metadata":{"name":"throttled-read"},"rules":[{"apiGroups":[""],"resources":["configmaps"],"verbs":["get","list"]}]}' > /dev/null
kube POST /apis/rbac.authorization.k8s.io/v1/clusterrolebindings '{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"ClusterRoleBinding","metadata":{"name":"throttled-read"},"roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"throttled-read"},"subjects":[{"kind":"User","name":"throttled"}]}' > /dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=throttled" -keyout throttled.key -out throttled.csr 2>/dev/null
openssl x509 -req -in throttled.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 -out throttled.crt 2>/dev/null
sed -e "s|client-certificate-data: .*|client-certificate-data: $(base64 -w0 < throttled.crt)|" \
    -e "s|client-key-data: .*|client-key-data: $(base64 -w0 < throttled.key)|" kc.yaml > throttled.yaml
# Lists slow enough to overlap: 40 ConfigMaps of 200 KB.
kube POST /api/v1/namespaces '{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"big"}}' > /dev/null
for i in $(seq 40); do
  python3 -c 'import base64,json,sys; print(json.dumps({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c"+sys.argv[1]},"data":{"blob":base64.b64encode(bytes(150000)).decode()}}))' "$i" > cm.json
  kube POST /api/v1/namespaces/big/configmaps @cm.json > /dev/null
done
throttled=0
for round in 1 2 3; do
  pids=()
  for i in $(seq 16); do
    "$AXON" get configmaps -n big --kubeconfig throttled.yaml -o name > "get$i.out" 2> "get$i.err" &
    pids+=($!)
  done
  ok=0
  for p in "${pids[@]}"; do wait "$p" && ok=$((ok + 1)); done
  expect_eq "429 round $round: every one of 16 concurrent lists succeeds" "$ok" 16
  ((ok == 16)) || head -3 get*.err >&2
  throttled=$(grep -l "429 Too Many Requests" get*.err | wc -l)
  ((throttled > 0)) && break
done
if ((throttled > 0)); then
  pass "the server answered $throttled of them 429 first; they waited and retried"
  expect_contains "... saying so, with the server" "$(cat get*.err)" "429 Too Many Requests from $API; retrying in"
  expect_eq "... and every list is whole" "$(grep -c configmap/ get1.out)" 40
else fail "no 429 came back: the priority level did not throttle"; fi
finish
