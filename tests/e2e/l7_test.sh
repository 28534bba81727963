#!/usr/bin/env bash
# L7 policy end to end on a 3-node lab (the seed's production scenario):
# - the security defect of issue 19, tried as a new user would: a
#   CiliumNetworkPolicy with http rules on api's port. `apply`, `policy
#   validate` and `status` name the rules as not enforced; the traffic they
#   would filter is dropped, never let through (POST /path1/sub used to get
#   200 from the app), and observe shows the drops as SOCKET_LOOKUP_FAILED
#   with the proxy port; egress http rules the same;
# - the datapath's redirect delivers to the proxy's socket: a transparent
#   listener on the proxy port in the node's namespace (the stand-in for the
#   node proxy) receives the connection with its original destination (the
#   api pod's address and port) and answers it, for a pod on the same node
#   (host routing) and one on another node; killed, nothing gets through.
source "$(dirname "$0")/lib.sh"

cluster_up 3 --set hubble.ui.enabled=false
out=$(ax apply -f "$SRC/scripts/demo.d/production.yaml" 2>&1); rc=$?
expect_eq "apply the seed's scenario" "$rc" 0
deployments_ready production frontend api

FE=$(ax get pods -n production -l role=frontend -o name | head -1 | cut -d/ -f2)
pods=$(ax get pods -n production -o json)
field() { python3 -c "
import json, sys
for p in json.load(sys.stdin)['items']:
    if p['metadata']['name'] == '$1': print(p$2)" <<<"$pods"; }
FE_NODE=$(field "$FE" "['spec']['nodeName']")
FE_IP=$(field "$FE" "['status']['podIP']")
mapfile -t APIS < <(ax get pods -n production -l role=api -o name | cut -d/ -f2)
expect_eq "two api pods" "${#APIS[@]}" 2

# code POD URL [CURL ARGS]: the HTTP status, or "dropped" (no answer).
code() {
  local pod=$1 url=$2
  shift 2
  local got rc
  got=$(ax lab exec -n production "$pod" -- curl -s -o /dev/null -w '%{http_code}' -m 2 "$@" "$url" 2>/dev/null); rc=$?
  ((rc == 28)) && echo dropped || echo "$got"
}
api_ip() { field "$1" "['status']['podIP']"; }

for api in "${APIS[@]}"; do
  expect_eq "no policy: frontend -> $api POST /path1/sub answered by the app" \
    "$(code "$FE" "http://$(api_ip "$api"):8080/path1/sub" -X POST)" 200
done

cat >"$STATE/l7.yaml" <<'YAML'
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: api-l7
  namespace: production
spec:
  endpointSelector: {matchLabels: {role: api}}
  ingress:
    - fromEndpoints: [{matchLabels: {role: frontend}}]
      toPorts:
        - ports: [{port: "8080", protocol: TCP}]
          rules:
            http:
              - {method: GET, path: "/path1$"}
              - method: PUT
                path: "/path2$"
                headers: ["X-My-Header: true"]
YAML
out=$(ax policy validate -f "$STATE/l7.yaml" 2>&1); rc=$?
expect_eq "policy validate: valid (warnings only)" "$rc" 0
expect_contains "policy validate names the http rules as not enforced" "$out" \
  "spec.ingress[0].toPorts[0].rules.http: http rules are not enforced yet"
out=$(ax apply -f "$STATE/l7.yaml" 2>&1); rc=$?
expect_eq "apply the L7 policy" "$rc" 0
expect_contains "apply names the http rules as not enforced, and what happens instead" "$out" \
  "rules.http: http rules are not enforced yet: no L7 proxy runs on the nodes, so the traffic they would filter on this port is dropped"
out=$(ax status 2>&1)
expect_contains "status names them too" "$out" \
  "CiliumNetworkPolicy production/api-l7 spec.ingress[0].toPorts[0].rules.http: http rules are not enforced yet"

# The defect: POST /path1/sub got 200 from the app. Now no request on the
# port gets through, allowed or not (fail closed), until a proxy listens.
for api in "${APIS[@]}"; do
  url=http://$(api_ip "$api"):8080
  wait_for "frontend -> $api POST /path1/sub: dropped, not answered by the app" 20 \
    bash -c "[[ \$(ax lab exec -n production $FE -- curl -s -o /dev/null -w '%{http_code}' -m 1 -X POST $url/path1/sub) == 000 ]]"
  expect_eq "frontend -> $api GET /path1: dropped too (no proxy to allow it)" "$(code "$FE" "$url/path1")" dropped
done
sock() { echo "unix://$STATE/$LAB/nodes/$1/run/axon/hubble.sock"; }
API0_NODE=$(field "${APIS[0]}" "['spec']['nodeName']")
got=$(ax observe --server "$(sock "$API0_NODE")" --last 1000 --verdict DROPPED -o json 2>&1)
drop=$(python3 -c '
import json, sys
for line in sys.stdin:
    line = line.strip()
    if not line.startswith("{"): continue
    f = json.loads(line).get("flow", {})
    if f.get("IP", {}).get("source") == sys.argv[1] and f.get("l4", {}).get("TCP", {}).get("destination_port") == 8080:
        print(f.get("verdict"), f.get("drop_reason_desc"), f.get("proxy_port", 0))
        break' "$FE_IP" <<<"$got")
expect_eq "observe: frontend -> api DROPPED SOCKET_LOOKUP_FAILED, proxy port 15001" "$drop" "DROPPED SOCKET_LOOKUP_FAILED 15001"

# The redirect delivers to the proxy's socket: a transparent listener on
# 15001 in the api pod's node (the node proxy's stand-in) gets the
# connection with its original destination, and its answer reaches the pod.
proxy_stub() {  # NODE: answers 403 naming the original destination, once per connection
  ip netns exec "axon-$LAB-$1" python3 -c '
import socket
s = socket.socket()
s.setsockopt(socket.SOL_IP, 19, 1)  # IP_TRANSPARENT
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 15001)); s.listen(16)
while True:
    c, peer = s.accept()
    c.recv(4096)
    body = "Access denied (stub) to %s:%d from %s\n" % (c.getsockname() + (peer[0],))
    c.sendall(("HTTP/1.1 403 Forbidden\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(body), body)).encode())
    c.close()' &
}
for api in "${APIS[@]}"; do
  node=$(field "$api" "['spec']['nodeName']")
  ip=$(api_ip "$api")
  proxy_stub "$node"
  stub=$!
  trap 'kill $stub 2>/dev/null; cleanup' EXIT
  path="another node (to-container, sent back in for the socket)"
  [[ $node == "$FE_NODE" ]] && path="the same node (host routing)"
  wait_for "frontend -> $api on $path: delivered to the proxy's socket" 20 \
    bash -c "ax lab exec -n production $FE -- curl -s -m 1 http://$ip:8080/path1 | grep -q 'Access denied (stub) to $ip:8080 from $FE_IP'"
  kill "$stub"; wait "$stub" 2>/dev/null
  trap cleanup EXIT
  expect_eq "... the stand-in gone: dropped again, nothing reaches the app" "$(code "$FE" "http://$ip:8080/path1")" dropped
done

# Egress http rules: the same, at the sender.
cat >"$STATE/l7-egress.yaml" <<'YAML'
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: frontend-l7
  namespace: production
spec:
  endpointSelector: {matchLabels: {role: frontend}}
  egress:
    - toEndpoints: [{matchLabels: {role: upstream-service}}]
      toPorts:
        - ports: [{port: "8080", protocol: TCP}]
          rules:
            http: [{method: GET}]
YAML
UP=$(ax get pods -n production -l role=upstream-service -o name | head -1 | cut -d/ -f2)
UP_IP=$(ax get pods -n production -o json | python3 -c "
import json, sys
for p in json.load(sys.stdin)['items']:
    if p['metadata']['name'] == '$UP': print(p['status']['podIP'])")
expect_eq "no egress policy: frontend -> upstream answered" "$(code "$FE" "http://$UP_IP:8080/")" 200
out=$(ax apply -f "$STATE/l7-egress.yaml" 2>&1); rc=$?
expect_eq "apply the egress L7 policy" "$rc" 0
wait_for "egress http rules: frontend -> upstream dropped, not answered" 20 \
  bash -c "[[ \$(ax lab exec -n production $FE -- curl -s -o /dev/null -w '%{http_code}' -m 1 http://$UP_IP:8080/) == 000 ]]"
proxy_stub "$FE_NODE"
stub=$!
trap 'kill $stub 2>/dev/null; cleanup' EXIT
wait_for "... with the stand-in listening on frontend's node: delivered to it, original destination kept" 20 \
  bash -c "ax lab exec -n production $FE -- curl -s -m 1 http://$UP_IP:8080/ | grep -q 'Access denied (stub) to $UP_IP:8080 from $FE_IP'"
kill "$stub"; wait "$stub" 2>/dev/null
trap cleanup EXIT

out=$(ax delete cnp api-l7 frontend-l7 -n production 2>&1); rc=$?
expect_eq "delete the L7 policies" "$rc" 0
for api in "${APIS[@]}"; do
  wait_for "policies gone: frontend -> $api answered by the app again" 20 \
    bash -c "[[ \$(ax lab exec -n production $FE -- curl -s -o /dev/null -w '%{http_code}' -m 1 http://$(api_ip "$api"):8080/x) == 200 ]]"
done
finish
