#!/usr/bin/env bash
# The embedded cluster end to end: a 3-node lab, axon installed from the
# seed's values, real traffic between pods on different nodes, Services,
# cluster DNS, an agent restart under a live connection, status --wait, and
# a lab down that leaves nothing behind.
source "$(dirname "$0")/lib.sh"
SEED="$SRC/../shared/seed/manifests/cilium-values.yaml"

# --- a bare cluster, like Talos with cni: none ---------------------------------
out=$(ax lab up --name "$LAB" --nodes 3 "${LAB_UP[@]}" 2>&1); rc=$?
expect_eq "lab up: exit 0" "$rc" 0
expect_contains "lab up names the nodes" "$out" "node3 10.0.0.13"
out=$(ax lab up --name "$LAB" --nodes 3 "${LAB_UP[@]}" 2>&1); rc=$?
expect_eq "a second lab up is harmless" "$rc" 0
expect_contains "... and says so" "$out" "already up; nothing changed"
expect_contains "nodes are NotReady without a CNI" "$(ax get nodes)" "NotReady"
expect_contains "cluster DNS waits for a network" "$(ax get pods -n kube-system)" "Pending"

# --- install the seed's values, fixed as install's own error says ---------------
cp "$SEED" "$STATE/values.yaml"
out=$(ax install -f "$STATE/values.yaml" 2>&1); rc=$?
expect_eq "the seed's values as pasted are refused (exit 2)" "$rc" 2
expect_contains "... naming gatewayAPI" "$out" '"gatewayAPI"'
ax values fix -f "$STATE/values.yaml" -w >/dev/null 2>&1
# Relay and UI have tests of their own (flows_test.sh, ui_test.sh): this
# lab runs without them.
out=$(ax install -f "$STATE/values.yaml" --set hubble.relay.enabled=false --set hubble.ui.enabled=false \
  --set operator.endpointGCInterval=2s 2>&1); rc=$?
expect_eq "install: exit 0" "$rc" 0
out=$(ax status --wait --wait-duration 120s 2>&1); rc=$?
expect_eq "status --wait: every component ready" "$rc" 0
expect_contains "... three agents" "$out" "Desired: 3, Ready: 3/3"
wait_for "nodes Ready" 60 bash -c "! ax get nodes | grep -q NotReady"
wait_for "cluster DNS ready" 90 bash -c "ax get deploy coredns -n kube-system | grep -q ' 2/2 '"

# --- workloads ------------------------------------------------------------------
out=$(ax apply -f "$SRC/tests/e2e/app.yaml" 2>&1); rc=$?
expect_eq "apply the test workloads" "$rc" 0
for d in echo udp tcp client; do
  wait_for "deployment $d ready" 90 bash -c "ax get deploy $d -n e2e -o json | python3 -c 'import json,sys; d=json.load(sys.stdin); s=d.get(\"status\",{}); sys.exit(0 if s.get(\"readyReplicas\",0)>=d[\"spec\"][\"replicas\"] else 1)'"
done

echo_pods=$(pods_json e2e app=echo | python3 -c 'import json,sys; [print(p["metadata"]["name"], p["status"]["podIP"], p["spec"]["nodeName"]) for p in json.load(sys.stdin)["items"]]')
nodes_with_echo=$(awk '{print $3}' <<<"$echo_pods" | sort -u | wc -l)
if ((nodes_with_echo >= 2)); then pass "echo pods spread over $nodes_with_echo nodes"; else fail "echo pods all on one node"; fi

# Pod to pod, same node and other nodes, TCP.
while read -r name ip node; do
  got=$(in_pod e2e app=client curl -s -m 5 "http://$ip:8080/direct")
  expect_contains "client (node1) -> $name on $node over TCP" "$got" "pod=$name"
done <<<"$echo_pods"

# A Service VIP reaches every backend, on every node; replies come from the VIP.
vip=$(ax get svc echo -n e2e -o json | python3 -c 'import json,sys; print(json.load(sys.stdin)["spec"]["clusterIP"])')
seen=$(in_pod e2e app=client bash -c "for i in \$(seq 30); do curl -s -m 3 http://$vip/svc; done" | grep -o 'pod=[a-z0-9-]*' | sort -u)
while read -r name ip node; do
  expect_contains "service $vip reached backend $name on $node" "$seen" "pod=$name"
done <<<"$echo_pods"

# UDP through a Service, ICMP to a pod on another node.
udp_vip=$(ax get svc udp -n e2e -o json | python3 -c 'import json,sys; print(json.load(sys.stdin)["spec"]["clusterIP"])')
got=$(in_pod e2e app=client bash -c "exec 3<>/dev/udp/$udp_vip/9000; printf hello >&3; timeout 3 dd bs=512 count=1 status=none <&3")
expect_contains "UDP through the service" "$got" "echo=hello"
remote_ip=$(awk '$3 != "node1" {print $2; exit}' <<<"$echo_pods")
if in_pod e2e app=client ping -c 2 -W 2 "$remote_ip" >/dev/null; then pass "ICMP to a pod on another node"; else fail "ICMP to $remote_ip"; fi

# Cluster DNS over UDP and TCP.
got=$(in_pod e2e app=client dig +short +tries=2 +time=2 echo.e2e.svc.cluster.local)
expect_eq "DNS over UDP" "$got" "$vip"
got=$(in_pod e2e app=client dig +short +tcp +tries=2 +time=2 echo.e2e.svc.cluster.local)
expect_eq "DNS over TCP" "$got" "$vip"
got=$(in_pod e2e app=client curl -s -m 5 http://echo/by-name)
expect_contains "HTTP by short service name" "$got" "pod=echo-"

# --- the agent's API sockets: root's (and group axon's), mode 0660, as Cilium's --------
agent3=$(ax get pods -n kube-system -o json | python3 -c "
import json,sys
for p in json.load(sys.stdin)['items']:
    if p['metadata']['name'].startswith('axon-agent-') and p['spec']['nodeName']=='node3':
        print(p['status']['containerStatuses'][0]['containerID'].split('//')[1])")
for sock in agent.sock hubble.sock; do
  expect_eq "node3's $sock: root's, mode 0660" "$(stat -c '%a %u' "/proc/$agent3/root/run/axon/$sock" 2>&1)" "660 0"
done

# --- an agent restart keeps a live connection --------------------------------------
tcp_ip=$(pods_json e2e app=tcp | python3 -c 'import json,sys; print(json.load(sys.stdin)["items"][0]["status"]["podIP"])')
in_pod e2e app=client bash -c "exec 3<>/dev/tcp/$tcp_ip/9100; echo before >&3; read -r l <&3; echo \$l; sleep 8; echo after >&3; read -t 5 -r l <&3; echo \$l" > "$STATE/conn.out" 2>&1 &
conn=$!
sleep 2
for node in node1 node2; do
  agent_pid=$(ax get pods -n kube-system -o json | python3 -c "
import json,sys
for p in json.load(sys.stdin)['items']:
    if p['metadata']['name'].startswith('axon-agent-') and p['spec']['nodeName']=='$node':
        print(p['status']['containerStatuses'][0]['containerID'].split('//')[1])")
  kill "$agent_pid" && pass "agent on $node killed (pid $agent_pid)"
done
wait $conn
expect_contains "the connection carried traffic before the restart" "$(cat "$STATE/conn.out")" "echo=before"
expect_contains "... and after it" "$(cat "$STATE/conn.out")" "echo=after"
out=$(ax status --wait --wait-duration 60s 2>&1); rc=$?
expect_eq "agents come back" "$rc" 0
got=$(in_pod e2e app=client curl -s -m 5 "http://$vip/after-restart")
expect_contains "services work after the restart" "$got" "pod=echo-"

# --- status --wait names a stuck agent ----------------------------------------------
stuck=$(ax get pods -n kube-system -o json | python3 -c "
import json,sys
for p in json.load(sys.stdin)['items']:
    if p['metadata']['name'].startswith('axon-agent-') and p['spec']['nodeName']=='node3':
        print(p['status']['containerStatuses'][0]['containerID'].split('//')[1])")
kill -STOP "$stuck"
out=$(ax status --wait --wait-duration 15s 2>&1); rc=$?
kill -CONT "$stuck"
expect_eq "status --wait with a stuck agent: exit 1" "$rc" 1
expect_contains "... naming its node" "$out" "on node3"

# --- an endpoint whose pod is gone (deleted while its agent was down) is collected ---
printf 'apiVersion: cilium.io/v2\nkind: CiliumEndpoint\nmetadata: {name: ghost, namespace: e2e}\n' > "$STATE/ghost.yaml"
out=$(ax apply -f "$STATE/ghost.yaml" 2>&1); rc=$?
expect_eq "a CiliumEndpoint without a pod is written" "$rc" 0
expect_contains "... and listed" "$(ax get ciliumendpoints -n e2e -o name)" "ghost"
wait_for "... and the operator deletes it" 30 bash -c 'l=$(ax get ciliumendpoints -n e2e -o name) && ! grep -q ghost <<<"$l"'

# --- the Kubernetes lab: what its kubelets owe the API server -----------------------
if ((${#LAB_UP[@]})); then
  expect_contains "lab status shows the control plane" "$(ax lab status)" "kube-apiserver"
  leases=$(kapi /apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases | python3 -c '
import json, sys, datetime
now = datetime.datetime.now(datetime.timezone.utc)
for l in json.load(sys.stdin)["items"]:
    t = datetime.datetime.strptime(l["spec"]["renewTime"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc)
    print(l["metadata"]["name"], "fresh" if (now - t).total_seconds() < 30 else "stale")')
  for n in node1 node2 node3; do expect_contains "node lease of $n renewed" "$leases" "$n fresh"; done
  # The agents reach the API server through KubePrism with their own bound tokens:
  # they publish CiliumEndpoints for the pods they run.
  ceps=$(kapi /apis/cilium.io/v2/namespaces/e2e/ciliumendpoints | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["items"]))')
  if ((ceps >= 4)); then pass "agents published $ceps CiliumEndpoints"; else fail "CiliumEndpoints in e2e: $ceps"; fi
  # A deleted pod is stopped and its deletion confirmed (not left Terminating);
  # the ReplicaSet's replacement runs.
  victim=$(ax get pods -n e2e -l app=echo -o name | head -1 | cut -d/ -f2)
  ax delete pod "$victim" -n e2e >/dev/null 2>&1
  wait_for "deleted pod $victim is gone" 30 bash -c "! ax get pod $victim -n e2e"
  wait_for "... and its CiliumEndpoint (owned by the pod)" 30 bash -c "! kapi /apis/cilium.io/v2/namespaces/e2e/ciliumendpoints/$victim"
  wait_for "... and replaced" 60 bash -c "ax get deploy echo -n e2e -o json | python3 -c 'import json,sys; d=json.load(sys.stdin); sys.exit(0 if d.get(\"status\",{}).get(\"readyReplicas\",0)>=d[\"spec\"][\"replicas\"] else 1)'"
  got=$(in_pod e2e app=client curl -s -m 5 http://echo/after-delete)
  expect_contains "the Service answers after the replacement" "$got" "pod=echo-"
fi

# --- bad input changes nothing ------------------------------------------------------
printf 'apiVersion: v1\nkind: Service\nmetadata: {name: bad, namespace: e2e}\nspec: {ports: [{port: 99999}]}\n' > "$STATE/bad.yaml"
out=$(ax apply -f "$STATE/bad.yaml" 2>&1); rc=$?
expect_eq "an invalid object: exit 2" "$rc" 2
expect_contains "... naming the field" "$out" "spec.ports[0].port"
if ax get svc bad -n e2e >/dev/null 2>&1; then fail "the invalid Service was created"; else pass "... and nothing was created"; fi

# --- lab down leaves nothing --------------------------------------------------------
out=$(ax lab down --name "$LAB" 2>&1); rc=$?
expect_eq "lab down: exit 0" "$rc" 0
expect_eq "no network namespace left" "$(ip netns list | grep -c "^axon-$LAB-")" 0
if [[ -e /sys/fs/bpf/axon/$LAB ]]; then fail "pins left in /sys/fs/bpf/axon/$LAB"; else pass "no pins left"; fi
if [[ -e $STATE/$LAB || -e $STATE/$LAB.kube ]]; then fail "state left in $STATE"; else pass "no state left"; fi
left=$(ps -eo cmd | grep -c -e "--lab $LAB" -e "$STATE/$LAB.kube" | tr -d ' ')
expect_eq "no process left" "$((left - 1))" 0   # the grep itself
finish
