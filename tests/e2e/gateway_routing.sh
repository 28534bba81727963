# Requests through a Gateway from the LAN client (sourced by
# gateway_test.sh once the seed's route, fixed, resolves; uses its lan,
# code, GW): the seed's story, the Gateway's NodePorts, and a second route
# with weights, a redirect, a rewrite, header modifiers, a method match and
# a rule's timeouts.

wait_for "LAN client -> http://$GW/v1/users with Host api.example.com reaches api" 20 \
  bash -c "lan curl -s -m 2 -H 'Host: api.example.com' http://$GW/v1/users | grep -q pod=api-"
got=$(lan curl -s -m 3 -H 'Host: api.example.com' "http://$GW/v1/users?id=7")
expect_contains "... the request as sent" "$got" 'request="GET /v1/users?id=7 HTTP/1.1"'
expect_contains "... X-Forwarded-For names the client" "$got" "> x-forwarded-for: 10.0.0.100"
expect_eq "/v2 -> 404" "$(code -H 'Host: api.example.com' "http://$GW/v2/users")" 404
expect_eq "another host -> 404" "$(code -H 'Host: www.example.com' "http://$GW/v1/users")" 404
expect_eq "/v1x (not an element of /v1) -> 404" "$(code -H 'Host: api.example.com' "http://$GW/v1x")" 404
node_port=$(ax get svc cilium-gateway-shared-gateway -n gateway-api-system -o json |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["spec"]["ports"][0]["nodePort"])')
for n in 10.0.0.11 10.0.0.12; do
  got=$(lan curl -s -m 3 -H 'Host: api.example.com' "http://$n:$node_port/v1/")
  expect_contains "the Gateway's NodePort $n:$node_port routes too" "$got" "pod=api-"
done

ax apply -f - >/dev/null <<'EOF'
apiVersion: v1
kind: Service
metadata: {name: admin-web, namespace: production}
spec:
  selector: {role: admin}
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: features, namespace: production}
spec:
  parentRefs: [{name: shared-gateway, namespace: gateway-api-system}]
  hostnames: [features.example.com]
  rules:
    - matches: [{path: {type: PathPrefix, value: /split}}]
      backendRefs: [{name: api, port: 80, weight: 3}, {name: admin-web, port: 80, weight: 1}]
    - matches: [{path: {type: PathPrefix, value: /old}}]
      filters:
        - type: RequestRedirect
          requestRedirect: {path: {type: ReplacePrefixMatch, replacePrefixMatch: /new}, statusCode: 301}
    - matches: [{path: {type: PathPrefix, value: /rewrite}}]
      filters:
        - type: URLRewrite
          urlRewrite: {hostname: inner.example.com, path: {type: ReplacePrefixMatch, replacePrefixMatch: /inner}}
      backendRefs: [{name: api, port: 80}]
    - matches: [{path: {type: PathPrefix, value: /headers}}]
      filters:
        - type: RequestHeaderModifier
          requestHeaderModifier:
            set: [{name: X-Gateway, value: axon}]
            add: [{name: X-Added, value: "1"}]
            remove: [X-Drop-Me]
        - type: ResponseHeaderModifier
          responseHeaderModifier:
            add: [{name: X-Served-By, value: gateway}]
            remove: [X-Pod-Name]
      backendRefs: [{name: api, port: 80}]
    - matches: [{path: {type: Exact, value: /exact}, method: POST}]
      backendRefs: [{name: admin-web, port: 80}]
    - matches: [{path: {type: PathPrefix, value: /timed}}]
      timeouts: {request: 1s}
      backendRefs: [{name: api, port: 80}]
EOF
wait_for "a second route is served" 30 \
  bash -c "lan curl -s -m 2 -H 'Host: features.example.com' http://$GW/split | grep -q pod="
wait_for "... and both of its backends answer" 30 \
  bash -c "for i in 1 2 3 4 5 6 7 8; do lan curl -s -m 2 -H 'Host: features.example.com' http://$GW/split; done | grep -q pod=admin-"
split=$(lan python3 - "$GW" <<'EOF'
import collections, http.client, sys
c = collections.Counter()
for _ in range(1000):
    h = http.client.HTTPConnection(sys.argv[1], 80, timeout=5)
    h.request("GET", "/split", headers={"Host": "features.example.com"})
    c[h.getresponse().read().decode().split("-")[0]] += 1
    h.close()
print(c["pod=api"], c["pod=admin"])
EOF
)
read -r to_api to_admin <<<"$split"
if ((${to_api:-0} + ${to_admin:-0} == 1000 && ${to_api:-0} >= 675 && ${to_api:-0} <= 825)); then
  pass "weights 3:1 over 1,000 requests: api $to_api, admin $to_admin (750 +-10%)"
else
  fail "weights 3:1 over 1,000 requests: api ${to_api:-?}, admin ${to_admin:-?} (want 750 +-10%, 1000 in all)"
fi
expect_eq "RequestRedirect: 301 to the replaced prefix" \
  "$(lan curl -s -o /dev/null -m 3 -w '%{http_code} %{redirect_url}' -H 'Host: features.example.com' "http://$GW/old/page?q=1")" \
  "301 http://features.example.com/new/page?q=1"
got=$(lan curl -s -m 3 -H 'Host: features.example.com' "http://$GW/rewrite/x")
expect_contains "URLRewrite: the backend gets the new path" "$got" 'request="GET /inner/x HTTP/1.1"'
expect_contains "... and the new host" "$got" "> Host: inner.example.com"
got=$(lan curl -s -i -m 3 -H 'Host: features.example.com' -H 'X-Drop-Me: 1' -H 'X-Gateway: client' "http://$GW/headers")
expect_contains "RequestHeaderModifier set: the backend sees X-Gateway: axon" "$got" "> X-Gateway: axon"
expect_contains "... add: X-Added" "$got" "> X-Added: 1"
if [[ $got != *"X-Drop-Me"* && $got != *"X-Gateway: client"* ]]; then
  pass "... remove: X-Drop-Me gone, and the client's X-Gateway replaced"
else
  fail "... the backend saw X-Drop-Me or the client's X-Gateway: $got"
fi
expect_contains "ResponseHeaderModifier add: the client sees X-Served-By" "$got" "X-Served-By: gateway"
if [[ $got != *"X-Pod-Name"* ]]; then pass "... remove: X-Pod-Name gone"; else fail "... X-Pod-Name still there: $got"; fi
got=$(lan curl -s -m 3 -X POST -H 'Host: features.example.com' "http://$GW/exact")
expect_contains "method POST on an Exact path -> admin" "$got" "pod=admin-"
expect_eq "... GET on it -> 404" "$(code -H 'Host: features.example.com' "http://$GW/exact")" 404
expect_eq "... POST on /exact/more -> 404" "$(code -X POST -H 'Host: features.example.com' "http://$GW/exact/more")" 404
expect_eq "a rule's timeouts.request 1s: an answer in time -> 200" \
  "$(code -H 'Host: features.example.com' -H 'X-Echo-Delay-Ms: 100' "http://$GW/timed")" 200
got=$(lan curl -s -m 5 -w ' %{http_code}' -H 'Host: features.example.com' -H 'X-Echo-Delay-Ms: 3000' "http://$GW/timed")
expect_eq "... an answer 3 s late -> 504 upstream request timeout" "$got" "upstream request timeout 504"

# From a pod (as cilium-cli's pod-to-ingress-service): the Gateway's LB IP
# and its ClusterIP, through the node proxy of the pod's node.
ADMIN=$(ax get pods -n production -l role=admin -o name | head -1 | cut -d/ -f2)
GW_CIP=$(ax get svc cilium-gateway-shared-gateway -n gateway-api-system -o json |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["spec"]["clusterIP"])')
for target in "$GW" "$GW_CIP"; do
  got=$(ax lab exec -n production "$ADMIN" -- curl -s -m 3 -H 'Host: api.example.com' "http://$target/v1/from-pod" 2>/dev/null)
  expect_contains "a pod -> http://$target/v1/ (the Gateway) reaches api" "$got" "pod=api-"
  expect_contains "... X-Forwarded-For names the pod" "$got" "> x-forwarded-for: 10.244."
  expect_eq "... another host -> 404" \
    "$(ax lab exec -n production "$ADMIN" -- curl -s -o /dev/null -w '%{http_code}' -m 3 -H 'Host: www.example.com' "http://$target/v1/" 2>/dev/null)" 404
done
