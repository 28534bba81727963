#!/usr/bin/env bash
# The kube-proxy replacement end to end on a 3-node lab (the seed's values:
# kubeProxyReplacement: true), with real traffic from the LAN client
# (10.0.0.100, the laptop) and from pods:
# - NodePort on every node's address, to a backend on node2: from the LAN
#   through node1 and node3 the backend sees the node (externalTrafficPolicy
#   Cluster: SNAT), through node2 the client itself;
# - externalTrafficPolicy Local: node2 answers and keeps the client's
#   address, node1 has no backend and refuses at once;
# - internalTrafficPolicy Local: a pod on node2 reaches the backend, a pod
#   on node1 is refused;
# - sessionAffinity ClientIP: 30 requests, one backend (the same Service
#   without affinity spreads);
# - hostPort: node3's address and the port reach the pod; a second pod
#   asking for the same port on node3 is not scheduled, and says why;
# - healthCheckNodePort of a Local LoadBalancer: 200 on node2, 503 elsewhere;
# - LB IPAM: the seed's pool gives the pending LoadBalancer an address a pod
#   reaches; the seed's fixed-IP Service gets 10.0.0.241; a Service asking
#   for a taken address stays pending with the reason;
# - apply refuses a nodePort outside the range or taken (exit 2).
source "$(dirname "$0")/lib.sh"

cluster_up 3 --set hubble.relay.enabled=false --set hubble.ui.enabled=false
out=$(ax apply -f "$SRC/tests/e2e/services.yaml" 2>&1); rc=$?
expect_eq "apply the Services' workloads" "$rc" 0
deployments_ready svc one many client1 client2
wait_for "hostPort pod ready" 90 bash -c "ax get pod hostport -n svc | grep -q ' 1/1 '"

node_ip() {
  ax get node "$1" -o json | python3 -c 'import json,sys; print([a["address"] for a in json.load(sys.stdin)["status"]["addresses"] if a["type"]=="InternalIP"][0])'
}
N1=$(node_ip node1); N2=$(node_ip node2); N3=$(node_ip node3)
node_port() {
  ax get svc "$1" -n svc -o json | python3 -c "import json,sys; print(json.load(sys.stdin)['spec']$2)"
}
NP_LOCAL=$(node_port np-local "['ports'][0]['nodePort']")
STICKY=$(node_port sticky "['ports'][0]['nodePort']")
HC=$(node_port lb-local "['healthCheckNodePort']")
got=$(ax get svc np-cluster -n svc)
expect_contains "get svc shows port:nodePort" "$got" "80:30080/TCP"
expect_eq "a NodePort given from the range" "$((NP_LOCAL >= 30000 && NP_LOCAL <= 32767))" 1

lan() { ip netns exec "axon-$LAB-client" "$@"; }
# from_lan URL: curl from the LAN client; "refused" / "dropped" / the answer.
from_lan() {
  local got rc
  got=$(lan curl -s -m 3 "$1" 2>/dev/null); rc=$?
  case $rc in 0) echo "$got" ;; 7) echo refused ;; 28) echo dropped ;; *) echo "curl exit $rc" ;; esac
}
ONE_IP=$(ax get pods -n svc -l app=one -o json | python3 -c 'import json,sys; print(json.load(sys.stdin)["items"][0]["status"]["podIP"])')

# --- NodePort, externalTrafficPolicy Cluster -----------------------------------------
for n in "node1 $N1" "node2 $N2" "node3 $N3"; do
  set -- $n
  got=$(from_lan "http://$2:30080/np")
  expect_contains "LAN client -> $1:30080 reaches the backend" "$got" "pod=one-"
  if [[ $1 == node2 ]]; then
    expect_contains "... on the backend's node the client's address is kept" "$got" "client=10.0.0.100"
  else
    expect_contains "... through $1 the backend sees $1 (SNAT)" "$got" "client=$2"
  fi
done
got=$(ip netns exec "axon-$LAB-node1" curl -s -m 3 "http://$N3:30080/from-node")
expect_contains "node1 -> node3:30080 reaches the backend" "$got" "pod=one-"
got=$(in_pod svc app=client1 curl -s -m 3 "http://$N3:30080/from-pod")
expect_contains "a pod on node1 -> node3:30080 reaches the backend" "$got" "pod=one-"
got=$(in_pod svc app=client1 curl -s -m 3 "http://$N1:30080/own-node")
expect_contains "a pod on node1 -> node1:30080 (its own node) reaches the backend" "$got" "pod=one-"

# --- externalTrafficPolicy Local --------------------------------------------------------
got=$(from_lan "http://$N2:$NP_LOCAL/local")
expect_contains "eTP Local: node2 (has the backend) answers" "$got" "pod=one-"
expect_contains "... with the client's address kept" "$got" "client=10.0.0.100"
expect_eq "eTP Local: node1 (no backend) refuses at once" "$(from_lan "http://$N1:$NP_LOCAL/local")" refused
expect_eq "eTP Local: node3 (no backend) refuses at once" "$(from_lan "http://$N3:$NP_LOCAL/local")" refused

got=$(in_pod svc app=client1 curl -s -m 3 "http://$N1:$NP_LOCAL/local-from-pod")
expect_contains "eTP Local: a pod on node1 -> node1's NodePort reaches node2's backend (pods: every backend)" "$got" "pod=one-"

# --- internalTrafficPolicy Local --------------------------------------------------------
ITP=$(ax get svc itp-local -n svc -o json | python3 -c 'import json,sys; print(json.load(sys.stdin)["spec"]["clusterIP"])')
got=$(in_pod svc app=client2 curl -s -m 3 "http://$ITP/itp")
expect_contains "iTP Local: a pod on node2 reaches node2's backend" "$got" "pod=one-"
rc=0; in_pod svc app=client1 curl -s -m 3 "http://$ITP/itp" >/dev/null 2>&1 || rc=$?
expect_eq "iTP Local: a pod on node1 (no local backend) is refused (curl exit 7)" "$rc" 7

# --- sessionAffinity ClientIP -------------------------------------------------------------
seen=$(lan bash -c "for i in \$(seq 30); do curl -s -m 3 http://$N1:$STICKY/sticky; done" | grep -o 'pod=[a-z0-9-]*' | sort | uniq -c)
expect_eq "affinity: 30 requests from the LAN, one backend" "$(wc -l <<<"$seen")" 1
expect_contains "... all 30 answered" "$seen" "30 pod=many-"
SPREAD=$(ax get svc spread -n svc -o json | python3 -c 'import json,sys; print(json.load(sys.stdin)["spec"]["clusterIP"])')
STICKY_IP=$(ax get svc sticky -n svc -o json | python3 -c 'import json,sys; print(json.load(sys.stdin)["spec"]["clusterIP"])')
seen=$(in_pod svc app=client1 bash -c "for i in \$(seq 30); do curl -s -m 3 http://$STICKY_IP/sticky; done" | grep -o 'pod=[a-z0-9-]*' | sort -u | wc -l)
expect_eq "affinity: 30 requests from a pod to the clusterIP, one backend" "$seen" 1
seen=$(in_pod svc app=client1 bash -c "for i in \$(seq 30); do curl -s -m 3 http://$SPREAD/spread; done" | grep -o 'pod=[a-z0-9-]*' | sort -u | wc -l)
expect_eq "without affinity the same backends all answer" "$seen" 3

# --- hostPort ------------------------------------------------------------------------------
got=$(from_lan "http://$N3:8088/hostport")
expect_contains "hostPort: node3:8088 from the LAN reaches the pod" "$got" "pod=hostport"
expect_eq "hostPort: only on the pod's node (node1:8088 refused)" "$(from_lan "http://$N1:8088/hostport")" refused

# A second pod asking for node3's port 8088 is not scheduled; the reason says why.
out=$(ax apply -f - 2>&1 <<'YAML'
apiVersion: v1
kind: Pod
metadata: {name: hostport2, namespace: svc}
spec:
  nodeSelector: {kubernetes.io/hostname: node3}
  containers:
    - name: echo
      image: axon/http-echo
      command: [axon, workload, http-echo, --port, "8080"]
      ports: [{containerPort: 8080, hostPort: 8088}]
YAML
)
expect_eq "apply a second pod for node3's hostPort 8088" "$?" 0
wait_for "... it stays Pending: no free ports on node3" 60 bash -c \
  "ax get pod hostport2 -n svc -o json | grep -q \"didn't have free ports for the requested pod ports\""
expect_eq "... and is bound to no node" "$(ax get pod hostport2 -n svc -o json | python3 -c 'import json,sys; print(json.load(sys.stdin)["spec"].get("nodeName", ""))')" ""

# --- healthCheckNodePort ---------------------------------------------------------------------
got=$(lan curl -s -m 3 -w '%{http_code}' "http://$N2:$HC/healthz")
expect_contains "healthCheckNodePort on node2: one local endpoint" "$got" '"localEndpoints":1}'
expect_eq "... HTTP 200" "${got: -3}" 200
got=$(lan curl -s -m 3 -w '%{http_code}' "http://$N1:$HC/healthz")
expect_contains "healthCheckNodePort on node1: no local endpoint" "$got" '"localEndpoints":0}'
expect_eq "... HTTP 503" "${got: -3}" 503

# --- LB IPAM: the seed's pool and fixed-IP Service --------------------------------------------
SEED=$SRC/../shared/seed/manifests
if [[ -f $SEED/lb-ip-pool.yaml ]]; then
  out=$(ax apply -f "$SEED/lb-ip-pool.yaml" 2>&1); rc=$?
  expect_eq "apply the seed's lb-ip-pool.yaml as pasted" "$rc" 0
  lb_ip() { ax get svc "$1" -n "$2" -o json | python3 -c 'import json,sys; i=json.load(sys.stdin).get("status",{}).get("loadBalancer",{}).get("ingress",[]); print(i[0]["ip"] if i else "")'; }
  wait_for "the pending LoadBalancer gets an address from the pool" 30 bash -c "ax get svc lb-local -n svc | grep -q ' 10\.0\.0\.2[45][0-9] '"
  LBIP=$(lb_ip lb-local svc)
  got=$(in_pod svc app=client1 curl -s -m 3 "http://$LBIP/lb")
  expect_contains "a pod reaches the LoadBalancer IP $LBIP" "$got" "pod=one-"
  out=$(ax apply -f - <<<'{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "production"}}' 2>&1)
  out=$(ax apply -f "$SEED/service-fixed-ip.yaml" 2>&1); rc=$?
  expect_eq "apply the seed's service-fixed-ip.yaml as pasted" "$rc" 0
  wait_for "production/api gets its requested 10.0.0.241" 30 bash -c "ax get svc api -n production | grep -q ' 10.0.0.241 '"
  cond=$(ax get svc api -n production -o json | python3 -c 'import json,sys; print([c["status"]+" "+c["reason"] for c in json.load(sys.stdin)["status"]["conditions"] if c["type"]=="cilium.io/IPAMRequestSatisfied"][0])')
  expect_eq "... condition cilium.io/IPAMRequestSatisfied" "$cond" "True satisfied"
  wait_for "get ippools: no conflict, 14 of 16 available" 30 bash -c "ax get ippools | grep -Eq 'homelab-pool +false +False +14 '"
  got=$(ax status 2>&1)
  expect_contains "status counts LB IPAM" "$got" "LB IPAM:"
  expect_contains "... pools and addresses" "$got" "1 pools, 2/16 addresses used"
  out=$(ax apply -f - 2>&1 <<'YAML'
apiVersion: v1
kind: Service
metadata:
  name: wants-taken
  namespace: svc
  annotations: {lbipam.cilium.io/ips: "10.0.0.241"}
spec:
  type: LoadBalancer
  selector: {app: one}
  ports: [{port: 80}]
YAML
)
  wait_for "a Service asking for a taken address: already_allocated" 30 bash -c \
    "ax get svc wants-taken -n svc -o json | grep -q already_allocated"
  expect_eq "... and it stays pending" "$(ax get svc wants-taken -n svc | awk 'NR==2 {print $4}')" "<pending>"
fi

# --- apply-time checks ------------------------------------------------------------------------
cat > "$STATE/bad-np.yaml" <<YAML
apiVersion: v1
kind: Service
metadata: {name: out-of-range, namespace: svc}
spec:
  type: NodePort
  selector: {app: one}
  ports: [{port: 80, nodePort: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: taken, namespace: svc}
spec:
  type: NodePort
  selector: {app: one}
  ports: [{port: 80, nodePort: 30080}]
YAML
out=$(ax apply -f "$STATE/bad-np.yaml" 2>&1); rc=$?
expect_eq "apply: a nodePort out of range or taken: exit 2" "$rc" 2
expect_contains "... the range named" "$out" "nodePort 8080 is outside the cluster's NodePort range 30000-32767"
expect_contains "... the holder named" "$out" "nodePort 30080/TCP is already allocated to Service svc/np-cluster"
expect_contains "... the field named" "$out" "spec.ports[0].nodePort"
rc=0; ax get svc out-of-range -n svc >/dev/null 2>&1 || rc=$?
expect_eq "... and nothing was applied" "$rc" 1
finish
