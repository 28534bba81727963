# HTTPS through a Gateway from the LAN client (sourced by gateway_test.sh;
# uses its lan, code, status_of, route_cond, COND): TLS ends at the node
# proxy with a self-signed certificate from a Secret in another namespace
# (RefNotPermitted until a ReferenceGrant allows it); curl --resolve with
# the certificate as CA reaches api's pods, with X-Forwarded-Proto https;
# a name the listener's hostname does not cover gets no handshake; a
# Secret that is not PEM, or whose key is another certificate's:
# InvalidCertificateRef, not served. TLS
# passthrough: a TLS listener's TLSRoutes chosen by the ClientHello's
# server name, the handshake completed by the backend (openssl s_server,
# its own certificate verified by curl), an unknown name reset.

# self_signed NAME CN SAN...: $STATE/NAME.crt and NAME.key (P-256, 2 days).
self_signed() {
  local name=$1 cn=$2 san
  shift 2
  san=$(printf 'DNS:%s,' "$@")
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=$cn" \
    -addext "subjectAltName=${san%,}" -keyout "$STATE/$name.key" -out "$STATE/$name.crt" 2>/dev/null
}

self_signed tls api.example.com api.example.com www.example.com
ax apply -f - >/dev/null <<EOF
apiVersion: v1
kind: Secret
metadata: {name: api-tls, namespace: production}
type: kubernetes.io/tls
data:
  tls.crt: $(base64 -w0 "$STATE/tls.crt")
  tls.key: $(base64 -w0 "$STATE/tls.key")
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: secure, namespace: gateway-api-system}
spec:
  gatewayClassName: cilium
  listeners:
    - name: https
      port: 443
      protocol: HTTPS
      hostname: "*.example.com"
      tls: {certificateRefs: [{name: api-tls, namespace: production}]}
      allowedRoutes: {namespaces: {from: All}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: secure-api, namespace: production}
spec:
  parentRefs: [{name: secure, namespace: gateway-api-system}]
  hostnames: [api.example.com]
  rules:
    - matches: [{path: {type: PathPrefix, value: /v1}}]
      backendRefs: [{name: api, port: 80}]
EOF
listener_cond() {  # GATEWAY INDEX TYPE
  status_of gateway "$1" gateway-api-system "($COND)(s['listeners'][$2]['conditions'], '$3') if s.get('listeners') else 'none'"
}
export -f listener_cond
wait_for "an HTTPS listener with a Secret in another namespace, no grant: RefNotPermitted" 20 \
  bash -c '[[ $(listener_cond secure 0 ResolvedRefs) == False/RefNotPermitted ]]'
expect_eq "... not Programmed" "$(listener_cond secure 0 Programmed)" "False/Invalid"
ax apply -f - >/dev/null <<'EOF'
apiVersion: gateway.networking.k8s.io/v1beta1
kind: ReferenceGrant
metadata: {name: gateways-to-certs, namespace: production}
spec:
  from: [{group: gateway.networking.k8s.io, kind: Gateway, namespace: gateway-api-system}]
  to: [{group: "", kind: Secret, name: api-tls}]
EOF
wait_for "... resolved once a ReferenceGrant allows it, and Programmed" 30 \
  bash -c '[[ $(listener_cond secure 0 ResolvedRefs) == True/ResolvedRefs && $(listener_cond secure 0 Programmed) == True/Programmed ]]'
wait_for "the HTTPS Gateway gets an address" 30 \
  bash -c "[[ -n \$(status_of gateway secure gateway-api-system \"s.get('addresses', [{}])[0].get('value', '')\") ]]"
SGW=$(status_of gateway secure gateway-api-system "s['addresses'][0]['value']")
https() { lan curl -sS -m 3 --cacert "$STATE/tls.crt" "$@"; }
export -f https
export STATE SGW
wait_for "LAN client -> https://api.example.com/v1/users (--resolve to $SGW) reaches api" 30 \
  bash -c "https --resolve api.example.com:443:$SGW https://api.example.com/v1/users 2>/dev/null | grep -q pod=api-"
got=$(https --resolve api.example.com:443:"$SGW" https://api.example.com/v1/users?id=9 2>&1)
expect_contains "... the certificate verified, the request as sent" "$got" 'request="GET /v1/users?id=9 HTTP/1.1"'
expect_contains "... X-Forwarded-Proto https" "$got" "> x-forwarded-proto: https"
expect_eq "... /v2 -> 404 over TLS" \
  "$(https -o /dev/null -w '%{http_code}' --resolve api.example.com:443:"$SGW" https://api.example.com/v2)" 404
expect_eq "www.example.com (the listener's wildcard, no route) -> 404" \
  "$(https -o /dev/null -w '%{http_code}' --resolve www.example.com:443:"$SGW" https://www.example.com/v1)" 404
https --resolve other.org:443:"$SGW" https://other.org/v1 >/dev/null 2>&1; rc=$?
expect_eq "a name outside the listener's hostname: no handshake (curl 35)" "$rc" 35
expect_eq "plain HTTP to the HTTPS port: no answer" "$(code -H 'Host: api.example.com' "http://$SGW:443/v1")" 000
expect_eq "a Secret whose data is not PEM: InvalidCertificateRef" \
  "$(listener_cond own 1 ResolvedRefs)" "False/InvalidCertificateRef"
own_tls_message() { status_of gateway own gateway-api-system "s['listeners'][1]['conditions'][2]['message']"; }
export -f own_tls_message
expect_contains "... saying so" "$(own_tls_message)" "tls.crt: no PEM certificate"
expect_eq "... and not Programmed" "$(listener_cond own 1 Programmed)" "False/Invalid"
self_signed other other.example.com other.example.com
ax apply -f - >/dev/null <<EOF
apiVersion: v1
kind: Secret
metadata: {name: web-tls, namespace: gateway-api-system}
type: kubernetes.io/tls
data:
  tls.crt: $(base64 -w0 "$STATE/tls.crt")
  tls.key: $(base64 -w0 "$STATE/other.key")
EOF
wait_for "a certificate with another's key: InvalidCertificateRef, saying so (as the proxy would not load it)" 20 \
  bash -c '[[ $(own_tls_message) == *"tls.key is not tls.crt"* ]]'
expect_eq "... still not Programmed" "$(listener_cond own 1 Programmed)" "False/Invalid"
ax delete gateway secure -n gateway-api-system >/dev/null

# TLS passthrough: two TLS servers with their own certificates.
for b in a b; do
  self_signed "$b" "$b.example.com" "$b.example.com"
  ax apply -f - >/dev/null <<EOF
apiVersion: apps/v1
kind: Deployment
metadata: {name: tls-$b, namespace: production}
spec:
  replicas: 1
  selector: {matchLabels: {role: tls-$b}}
  template:
    metadata: {labels: {role: tls-$b}}
    spec:
      containers:
        - name: tls
          image: openssl
          command: [openssl, s_server, -quiet, -www, -accept, "8443", -cert, $STATE/$b.crt, -key, $STATE/$b.key]
---
apiVersion: v1
kind: Service
metadata: {name: tls-$b, namespace: production}
spec:
  selector: {role: tls-$b}
  ports: [{port: 443, targetPort: 8443}]
---
apiVersion: gateway.networking.k8s.io/v1alpha2
kind: TLSRoute
metadata: {name: tls-$b, namespace: production}
spec:
  parentRefs: [{name: passthrough, namespace: gateway-api-system}]
  hostnames: [$b.example.com]
  rules: [{backendRefs: [{name: tls-$b, port: 443}]}]
EOF
done
ax apply -f - >/dev/null <<'EOF'
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: passthrough, namespace: gateway-api-system}
spec:
  gatewayClassName: cilium
  listeners:
    - name: tls
      port: 8443
      protocol: TLS
      hostname: "*.example.com"
      tls: {mode: Passthrough}
      allowedRoutes: {namespaces: {from: All}}
EOF
deployments_ready production tls-a tls-b
wait_for "a TLS passthrough listener: Programmed" 30 \
  bash -c '[[ $(listener_cond passthrough 0 Programmed) == True/Programmed ]]'
expect_eq "... counting both TLSRoutes" \
  "$(status_of gateway passthrough gateway-api-system "s['listeners'][0]['attachedRoutes']")" 2
expect_eq "TLSRoute Accepted" "$(route_cond tls-a production Accepted tlsroute)" "True/Accepted"
PGW=$(status_of gateway passthrough gateway-api-system "s['addresses'][0]['value']")
export PGW
for b in a b; do
  wait_for "LAN client -> https://$b.example.com:8443 (--resolve to $PGW): $b's own certificate verified" 30 \
    bash -c "lan curl -sS -m 3 --cacert $STATE/$b.crt --resolve $b.example.com:8443:$PGW https://$b.example.com:8443/ 2>/dev/null | grep -q s_server"
done
lan curl -sS -m 3 --cacert "$STATE/a.crt" --resolve b.example.com:8443:"$PGW" https://b.example.com:8443/ >/dev/null 2>&1
rc=$?
if [[ $rc != 0 ]]; then pass "... b's name is not answered with a's certificate (curl $rc)"; else fail "b.example.com verified with a's certificate"; fi
lan curl -sS -m 3 -k --resolve c.example.com:8443:"$PGW" https://c.example.com:8443/ >/dev/null 2>&1
rc=$?
if [[ $rc == 35 || $rc == 56 ]]; then pass "a name no TLSRoute has: reset (curl $rc)"; else fail "c.example.com: curl $rc, want 35 or 56"; fi
ax delete gateway passthrough -n gateway-api-system >/dev/null
