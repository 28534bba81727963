#!/usr/bin/env bash
# axon install/uninstall against a real kube-apiserver (Kubernetes 1.26,
# kube_lib.sh): the API server accepts every object as rendered, a dry run
# checks all before the first is written (a refusal applies nothing and names
# the object and the field), server-side apply with axon's field manager,
# idempotence, pruning, --wait, API errors, preflight, uninstall.
source "$(dirname "$0")/lib.sh"
make_tmp
source "$(dirname "$0")/kube_lib.sh"
start_kube
SEED="$SRC/../shared/seed/manifests/cilium-values.yaml"
FIXED=(-f "$SEED" --set gatewayApi=null --set gatewayAPI.enabled=true)
K=(--kubeconfig kc.yaml)

# 1. The seed's values as pasted: exit 2, and not one request reaches the server.
reset_log
"$AXON" install -f "$SEED" "${K[@]}" > out 2> err; rc=$?
expect_eq "seed values as pasted: exit 2" "$rc" 2
expect_contains "... naming gatewayAPI" "$(cat err)" 'the key is "gatewayAPI"'
if log_check 'len(reqs) == 0'; then pass "... and nothing was sent to the cluster"; else fail "requests were sent"; fi

# 2. Fixed values: the real API server accepts every object (CRDs of the
# protected gateway.networking.k8s.io group, the privileged init container,
# the agent's mount propagation).
reset_log
"$AXON" install "${FIXED[@]}" "${K[@]}" > out 2> err; rc=$?
expect_eq "install: exit 0" "$rc" 0
expect_contains "install: DaemonSet created" "$(cat out)" "daemonset.apps/axon-agent created"
expect_contains "install: CRD created" "$(cat out)" "customresourcedefinition.apiextensions.k8s.io/ciliumnetworkpolicies.cilium.io created"
expect_contains "install: Gateway API CRD created" "$(cat out)" "customresourcedefinition.apiextensions.k8s.io/gatewayclasses.gateway.networking.k8s.io created"
expect_contains "install: GatewayClass created" "$(cat out)" "gatewayclass.gateway.networking.k8s.io/cilium created"
expect_contains "install: summary" "$(cat err)" "installed into Kubernetes API $API (context test): 36 created"
if log_check 'sum(r["verb"] == "patch" and "dryRun" not in r["query"] for r in reqs) == 36 and all(r["query"].get("fieldManager") == "axon" and r["query"].get("force") == "true" for r in reqs if r["verb"] == "patch")'; then
  pass "36 server-side applies with fieldManager=axon, force=true"
else fail "PATCH requests are not all server-side applies"; fi
if log_check 'max(i for i, r in enumerate(reqs) if r["verb"] == "patch" and r["query"].get("dryRun") == "All") < min(i for i, r in enumerate(reqs) if r["verb"] == "patch" and "dryRun" not in r["query"]) and sum(r["query"].get("dryRun") == "All" for r in reqs) == 35'; then
  pass "every object is dry-run first (the GatewayClass, whose CRD is new, through its CRD)"
else fail "dry runs did not all come before the first write"; fi
if log_check 'next(i for i, r in enumerate(reqs) if r["verb"] == "patch" and "dryRun" not in r["query"] and "customresourcedefinitions" in r["path"]) < next(i for i, r in enumerate(reqs) if r["verb"] == "patch" and r["path"].startswith("/apis/gateway.networking.k8s.io/"))'; then
  pass "CRDs are applied before objects of their kinds"
else fail "CRDs not applied first"; fi
if log_check 'all(r["user"] == "axon-test-admin" for r in reqs) and len(reqs) > 0'; then
  pass "requests authenticate with the kubeconfig's client certificate and say User-Agent axon/"
else fail "requests not made as axon-test-admin"; fi
kube GET /apis/apps/v1/namespaces/kube-system/daemonsets/axon-agent > ds.json
if python3 - <<'PY'
import json
ds = json.load(open("ds.json"))
spec = ds["spec"]["template"]["spec"]
init = {c["name"]: c for c in spec["initContainers"]}
agent = spec["containers"][0]
bpf = next(m for m in agent["volumeMounts"] if m["name"] == "bpf-maps")
init_bpf = next(m for m in init["mount-bpf-fs"]["volumeMounts"] if m["name"] == "bpf-maps")
assert bpf["mountPropagation"] == "HostToContainer", bpf
assert init_bpf["mountPropagation"] == "Bidirectional", init_bpf
assert init["mount-bpf-fs"]["securityContext"]["privileged"] is True
assert not agent["securityContext"].get("privileged", False)
assert "NET_ADMIN" in agent["securityContext"]["capabilities"]["add"]
mf = [m for m in ds["metadata"]["managedFields"] if m["manager"] == "axon"]
assert mf and mf[0]["operation"] == "Apply", ds["metadata"]["managedFields"]
PY
then pass "the stored DaemonSet: Bidirectional only in the privileged mount-bpf-fs, HostToContainer in the agent, applied by axon"
else fail "the stored DaemonSet is not as rendered"; fi
kube GET /apis/apiextensions.k8s.io/v1/customresourcedefinitions/gateways.gateway.networking.k8s.io > crd.json
if python3 -c 'import json; c = json.load(open("crd.json")); assert c["metadata"]["annotations"]["api-approved.kubernetes.io"].startswith("https://github.com/kubernetes-sigs/gateway-api/"); assert any(x["type"] == "Established" and x["status"] == "True" for x in c["status"]["conditions"])'; then
  pass "Gateway API CRDs carry the approval annotation and are established"
else fail "Gateway API CRD: $(head -c 300 crd.json)"; fi

# 3. Again: nothing changes, and nothing is written.
reset_log
"$AXON" install "${FIXED[@]}" "${K[@]}" > out 2> err; rc=$?
expect_eq "second install: exit 0" "$rc" 0
expect_contains "second install says nothing changed" "$(cat err)" "nothing changed (36 objects unchanged)"
if log_check 'not any(r["verb"] in ("patch", "delete", "create", "update") and "dryRun" not in r["query"] for r in reqs)'; then pass "... and writes nothing"; else fail "second install wrote"; fi

# 4. Without the UI: its objects are deleted.
"$AXON" install "${FIXED[@]}" --set hubble.ui.enabled=false "${K[@]}" > out 2> err; rc=$?
expect_eq "install without the UI: exit 0" "$rc" 0
expect_contains "UI Deployment deleted" "$(cat out)" "deployment.apps/hubble-ui deleted (no longer in the values)"
expect_contains "UI Service deleted" "$(cat out)" "service/hubble-ui deleted (no longer in the values)"
expect_contains "summary counts the deletions" "$(cat err)" "5 deleted"

# 5. --wait: not ready while nothing runs the pods (no kubelet here), ready
# once the workloads' status says so (written as the controllers would).
"$AXON" install "${FIXED[@]}" "${K[@]}" --wait --wait-duration 3s > out 2> err; rc=$?
expect_eq "install --wait with nothing running: exit 1" "$rc" 1
expect_contains "... names what is not ready" "$(cat err)" "DaemonSet kube-system/axon-agent"
ready_status() {  # KIND NAME
  local obj gen n
  obj=$(kube GET "/apis/apps/v1/namespaces/kube-system/$1/$2")
  gen=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["metadata"]["generation"])' "$obj")
  n=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["spec"].get("replicas", 1))' "$obj")
  if [[ $1 == daemonsets ]]; then
    kube PATCH "/apis/apps/v1/namespaces/kube-system/$1/$2/status" \
      "{\"status\": {\"observedGeneration\": $gen, \"desiredNumberScheduled\": 1, \"currentNumberScheduled\": 1, \"numberReady\": 1, \"updatedNumberScheduled\": 1, \"numberAvailable\": 1, \"numberMisscheduled\": 0}}" \
      > /dev/null
  else
    kube PATCH "/apis/apps/v1/namespaces/kube-system/$1/$2/status" \
      "{\"status\": {\"observedGeneration\": $gen, \"replicas\": $n, \"readyReplicas\": $n, \"updatedReplicas\": $n, \"availableReplicas\": $n}}" \
      > /dev/null
  fi
}
for w in "daemonsets axon-agent" "deployments axon-operator" "deployments hubble-relay" "deployments hubble-ui"; do
  # shellcheck disable=SC2086
  ready_status $w
done
"$AXON" install "${FIXED[@]}" "${K[@]}" --wait --wait-duration 30s > out 2> err; rc=$?
expect_eq "install --wait once ready: exit 0" "$rc" 0
expect_contains "--wait reports the agents ready" "$(cat out)" "daemonset.apps/axon-agent ready"

# 6. A refusal applies nothing: another tool's DaemonSet of the same name has
# another selector (immutable): the dry run is refused with the field, and
# not one object is written.
"$AXON" uninstall "${K[@]}" > /dev/null 2>&1
kube POST /apis/apps/v1/namespaces/kube-system/daemonsets '{"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "axon-agent", "namespace": "kube-system"}, "spec": {"selector": {"matchLabels": {"app": "other"}}, "template": {"metadata": {"labels": {"app": "other"}}, "spec": {"containers": [{"name": "c", "image": "other"}]}}}}' > /dev/null
reset_log
"$AXON" install "${FIXED[@]}" "${K[@]}" > out 2> err; rc=$?
expect_eq "install over an incompatible DaemonSet: exit 1" "$rc" 1
expect_contains "... names the object and the field" "$(cat err)" "daemonset.apps/axon-agent: dry run of DaemonSet kube-system/axon-agent at $API: 422 Invalid"
expect_contains "... and the immutable field" "$(cat err)" "spec.selector"
expect_contains "... and says nothing was installed" "$(cat err)" "nothing was installed"
if log_check 'not any(r["verb"] in ("patch", "create", "update", "delete") and "dryRun" not in r["query"] for r in reqs)'; then
  pass "... and writes nothing"
else fail "objects were written before the refusal"; fi
kube DELETE /apis/apps/v1/namespaces/kube-system/daemonsets/axon-agent > /dev/null

# 7. RBAC: a user the cluster knows (its certificate is signed by the cluster's
# client CA) but with no role: 403 Forbidden, naming the verb and resource.
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=nobody" -keyout nobody.key -out nobody.csr 2>/dev/null
openssl x509 -req -in nobody.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 -out nobody.crt 2>/dev/null
with_cert() {  # NAME: kc.yaml with NAME.crt/NAME.key as the client certificate -> NAME.yaml
  sed -e "s|client-certificate-data: .*|client-certificate-data: $(base64 -w0 < "$1.crt")|" \
      -e "s|client-key-data: .*|client-key-data: $(base64 -w0 < "$1.key")|" kc.yaml > "$1.yaml"
}
with_cert nobody
"$AXON" install "${FIXED[@]}" --kubeconfig nobody.yaml > out 2> err; rc=$?
expect_eq "a user without roles: exit 1" "$rc" 1
expect_contains "... 403 Forbidden, naming the user" "$(cat err)" '403 Forbidden'
expect_contains "... and what it may not do" "$(cat err)" 'User "nobody" cannot'

# 8. A client certificate of another CA: the API server does not know the user.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=stranger" -keyout stranger.key -out stranger.crt 2>/dev/null
with_cert stranger
"$AXON" install "${FIXED[@]}" --kubeconfig stranger.yaml > out 2> err; rc=$?
expect_eq "untrusted client certificate: exit 1" "$rc" 1
expect_contains "... 401 Unauthorized" "$(cat err)" "401 Unauthorized"

# 9. Unknown context and missing kubeconfig.
"$AXON" install "${FIXED[@]}" "${K[@]}" --context nosuch > out 2> err; rc=$?
expect_eq "unknown context: exit 1" "$rc" 1
expect_contains "... lists the contexts" "$(cat err)" 'context "nosuch" not found in kc.yaml; contexts: test'

# 10. Uninstall removes what install created, keeps CRDs unless asked.
"$AXON" install "${FIXED[@]}" "${K[@]}" > /dev/null 2>&1
reset_log
"$AXON" uninstall "${K[@]}" > out 2> err; rc=$?
expect_eq "uninstall: exit 0" "$rc" 0
expect_contains "uninstall deletes the DaemonSet" "$(cat out)" "daemonset.apps/axon-agent deleted"
expect_contains "uninstall keeps CRDs and says so" "$(cat err)" "CustomResourceDefinitions kept"
if log_check 'not any(r["verb"] == "delete" and "customresourcedefinitions" in r["path"] for r in reqs) and all(r["query"].get("labelSelector") == "app.kubernetes.io/part-of=axon" for r in reqs if r["verb"] == "list")'; then
  pass "uninstall selects by label and deletes no CRD"
else fail "uninstall deleted a CRD or listed without the label selector"; fi
"$AXON" uninstall "${K[@]}" --delete-crds > out 2> err; rc=$?
expect_contains "uninstall --delete-crds deletes CRDs" "$(cat out)" "customresourcedefinition.apiextensions.k8s.io/ciliumnetworkpolicies.cilium.io deleted"
"$AXON" uninstall "${K[@]}" > out 2> err; rc=$?
expect_contains "a second uninstall finds nothing" "$(cat err)" "nothing to uninstall"

# 11. Preflight: kube-proxy still running with kubeProxyReplacement; another CNI.
DS='{"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "NAME"}, "spec": {"selector": {"matchLabels": {"app": "NAME"}}, "template": {"metadata": {"labels": {"app": "NAME"}}, "spec": {"containers": [{"name": "c", "image": "i"}]}}}}'
kube POST /apis/apps/v1/namespaces/kube-system/daemonsets "${DS//NAME/kube-proxy}" > /dev/null
reset_log
"$AXON" install "${FIXED[@]}" "${K[@]}" > out 2> err; rc=$?
expect_eq "kube-proxy running: exit 1" "$rc" 1
expect_contains "... names kube-proxy and the Talos fix" "$(cat err)" "kube-proxy is running (DaemonSet kube-system/kube-proxy), but kubeProxyReplacement is true"
expect_contains "... and the patch command" "$(cat err)" "axon install --talos-patch"
if log_check 'not any(r["verb"] == "patch" for r in reqs)'; then pass "... and applies nothing"; else fail "applied despite preflight"; fi
kube POST /api/v1/namespaces '{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "kube-flannel"}}' > /dev/null
kube POST /apis/apps/v1/namespaces/kube-flannel/daemonsets "${DS//NAME/kube-flannel-ds}" > /dev/null
"$AXON" install "${FIXED[@]}" "${K[@]}" > out 2> err; rc=$?
expect_contains "another CNI is named" "$(cat err)" "Flannel is installed (DaemonSet kube-flannel/kube-flannel-ds)"
finish
