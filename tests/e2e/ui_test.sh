#!/usr/bin/env bash
# The web UI end to end, as the seed uses it: install with the seed's values
# as written (Hubble UI enabled), `status --wait` until the UI is ready,
# `axon port-forward -n kube-system svc/hubble-ui 12000:80`, then a real
# browser (headless Chromium over WebDriver, tests/e2e/ui_check.py) picks a
# namespace and finds the allowed and denied traffic in the flow table and
# the service map, live.
source "$(dirname "$0")/lib.sh"

if [[ ! -x /usr/bin/chromium || ! -x /usr/bin/chromedriver ]]; then
  echo "SKIP: needs Debian's chromium and chromium-driver (scripts/setup installs them)"
  exit 77
fi

cluster_up 2  # the seed's values: hubble, relay and UI enabled
out=$(ax status -o json 2>&1)
expect_eq "status: the UI is ready" \
  "$(python3 -c 'import json,sys; d=json.load(sys.stdin); w=[w for w in d["workloads"] if w["name"]=="hubble-ui"][0]; print(w["state"], w["ready"])' <<<"$out" 2>&1)" "OK 1"

ax apply -f "$SRC/tests/e2e/app.yaml" >/dev/null
ax apply -f "$SRC/tests/e2e/deny-tcp.yaml" >/dev/null
deployments_ready e2e echo tcp client
tcp_ip=$(pods_json e2e app=tcp | python3 -c 'import json,sys; print(json.load(sys.stdin)["items"][0]["status"]["podIP"])')
client=$(ax get pods -n e2e -l app=client -o name | head -1 | cut -d/ -f2)
traffic="ax lab exec -n e2e $client -- sh -c 'curl -s -m 2 http://echo/ >/dev/null; curl -s -m 1 http://$tcp_ip:9100/ >/dev/null; true'"
sleep 2  # the agents enforce the new policy
eval "$traffic"

# --- port-forward, as the seed does with kubectl ------------------------------------
port=12000
if ss -Hltn "sport = :$port" | grep -q .; then port=0; fi  # taken on this machine: any free one
# Not through the ax function: $! must be axon itself, to stop it by pid.
"$AXON" --state-dir "$STATE" --lab "$LAB" port-forward -n kube-system svc/hubble-ui "$port:80" \
  >"$STATE/pf.out" 2>&1 &
pf=$!
trap 'kill $pf 2>/dev/null; wait $pf 2>/dev/null; cleanup' EXIT
wait_for "port-forward listens" 20 grep -q '^Forwarding from 127.0.0.1:[0-9]* -> 8081$' "$STATE/pf.out"
url="http://$(sed -n 's/^Forwarding from \([0-9.:]*\) -> .*/\1/p' "$STATE/pf.out")"
out=$(curl -s -m 5 "$url/healthz")
expect_eq "the UI answers through the forward" "$out" "ok"
wait_for "the UI reads the relay (cluster DNS + the relay's Service)" 60 \
  bash -c "curl -s -m 5 $url/api/status | grep -q '\"relay\":\"connected\"'"

out=$(python3 "$SRC/tests/e2e/ui_check.py" "$url/" e2e --client e2e/client --allowed e2e/echo \
  --denied e2e/tcp --traffic "$traffic" --screenshot "$STATE/ui.png" 2>&1); rc=$?
echo "$out"
expect_eq "the browser finds the flows and the map" "$rc" 0
if [[ -n ${AXON_ARTIFACTS:-} ]]; then cp "$STATE/ui.png" "$AXON_ARTIFACTS/ui.png"; fi

# Errors name what is wrong.
out=$(ax port-forward -n kube-system svc/hubble-ui 12000:81 2>&1); rc=$?
expect_eq "a port the Service lacks: exit 1" "$rc" 1
expect_contains "... and says so" "$out" "has no port 81"
out=$(ax port-forward -n kube-system svc/hubble-ui 12000:x 2>&1); rc=$?
expect_eq "a malformed mapping: exit 2" "$rc" 2
expect_contains "... and shows the form" "$out" "[LOCAL_PORT:]REMOTE_PORT"
out=$(ax port-forward -n kube-system svc/nothing 12000:80 2>&1); rc=$?
expect_eq "an unknown Service: exit 1" "$rc" 1

kill $pf
wait $pf
expect_eq "port-forward ends cleanly on SIGTERM" "$?" 0
finish
