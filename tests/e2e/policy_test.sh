#!/usr/bin/env bash
# Policy enforcement end to end, the seed post's story on a 3-node lab: its
# scenario (production: frontend, api x2, upstream; elsewhere: outsider),
# its policies refused as pasted, repaired by `axon policy fix`, then the
# verdict of every pair measured with real TCP through the agents' eBPF
# datapath: what the policies allow connects, what they do not is dropped
# (a timeout, not a refused connection), and deleting policies opens it up.
source "$(dirname "$0")/lib.sh"
SEED_POLICIES="$SRC/../shared/seed/manifests"
[[ -f $SEED_POLICIES/policy-default-deny.yaml ]] || SEED_POLICIES="$SRC/tests/policy/testdata/seed"

cluster_up 3 --set hubble.relay.enabled=false --set hubble.ui.enabled=false
out=$(ax apply -f "$SRC/scripts/demo.d/production.yaml" 2>&1); rc=$?
expect_eq "apply the seed's scenario" "$rc" 0
deployments_ready production frontend api upstream
deployments_ready elsewhere outsider

pod_of() { ax get pods -n "$1" -l "$2" -o name | head -1 | cut -d/ -f2; }
FE=$(pod_of production role=frontend)
API=$(pod_of production role=api)
UP=$(pod_of production role=upstream-service)
OUT=$(pod_of elsewhere role=outsider)

# verdict NS POD URL: "allowed" (an HTTP answer), "refused" (RST: reached the
# pod, nothing listens) or "dropped" (no answer: the datapath dropped it).
verdict() {
  local got rc
  got=$(ax lab exec -n "$1" "$2" -- curl -s -m 2 "$3" 2>/dev/null); rc=$?
  case $rc in
    0) [[ $got == pod=* ]] && echo allowed || echo "odd answer: $got" ;;
    7) echo refused ;;
    28) echo dropped ;;
    *) echo "curl exit $rc" ;;
  esac
}
# expect_verdict WHAT NS POD URL WANT (a drop is retried once: no flake on a slow machine
# makes "allowed" look like "dropped").
expect_verdict() {
  local v
  v=$(verdict "$2" "$3" "$4")
  [[ $v != "$5" && $v == dropped ]] && v=$(verdict "$2" "$3" "$4")
  expect_eq "$1" "$v" "$5"
}
API_SVC=http://api-service.production:8080/
UP_SVC=http://upstream.production:8080/

# --- no policy: everything connects -----------------------------------------------
expect_verdict "no policy: frontend -> api" production "$FE" "$API_SVC" allowed
expect_verdict "no policy: outsider -> api" elsewhere "$OUT" "$API_SVC" allowed
expect_verdict "no policy: frontend -> upstream" production "$FE" "$UP_SVC" allowed

# --- the seed's policies as pasted are refused, and nothing is applied -------------
mkdir -p "$STATE/policies"
cp "$SEED_POLICIES"/policy-*.yaml "$STATE/policies/"
out=$(ax apply -f "$STATE/policies" 2>&1); rc=$?
expect_eq "the seed's policies as pasted: exit 2" "$rc" 2
expect_contains "... default-deny's empty lists named" "$out" "spec.ingress: empty list enables no default deny"
expect_contains "... NetworkPolicy words in a CiliumNetworkPolicy named" "$out" '"from" and "podSelector" are Kubernetes NetworkPolicy fields'
expect_contains "... with the command that fixes them" "$out" "run: axon policy fix -f"
expect_eq "... and no policy is in the cluster" "$(ax get cnp -A -o name 2>/dev/null; ax get ccnp -o name 2>/dev/null)" ""
expect_verdict "... so outsider -> api still connects" elsewhere "$OUT" "$API_SVC" allowed

# --- fixed by axon policy fix: enforced as written ----------------------------------
ax policy fix -f "$STATE/policies" -w >/dev/null 2>&1
out=$(ax policy validate -f "$STATE/policies" 2>&1); rc=$?
expect_eq "fixed policies validate" "$rc" 0
expect_contains "... with the warning that frontend's egress is default-deny" "$out" "the sources' egress is default-deny"
out=$(ax apply -f "$STATE/policies" 2>&1); rc=$?
expect_eq "apply the fixed policies" "$rc" 0
wait_for "agents report 4 policies" 30 bash -c "ax status | grep -c '4 policies' | grep -qx 3"
got=$(ax lab exec -n production "$FE" -- dig +short +time=2 +tries=2 api-service.production.svc.cluster.local)
if [[ $got == 10.* ]]; then pass "DNS still resolves (allow-dns)"; else fail "DNS under allow-dns: [$got]"; fi
expect_verdict "seed policies: frontend -> api dropped (its egress is default-deny, as validate warned)" \
  production "$FE" "$API_SVC" dropped
expect_verdict "seed policies: outsider -> api dropped" elsewhere "$OUT" "$API_SVC" dropped
expect_verdict "seed policies: api -> upstream dropped (upstream's ingress is default-deny)" \
  production "$API" "$UP_SVC" dropped

# --- completed (what the seed forgot): exactly the intended paths ---------------------
out=$(ax apply -f "$SRC/scripts/demo.d/complete-the-seed.yaml" 2>&1); rc=$?
expect_eq "apply the missing egress/ingress rules" "$rc" 0
wait_for "frontend -> api allowed" 15 bash -c "ax lab exec -n production $FE -- curl -s -m 1 $API_SVC | grep -q pod=api-"
seen=$(for i in 1 2 3 4 5 6 7 8; do ax lab exec -n production "$FE" -- curl -s -m 2 "$API_SVC"; done | grep -o 'pod=api-[a-z0-9-]*' | sort -u | wc -l)
expect_eq "... through the Service to both api pods" "$seen" 2
expect_verdict "api -> upstream allowed" production "$API" "$UP_SVC" allowed
expect_verdict "frontend -> upstream dropped" production "$FE" "$UP_SVC" dropped
expect_verdict "outsider -> api dropped" elsewhere "$OUT" "$API_SVC" dropped
expect_verdict "upstream -> api dropped" production "$UP" "$API_SVC" dropped
up_vip=$(ax get svc upstream -n production -o json | python3 -c 'import json,sys; print(json.load(sys.stdin)["spec"]["clusterIP"])')
expect_verdict "upstream -> its own Service, itself the backend (hairpin): allowed, a pod cannot block itself" \
  production "$UP" "http://$up_vip:8080/" allowed
api_ip=$(ax get pod "$API" -n production -o json | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"]["podIP"])')
expect_verdict "frontend -> api on a port no rule allows: dropped, not refused" \
  production "$FE" "http://$api_ip:9090/" dropped
expect_verdict "frontend -> api pod directly on 8080: allowed" production "$FE" "http://$api_ip:8080/" allowed
out=$(ax policy trace --src-pod "production/$FE" --dst-pod "production/$API" --dport 8080/TCP 2>&1); rc=$?
expect_contains "policy trace on the cluster agrees: allowed" "$out" "ALLOWED"
api_node=$(ax get pod "$API" -n production -o json | python3 -c 'import json,sys; print(json.load(sys.stdin)["spec"]["nodeName"])')
got=$(ip netns exec "axon-$LAB-$api_node" curl -s -m 2 "http://$api_ip:8080/probe"); 
expect_contains "its own node reaches api under default deny (host identity, as Cilium's allow-localhost)" "$got" "pod=$API"
other_node=node1; [[ $api_node == node1 ]] && other_node=node2
if ip netns exec "axon-$LAB-$other_node" curl -s -m 2 "http://$api_ip:8080/" >/dev/null; then
  fail "another node ($other_node) reached api: remote-node is not allowed by the policies"
else pass "another node ($other_node) does not reach api (remote-node identity, no rule allows it)"; fi
# The agents' view: endpoint list/get (as cilium-dbg endpoint list / bpf policy get).
out=$(ax endpoint get "production/$API" -o json 2>&1)
if python3 -c '
import json,sys
e=json.loads(sys.argv[1])
assert e["ingressEnforced"] and e["egressEnforced"], e
origins=[o for pe in e["policy"] for o in pe["origins"]]
assert any("allow-frontend-to-api spec.ingress[0]" in o for o in origins), origins
assert any(pe["direction"]=="ingress" and "reserved:host" in pe["peerLabels"] for pe in e["policy"])
' "$out"; then pass "endpoint get: api's map names allow-frontend-to-api, and the host entry"
else fail "endpoint get api: $out"; fi
out=$(ax endpoint list -n elsewhere --no-headers 2>&1)
expect_contains "endpoint list: outsider's ingress is not enforced (no policy selects it for ingress)" "$out" "Disabled"
out=$(ax endpoint get 2>&1); rc=$?
expect_eq "endpoint get without a pod: exit 2" "$rc" 2
expect_eq "pods stay Ready under default deny (the kubelet's probes come from the host)" \
  "$(ax get pods -n production | grep -c ' 1/1 ')" 4

# --- a new pod gets its policy before its first packet --------------------------------
ax get deploy frontend -n production -o json | python3 -c 'import json,sys; d=json.load(sys.stdin); d["spec"]["replicas"]=2; print(json.dumps(d))' | ax apply -f - >/dev/null
deployments_ready production frontend
for p in $(ax get pods -n production -l role=frontend -o name | cut -d/ -f2); do
  expect_verdict "frontend pod $p -> api allowed" production "$p" "$API_SVC" allowed
  expect_verdict "frontend pod $p -> upstream dropped" production "$p" "$UP_SVC" dropped
done

# --- an agent restart keeps enforcing (pinned maps), then resyncs ---------------------
agent_pid=$(ax get pods -n kube-system -o json | python3 -c "
import json,sys
for p in json.load(sys.stdin)['items']:
    if p['metadata']['name'].startswith('axon-agent-') and p['spec']['nodeName']=='$api_node':
        print(p['status']['containerStatuses'][0]['containerID'].split('//')[1])")
kill -STOP "$agent_pid"
expect_verdict "agent of $api_node stopped: outsider -> api still dropped" elsewhere "$OUT" "http://$api_ip:8080/" dropped
expect_verdict "agent of $api_node stopped: frontend -> api still allowed" production "$FE" "http://$api_ip:8080/" allowed
kill -CONT "$agent_pid"
kill "$agent_pid"
out=$(ax status --wait --wait-duration 60s 2>&1); rc=$?
expect_eq "the agent comes back" "$rc" 0
expect_verdict "after the restart: outsider -> api dropped" elsewhere "$OUT" "http://$api_ip:8080/" dropped
expect_verdict "after the restart: frontend -> api allowed" production "$FE" "http://$api_ip:8080/" allowed

# --- removing policies opens the paths again -----------------------------------------
ax delete -f "$STATE/policies/policy-default-deny.yaml" >/dev/null 2>&1
ax delete -f "$STATE/policies/policy-allow-dns.yaml" >/dev/null 2>&1
# api is still selected by allow-frontend-to-api's ingress: default deny on its ingress.
expect_verdict "default-deny deleted: outsider -> api still dropped (allow-frontend-to-api selects api)" \
  elsewhere "$OUT" "$API_SVC" dropped
out=$(ax delete -f "$STATE/policies" -f "$SRC/scripts/demo.d/complete-the-seed.yaml" --ignore-not-found 2>&1); rc=$?
expect_eq "delete every policy" "$rc" 0
wait_for "agents report 0 policies" 30 bash -c "ax status | grep -c '0 policies' | grep -qx 3"
expect_verdict "no policy again: outsider -> api allowed" elsewhere "$OUT" "$API_SVC" allowed
expect_verdict "no policy again: frontend -> upstream allowed" production "$FE" "$UP_SVC" allowed

# --- a deny outside default deny is enforced, as policy trace says ---------------------
# egressDeny with enableDefaultDeny {egress: false}: everything else passes,
# what the deny names is dropped (it used to pass while trace said DENIED).
cat > "$STATE/deny-no-default.yaml" <<'YAML'
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: frontend-never-upstream, namespace: production}
spec:
  endpointSelector: {matchLabels: {role: frontend}}
  enableDefaultDeny: {egress: false, ingress: false}
  egressDeny:
    - toEndpoints: [{matchLabels: {role: upstream-service}}]
YAML
out=$(ax apply -f "$STATE/deny-no-default.yaml" 2>&1); rc=$?
expect_eq "apply a deny-only policy without default deny" "$rc" 0
out=$(ax policy trace --src-pod "production/$FE" --dst-pod "production/$UP" --dport 8080/TCP 2>&1)
expect_contains "policy trace: frontend -> upstream DENIED" "$out" "DENIED"
expect_verdict "... and the kernel drops it" production "$FE" "$UP_SVC" dropped
out=$(ax policy trace --src-pod "production/$FE" --dst-pod "production/$API" --dport 8080/TCP 2>&1)
expect_contains "policy trace: frontend -> api ALLOWED (no default deny)" "$out" "ALLOWED"
expect_verdict "... and the kernel lets it through" production "$FE" "$API_SVC" allowed
out=$(ax endpoint get "production/$FE" 2>&1)
expect_contains "endpoint get says the deny is enforced outside default deny" "$out" "everything allowed but its"
ax delete -f "$STATE/deny-no-default.yaml" >/dev/null 2>&1
expect_verdict "deny deleted: frontend -> upstream allowed" production "$FE" "$UP_SVC" allowed
finish
