#!/usr/bin/env bash
# axon install/uninstall against a Kubernetes API over HTTPS with a client
# certificate (tests/support/kube_test_server.py): paths, verbs, content
# types, field manager, idempotence, pruning, API errors, preflight.
source "$(dirname "$0")/lib.sh"
make_tmp
SEED="$SRC/../shared/seed/manifests/cilium-values.yaml"
cd "$TMP" || exit 1

# --- certificates: a CA, the server (127.0.0.1), a client, and a stranger ---
q() { "$@" >/dev/null 2>&1 || fail "command failed: $*"; }
q openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=axon-test-ca" -keyout ca.key -out ca.crt
q openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=127.0.0.1" -keyout server.key -out server.csr
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' > san.ext
q openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 -extfile san.ext -out server.crt
q openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=axon-test-admin/O=system:masters" -keyout client.key -out client.csr
q openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 -out client.crt
q openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=stranger" -keyout stranger.key -out stranger.crt

python3 "$SRC/tests/support/kube_test_server.py" --cert server.crt --key server.key --ca ca.crt \
  --log requests.log > port 2> server.err &
server_pid=$!
trap 'kill $server_pid 2>/dev/null; wait $server_pid 2>/dev/null; rm -rf "$TMP"' EXIT
for _ in $(seq 50); do [[ -s port ]] && break; sleep 0.1; done
PORT=$(cat port)
[[ -n $PORT ]] || { fail "test server did not start: $(cat server.err)"; finish; }

b64() { base64 -w0 < "$1"; }
kubeconfig() {  # NAME CLIENT_CERT CLIENT_KEY
  cat > "$1" <<KC
apiVersion: v1
kind: Config
current-context: test
clusters:
- name: test
  cluster:
    server: https://127.0.0.1:$PORT
    certificate-authority-data: $(b64 ca.crt)
users:
- name: admin
  user:
    client-certificate-data: $(b64 "$2")
    client-key-data: $(b64 "$3")
contexts:
- name: test
  context: {cluster: test, user: admin}
KC
}
kubeconfig kc.yaml client.crt client.key
kubeconfig stranger.yaml stranger.crt stranger.key

control() {  # PATH JSON
  python3 - "$PORT" "$1" "$2" <<'PY'
import http.client, ssl, sys
ctx = ssl.create_default_context(cafile="ca.crt")
ctx.load_cert_chain("client.crt", "client.key")
c = http.client.HTTPSConnection("127.0.0.1", int(sys.argv[1]), context=ctx)
c.request("POST", sys.argv[2], body=sys.argv[3])
assert c.getresponse().status == 200
PY
}
# log_check PYTHON_EXPR: evaluated with `reqs` = the requests logged since the last reset.
log_check() {
  python3 - "$1" <<'PY'
import json, sys
reqs = [json.loads(l) for l in open("requests.log")] if __import__("os").path.exists("requests.log") else []
ok = eval(sys.argv[1])
if not ok:
    print("requests were:", file=sys.stderr)
    for r in reqs:
        print(" ", r["method"], r["path"], r["query"], r["contentType"], file=sys.stderr)
sys.exit(0 if ok else 1)
PY
}
reset_log() { : > requests.log; }

FIXED=(-f "$SEED" --set gatewayApi=null --set gatewayAPI.enabled=true)

# 1. The seed's values as pasted: exit 2, and not one request reaches the server.
reset_log
"$AXON" install -f "$SEED" --kubeconfig kc.yaml > out 2> err; rc=$?
expect_eq "seed values as pasted: exit 2" "$rc" 2
expect_contains "... naming gatewayAPI" "$(cat err)" 'the key is "gatewayAPI"'
if log_check 'len(reqs) == 0'; then pass "... and nothing was sent to the cluster"; else fail "requests were sent"; fi

# 2. Fixed values: everything created by server-side apply.
reset_log
"$AXON" install "${FIXED[@]}" --kubeconfig kc.yaml > out 2> err; rc=$?
expect_eq "install: exit 0" "$rc" 0
expect_contains "install: DaemonSet created" "$(cat out)" "daemonset.apps/axon-agent created"
expect_contains "install: CRD created" "$(cat out)" "customresourcedefinition.apiextensions.k8s.io/ciliumnetworkpolicies.cilium.io created"
expect_contains "install: GatewayClass created" "$(cat out)" "gatewayclass.gateway.networking.k8s.io/cilium created"
expect_contains "install: summary" "$(cat err)" "installed into Kubernetes API https://127.0.0.1:$PORT (context test): 28 created"
if log_check 'all(r["contentType"] == "application/apply-patch+yaml" and r["query"].get("fieldManager") == "axon" and r["query"].get("force") == "true" for r in reqs if r["method"] == "PATCH") and sum(r["method"] == "PATCH" for r in reqs) == 28'; then
  pass "every PATCH is a server-side apply with fieldManager=axon, force=true"
else fail "PATCH requests are not all server-side applies"; fi
if log_check 'any(r["method"] == "PATCH" and r["path"] == "/apis/apps/v1/namespaces/kube-system/daemonsets/axon-agent" for r in reqs) and any(r["path"] == "/api/v1/namespaces/kube-system/configmaps/axon-config" for r in reqs) and any(r["path"] == "/apis/rbac.authorization.k8s.io/v1/clusterroles/axon-agent" for r in reqs)'; then
  pass "object paths follow the API's layout (core, grouped, cluster-scoped)"
else fail "unexpected object paths"; fi
if log_check 'next(i for i, r in enumerate(reqs) if r["method"] == "PATCH" and "customresourcedefinitions" in r["path"]) < next(i for i, r in enumerate(reqs) if r["method"] == "PATCH" and "gatewayclasses" in r["path"])'; then
  pass "CRDs are applied before objects of their kinds"
else fail "CRDs not applied first"; fi
if log_check 'all(r["client"] == "axon-test-admin" and r["accept"] == "application/json" and r["userAgent"].startswith("axon/") for r in reqs)'; then
  pass "requests carry the client certificate, Accept: application/json and a User-Agent"
else fail "client certificate, Accept or User-Agent missing"; fi

# 3. Again: nothing changes, and no PATCH is sent.
reset_log
"$AXON" install "${FIXED[@]}" --kubeconfig kc.yaml > out 2> err; rc=$?
expect_eq "second install: exit 0" "$rc" 0
expect_contains "second install says nothing changed" "$(cat err)" "nothing changed (28 objects unchanged)"
if log_check 'not any(r["method"] in ("PATCH", "DELETE") for r in reqs)'; then pass "... and writes nothing"; else fail "second install wrote"; fi

# 4. Without the UI: its objects are deleted.
"$AXON" install "${FIXED[@]}" --set hubble.ui.enabled=false --kubeconfig kc.yaml > out 2> err; rc=$?
expect_eq "install without the UI: exit 0" "$rc" 0
expect_contains "UI Deployment deleted" "$(cat out)" "deployment.apps/hubble-ui deleted (no longer in the values)"
expect_contains "UI Service deleted" "$(cat out)" "service/hubble-ui deleted (no longer in the values)"
expect_contains "summary counts the deletions" "$(cat err)" "5 deleted"

# 5. --wait sees the workloads ready.
"$AXON" install "${FIXED[@]}" --kubeconfig kc.yaml --wait --wait-duration 30s > out 2> err; rc=$?
expect_eq "install --wait: exit 0" "$rc" 0
expect_contains "--wait reports the agents ready" "$(cat out)" "daemonset.apps/axon-agent ready"

# 6. API errors are reported clearly: 422 Invalid with its field, 409 Conflict.
control /_test/fail '{"method": "PATCH", "path": "/api/v1/namespaces/kube-system/configmaps/axon-config", "code": 422, "reason": "Invalid", "message": "ConfigMap \"axon-config\" is invalid: data.debug: Invalid value: \"maybe\"", "causes": [{"field": "data.debug", "message": "Invalid value: \"maybe\""}]}'
"$AXON" install "${FIXED[@]}" --set debug.enabled=true --kubeconfig kc.yaml > out 2> err; rc=$?
expect_eq "422 from the API server: exit 1" "$rc" 1
expect_contains "... names the object and the reason" "$(cat err)" 'Error: apply ConfigMap kube-system/axon-config: 422 Invalid: ConfigMap "axon-config" is invalid: data.debug'
control /_test/clear '{}'
control /_test/fail '{"method": "PATCH", "path": "/apis/apps/v1/namespaces/kube-system/daemonsets/axon-agent", "code": 409, "reason": "Conflict", "message": "Apply failed with 1 conflict: conflict with \"kubectl\": .spec.template.spec.containers[name=\"axon-agent\"].image", "causes": [{"reason": "FieldManagerConflict", "field": ".spec.template.spec.containers[name=\"axon-agent\"].image", "message": "conflict with \"kubectl\""}]}'
"$AXON" install "${FIXED[@]}" --set image.tag=9.9.9 --kubeconfig kc.yaml > out 2> err; rc=$?
expect_eq "409 from the API server: exit 1" "$rc" 1
expect_contains "... says which field conflicts with whom" "$(cat err)" '409 Conflict: Apply failed with 1 conflict: conflict with "kubectl"'
control /_test/clear '{}'

# 7. A client certificate the server does not trust: a clear TLS error.
"$AXON" install "${FIXED[@]}" --kubeconfig stranger.yaml > out 2> err; rc=$?
expect_eq "untrusted client certificate: exit 1" "$rc" 1
expect_contains "... says the API server could not be reached" "$(cat err)" "cannot reach the API server at https://127.0.0.1:$PORT"

# 8. Unknown context and missing kubeconfig.
"$AXON" install "${FIXED[@]}" --kubeconfig kc.yaml --context nosuch > out 2> err; rc=$?
expect_eq "unknown context: exit 1" "$rc" 1
expect_contains "... lists the contexts" "$(cat err)" 'context "nosuch" not found in kc.yaml; contexts: test'

# 9. Uninstall removes what install created, keeps CRDs unless asked.
reset_log
"$AXON" uninstall --kubeconfig kc.yaml > out 2> err; rc=$?
expect_eq "uninstall: exit 0" "$rc" 0
expect_contains "uninstall deletes the DaemonSet" "$(cat out)" "daemonset.apps/axon-agent deleted"
expect_contains "uninstall keeps CRDs and says so" "$(cat err)" "CustomResourceDefinitions kept"
if log_check 'not any(r["method"] == "DELETE" and "customresourcedefinitions" in r["path"] for r in reqs) and all(r["query"].get("labelSelector") == "app.kubernetes.io/part-of=axon" for r in reqs if r["method"] == "GET")'; then
  pass "uninstall selects by label and deletes no CRD"
else fail "uninstall deleted a CRD or listed without the label selector"; fi
"$AXON" uninstall --kubeconfig kc.yaml --delete-crds > out 2> err; rc=$?
expect_contains "uninstall --delete-crds deletes CRDs" "$(cat out)" "customresourcedefinition.apiextensions.k8s.io/ciliumnetworkpolicies.cilium.io deleted"
"$AXON" uninstall --kubeconfig kc.yaml > out 2> err; rc=$?
expect_contains "a second uninstall finds nothing" "$(cat err)" "nothing to uninstall"

# 10. Preflight: kube-proxy still running with kubeProxyReplacement; another CNI.
control /_test/seed '{"path": "/apis/apps/v1/namespaces/kube-system/daemonsets/kube-proxy", "object": {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "kube-proxy", "namespace": "kube-system"}}}'
reset_log
"$AXON" install "${FIXED[@]}" --kubeconfig kc.yaml > out 2> err; rc=$?
expect_eq "kube-proxy running: exit 1" "$rc" 1
expect_contains "... names kube-proxy and the Talos fix" "$(cat err)" "kube-proxy is running (DaemonSet kube-system/kube-proxy), but kubeProxyReplacement is true"
expect_contains "... and the patch command" "$(cat err)" "axon install --talos-patch"
if log_check 'not any(r["method"] == "PATCH" for r in reqs)'; then pass "... and applies nothing"; else fail "applied despite preflight"; fi
control /_test/seed '{"path": "/apis/apps/v1/namespaces/kube-flannel/daemonsets/kube-flannel-ds", "object": {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "kube-flannel-ds", "namespace": "kube-flannel"}}}'
"$AXON" install "${FIXED[@]}" --kubeconfig kc.yaml > out 2> err; rc=$?
expect_contains "another CNI is named" "$(cat err)" "Flannel is installed (DaemonSet kube-flannel/kube-flannel-ds)"
finish
