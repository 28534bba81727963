# Helpers for end-to-end tests on a real lab. A lab is brought up under a
# private state directory with a unique name and always taken down on exit.
source "$(dirname "${BASH_SOURCE[0]}")/../cli/lib.sh"

if [[ $(id -u) -ne 0 ]]; then
  echo "SKIP: the lab needs root (network namespaces, BPF)"
  exit 77
fi

# AXON_E2E_KUBERNETES=1: the same suite on the Kubernetes lab (lab up
# --kubernetes: kube-apiserver, controller-manager and scheduler 1.26 from
# ../shared/tools/kubernetes or AXON_KUBE_TOOLS); skipped without them.
LAB_UP=()
if [[ ${AXON_E2E_KUBERNETES:-0} == 1 ]]; then
  KUBE_TOOLS=${AXON_KUBE_TOOLS:-$SRC/../shared/tools/kubernetes}
  if [[ ! -e $KUBE_TOOLS/kube-apiserver.xz && ! -x $KUBE_TOOLS/kube-apiserver ]]; then
    echo "SKIP: no kube-apiserver in $KUBE_TOOLS (AXON_KUBE_TOOLS)"
    exit 77
  fi
  LAB_UP=(--kubernetes --kube-binaries "$KUBE_TOOLS")
fi

STATE=$(mktemp -d /tmp/axon-e2e.XXXXXX)
LAB="e2e$(( $$ % 100000 ))"
ax() { "$AXON" --state-dir "$STATE" --lab "$LAB" "$@"; }
export -f ax
export AXON STATE LAB
cleanup() {
  local rc=$?
  if ((rc != 0 || failures != 0)) && [[ -d $STATE/$LAB/logs ]]; then
    echo "--- lab logs (last lines) ---" >&2
    tail -n 15 "$STATE/$LAB"/logs/*.log >&2 2>/dev/null
  fi
  "$AXON" --state-dir "$STATE" lab down --name "$LAB" >/dev/null 2>&1
  rm -rf "$STATE"
}
trap cleanup EXIT

# kapi PATH: GET from the Kubernetes lab's API server as cluster-admin (its
# kubeconfig's token and CA), the JSON on stdout.
kapi() {
  local kube=$STATE/$LAB.kube
  curl -sf --cacert "$kube/ca.crt" -H "Authorization: Bearer $(cat "$kube/admin.token")" \
    "https://127.0.0.1:$(cat "$kube/proxy.port")$1"
}
export -f kapi

# wait_for WHAT SECONDS CMD...: retries CMD until it succeeds (bounded; not a timing assertion).
wait_for() {
  local what=$1 secs=$2
  shift 2
  local until=$((SECONDS + secs))
  while ((SECONDS < until)); do
    if "$@" >/dev/null 2>&1; then pass "$what"; return 0; fi
    sleep 1
  done
  fail "$what: not within ${secs}s: $*"
  return 1
}

# in_pod NS SELECTOR CMD...: runs CMD in the first pod matching SELECTOR.
in_pod() {
  local ns=$1 sel=$2
  shift 2
  local pod
  pod=$(ax get pods -n "$ns" -l "$sel" -o name | head -1 | cut -d/ -f2)
  ax lab exec -n "$ns" "$pod" -- "$@"
}

# pods_json NS SELECTOR: the pods as JSON.
pods_json() { ax get pods -n "$1" -l "$2" -o json; }

# cluster_up NODES [INSTALL ARGS...]: a lab with axon installed from the
# seed's values (fixed), every agent ready, nodes Ready and cluster DNS up.
cluster_up() {
  local nodes=$1
  shift
  ax lab up --name "$LAB" --nodes "$nodes" "${LAB_UP[@]}" >/dev/null 2>&1 || { fail "lab up"; finish; }
  cp "$SRC/../shared/seed/manifests/cilium-values.yaml" "$STATE/values.yaml" 2>/dev/null ||
    cp "$SRC/tests/e2e/seed-values.yaml" "$STATE/values.yaml"  # a copy, for clones without ../shared
  ax values fix -f "$STATE/values.yaml" -w >/dev/null 2>&1
  ax install -f "$STATE/values.yaml" "$@" >/dev/null 2>&1 || { fail "install"; finish; }
  ax status --wait --wait-duration 120s >/dev/null 2>&1 || fail "status --wait"
  wait_for "nodes Ready" 60 bash -c "! ax get nodes | grep -q NotReady"
  wait_for "cluster DNS ready" 90 bash -c "ax get deploy coredns -n kube-system | grep -q ' 2/2 '"
}

# deployments_ready NS NAME...: waits until each Deployment has its replicas ready.
deployments_ready() {
  local ns=$1 d
  shift
  for d in "$@"; do
    wait_for "deployment $ns/$d ready" 90 bash -c "ax get deploy $d -n $ns -o json | python3 -c 'import json,sys; d=json.load(sys.stdin); s=d.get(\"status\",{}); sys.exit(0 if s.get(\"readyReplicas\",0)>=d[\"spec\"][\"replicas\"] else 1)'"
  done
}
