# TCPRoute through a Gateway's TCP listener from the LAN client (sourced by
# gateway_test.sh; uses its lan, status_of, route_cond, COND): connections
# relayed to a TCP echo by the route's weights (3:1 over 200 connections),
# bytes both ways; a backend that does not resolve: the connection reset.

ax apply -f - >/dev/null <<'YAML'
apiVersion: apps/v1
kind: Deployment
metadata: {name: lines, namespace: production}
spec:
  replicas: 1
  selector: {matchLabels: {role: lines}}
  template:
    metadata: {labels: {role: lines}}
    spec:
      containers:
        - name: echo
          image: axon/tcp-echo
          command: [axon, workload, tcp-echo, --port, "9000"]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: lines-b, namespace: production}
spec:
  replicas: 1
  selector: {matchLabels: {role: lines-b}}
  template:
    metadata: {labels: {role: lines-b}}
    spec:
      containers:
        - name: echo
          image: axon/tcp-echo
          command: [axon, workload, tcp-echo, --port, "9000"]
---
apiVersion: v1
kind: Service
metadata: {name: lines, namespace: production}
spec:
  selector: {role: lines}
  ports: [{port: 9000}]
---
apiVersion: v1
kind: Service
metadata: {name: lines-b, namespace: production}
spec:
  selector: {role: lines-b}
  ports: [{port: 9000}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: tcp-gateway, namespace: gateway-api-system}
spec:
  gatewayClassName: cilium
  listeners:
    - {name: lines, port: 9000, protocol: TCP, allowedRoutes: {namespaces: {from: All}}}
    - {name: broken, port: 9001, protocol: TCP, allowedRoutes: {namespaces: {from: All}}}
---
apiVersion: gateway.networking.k8s.io/v1alpha2
kind: TCPRoute
metadata: {name: lines, namespace: production}
spec:
  parentRefs: [{name: tcp-gateway, namespace: gateway-api-system, sectionName: lines}]
  rules:
    - backendRefs: [{name: lines, port: 9000, weight: 3}, {name: lines-b, port: 9000, weight: 1}]
---
apiVersion: gateway.networking.k8s.io/v1alpha2
kind: TCPRoute
metadata: {name: broken, namespace: production}
spec:
  parentRefs: [{name: tcp-gateway, namespace: gateway-api-system, sectionName: broken}]
  rules:
    - backendRefs: [{name: no-such-service, port: 9000}]
YAML
deployments_ready production lines lines-b
wait_for "the TCP Gateway gets an address" 30 \
  bash -c "ax get gateway tcp-gateway -n gateway-api-system | grep -q ' 10\.0\.0\.2[45][0-9] '"
TGW=$(status_of gateway tcp-gateway gateway-api-system "s['addresses'][0]['value']")
wait_for "TCPRoute Accepted" 20 bash -c '[[ $(route_cond lines production Accepted tcproute) == True/Accepted ]]'
expect_eq "... the TCP listener Programmed" \
  "$(status_of gateway tcp-gateway gateway-api-system "($COND)(s['listeners'][0]['conditions'], 'Programmed')")" "True/Programmed"
# tcp_lines N: N connections, each sending two lines and reading both
# echoes; prints the answering pods' counts and any failure.
cat >"$STATE/tcp_lines.py" <<'PY'
import collections, socket, sys
addr, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
pods, bad = collections.Counter(), []
for i in range(n):
    try:
        s = socket.create_connection((addr, port), timeout=3)
        s.sendall(b"hello %d\nagain\n" % i)
        got = b""
        while got.count(b"\n") < 2:
            chunk = s.recv(4096)
            if not chunk:
                break
            got += chunk
        s.shutdown(socket.SHUT_WR)
        rest = s.recv(4096)  # the echo closes after our FIN: 0 bytes
        s.close()
        lines = got.decode().splitlines()
        if len(lines) != 2 or not lines[0].endswith(" echo=hello %d" % i) or rest:
            bad.append(repr(got + rest))
        pods[lines[0].split()[0].rsplit("-", 2)[0] if lines else "none"] += 1
    except OSError as e:
        bad.append(str(e))
print(pods.get("pod=lines", 0), pods.get("pod=lines-b", 0), len(bad), bad[:1])
PY
wait_for "LAN client -> $TGW:9000 reaches the TCP echo" 20 \
  bash -c "lan python3 $STATE/tcp_lines.py $TGW 9000 1 | grep -q '0 \[\]'"
read -r to_a to_b failed _ <<<"$(lan python3 "$STATE/tcp_lines.py" "$TGW" 9000 200)"
expect_eq "200 connections relayed, both lines echoed on each, half-close passed on" "$failed" 0
if ((${to_a:-0} + ${to_b:-0} == 200 && ${to_a:-0} >= 125 && ${to_a:-0} <= 175)); then
  pass "weights 3:1 over 200 connections: lines $to_a, lines-b $to_b"
else
  fail "weights 3:1 over 200 connections: lines ${to_a:-?}, lines-b ${to_b:-?} (want 150 +-25)"
fi
expect_eq "a TCPRoute whose backend does not resolve: ResolvedRefs=False" \
  "$(route_cond broken production ResolvedRefs tcproute)" "False/BackendNotFound"
got=$(lan python3 "$STATE/tcp_lines.py" "$TGW" 9001 1)
expect_contains "... its connections are reset, not relayed" "$got" "0 0 1"
