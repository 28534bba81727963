# Helpers for end-to-end tests on a real lab. A lab is brought up under a
# private state directory with a unique name and always taken down on exit.
source "$(dirname "${BASH_SOURCE[0]}")/../cli/lib.sh"

if [[ $(id -u) -ne 0 ]]; then
  echo "SKIP: the lab needs root (network namespaces, BPF)"
  exit 77
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
