#!/usr/bin/env bash
# The node agent on a real kube-apiserver (Kubernetes 1.26, kube_lib.sh),
# as its DaemonSet runs it: in a network namespace of its own (made here;
# the API server's loopback port is forwarded into it, nothing routed), with
# a private /run and bpffs, authenticated as the axon-agent ServiceAccount
# `axon install` made with a bound token. It must list each kind it follows
# once and then only watch, allocate a CiliumIdentity for a pod with an
# address, publish a pod's endpoint as a CiliumEndpoint (CNI ADD through
# DEL), never be forbidden, write its CNI configuration into the
# configured directory and, with cni-uninstall, remove it when it stops.
source "$(dirname "$0")/lib.sh"
make_tmp
if [[ $(id -u) != 0 ]]; then echo "SKIP: needs root (network namespaces, bpffs)" >&2; exit 77; fi
source "$(dirname "$0")/kube_lib.sh"
start_kube
SEED="$SRC/../shared/seed/manifests/cilium-values.yaml"
"$AXON" install -f "$SEED" --set gatewayApi=null --set gatewayAPI.enabled=true --kubeconfig kc.yaml > install.out 2>&1 ||
  { fail "install: $(tail -3 install.out)"; finish; }
with_token axon-agent

# The node's namespace, and the API server's port forwarded into it.
NS=axon-kt-$$
ip netns add "$NS" || { fail "cannot make network namespace $NS"; finish; }
TEST_NETNS+=("$NS")
ip netns exec "$NS" ip link set lo up
fwd=$(free_ports 1)
daemon fwd python3 "$SRC/tests/support/netns_forward.py" "$NS" "$fwd" "127.0.0.1:${API##*:}"
for _ in $(seq 50); do grep -q ready fwd.log && break; sleep 0.1; done
sed "s|server: .*|server: https://127.0.0.1:$fwd|" axon-agent.yaml > agent-ns.yaml

kube POST /api/v1/nodes '{"apiVersion":"v1","kind":"Node","metadata":{"name":"node-k"},"spec":{"podCIDR":"10.201.0.0/24"}}' > /dev/null
# No kube-controller-manager here: the ServiceAccount it would make, so
# the admission of the pod finds it.
kube POST /api/v1/namespaces/default/serviceaccounts '{"apiVersion":"v1","kind":"ServiceAccount","metadata":{"name":"default"}}' > /dev/null
kube POST /api/v1/namespaces/default/pods '{"apiVersion":"v1","kind":"Pod","metadata":{"name":"web-1","labels":{"app":"web"}},"spec":{"nodeName":"node-k","containers":[{"name":"c","image":"x"}]}}' > /dev/null
kube PATCH /api/v1/namespaces/default/pods/web-1/status '{"status":{"podIP":"10.201.0.5","podIPs":[{"ip":"10.201.0.5"}]}}' > pod.json
expect_eq "a pod on node-k with an address (as its kubelet would report)" \
  "$(python3 -c 'import json; print(json.load(open("pod.json"))["status"].get("podIP"))')" 10.201.0.5

mkdir -p cfg cni/net.d cni/bin
printf kubernetes > cfg/ipam
printf true > cfg/cni-uninstall
printf false > cfg/enable-ipv4-masquerade
# start_agent NAME CONFIG_DIR: the agent of node-k in its namespace, with a
# private /run and bpffs (as its pod has), as axon-agent; true once ready
# (its CNI configuration written), false if it exits first.
start_agent() {
  daemon "$1" ip netns exec "$NS" unshare -m --propagation private sh -c \
    'mount -t tmpfs tmpfs /run && mount -t bpf bpf /sys/fs/bpf && exec "$@"' sh \
    env NODE_NAME=node-k "$AXON" agent --config-dir "$2" --kubeconfig agent-ns.yaml \
    --cni-conf-dir "$TMP/cni/net.d" --cni-bin-dir "$TMP/cni/bin"
  local pid_var=PID_$1
  for _ in $(seq 150); do
    [[ -f cni/net.d/05-axon.conflist ]] && return 0
    kill -0 "${!pid_var}" 2>/dev/null || return 1
    sleep 0.2
  done
  return 1
}
reset_log
if start_agent agent cfg; then pass "the agent is ready: its CNI configuration is in the configured directory"
else fail "the agent did not get ready: $(tail -5 agent.log)"; fi
expect_contains "the agent's store is the Kubernetes API" "$(cat agent.log)" "store Kubernetes API https://127.0.0.1:$fwd"
health=$(ip netns exec "$NS" curl -s -m 2 http://127.0.0.1:9879/healthz)
expect_contains "/healthz in the node's namespace answers" "$health" "ok"

# The pod's identity, as a CiliumIdentity the agent created.
found=""
for _ in $(seq 50); do
  found=$(kube GET /apis/cilium.io/v2/ciliumidentities | python3 -c '
import json, sys
for i in json.load(sys.stdin).get("items", []):
    l = i.get("security-labels", {})
    if l.get("k8s:app") == "web" and l.get("k8s:io.kubernetes.pod.namespace") == "default":
        print(i["metadata"]["name"])')
  [[ -n $found ]] && break
  sleep 0.2
done
if [[ -n $found ]]; then pass "the pod's labels got CiliumIdentity $found"
else fail "no CiliumIdentity for app=web"; fi
if log_check 'any(r["user"] == "system:serviceaccount:kube-system:axon-agent" and r["verb"] == "create" and r["path"] == "/apis/cilium.io/v2/ciliumidentities" and r["code"] == 201 for r in reqs)'; then
  pass "created by the agent, as axon-agent"
else fail "the identity was not created by the agent"; fi
if log_check 'sorted(r["path"] for r in reqs if r["verb"] == "list" and "labelSelector" not in r["query"] and r["user"].endswith(":axon-agent")) == sorted(["/api/v1/nodes", "/api/v1/pods", "/api/v1/namespaces", "/api/v1/services", "/apis/discovery.k8s.io/v1/endpointslices", "/apis/cilium.io/v2/ciliumidentities", "/apis/cilium.io/v2/ciliumnetworkpolicies", "/apis/cilium.io/v2/ciliumclusterwidenetworkpolicies", "/apis/networking.k8s.io/v1/networkpolicies"])'; then
  pass "one list per kind it follows (9), then watches"
else fail "the agent's lists are not one per kind"; fi

# A pod's network through the CNI plugin (as the container runtime calls
# it, in the node's namespaces): its endpoint becomes a CiliumEndpoint.
PODNS=axon-kt-p-$$
ip netns add "$PODNS" && TEST_NETNS+=("$PODNS")
daemon sleeper ip netns exec "$PODNS" sleep 600
sleep 0.3
cni() {  # COMMAND: the plugin with the conflist's configuration, for pod web-1
  nsenter -t "$PID_agent" -m -n env CNI_COMMAND="$1" CNI_CONTAINERID=c0ffee CNI_NETNS=/proc/$PID_sleeper/ns/net \
    CNI_IFNAME=eth0 CNI_PATH="$TMP/cni/bin" CNI_ARGS="IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web-1" \
    "$TMP/cni/bin/axon-cni" <<< '{"cniVersion":"1.0.0","name":"axon","type":"axon-cni","socket":"/run/axon/agent.sock"}'
}
cni ADD > cni-add.json 2> cni-add.err
pod_ip=$(python3 -c 'import json; print(json.load(open("cni-add.json"))["ips"][0]["address"].split("/")[0])' 2>/dev/null)
if [[ $pod_ip == 10.201.0.* ]]; then pass "CNI ADD: the pod has $pod_ip from node-k's pod CIDR"
else fail "CNI ADD failed: $(cat cni-add.json cni-add.err | head -c 400)"; fi
pod_uid=$(kube GET /api/v1/namespaces/default/pods/web-1 | python3 -c 'import json,sys; print(json.load(sys.stdin)["metadata"]["uid"])')
CEP=/apis/cilium.io/v2/namespaces/default/ciliumendpoints/web-1
cep_ok=0
for _ in $(seq 50); do
  kube GET "$CEP" > cep.json
  if python3 - "$found" "$pod_ip" "$pod_uid" <<'PY'
import json, sys
ident, ip, uid = sys.argv[1:]
c = json.load(open("cep.json"))
st = c.get("status")
ok = (isinstance(st, dict) and str(st.get("identity", {}).get("id")) == ident
      and "k8s:app=web" in st["identity"].get("labels", [])
      and st.get("networking", {}).get("addressing") == [{"ipv4": ip}]
      and st.get("state") == "ready"
      and st.get("external-identifiers", {}).get("container-id") == "c0ffee"
      and c["metadata"].get("ownerReferences", [{}])[0].get("uid") == uid)
sys.exit(0 if ok else 1)
PY
  then cep_ok=1; break; fi
  sleep 0.2
done
if ((cep_ok)); then pass "CiliumEndpoint default/web-1: identity $found, address, state ready, owned by the pod"
else fail "no CiliumEndpoint as expected: $(head -c 600 cep.json)"; fi
cni DEL > /dev/null 2>&1 || fail "CNI DEL failed"
gone=0
for _ in $(seq 50); do
  kube GET "$CEP" | grep -q '"code": 404' && { gone=1; break; }
  sleep 0.2
done
if ((gone)); then pass "CNI DEL: the CiliumEndpoint is deleted"; else fail "CiliumEndpoint left after DEL"; fi

# Steady state: no request but the open watches.
sleep 1
reset_log
sleep 6
if log_check 'not any(r["user"].endswith(":axon-agent") and r["verb"] != "watch" for r in reqs)'; then
  pass "idle for 6 s, the agent makes no request (watch only)"
else fail "the agent made requests while idle"; fi

# Nothing forbidden, ever.
if forbidden_check axon-agent; then pass "no request of the agent was forbidden (bound token, install's ClusterRole)"
else fail "the agent got 403s"; fi

# Stopping with cni-uninstall: its CNI files go.
kill -TERM "$PID_agent"
wait "$PID_agent" 2>/dev/null
if [[ ! -e cni/net.d/05-axon.conflist && ! -e cni/bin/axon-cni ]]; then
  pass "cni-uninstall: the agent removed its CNI configuration and plugin when it stopped"
else fail "CNI files left: $(ls cni/net.d cni/bin)"; fi

# cluster-pool IPAM: the agent creates its CiliumNode, the operator (its own
# token) writes a pod CIDR from the pool into it, the agent takes that one.
with_token axon-operator
mkdir -p cfg-op cfg-pool
printf cluster-pool | tee cfg-op/ipam > cfg-pool/ipam
printf 10.230.0.0/16 > cfg-op/cluster-pool-ipv4-cidr
printf 24 > cfg-op/cluster-pool-ipv4-mask-size
printf false > cfg-pool/enable-ipv4-masquerade
daemon operator env POD_NAMESPACE=kube-system "$AXON" operator --config-dir cfg-op --kubeconfig axon-operator.yaml
start_agent agent2 cfg-pool && pass "cluster-pool: the agent is ready" || fail "cluster-pool: the agent did not get ready: $(tail -3 agent2.log)"
expect_contains "... with the pod CIDR the operator wrote into its CiliumNode" "$(cat agent2.log)" "pod CIDR 10.230.0.0/24"
if forbidden_check axon-agent axon-operator; then pass "... nothing forbidden to either"; else fail "403s in cluster-pool"; fi
finish
