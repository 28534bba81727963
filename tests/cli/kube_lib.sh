# A Kubernetes API for tests (tests/support/kube_test_server.py) over HTTPS
# with client certificates, and helpers to inspect what axon sent it.
# Usage: source lib.sh; make_tmp; source kube_lib.sh; start_kube_server
# Sets PORT, writes kc.yaml (a kubeconfig for it) in $TMP, and stops the
# server on exit. (Same setup as install_kube_test.sh.)

start_kube_server() {
  cd "$TMP" || exit 1
  local q
  q() { "$@" >/dev/null 2>&1 || fail "command failed: $*"; }
  q openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=axon-test-ca" -keyout ca.key -out ca.crt
  q openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=127.0.0.1" -keyout server.key -out server.csr
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' > san.ext
  q openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 -extfile san.ext -out server.crt
  q openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=axon-test-admin/O=system:masters" -keyout client.key -out client.csr
  q openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 -out client.crt
  python3 "$SRC/tests/support/kube_test_server.py" --cert server.crt --key server.key --ca ca.crt \
    --log requests.log > port 2> server.err &
  KUBE_SERVER_PID=$!
  trap 'kill $KUBE_SERVER_PID 2>/dev/null; wait $KUBE_SERVER_PID 2>/dev/null; rm -rf "$TMP"' EXIT
  for _ in $(seq 50); do [[ -s port ]] && break; sleep 0.1; done
  PORT=$(cat port)
  [[ -n $PORT ]] || { fail "test server did not start: $(cat server.err)"; finish; }
  cat > kc.yaml <<KC
apiVersion: v1
kind: Config
current-context: test
clusters:
- name: test
  cluster:
    server: https://127.0.0.1:$PORT
    certificate-authority-data: $(base64 -w0 < ca.crt)
users:
- name: admin
  user:
    client-certificate-data: $(base64 -w0 < client.crt)
    client-key-data: $(base64 -w0 < client.key)
contexts:
- name: test
  context: {cluster: test, user: admin}
KC
}

# log_check PYTHON_EXPR: evaluated with `reqs` = the requests logged since the last reset.
log_check() {
  python3 - "$1" <<'PY'
import json, os, sys
reqs = [json.loads(l) for l in open("requests.log")] if os.path.exists("requests.log") else []
ok = eval(sys.argv[1])
if not ok:
    print("requests were:", file=sys.stderr)
    for r in reqs:
        print(" ", r["method"], r["path"], r["query"], r["contentType"], file=sys.stderr)
sys.exit(0 if ok else 1)
PY
}
reset_log() { : > requests.log; }
