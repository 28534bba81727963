#!/usr/bin/env bash
# Flows end to end: a 3-node lab with Hubble's relay, real traffic between
# pods, and `axon observe` reading the relay (the default), one agent
# (--node) and following; drops with their reasons (a Service without
# backends, a policy); the machine's 127.0.0.1:4245; the agents' and the relay's metrics.
source "$(dirname "$0")/lib.sh"
SEED="$SRC/../shared/seed/manifests/cilium-values.yaml"

# Whether the machine's 127.0.0.1:4245 is free for this lab's relay.
port_free=1
if ss -Hltn 'sport = :4245' | grep -q .; then port_free=0; fi
out=$(ax lab up --name "$LAB" --nodes 3 "${LAB_UP[@]}" 2>&1); rc=$?
expect_eq "lab up: exit 0" "$rc" 0
cp "$SEED" "$STATE/values.yaml"
ax values fix -f "$STATE/values.yaml" -w >/dev/null 2>&1
# The seed's values enable Hubble, its relay and the UI (ui_test.sh covers the UI).
out=$(ax install -f "$STATE/values.yaml" --set hubble.ui.enabled=false 2>&1); rc=$?
expect_eq "install with the relay: exit 0" "$rc" 0
out=$(ax status --wait --wait-duration 120s 2>&1); rc=$?
expect_eq "status --wait: agents, operator and relay ready" "$rc" 0
wait_for "the relay serves its socket" 60 test -S "$STATE/$LAB/relay.sock"

out=$(ax apply -f "$SRC/tests/e2e/app.yaml" 2>&1); rc=$?
expect_eq "apply the test workloads" "$rc" 0
for d in echo tcp client; do
  wait_for "deployment $d ready" 90 bash -c "ax get deploy $d -n e2e -o json | python3 -c 'import json,sys; d=json.load(sys.stdin); s=d.get(\"status\",{}); sys.exit(0 if s.get(\"readyReplicas\",0)>=d[\"spec\"][\"replicas\"] else 1)'"
done
# A Service that selects nothing: traffic to it is dropped, with a reason.
cat > "$STATE/nobackend.yaml" <<'EOF'
apiVersion: v1
kind: Service
metadata: {name: nobackend, namespace: e2e}
spec:
  selector: {app: nothing}
  ports: [{name: http, port: 80, targetPort: 8080}]
EOF
ax apply -f "$STATE/nobackend.yaml" >/dev/null
out=$(ax apply -f "$SRC/tests/e2e/deny-tcp.yaml" 2>&1); rc=$?
expect_eq "apply a policy that denies the client" "$rc" 0
tcp_pod=$(ax get pods -n e2e -l app=tcp -o name | head -1 | cut -d/ -f2)
tcp_ip=$(pods_json e2e app=tcp | python3 -c 'import json,sys; print(json.load(sys.stdin)["items"][0]["status"]["podIP"])')
client_pod=$(ax get pods -n e2e -l app=client -o name | head -1 | cut -d/ -f2)
echo_pods=$(pods_json e2e app=echo | python3 -c 'import json,sys; [print(p["metadata"]["name"], p["status"]["podIP"], p["spec"]["nodeName"]) for p in json.load(sys.stdin)["items"]]')
vip=$(ax get svc echo -n e2e -o json | python3 -c 'import json,sys; print(json.load(sys.stdin)["spec"]["clusterIP"])')
dead_vip=$(ax get svc nobackend -n e2e -o json | python3 -c 'import json,sys; print(json.load(sys.stdin)["spec"]["clusterIP"])')
sleep 3  # the agents program the new Service

# --- traffic ---------------------------------------------------------------------
while read -r name ip node; do
  in_pod e2e app=client curl -s -m 5 "http://$ip:8080/direct" >/dev/null
done <<<"$echo_pods"
in_pod e2e app=client bash -c "for i in \$(seq 6); do curl -s -m 3 http://$vip/svc; done" >/dev/null
in_pod e2e app=client curl -s -m 2 "http://$dead_vip/" >/dev/null
in_pod e2e app=client curl -s -m 2 "http://$tcp_ip:9100/" >/dev/null
sleep 2  # events reach the ring within the reader's poll interval

# --- the relay (the default server) ---------------------------------------------
out=$(ax observe --last 500 -o json 2>"$STATE/observe.err"); rc=$?
expect_eq "observe through the relay: exit 0" "$rc" 0
echo "$out" > "$STATE/flows.json"
check_flows() {  # python over the JSON lines in $STATE/flows.json; prints what it found
  python3 - "$STATE/flows.json" "$@" <<'PY'
import json, sys
path, what, *args = sys.argv[1:]
flows = []
for line in open(path):
    line = line.strip()
    if line:
        r = json.loads(line)
        if "flow" in r:
            flows.append(r["flow"])
def pod(ep): return ep.get("namespace", "") + "/" + ep.get("pod_name", "")
if what == "forwarded":  # client -> the named echo pod, forwarded
    client, target = args
    ok = [f for f in flows if f.get("verdict") == "FORWARDED"
          and pod(f.get("source", {})) == "e2e/" + client and pod(f.get("destination", {})) == "e2e/" + target
          and f.get("l4", {}).get("TCP", {}).get("destination_port") == 8080]
    print(len(ok))
elif what == "nodes":
    print(" ".join(sorted({f.get("node_name", "") for f in flows})))
elif what == "dropped":
    client, = args
    ok = [f for f in flows if f.get("verdict") == "DROPPED" and pod(f.get("source", {})) == "e2e/" + client]
    print("\n".join(sorted({f.get("drop_reason_desc", "?") + " " + f.get("destination_service", {}).get("name", "") for f in ok})))
elif what == "denied":  # drops from the client to a pod: their reasons
    client, target = args
    ok = [f for f in flows if f.get("verdict") == "DROPPED" and pod(f.get("source", {})) == "e2e/" + client
          and pod(f.get("destination", {})) == "e2e/" + target
          and f.get("l4", {}).get("TCP", {}).get("destination_port") == 9100]
    print(" ".join(sorted({f.get("drop_reason_desc", "?") + "/" + f.get("traffic_direction", "?") for f in ok})))
elif what == "service":
    ok = [f for f in flows if f.get("destination_service", {}).get("name") == args[0]
          and f.get("verdict") == "FORWARDED" and f.get("destination", {}).get("pod_name", "").startswith("echo-")]
    print(len(ok))
PY
}
while read -r name ip node; do
  n=$(check_flows forwarded "$client_pod" "$name")
  if ((n > 0)); then pass "relay: $client_pod -> $name ($node) FORWARDED, pods named ($n flows)"; else fail "relay: no FORWARDED flow $client_pod -> $name"; fi
done <<<"$echo_pods"
nodes=$(check_flows nodes)
expect_contains "relay merges flows of node1" "$nodes" "node1"
expect_contains "... and node2" "$nodes" "node2"
n=$(check_flows service echo)
if ((n > 0)); then pass "flows through the Service name it and its backend pod ($n)"; else fail "no flow names Service echo"; fi
expect_contains "a drop for the Service without backends, with its reason" "$(check_flows dropped "$client_pod")" "SERVICE_BACKEND_NOT_FOUND nobackend"

expect_eq "a policy drop: client -> tcp pod, POLICY_DENIED at its ingress" "$(check_flows denied "$client_pod" "$tcp_pod")" "POLICY_DENIED/INGRESS"

out=$(ax observe --last 500 --verdict DROPPED --from-pod "e2e/$client_pod" 2>&1); rc=$?
expect_eq "observe --verdict DROPPED: exit 0" "$rc" 0
expect_contains "... compact output names the reason" "$out" "Service backend not found DROPPED"
expect_contains "... and the policy's" "$out" "e2e/$tcp_pod:9100 (ID:"
expect_contains "... as Hubble words it" "$out" "Policy denied DROPPED"
out=$(ax observe --last 500 --not --verdict FORWARDED -o json 2>&1)
if grep -q '"verdict":"FORWARDED"' <<<"$out"; then fail "--not --verdict FORWARDED printed a forwarded flow"; else pass "--not --verdict FORWARDED excludes them"; fi

# --- the machine's loopback, where Hubble clients look ----------------------------
if ((port_free)); then
  out=$("$AXON" observe --server 127.0.0.1:4245 --last 5 -o json 2>&1); rc=$?
  expect_eq "observe --server 127.0.0.1:4245 (the relay, from the machine's namespace): exit 0" "$rc" 0
  expect_contains "... flows" "$out" '"flow":'
else
  echo "note: 127.0.0.1:4245 was taken before the lab came up; not checked"
fi

# --- the Kubernetes lab: the API server is kube-apiserver, not world -------------
if ((${#LAB_UP[@]})); then
  # Cluster DNS watches Services through the `kubernetes` Service (10.96.0.1 -> 10.0.0.2:6443).
  out=$(ax observe --last 2000 --to-identity 7 -o json 2>&1); rc=$?
  expect_eq "observe --to-identity 7: exit 0" "$rc" 0
  expect_contains "... flows to the API server carry reserved:kube-apiserver" "$out" "reserved:kube-apiserver"
  expect_contains "... to its address on the control-plane host" "$out" '"10.0.0.2"'
fi

# --- one agent ------------------------------------------------------------------
out=$(ax observe --node node1 --last 100 -o json 2>&1); rc=$?
expect_eq "observe --node node1: exit 0" "$rc" 0
if [[ -n $out ]] && ! grep -v '"node_name":"node1"' <<<"$out" | grep -q flow; then pass "... only node1's flows"; else fail "--node node1: $(head -c 300 <<<"$out")"; fi
out=$(ax observe --node node9 2>&1); rc=$?
expect_eq "observe --node of no node: exit 1" "$rc" 1
expect_contains "... says which nodes exist" "$out" "node1, node2, node3"
out=$(ax observe --server "unix://$STATE/$LAB/nodes/node1/run/axon/hubble.sock" --last 1 -o json 2>&1); rc=$?
expect_eq "observe --server unix:// of an agent: exit 0" "$rc" 0

# --- follow ------------------------------------------------------------------------
# The binary itself in the background (not through the ax function), so
# $! is its pid and SIGINT reaches it as Ctrl-C would.
"$AXON" --state-dir "$STATE" --lab "$LAB" observe -f --from-pod "e2e/$client_pod" --to-port 8080 \
  -o json > "$STATE/follow.out" 2>&1 &
follower=$!
sleep 2
first_ip=$(awk '{print $2; exit}' <<<"$echo_pods")
in_pod e2e app=client curl -s -m 5 "http://$first_ip:8080/follow" >/dev/null
wait_for "follow mode shows the new flow" 10 grep -q '"destination_port":8080' "$STATE/follow.out"
kill -INT "$follower"
wait "$follower"; rc=$?
expect_eq "Ctrl-C ends follow mode with exit 0" "$rc" 0

# --- metrics -------------------------------------------------------------------------
node1_ns="axon-$LAB-node1"
metrics=$(ip netns exec "$node1_ns" curl -s -m 3 http://127.0.0.1:9965/metrics)
expect_contains "agent metrics: flows processed" "$metrics" 'hubble_flows_processed_total{type="Trace"'
expect_contains "... the ring" "$metrics" "hubble_ring_buffer_capacity 4095"
# The datapath's own counters (Cilium's forward/drop counts), every node's.
all_metrics=""
for n in node1 node2 node3; do
  all_metrics+=$(ip netns exec "axon-$LAB-$n" curl -s -m 3 http://127.0.0.1:9965/metrics)$'\n'
done
expect_contains "datapath metrics: packets passed" "$all_metrics" 'axon_forward_count_total{direction="EGRESS"}'
expect_contains "... the policy drop, with Cilium's reason text" "$all_metrics" 'axon_drop_count_total{reason="Policy denied",direction="INGRESS"}'
# The client reached every echo pod: one on its own node went past that
# node's IP stack (eBPF host routing).
client_node=$(pods_json e2e app=client | python3 -c 'import json,sys; print(json.load(sys.stdin)["items"][0]["spec"]["nodeName"])')
if awk -v n="$client_node" '$3 == n {f=1} END {exit !f}' <<<"$echo_pods"; then
  routed=$(ip netns exec "axon-$LAB-$client_node" curl -s -m 3 http://127.0.0.1:9965/metrics |
    awk '/^axon_datapath_host_routed_packets_total /{print $2}')
  if [[ -n $routed && $routed != 0 ]]; then
    pass "... same-node traffic host-routed ($routed packets on $client_node)"
  else
    fail "no host-routed packets on $client_node (axon_datapath_host_routed_packets_total: '${routed}')"
  fi
fi
# The agents follow the store by watching: one list per kind at start, none
# since, however much changed (pods came and went above).
store_lists() {  # NODE_NS
  ip netns exec "$1" curl -s -m 3 http://127.0.0.1:9965/metrics |
    awk '/^axon_store_requests_total\{verb="list"\}/{print $2}'
}
lists_before=$(store_lists "$node1_ns")
events=$(ip netns exec "$node1_ns" curl -s -m 3 http://127.0.0.1:9965/metrics |
  awk '/^axon_store_watch_events_total /{print $2}')
# Nine kinds; with Gateway API on (the seed's values), five more: its
# GatewayClass, Gateway, HTTPRoute, TCPRoute and ReferenceGrant.
want_lists=9
if ax get gatewayclass cilium >/dev/null 2>&1; then want_lists=16; fi
if [[ $lists_before == "$want_lists" ]]; then pass "agent store requests: $want_lists lists (one per kind it follows)"
else fail "agent store lists: '$lists_before', want $want_lists"; fi
if [[ -n $events && $events != 0 ]]; then pass "... and $events changes from its watches"
else fail "no watch events counted: '$events'"; fi
printf 'apiVersion: v1\nkind: Namespace\nmetadata: {name: e2e-more}\n' | ax apply -f - > /dev/null
sleep 3
events_after=$(ip netns exec "$node1_ns" curl -s -m 3 http://127.0.0.1:9965/metrics |
  awk '/^axon_store_watch_events_total /{print $2}')
if python3 -c "import sys; sys.exit(0 if float('$events_after') > float('$events') else 1)"; then
  pass "... a new Namespace reached the agent as a watch event ($events -> $events_after)"
else fail "the new Namespace did not arrive as an event ($events -> $events_after)"; fi
expect_eq "... and still $lists_before lists after it (no relist)" "$(store_lists "$node1_ns")" "$lists_before"
# The relay's, in its pod (Hubble relay's :9966).
metrics=$(in_pod kube-system app.kubernetes.io/name=hubble-relay curl -s -m 3 http://127.0.0.1:9966/metrics)
expect_contains "relay metrics: GetFlows calls served" "$metrics" 'hubble_relay_get_flows_requests_total{follow="false"}'
expect_contains "... flows forwarded" "$metrics" "hubble_relay_flows_forwarded_total"
expect_contains "... every node's agent connected" "$metrics" 'hubble_relay_pool_peer_connection_status{status="CONNECTED"} 3'
finish
