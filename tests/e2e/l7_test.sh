#!/usr/bin/env bash
# L7 policy end to end on a 3-node lab (the seed's production scenario):
# - the security defect of issue 19, tried as a new user would: a
#   CiliumNetworkPolicy with http rules on api's port (GET /path1$; PUT
#   /path2$ with a header). POST /path1/sub used to get 200 from the app; now
#   the node's L7 proxy answers 403 "Access denied", allowed requests get
#   the app's 200 through it (another node and, when placed so, the same
#   node), on one keep-alive connection too;
# - the proxy is its own process, the agent's: the agent stopped or killed,
#   nothing reaches the app; restarted, the proxy answers again; the proxy
#   killed mid-request: the agent restarts it, connections made meanwhile
#   wait for it, and no request passes unfiltered;
# - egress http rules: the sender's node proxy (port 15002) answers 403 and
#   forwards the rest from the pod's own address (the destination's L3/L4
#   policy admits frontend only, and the app sees frontend as client).
source "$(dirname "$0")/lib.sh"

# Learned DNS addresses kept for the answers' TTL only (the lab DNS: 5 s).
cluster_up 3 --set hubble.ui.enabled=false --set dnsProxy.minTtl=0
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
expect_eq "policy validate: valid" "$rc" 0
expect_eq "ingress http rules are enforced: no 'not enforced' warning" "$(grep -c 'not enforced' <<<"$out")" 0
out=$(ax apply -f "$STATE/l7.yaml" 2>&1); rc=$?
expect_eq "apply the L7 policy" "$rc" 0

# The defect: POST /path1/sub got 200 from the app. Now the node's proxy
# answers it 403 Access denied (Cilium's), and lets the allowed ones through.
for api in "${APIS[@]}"; do
  url=http://$(api_ip "$api"):8080
  node=$(field "$api" "['spec']['nodeName']")
  path="from another node"
  [[ $node == "$FE_NODE" ]] && path="on the same node (host routing)"
  wait_for "frontend -> $api ($path) POST /path1/sub: 403 from the proxy" 20 \
    bash -c "[[ \$(ax lab exec -n production $FE -- curl -s -o /dev/null -w '%{http_code}' -m 2 -X POST $url/path1/sub) == 403 ]]"
  got=$(ax lab exec -n production "$FE" -- curl -s -m 2 -X POST "$url/path1/sub" 2>/dev/null | od -c | head -1)
  expect_contains "... with Cilium's body (Access denied CR LF)" "$got" 'A   c   c   e   s   s       d   e   n   i   e   d  \r  \n'

  expect_eq "frontend -> $api GET /path1: 200 from the app" "$(code "$FE" "$url/path1")" 200
  got=$(ax lab exec -n production "$FE" -- curl -s -m 2 "$url/path1" 2>/dev/null)
  expect_contains "... the app's answer through the proxy, to frontend's own address (kept)" "$got" \
    "pod=$api request=\"GET /path1 HTTP/1.1\" client=$FE_IP:"
  expect_eq "frontend -> $api GET /path1/sub: 403" "$(code "$FE" "$url/path1/sub")" 403
  expect_eq "frontend -> $api PUT /path2 with X-My-Header: true: 200" \
    "$(code "$FE" "$url/path2" -X PUT -H 'X-My-Header: true')" 200
  expect_eq "frontend -> $api PUT /path2 without the header: 403" "$(code "$FE" "$url/path2" -X PUT)" 403
  expect_eq "frontend -> $api two requests on one keep-alive connection: 200 then 403" \
    "$(ax lab exec -n production "$FE" -- curl -s -o /dev/null -w '%{http_code} ' -m 3 "$url/path1" -X GET --next -s -o /dev/null -w '%{http_code}' -X POST "$url/path1/sub" 2>/dev/null)" "200 403"
done
# Each request is an L7 flow (Hubble's l7.http), request and response.
API0_NODE=$(field "${APIS[0]}" "['spec']['nodeName']")
L7SOCK="unix://$STATE/$LAB/nodes/$API0_NODE/run/axon/hubble.sock"
l7flows() {  # SERVER ARGS...: "verdict type direction method url code" per L7 flow observed
  local server=$1
  shift
  ax observe --server "$server" --last 1000 -o json "$@" 2>/dev/null | python3 -c '
import json, sys
for line in sys.stdin:
    line = line.strip()
    if not line.startswith("{"): continue
    f = json.loads(line).get("flow", {})
    h = f.get("l7", {}).get("http")
    if h is None: continue
    print(f.get("verdict"), f["l7"].get("type"), f.get("traffic_direction"), h.get("method"), h.get("url"), h.get("code", 0))'
}
wait_for "observe --type l7: the denied POST /path1/sub as a DROPPED http request" 10 \
  bash -c "ax observe --server $L7SOCK --last 1000 --type l7 -o json | grep -q '\"url\":\"http://$(api_ip "${APIS[0]}"):8080/path1/sub\"'"
got=$(l7flows "$L7SOCK" --type l7)
expect_contains "... request DROPPED" "$got" "DROPPED REQUEST INGRESS POST http://$(api_ip "${APIS[0]}"):8080/path1/sub 0"
expect_contains "... its 403 response" "$got" "DROPPED RESPONSE INGRESS POST http://$(api_ip "${APIS[0]}"):8080/path1/sub 403"
expect_contains "... GET /path1 FORWARDED with the app's 200" "$got" "FORWARDED RESPONSE INGRESS GET http://$(api_ip "${APIS[0]}"):8080/path1 200"
got=$(l7flows "$L7SOCK" --http-status 403)
expect_eq "observe --http-status 403: only 403 responses" "$(grep -vc ' 403$' <<<"$got")" 0
got=$(l7flows "$L7SOCK" --type l7 --http-method PUT)
expect_eq "observe --http-method PUT: only PUT" "$(awk '{print $4}' <<<"$got" | sort -u)" PUT
got=$(l7flows "$L7SOCK" --type l7 --http-path '/path1$')
expect_eq "observe --http-path /path1\$: only /path1" "$(awk '{print $5}' <<<"$got" | sed 's|.*:8080||' | sort -u)" /path1

out=$(ax status 2>&1)
expect_contains "status shows each node's L7 proxy with its counts" "$out" "L7 proxy:"
expect_contains "... listening on 15001 for ingress http rules" "$out" "http :15001 (ingress), "
expect_contains "... its own process" "$out" ", pid "

OUT=$(ax get pods -n elsewhere -l role=outsider -o name | head -1 | cut -d/ -f2)
expect_eq "outsider -> api (no allow for it): dropped by L3/L4 policy as before" \
  "$(ax lab exec -n elsewhere "$OUT" -- curl -s -o /dev/null -w '%{http_code}' -m 2 "http://$(api_ip "${APIS[0]}"):8080/path1" 2>/dev/null)" 000

# The proxy is the agent's: while the agent of api's node is stopped
# (SIGSTOP) nothing passes; killed, its restart brings the proxy back and
# no request was let through unfiltered meanwhile.
API0=${APIS[0]}
API0_NODE=$(field "$API0" "['spec']['nodeName']")
API0_URL=http://$(api_ip "$API0"):8080
agent_pid() {
  ax get pods -n kube-system -o json | python3 -c "
import json, sys
for p in json.load(sys.stdin)['items']:
    if p['metadata']['name'].startswith('axon-agent') and p['spec'].get('nodeName') == '$1':
        print(p['status']['containerStatuses'][0]['containerID'].split('//')[1])"
}
pid=$(agent_pid "$API0_NODE")
kill -STOP "$pid"
# The proxy process still runs: it answers from what the agent told it, or
# (asking the stopped agent) denies after its answer timeout.
got=$(code "$FE" "$API0_URL/path1/sub" -X POST)
[[ $got == dropped || $got == 403 ]] && got="not the app"
expect_eq "agent stopped: POST /path1/sub does not reach the app" "$got" "not the app"
kill -KILL "$pid"; kill -CONT "$pid" 2>/dev/null
got=$(code "$FE" "$API0_URL/path1/sub" -X POST)
[[ $got == dropped || $got == 403 ]] && got="not the app"  # dropped until the agent is back, then 403
expect_eq "agent killed (its proxy with it): POST /path1/sub does not reach the app" "$got" "not the app"
wait_for "agent restarted: its proxy answers again (GET /path1 200)" 60 \
  bash -c "[[ \$(ax lab exec -n production $FE -- curl -s -o /dev/null -w '%{http_code}' -m 2 $API0_URL/path1) == 200 ]]"
expect_eq "... and denies again (POST /path1/sub 403)" "$(code "$FE" "$API0_URL/path1/sub" -X POST)" 403

# The proxy process killed mid-request: the request in flight fails (never
# reaches the app unfiltered), the agent starts a new proxy on the same
# listening sockets, a connection made meanwhile waits in their backlog and
# gets the policy's answer, denied requests stay denied throughout.
proxy_pid() {  # NODE: the pid of its HTTP proxy, from axon status
  ax status 2>/dev/null | grep -E "(^|[[:space:]])$1[[:space:]]+http :15001" | sed -nE 's/.*, pid ([0-9]+) up .*/\1/p'
}
export -f proxy_pid
wait_for "status: the HTTP proxy of $API0_NODE runs, its own process" 20 bash -c "[[ -n \$(proxy_pid $API0_NODE) ]]"
ppid=$(proxy_pid "$API0_NODE")
expect_eq "... a child of the agent" "$(ps -o ppid= -p "$ppid" | tr -d ' ')" "$(agent_pid "$API0_NODE")"
head -c 60000 /dev/zero >"$STATE/body"
ax lab exec -n production "$FE" -- curl -s -o /dev/null -w '%{http_code}' -m 30 -X PUT -H 'X-My-Header: true' \
  -H 'Expect:' --limit-rate 5k --data-binary @"$STATE/body" "$API0_URL/path2" >"$STATE/slow.code" 2>/dev/null &
slow=$!
sleep 2
kill -KILL "$ppid"
got=$(code "$FE" "$API0_URL/path1")
expect_eq "proxy killed: a request made right after waits for the new proxy and gets its 200" "$got" 200
wait "$slow"
expect_eq "... the upload in flight failed (000), it did not reach the app unfiltered" "$(cat "$STATE/slow.code")" 000
denied=()
for i in 1 2 3 4 5; do
  kill -KILL "$(proxy_pid "$API0_NODE")" 2>/dev/null
  denied+=("$(code "$FE" "$API0_URL/path1/sub" -X POST)")
done
expect_eq "proxy killed five times: POST /path1/sub never reaches the app" "$(printf '%s\n' "${denied[@]}" | grep -vcE '^(403|dropped|000)$')" 0
wait_for "status: the agent restarted its proxy (a new pid, restarts counted)" 20 \
  bash -c "ax status 2>/dev/null | grep -E '$API0_NODE[[:space:]]+http :15001' | grep -q 'restarts (last: killed by Killed)'"
new=$(proxy_pid "$API0_NODE")
expect_eq "... a new process" "$([[ -n $new && $new != "$ppid" ]] && echo yes)" yes
expect_eq "... GET /path1 200 again" "$(code "$FE" "$API0_URL/path1")" 200
expect_eq "... POST /path1/sub 403 again" "$(code "$FE" "$API0_URL/path1/sub" -X POST)" 403

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
    - toEndpoints: [{matchLabels: {role: upstream-service}}, {matchLabels: {role: local-echo}}]
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
# upstream admits frontend only (L3/L4): the proxy's upstream connection
# must still be frontend's (the pod's address kept), or it is dropped.
cat >"$STATE/upstream-in.yaml" <<'YAML'
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: upstream-from-frontend
  namespace: production
spec:
  endpointSelector: {matchLabels: {role: upstream-service}}
  ingress:
    - fromEndpoints: [{matchLabels: {role: frontend}}]
      toPorts: [{ports: [{port: "8080", protocol: TCP}]}]
YAML
out=$(ax apply -f "$STATE/l7-egress.yaml" -f "$STATE/upstream-in.yaml" 2>&1); rc=$?
expect_eq "apply the egress L7 policy (and upstream's ingress allow for frontend)" "$rc" 0
expect_eq "egress http rules are enforced: no 'not enforced' warning" "$(grep -c 'not enforced' <<<"$out")" 0
out=$(ax status 2>&1)
expect_eq "status: nothing named as not enforced" "$(grep -c 'not enforced' <<<"$out")" 0
expect_contains "status: the egress proxy listens on 15002" "$out" ":15002 (egress)"
wait_for "egress http rules: frontend -> upstream POST /: 403 from frontend's node proxy" 20 \
  bash -c "[[ \$(ax lab exec -n production $FE -- curl -s -o /dev/null -w '%{http_code}' -m 2 -X POST http://$UP_IP:8080/) == 403 ]]"
got=$(ax lab exec -n production "$FE" -- curl -s -m 2 -X POST "http://$UP_IP:8080/" 2>/dev/null | od -c | head -1)
expect_contains "... with Cilium's body" "$got" 'A   c   c   e   s   s       d   e   n   i   e   d  \r  \n'
expect_eq "frontend -> upstream GET /: 200" "$(code "$FE" "http://$UP_IP:8080/x")" 200
got=$(ax lab exec -n production "$FE" -- curl -s -m 2 "http://$UP_IP:8080/x" 2>/dev/null)
expect_contains "... the app's answer, to frontend's own address (the proxy keeps the source)" "$got" \
  "pod=$UP request=\"GET /x HTTP/1.1\" client=$FE_IP"
expect_eq "frontend -> upstream two requests on one keep-alive connection: 200 then 403" \
  "$(ax lab exec -n production "$FE" -- curl -s -o /dev/null -w '%{http_code} ' -m 3 "http://$UP_IP:8080/a" --next -s -o /dev/null -w '%{http_code}' -X DELETE "http://$UP_IP:8080/a" 2>/dev/null)" "200 403"
expect_eq "frontend -> api (no egress allow): dropped by L3/L4 policy" \
  "$(code "$FE" "http://$(api_ip "${APIS[0]}"):8080/path1")" dropped
FESOCK="unix://$STATE/$LAB/nodes/$FE_NODE/run/axon/hubble.sock"
got=$(l7flows "$FESOCK" --type l7)
expect_contains "observe on frontend's node: the denied POST, an EGRESS L7 flow" "$got" \
  "DROPPED RESPONSE EGRESS POST http://$UP_IP:8080/ 403"
expect_contains "... the allowed GET FORWARDED with the app's 200" "$got" "FORWARDED RESPONSE EGRESS GET http://$UP_IP:8080/x 200"

# Egress http rules to a pod of the same node that has ingress http rules of
# its own: the sender's proxy applies both (its upstream connection is not
# redirected to the proxy a second time).
cat >"$STATE/local-echo.yaml" <<YAML
apiVersion: v1
kind: Pod
metadata:
  name: local-echo
  namespace: production
  labels: {role: local-echo}
spec:
  nodeName: $FE_NODE
  containers:
    - name: echo
      image: axon/http-echo
      command: [axon, workload, http-echo, --port, "8080"]
---
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: local-echo-l7
  namespace: production
spec:
  endpointSelector: {matchLabels: {role: local-echo}}
  ingress:
    - fromEndpoints: [{matchLabels: {role: frontend}}]
      toPorts:
        - ports: [{port: "8080", protocol: TCP}]
          rules:
            http: [{path: "/ok"}]
YAML
out=$(ax apply -f "$STATE/local-echo.yaml" 2>&1); rc=$?
expect_eq "apply a pod on frontend's node with ingress http rules (path /ok)" "$rc" 0
local_ip() {
  ax get pods -n production -o json | python3 -c "
import json, sys
for p in json.load(sys.stdin)['items']:
    if p['metadata']['name'] == 'local-echo' and p.get('status', {}).get('phase') == 'Running': print(p['status'].get('podIP', ''))"
}
export -f local_ip
wait_for "local-echo running" 60 bash -c '[[ -n $(local_ip) ]]'
LE_IP=$(local_ip)
wait_for "same node, egress and ingress http rules: GET /ok 200" 20 \
  bash -c "[[ \$(ax lab exec -n production $FE -- curl -s -o /dev/null -w '%{http_code}' -m 2 http://$LE_IP:8080/ok) == 200 ]]"
got=$(ax lab exec -n production "$FE" -- curl -s -m 2 "http://$LE_IP:8080/ok" 2>/dev/null)
expect_contains "... the app's answer, to frontend's own address" "$got" "pod=local-echo request=\"GET /ok HTTP/1.1\" client=$FE_IP"
expect_eq "... GET /no: 403 (the destination's ingress rules)" "$(code "$FE" "http://$LE_IP:8080/no")" 403
expect_eq "... POST /ok: 403 (the sender's egress rules)" "$(code "$FE" "http://$LE_IP:8080/ok" -X POST)" 403
out=$(ax delete pod local-echo -n production 2>&1); rc=$?
expect_eq "delete local-echo" "$rc" 0

# dns rules: the DNS proxy (port 15053, UDP and TCP) answers names outside
# the list REFUSED and forwards the rest to the cluster DNS.
cat >"$STATE/dns.yaml" <<'YAML'
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: frontend-dns
  namespace: production
spec:
  endpointSelector: {matchLabels: {role: frontend}}
  egress:
    - toEndpoints: [{matchLabels: {"k8s:io.kubernetes.pod.namespace": kube-system, k8s-app: kube-dns}}]
      toPorts:
        - ports: [{port: "53", protocol: ANY}]
          rules:
            dns: [{matchPattern: "*.production.svc.cluster.local"}]
YAML
out=$(ax apply -f "$STATE/dns.yaml" 2>&1); rc=$?
expect_eq "apply dns rules on frontend's egress" "$rc" 0
expect_eq "dns rules are enforced: no 'not enforced' warning" "$(grep -c 'not enforced' <<<"$out")" 0
API_VIP=$(ax get svc -n production api-service -o json | python3 -c 'import json,sys; print(json.load(sys.stdin)["spec"]["clusterIP"])')
dig_in() { ax lab exec -n production "$FE" -- dig +tries=1 +time=2 "$@" 2>/dev/null; }
wait_for "dns rules: api-service.production.svc.cluster.local resolved through the DNS proxy (UDP)" 20 \
  bash -c "ax lab exec -n production $FE -- dig +short +tries=1 +time=2 api-service.production.svc.cluster.local | grep -qx '$API_VIP'"
expect_eq "... over TCP too" "$(dig_in +short +tcp api-service.production.svc.cluster.local)" "$API_VIP"
got=$(dig_in kubernetes.default.svc.cluster.local)
expect_contains "a name outside the list: REFUSED (Cilium's default)" "$got" "status: REFUSED"
got=$(dig_in +tcp kubernetes.default.svc.cluster.local)
expect_contains "... over TCP too" "$got" "status: REFUSED"
dnsflows() {  # "verdict type query rcode ips" per L7 DNS flow on frontend's node
  ax observe --server "$FESOCK" --last 2000 --type l7 -o json 2>/dev/null | python3 -c '
import json, sys
for line in sys.stdin:
    line = line.strip()
    if not line.startswith("{"): continue
    f = json.loads(line).get("flow", {})
    d = f.get("l7", {}).get("dns")
    if d is None: continue
    print(f.get("verdict"), f["l7"].get("type"), d.get("query"), d.get("rcode", 0), ",".join(d.get("ips", [])))'
}
export -f dnsflows
export FESOCK
wait_for "observe: the refused query, a DROPPED L7 DNS flow" 10 \
  bash -c "dnsflows | grep -qx 'DROPPED REQUEST kubernetes.default.svc.cluster.local. 0 '"
got=$(dnsflows)
expect_contains "... its REFUSED answer (rcode 5)" "$got" "DROPPED RESPONSE kubernetes.default.svc.cluster.local. 5"
expect_contains "... the allowed answer FORWARDED with its address" "$got" "FORWARDED RESPONSE api-service.production.svc.cluster.local. 0 $API_VIP"
out=$(ax status 2>&1)
expect_contains "status: the DNS proxy with its counts" "$out" "dns :15053, "

# toFQDNs: a name the lab's DNS answers (a headless Service whose endpoint
# is the LAN host 10.0.0.100, outside the cluster). Its address is allowed
# once an answer for the name went through the DNS proxy, before the pod gets
# the answer; other names of the same address allow nothing; it expires
# with the answer's TTL.
ip netns exec "axon-$LAB-client" "$AXON" workload http-echo --port 8080 >"$STATE/lan-echo.log" 2>&1 &
lan_echo=$!
trap 'kill $lan_echo 2>/dev/null; cleanup' EXIT
for name in lan-host lan-alias; do  # two names of the LAN host
  cat <<YAML
apiVersion: v1
kind: Service
metadata: {name: $name, namespace: production}
spec: {clusterIP: None, ports: [{name: http, port: 8080}]}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: $name-1
  namespace: production
  labels: {kubernetes.io/service-name: $name}
addressType: IPv4
ports: [{name: http, port: 8080, protocol: TCP}]
endpoints: [{addresses: [10.0.0.100]}]
---
YAML
done >"$STATE/fqdn.yaml"
cat >>"$STATE/fqdn.yaml" <<'YAML'
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: frontend-fqdn
  namespace: production
spec:
  endpointSelector: {matchLabels: {role: frontend}}
  egress:
    - toEndpoints: [{matchLabels: {"k8s:io.kubernetes.pod.namespace": kube-system, k8s-app: kube-dns}}]
      toPorts:
        - ports: [{port: "53", protocol: ANY}]
          rules:
            dns: [{matchPattern: "*"}]
    - toFQDNs: [{matchName: lan-host.production.svc.cluster.local}]
      toPorts: [{ports: [{port: "8080", protocol: TCP}]}]
YAML
out=$(ax apply -f "$STATE/fqdn.yaml" 2>&1); rc=$?
expect_eq "apply toFQDNs with its dns rule (and the LAN host's two names)" "$rc" 0
expect_eq "... no 'not enforced' warning" "$(grep -c 'not enforced' <<<"$out")" 0
wait_for "the lab DNS answers lan-host with the LAN host's address" 30 \
  bash -c "ax lab exec -n production $FE -- dig +short +tries=1 +time=2 lan-alias.production.svc.cluster.local | grep -qx 10.0.0.100"
expect_eq "toFQDNs: the address is not allowed by another name's answer (lan-alias)" "$(code "$FE" http://10.0.0.100:8080/)" dropped
got=$(ax lab exec -n production "$FE" -- sh -c 'dig +short +tries=1 +time=2 lan-host.production.svc.cluster.local && curl -s -o /dev/null -w "%{http_code}" -m 2 http://10.0.0.100:8080/' 2>/dev/null | tr '\n' ' ')
expect_eq "resolved lan-host, then at once curl the address: 200 (no first-packet drop)" "$got" "10.0.0.100 200"
got=$(ax fqdn cache list --node "$FE_NODE" -o json 2>&1)
expect_contains "fqdn cache list: the name, its address and the selector" "$got" '"fqdn": "lan-host.production.svc.cluster.local."'
expect_contains "... selected by the policy's matchName" "$got" '"matchName:lan-host.production.svc.cluster.local."'
got=$(ax fqdn cache list --node "$FE_NODE" 2>&1)
expect_eq "... as a table: name, address, identity, selector" \
  "$(grep -cE '^[^ ]+ +lan-host\.production\.svc\.cluster\.local\. +10\.0\.0\.100 .* [0-9]+ +matchName:lan-host' <<<"$got")" 1
wait_for "after the answer's TTL (5 s) the address is denied again" 30 \
  bash -c "[[ \$(ax lab exec -n production $FE -- curl -s -o /dev/null -w '%{http_code}' -m 1 http://10.0.0.100:8080/) == 000 ]]"
got=$(ax fqdn cache list --node "$FE_NODE" -o json 2>&1)
expect_eq "... and gone from the cache" "$(grep -c 'lan-host' <<<"$got")" 0
kill "$lan_echo"; wait "$lan_echo" 2>/dev/null
trap cleanup EXIT
ax delete -f "$STATE/fqdn.yaml" >/dev/null 2>&1

out=$(ax delete cnp api-l7 frontend-l7 upstream-from-frontend local-echo-l7 frontend-dns -n production 2>&1); rc=$?
expect_eq "delete the L7 policies" "$rc" 0
for api in "${APIS[@]}"; do
  wait_for "policies gone: frontend -> $api answered by the app again" 20 \
    bash -c "[[ \$(ax lab exec -n production $FE -- curl -s -o /dev/null -w '%{http_code}' -m 1 http://$(api_ip "$api"):8080/x) == 200 ]]"
done
finish
