#!/usr/bin/env bash
# Gateway API end to end, with the seed's gateway-and-route.yaml as pasted,
# on a 2-node lab (either store) with the seed's L2 announcements, requests
# from the LAN client:
# - the seed's Gateway lives in gateway-api-system, which the post never
#   creates: apply refuses it (nothing applied) and says to create it;
# - applied, it warns that the route's backend api-service:8080 is no
#   Service, naming the one that is (api, 80/TCP); the Gateway gets a
#   LoadBalancer Service cilium-gateway-shared-gateway and its address from
#   the LB IPAM pool; the route is Accepted, ResolvedRefs=False
#   BackendNotFound; the listener counts it (attachedRoutes 1); requests
#   it matches get 500 through the Gateway's address;
# - the route pointed at api:80 resolves: curl -H 'Host: api.example.com'
#   http://<gateway IP>/v1/... reaches api's pods (X-Forwarded-For names
#   the client), /v2 and another host get 404, the Gateway's NodePort on
#   each node serves the same; the listener is Programmed;
# - a second route: weights 3:1 within 10% over 1,000 requests, a
#   redirect, a rewrite of path and host, request and response header
#   modifiers as the backend and the client see them, a method match;
# - a listener taking routes from its own namespace only: a route from
#   another is NotAllowedByListeners;
# - a backend in another namespace: RefNotPermitted, then resolved once a
#   ReferenceGrant allows it;
# - TCPRoute (which Cilium lacks): a TCP listener relays connections from
#   the LAN to a TCP echo by the route's weights; a backend that does not
#   resolve: the connection is reset;
# - HTTPS (gateway_https.sh): TLS ends at the node proxy with a certificate
#   from another namespace's Secret once a ReferenceGrant allows it; curl
#   --resolve from the client verifies it; a name the listener does not
#   cover gets no handshake; a Secret that is not PEM is not served;
# - the Gateway deleted: its Service goes; `axon status` counts the
#   programmed Gateways.
source "$(dirname "$0")/lib.sh"

SEED=$SRC/../shared/seed/manifests
if [[ ! -f $SEED/gateway-and-route.yaml ]]; then
  echo "SKIP: the seed's manifests are not in $SEED"
  exit 77
fi
cluster_up 2 -f "$SEED/l2-values.yaml" --set hubble.relay.enabled=false --set hubble.ui.enabled=false
out=$(ax apply -f "$SRC/tests/e2e/l2.yaml" -f "$SEED/lb-ip-pool.yaml" -f "$SEED/l2-announcement-policy.yaml" \
  -f "$SEED/service-fixed-ip.yaml" 2>&1); rc=$?
expect_eq "apply the workloads, the pool, the L2 policy and api's Service" "$rc" 0
deployments_ready production api admin

lan() { ip netns exec "axon-$LAB-client" "$@"; }
# code ARGS...: the HTTP status curl gets from the LAN client.
code() { lan curl -s -o /dev/null -m 3 -w '%{http_code}' "$@"; }
export -f lan code

# status_of KIND NAME NS PYTHON-EXPR: the object's status through a Python expression over `s`.
status_of() {
  ax get "$1" "$2" -n "$3" -o json | python3 -c "import json,sys; s=json.load(sys.stdin).get('status',{}); print($4)"
}
# cond LIST TYPE: "status/reason" of condition TYPE in a conditions list (Python).
COND='lambda cs, t: next((c["status"] + "/" + c["reason"] for c in cs if c["type"] == t), "none")'
route_cond() {  # NAME NS TYPE [KIND]
  status_of "${4:-httproute}" "$1" "$2" "($COND)(s['parents'][0]['conditions'], '$3') if s.get('parents') else 'none'"
}
export -f status_of route_cond
export COND

out=$(ax apply -f "$SEED/gateway-and-route.yaml" 2>&1); rc=$?
expect_eq "the seed's Gateway without its namespace: refused" "$rc" 1
expect_contains "... saying to create gateway-api-system" "$out" 'namespaces "gateway-api-system" not found'
expect_contains "... with the fix" "$out" "create the namespace first"
expect_eq "... nothing applied" "$(ax get gateways -A -o name 2>&1)" ""

echo '{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "gateway-api-system"}}' | ax apply -f - >/dev/null
out=$(ax apply -f "$SEED/gateway-and-route.yaml" 2>&1); rc=$?
expect_eq "the seed's gateway-and-route.yaml applies" "$rc" 0
expect_contains "... warning that api-service:8080 is no Service" "$out" 'Service "api-service" port 8080 not found in production'
expect_contains "... naming the Service that is" "$out" "Services there: api (80/TCP)"
expect_contains "... at its line" "$out" "gateway-and-route.yaml:33"

wait_for "the Gateway's Service cilium-gateway-shared-gateway" 30 \
  bash -c "ax get svc cilium-gateway-shared-gateway -n gateway-api-system -o json | grep -q '\"LoadBalancer\"'"
wait_for "the Gateway gets an address from the pool" 30 \
  bash -c "ax get gateway shared-gateway -n gateway-api-system | grep -q ' 10\.0\.0\.24[0-9] '"
addr=$(status_of gateway shared-gateway gateway-api-system "s['addresses'][0]['value']")
expect_eq "... the Service's LB IP" "$addr" \
  "$(ax get svc cilium-gateway-shared-gateway -n gateway-api-system -o json | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"]["loadBalancer"]["ingress"][0]["ip"])')"
expect_eq "GatewayClass cilium Accepted" "$(ax get gatewayclass cilium -o json | python3 -c "import json,sys; s=json.load(sys.stdin)['status']; print(($COND)(s['conditions'], 'Accepted'))")" "True/Accepted"
expect_eq "Gateway Accepted" "$(status_of gateway shared-gateway gateway-api-system "($COND)(s['conditions'], 'Accepted')")" "True/Accepted"
wait_for "the route gets its status" 20 bash -c '[[ $(route_cond api-route production Accepted) == True/Accepted ]]'
expect_eq "route ResolvedRefs=False BackendNotFound" "$(route_cond api-route production ResolvedRefs)" "False/BackendNotFound"
expect_contains "... the message lists api (80/TCP)" \
  "$(status_of httproute api-route production "s['parents'][0]['conditions'][1]['message']")" "api (80/TCP)"
expect_eq "the listener counts the route" \
  "$(status_of gateway shared-gateway gateway-api-system "s['listeners'][0]['attachedRoutes']")" "1"
wait_for "the listener is Programmed (the node proxies route HTTP)" 20 bash -c \
  "[[ \$(status_of gateway shared-gateway gateway-api-system \"(\$COND)(s['listeners'][0]['conditions'], 'Programmed')\") == True/Programmed ]]"
expect_eq "... and the Gateway" \
  "$(status_of gateway shared-gateway gateway-api-system "($COND)(s['conditions'], 'Programmed')")" "True/Programmed"
GW=$addr
wait_for "the route's missing backend: 500 through the Gateway's address" 30 \
  bash -c "[[ \$(code -H 'Host: api.example.com' http://$GW/v1/users) == 500 ]]"
got=$(ax get gateways -n gateway-api-system)
expect_contains "get gateways: kubectl's columns" "$(head -1 <<<"$got")" "NAME             CLASS    ADDRESS      PROGRAMMED   AGE"
got=$(ax get httproutes -A)
expect_contains "get httproutes -A: hostnames" "$got" '["api.example.com"]'

# The route fixed: api, port 80.
sed -e 's/name: api-service/name: api/' -e 's/port: 8080/port: 80/' "$SEED/gateway-and-route.yaml" >"$STATE/fixed.yaml"
out=$(ax apply -f "$STATE/fixed.yaml" 2>&1); rc=$?
expect_eq "the fixed route applies" "$rc" 0
if [[ $out != *warning* ]]; then pass "... without a warning"; else fail "... warned: $out"; fi
wait_for "... and resolves" 20 bash -c '[[ $(route_cond api-route production ResolvedRefs) == True/ResolvedRefs ]]'
source "$SRC/tests/e2e/gateway_routing.sh"

# A listener for its own namespace only, a route from elsewhere, and a
# backend across namespaces.
ax apply -f - >/dev/null <<'EOF'
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: own, namespace: gateway-api-system}
spec:
  gatewayClassName: cilium
  listeners:
    - {name: web, port: 8080, protocol: HTTP}
    - name: secure
      port: 443
      protocol: HTTPS
      tls: {certificateRefs: [{name: web-tls}]}
---
apiVersion: v1
kind: Secret
metadata: {name: web-tls, namespace: gateway-api-system}
type: kubernetes.io/tls
data: {tls.crt: eA==, tls.key: eA==}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: outsider, namespace: production}
spec:
  parentRefs: [{name: own, namespace: gateway-api-system}]
  rules: [{backendRefs: [{name: api, port: 80}]}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: across, namespace: gateway-api-system}
spec:
  parentRefs: [{name: own}]
  rules: [{backendRefs: [{name: api, namespace: production, port: 80}]}]
EOF
wait_for "a route from another namespace: NotAllowedByListeners" 20 \
  bash -c '[[ $(route_cond outsider production Accepted) == False/NotAllowedByListeners ]]'
wait_for "a backend across namespaces without a grant: RefNotPermitted" 20 \
  bash -c '[[ $(route_cond across gateway-api-system ResolvedRefs) == False/RefNotPermitted ]]'
expect_eq "... the route itself Accepted" "$(route_cond across gateway-api-system Accepted)" "True/Accepted"
ax apply -f - >/dev/null <<'EOF'
apiVersion: gateway.networking.k8s.io/v1beta1
kind: ReferenceGrant
metadata: {name: gateways-to-api, namespace: production}
spec:
  from: [{group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: gateway-api-system}]
  to: [{group: "", kind: Service, name: api}]
EOF
wait_for "... resolved once a ReferenceGrant allows it" 20 \
  bash -c '[[ $(route_cond across gateway-api-system ResolvedRefs) == True/ResolvedRefs ]]'
got=$(ax get referencegrants -n production)
expect_contains "get referencegrants" "$got" "gateways-to-api"

source "$SRC/tests/e2e/gateway_tcp.sh"
source "$SRC/tests/e2e/gateway_https.sh"

ax delete gateway own -n gateway-api-system >/dev/null
wait_for "the Gateway deleted: its Service goes" 20 \
  bash -c '! ax get svc cilium-gateway-own -n gateway-api-system >/dev/null 2>&1'
got=$(ax status 2>&1)
expect_contains "axon status counts the programmed Gateways" "$got" "Gateways:"
expect_contains "... 2/2 (shared-gateway, tcp-gateway)" "$got" "2/2 programmed"
expect_eq "status -o json: gateways" \
  "$(ax status -o json | python3 -c 'import json,sys; g=json.load(sys.stdin)["gateways"]; print(g["total"], g["programmed"])')" "2 2"
expect_eq "the other Gateway's Service stays" \
  "$(ax get svc cilium-gateway-shared-gateway -n gateway-api-system -o name)" "service/cilium-gateway-shared-gateway"
finish
