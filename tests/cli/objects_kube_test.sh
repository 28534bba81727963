#!/usr/bin/env bash
# axon apply/get/delete against a real kube-apiserver (kube_lib.sh) with
# axon installed (its CRDs): server-side apply with axon's field manager,
# kubectl's outputs, nothing sent for invalid manifests.
source "$(dirname "$0")/lib.sh"
make_tmp
source "$(dirname "$0")/kube_lib.sh"
start_kube
SEED="$SRC/../shared/seed/manifests"
K=(--kubeconfig kc.yaml)
"$AXON" install -f "$SEED/cilium-values.yaml" --set gatewayApi=null --set gatewayAPI.enabled=true \
  "${K[@]}" > install.out 2>&1 || fail "install: $(tail -3 install.out)"

# 1. Invalid input: exit 2, and not one request reaches the server.
reset_log
printf 'apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: {ports: [{port: 0}]}\n' |
  "$AXON" "${K[@]}" apply -f - > out 2> err; rc=$?
expect_eq "invalid Service: exit 2" "$rc" 2
expect_contains "... naming the field" "$(cat err)" "spec.ports[0].port: 0 is out of range"
if log_check 'len(reqs) == 0'; then pass "... and nothing was sent"; else fail "requests were sent"; fi

# 2. A namespace that does not exist: exit 1 after one GET, nothing applied.
reset_log
"$AXON" "${K[@]}" apply -f "$SEED/service-fixed-ip.yaml" > out 2> err; rc=$?
expect_eq "missing namespace: exit 1" "$rc" 1
expect_contains "... naming it" "$(cat err)" 'namespaces "production" not found'
if log_check 'len(reqs) > 0 and not any(r["verb"] == "patch" for r in reqs)'; then pass "... and nothing applied"; else fail "applied"; fi

# 3. The namespace with the objects: server-side applies, in dependency order.
reset_log
printf 'apiVersion: v1\nkind: Namespace\nmetadata: {name: production}\n' > ns.yaml
# The seed's default-deny as `axon policy fix` repairs it (as pasted it is refused).
"$AXON" policy fix -f "$SEED/policy-default-deny.yaml" > deny.yaml 2>/dev/null
"$AXON" "${K[@]}" apply -f "$SEED/service-fixed-ip.yaml" -f deny.yaml -f ns.yaml > out 2> err; rc=$?
expect_eq "apply: exit 0" "$rc" 0
expect_eq "apply prints kubectl's lines" "$(cat out)" "namespace/production created
service/api created
ciliumnetworkpolicy.cilium.io/default-deny created"
if log_check '[r["path"] for r in reqs if r["verb"] == "patch"] == ["/api/v1/namespaces/production", "/api/v1/namespaces/production/services/api", "/apis/cilium.io/v2/namespaces/production/ciliumnetworkpolicies/default-deny"] and all(r["query"].get("fieldManager") == "axon" for r in reqs if r["verb"] == "patch")'; then
  pass "server-side apply with fieldManager=axon, Namespace first"
else fail "unexpected PATCH requests"; fi
kube GET /apis/cilium.io/v2/namespaces/production/ciliumnetworkpolicies/default-deny > cnp.json
if python3 -c 'import json; o = json.load(open("cnp.json")); m = [f for f in o["metadata"]["managedFields"] if f["manager"] == "axon"]; assert m and m[0]["operation"] == "Apply"; assert o["spec"]["ingress"] == [{}]'; then
  pass "the stored policy: applied by axon (server-side apply), its spec as fixed"
else fail "stored policy: $(head -c 300 cnp.json)"; fi
reset_log
"$AXON" "${K[@]}" apply -f "$SEED/service-fixed-ip.yaml" > out 2> err
expect_eq "again: unchanged" "$(cat out)" "service/api unchanged"
if log_check 'len(reqs) > 0 and not any(r["verb"] == "patch" and "dryRun" not in r["query"] for r in reqs)'; then pass "... and nothing written"; else fail "wrote"; fi
# A field dropped inside a list item (a rule's http rules): applied, and gone
# from the stored object (the API server's apply works out the removal).
cnp() {
  printf 'apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: api-l7, namespace: production}\n'
  printf 'spec:\n  endpointSelector: {matchLabels: {role: api}}\n  ingress:\n'
  printf '    - fromEndpoints: [{matchLabels: {role: frontend}}]\n      toPorts:\n'
  printf '        - ports: [{port: "8080", protocol: TCP}]\n'
  [[ $1 == l7 ]] && printf '          rules:\n            http: [{method: GET}]\n'
  return 0
}
cnp l7 > l7.yaml
cnp l4 > l4.yaml
"$AXON" "${K[@]}" apply -f l7.yaml > out 2> err
expect_eq "policy with http rules: created" "$(cat out)" "ciliumnetworkpolicy.cilium.io/api-l7 created"
"$AXON" "${K[@]}" apply -f l4.yaml > out 2> err
expect_eq "the same without its http rules: configured" "$(cat out)" "ciliumnetworkpolicy.cilium.io/api-l7 configured"
kube GET /apis/cilium.io/v2/namespaces/production/ciliumnetworkpolicies/api-l7 > cnp.json
if python3 -c 'import json; o = json.load(open("cnp.json")); assert "rules" not in o["spec"]["ingress"][0]["toPorts"][0], o["spec"]'; then
  pass "... and the stored policy has no http rules"
else fail "stored policy kept its rules: $(head -c 400 cnp.json)"; fi
"$AXON" "${K[@]}" apply -f l4.yaml > out 2> err
expect_eq "... again: unchanged" "$(cat out)" "ciliumnetworkpolicy.cilium.io/api-l7 unchanged"
"$AXON" "${K[@]}" delete -f l4.yaml > /dev/null 2>&1

# 4. get: the table and kubectl's List.
"$AXON" "${K[@]}" get svc -n production > out 2> err; rc=$?
expect_eq "get svc: exit 0" "$rc" 0
# The API server gave the Service a ClusterIP and a NodePort, as it does.
if [[ $(head -1 out) =~ ^NAME\ +TYPE\ +CLUSTER-IP\ +EXTERNAL-IP\ +PORT\(S\)\ +AGE$ ]]; then
  pass "get svc: kubectl's header"
else fail "get svc: header [$(head -1 out)]"; fi
if [[ $(sed -n 2p out) =~ ^api\ +LoadBalancer\ +10\.[0-9.]+\ +\<pending\>\ +80:3[0-9]{4}/TCP\ +[0-9]+s$ ]]; then
  pass "get svc: the row with the allocated ClusterIP and NodePort, EXTERNAL-IP pending"
else fail "get svc: row [$(sed -n 2p out)]"; fi
"$AXON" "${K[@]}" get cnp -A -o json > out 2> err
if python3 -c 'import json,sys; d=json.load(open("out")); assert d["kind"] == "List" and d["items"][0]["metadata"]["name"] == "default-deny"'; then
  pass "get cnp -A -o json: a List with the policy"
else fail "get cnp -o json: $(cat out)"; fi

# 5. delete: by name, then NotFound.
reset_log
"$AXON" "${K[@]}" delete svc api -n production > out 2> err; rc=$?
expect_eq "delete: exit 0" "$rc" 0
expect_eq "delete prints kubectl's line" "$(cat out)" 'service "api" deleted'
if log_check 'any(r["verb"] == "delete" and r["path"] == "/api/v1/namespaces/production/services/api" for r in reqs)'; then
  pass "DELETE on the object's path"
else fail "no DELETE"; fi
"$AXON" "${K[@]}" get svc api -n production > out 2> err; rc=$?
expect_eq "get a deleted object: exit 1" "$rc" 1
expect_eq "... kubectl's NotFound" "$(cat err)" 'Error from server (NotFound): services "api" not found'
finish
