# A real Kubernetes API for tests: kube-apiserver 1.26 and etcd from
# ../shared/tools/kubernetes (AXON_KUBE_TOOLS overrides where), on loopback
# ports of their own. axon authenticates with a client certificate signed by
# a CA the test makes (user axon-test-admin, group system:masters); every
# request is written to an audit log the test can inspect.
#
# Usage: source lib.sh; make_tmp; source kube_lib.sh; start_kube [apiserver flags...]
# Sets API (https://127.0.0.1:PORT), writes $TMP/kc.yaml, stops everything on
# exit. Without the binaries (or etcd) the test exits 77: ctest says skipped.

KUBE_TOOLS=${AXON_KUBE_TOOLS:-$SRC/../shared/tools/kubernetes}

free_ports() {  # N: N free loopback TCP ports
  python3 - "$1" <<'PY'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
PY
}

# Daemons a test started (daemon NAME ...): stopped by pid before the server.
DAEMON_PIDS=()
daemon() {  # NAME CMD...: runs CMD in the background, output in NAME.log
  local name=$1
  shift
  "$@" > "$name.log" 2>&1 &
  DAEMON_PIDS+=($!)
  eval "PID_${name//-/_}=$!"
}

# Network namespaces a test made (deleted on exit).
TEST_NETNS=()

stop_kube() {
  local p
  for p in "${DAEMON_PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
  for p in "${DAEMON_PIDS[@]}"; do wait "$p" 2>/dev/null; done
  for p in "${TEST_NETNS[@]}"; do ip netns del "$p" 2>/dev/null; done
  [[ -n ${KUBE_RUN:-} && -d $KUBE_RUN ]] && RUN_DIR=$KUBE_RUN "$KUBE_TOOLS/stop-kube" >/dev/null 2>&1
  rm -rf "$TMP"
}

start_kube() {
  if [[ ! -x $KUBE_TOOLS/start-kube ]] || ! command -v etcd >/dev/null; then
    echo "SKIP: no kube-apiserver (looked in $KUBE_TOOLS; AXON_KUBE_TOOLS) or no etcd" >&2
    exit 77
  fi
  cd "$TMP" || exit 1
  local q
  q() { "$@" >/dev/null 2>&1 || fail "command failed: $*"; }
  q openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=axon-test-ca" -keyout ca.key -out ca.crt
  q openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=axon-test-admin/O=system:masters" -keyout client.key -out client.csr
  q openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 -out client.crt
  cat > audit.yaml <<'AUDIT'
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
- level: Metadata
AUDIT
  local ports
  read -r -a ports <<< "$(free_ports 3)"
  KUBE_RUN=$TMP/kube-run
  trap stop_kube EXIT
  local kc
  # One start at a time: start-kube unpacks the binaries into a shared cache
  # the first time, and two tests unpacking at once would race.
  kc=$(RUN_DIR=$KUBE_RUN ETCD_PORT=${ports[0]} ETCD_PEER_PORT=${ports[1]} KUBE_PORT=${ports[2]} \
       flock "${TMPDIR:-/tmp}/axon-kube-start.lock" "$KUBE_TOOLS/start-kube" --allow-privileged=true --client-ca-file="$TMP/ca.crt" \
       --audit-policy-file="$TMP/audit.yaml" --audit-log-path="$TMP/audit.log" "$@" 2> kube.err)
  if [[ -z $kc ]]; then
    fail "kube-apiserver did not start: $(tail -5 kube.err)"
    finish
  fi
  API=https://127.0.0.1:${ports[2]}
  cat > kc.yaml <<KC
apiVersion: v1
kind: Config
current-context: test
clusters:
- name: test
  cluster:
    server: $API
    certificate-authority-data: $(base64 -w0 < "$KUBE_RUN/ca.crt")
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

# kube METHOD PATH [JSON|@FILE]: a request as another client would make it
# (curl, with the admin certificate; PATCH is a JSON merge patch); prints the body.
kube() {
  local args=(-s --cacert "$KUBE_RUN/ca.crt" --cert client.crt --key client.key -X "$1")
  local type=application/json
  [[ $1 == PATCH ]] && type=application/merge-patch+json
  [[ $# -ge 3 ]] && args+=(-H "Content-Type: $type" --data "$3")
  curl "${args[@]}" "$API$2"
}

# with_token SA [NS]: a kubeconfig SA.yaml whose user is a bound token of
# the ServiceAccount (TokenRequest, as the kubelet mounts for a pod): what
# the cluster lets that account do is what its roles grant, nothing more.
with_token() {
  local ns=${2:-kube-system} token
  token=$(kube POST "/api/v1/namespaces/$ns/serviceaccounts/$1/token" \
    '{"apiVersion":"authentication.k8s.io/v1","kind":"TokenRequest","spec":{"expirationSeconds":3600}}' |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["status"]["token"])') ||
    fail "no token for service account $ns/$1"
  sed -e '/client-certificate-data:/d' -e "s|client-key-data: .*|token: $token|" kc.yaml > "$1.yaml"
}

# log_check PYTHON_EXPR: evaluated with `reqs` = the requests of axon (user
# axon-test-admin, user agent axon/...) the API server completed since the
# last reset_log, in order, each {"verb", "path", "query", "user", "userAgent", "code"}.
log_check() {
  python3 - "$1" <<'PY'
import json, os, sys, urllib.parse
reqs = []
if os.path.exists("audit.log"):
    skip = int(open("audit.mark").read()) if os.path.exists("audit.mark") else 0
    for n, line in enumerate(open("audit.log")):
        if n < skip:
            continue
        e = json.loads(line)
        if e.get("stage") != "ResponseComplete" or not e.get("userAgent", "").startswith("axon/"):
            continue
        u = urllib.parse.urlsplit(e["requestURI"])
        reqs.append({"verb": e["verb"], "path": u.path,
                     "query": dict(urllib.parse.parse_qsl(u.query)),
                     "user": e["user"]["username"], "userAgent": e["userAgent"],
                     "code": e.get("responseStatus", {}).get("code", 0)})
ok = eval(sys.argv[1])
if not ok:
    print("requests were:", file=sys.stderr)
    for r in reqs:
        print(" ", r["verb"], r["path"], r["query"], r["code"], file=sys.stderr)
sys.exit(0 if ok else 1)
PY
}
# forbidden_check SA...: true when each ServiceAccount of kube-system named
# made requests (the whole audit log) and none was refused 403 Forbidden;
# prints the refused ones.
forbidden_check() {
  python3 - "$@" <<'PY'
import json, sys
prefix = "system:serviceaccount:kube-system:"
sa = [e for e in map(json.loads, open("audit.log")) if e.get("stage") == "ResponseComplete"
      and e["user"]["username"].startswith(prefix)]
users = {e["user"]["username"][len(prefix):] for e in sa}
missing = set(sys.argv[1:]) - users
if missing:
    print("no requests from", sorted(missing), file=sys.stderr)
bad = [e for e in sa if e.get("responseStatus", {}).get("code") == 403]
for e in bad:
    print("403:", e["user"]["username"], e["verb"], e["requestURI"], file=sys.stderr)
sys.exit(1 if bad or missing else 0)
PY
}

# Requests logged so far no longer count.
reset_log() {
  sleep 0.2  # the audit log is written when a request completes
  if [[ -f audit.log ]]; then wc -l < audit.log > audit.mark; else echo 0 > audit.mark; fi
}
