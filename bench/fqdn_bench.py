#!/usr/bin/env python3
"""toFQDNs without a first-packet drop (issue 19): a pod resolves a name a
toFQDNs policy allows and connects to the answer's address at once. The node's
DNS proxy must have the address allowed before the pod gets the answer, or the
first SYN is dropped (and curl's connect takes a retransmit, >= 1 s).

Target: 1,000 resolve-then-connect trials with 0 first-packet drops.

Setup: a lab (2 nodes by default) with dnsProxy.minTtl=0, so learned
addresses expire with the lab DNS's TTL (5 s); the seed's production scenario.
The LAN host (namespace axon-<lab>-client, 10.0.0.100) gets 100 more
addresses, 10.0.0.101-200, and runs an HTTP echo server on 8080 on all of
them. 100 headless Services production/fqdn-0..99, each with an
EndpointSlice of one of those addresses, give the lab DNS 100 names. One
CiliumNetworkPolicy on frontend: kube-dns with a dns rule (matchPattern "*",
so the proxy sees the answers) and toFQDNs matchPattern
"fqdn-*.production.svc.cluster.local" on 8080/TCP.

Trial k: name fqdn-(k % 100), checked not to be learned (absent from `axon
fqdn cache list` of frontend's node, i.e. denied right now), then in one `axon
lab exec` of frontend: `dig +short NAME` and at once `curl` of the address.
A first-packet drop: curl's time_connect >= 1 s (SYN retransmitted) or a
status other than 200. After the trials, the DROPPED flows to 10.0.0.101-200
in the node's flow buffer during the trials are counted too (should be 0).

Negative control, before the trials: 20 curls of addresses nobody resolved
(not learned) must all fail, and their drops must show in the flows: the
benchmark can fail.

    bench/fqdn_bench.py BUILD_DIR [--trials 1000] [--names 100] [--nodes 2] [--control 20]

Root; a lab under a private state directory, its name fqdn<pid>; only the
lab's own namespaces are changed; the echo server is stopped by pid and the lab
removed at the end, failed or not.
"""
import argparse
import datetime
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from benchlib import Lab, seed_values, wait

SLOW_CONNECT = 0.9  # s: a SYN retransmit makes curl's connect take >= 1 s
TTL_GONE = 7.0      # s after a name's last answer: its TTL (5 s) plus the agent's ~1 s sweep


def percentile(samples, p):
    s = sorted(samples)
    if not s:
        return float("nan")
    return s[max(0, math.ceil(p / 100 * len(s)) - 1)]  # nearest rank


def flow_time(text):
    # "2026-12-06T21:07:37.793240777Z" -> seconds since the epoch
    day, frac = text.rstrip("Z").split(".") if "." in text else (text.rstrip("Z"), "0")
    t = datetime.datetime.strptime(day, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=datetime.timezone.utc)
    return t.timestamp() + float("0." + frac)


def services_yaml(n):
    docs = []
    for k in range(n):
        docs.append(f"""apiVersion: v1
kind: Service
metadata: {{name: fqdn-{k}, namespace: production}}
spec: {{clusterIP: None, ports: [{{name: http, port: 8080}}]}}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: fqdn-{k}-1
  namespace: production
  labels: {{kubernetes.io/service-name: fqdn-{k}}}
addressType: IPv4
ports: [{{name: http, port: 8080, protocol: TCP}}]
endpoints: [{{addresses: [10.0.0.{101 + k}]}}]""")
    docs.append("""apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: frontend-fqdn-bench, namespace: production}
spec:
  endpointSelector: {matchLabels: {role: frontend}}
  egress:
    - toEndpoints: [{matchLabels: {"k8s:io.kubernetes.pod.namespace": kube-system, k8s-app: kube-dns}}]
      toPorts:
        - ports: [{port: "53", protocol: ANY}]
          rules:
            dns: [{matchPattern: "*"}]
    - toFQDNs: [{matchPattern: "fqdn-*.production.svc.cluster.local"}]
      toPorts: [{ports: [{port: "8080", protocol: TCP}]}]""")
    return "\n---\n".join(docs) + "\n"


# One trial inside the pod: resolve, connect at once; times in ns from the pod's clock.
TRIAL = ('t0=$(date +%s%N); a=$(dig +short +tries=1 +time=2 "$1" | head -1); t1=$(date +%s%N); '
         'r=$(curl -s -o /dev/null -w "%{http_code} %{time_connect}" --connect-timeout 3 -m 5 '
         '"http://$a:8080/"); t2=$(date +%s%N); echo "${a:-none} $r $((t1-t0)) $((t2-t0))"')


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build_dir")
    ap.add_argument("--trials", type=int, default=1000)
    ap.add_argument("--names", type=int, default=100)
    ap.add_argument("--nodes", type=int, default=2)
    ap.add_argument("--control", type=int, default=20)
    args = ap.parse_args()
    if not 1 <= args.names <= 100:
        ap.error("--names: 1..100 (10.0.0.101-200)")
    axon = os.path.abspath(os.path.join(args.build_dir, "axon"))
    src = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    seed = seed_values(src)
    state = tempfile.mkdtemp(prefix="axon-fqdn-bench.")
    lab = Lab(axon, state, f"fqdn{os.getpid() % 100000}")
    client_ns = f"axon-{lab.name}-client"
    addrs = [f"10.0.0.{101 + k}" for k in range(args.names)]
    names = [f"fqdn-{k}.production.svc.cluster.local" for k in range(args.names)]
    echo = None
    t_start = time.monotonic()
    try:
        lab.up(args.nodes, seed, "--set", "dnsProxy.minTtl=0",
               "--set", "hubble.relay.enabled=false", "--set", "hubble.ui.enabled=false",
               "--set", "hubble.eventBufferCapacity=32767")
        lab.run("apply", "-f", os.path.join(src, "scripts", "demo.d", "production.yaml"))

        def ready(ns, deploy):
            d = lab.json("get", "deploy", deploy, "-n", ns)
            return d.get("status", {}).get("readyReplicas", 0) >= d["spec"]["replicas"]
        wait("cluster DNS ready", lambda: ready("kube-system", "coredns"))
        wait("frontend ready", lambda: ready("production", "frontend"), interval=0.5)
        fe = lab.json("get", "pods", "-n", "production", "-l", "role=frontend")["items"][0]
        pod, node = fe["metadata"]["name"], fe["spec"]["nodeName"]
        hubble = f"unix://{state}/{lab.name}/nodes/{node}/run/axon/hubble.sock"

        # The LAN host's extra addresses (its namespace only) and the echo server on all.
        for a in addrs:
            subprocess.run(["ip", "-n", client_ns, "addr", "add", f"{a}/24", "dev", "eth0"], check=True)
        echo = subprocess.Popen(["ip", "netns", "exec", client_ns, axon, "workload", "http-echo",
                                 "--port", "8080"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait("the LAN echo server answers", lambda: subprocess.run(
            ["ip", "netns", "exec", client_ns, "curl", "-sf", "-o", "/dev/null", "-m", "1",
             f"http://{addrs[-1]}:8080/"]).returncode == 0, timeout=30, interval=0.2)

        out = lab.run("apply", "-f", "-", input=services_yaml(args.names))
        if "not enforced" in out.stdout + out.stderr:
            raise RuntimeError(f"the policy is not enforced: {out.stdout}{out.stderr}")

        def curl(addr, timeout=1):
            r = lab.run("lab", "exec", "-n", "production", pod, "--", "curl", "-s", "-o", "/dev/null",
                        "-w", "%{http_code}", "--connect-timeout", str(timeout), f"http://{addr}:8080/",
                        check=False)
            return r.stdout.strip()
        # In force: the LAN host's own address (no name) is denied.
        wait("the policy in force (10.0.0.100 denied)", lambda: curl("10.0.0.100") == "000",
             timeout=60, interval=0.5)

        def learned():
            return {e["ip"] for e in lab.json("fqdn", "cache", "list", "--node", node)}

        def wait_not_learned(addr):
            wait(f"{addr} expired from the DNS cache", lambda: addr not in learned(),
                 timeout=30, interval=0.2)

        # Negative control: addresses nobody resolved; every connect must fail.
        ctl_start = time.time()
        control_ok = 0
        for i in range(args.control):
            a = addrs[i % len(addrs)]
            wait_not_learned(a)
            control_ok += curl(a) == "200"
        ctl_end = time.time()
        last_use = {}  # name index -> monotonic time of its last answer
        time.sleep(1.5)  # the control's SYNs settle into the flow buffer apart from the trials

        # The trials.
        run_start = time.time()
        results = []  # (addr_ok, code, time_connect s, dig ms, dig+curl ms, exec ms)
        waited = 0.0
        for k in range(args.trials):
            i = k % len(names)
            since = time.monotonic() - last_use.get(i, -1e9)
            if since < TTL_GONE:
                time.sleep(TTL_GONE - since)
                waited += TTL_GONE - since
            t = time.monotonic()
            wait_not_learned(addrs[i])
            waited += time.monotonic() - t
            t = time.monotonic()
            r = lab.run("lab", "exec", "-n", "production", pod, "--", "sh", "-c", TRIAL, "trial",
                        names[i], check=False)
            exec_ms = (time.monotonic() - t) * 1000
            last_use[i] = time.monotonic()
            f = r.stdout.split()
            if len(f) != 5:
                results.append((False, "???", 0.0, 0.0, 0.0, exec_ms))
                print(f"trial {k}: unexpected output {r.stdout!r} {r.stderr!r}", file=sys.stderr)
                continue
            a, code, tc, dig_ns, all_ns = f
            results.append((a == addrs[i], code, float(tc), int(dig_ns) / 1e6, int(all_ns) / 1e6, exec_ms))
            if a != addrs[i] or code != "200" or float(tc) >= SLOW_CONNECT:
                print(f"trial {k}: {names[i]} -> {a}: {code}, connect {float(tc) * 1000:.0f} ms",
                      file=sys.stderr)
        run_end = time.time()

        # Drops in the node's flow buffer: the control's and the trials'.
        time.sleep(1.5)
        fl = lab.run("observe", "--server", hubble, "--last", "20000", "--verdict", "DROPPED",
                     "--to-ip", "10.0.0.0/24", "-o", "json").stdout
        oldest = lab.run("observe", "--server", hubble, "--first", "1", "-o", "json").stdout
        ours = set(addrs)
        drops_ctl = drops_run = 0
        for line in fl.splitlines():
            if not line.startswith("{"):
                continue
            flow = json.loads(line).get("flow", {})
            if flow.get("IP", {}).get("destination") not in ours:
                continue
            t = flow_time(flow["time"])
            if ctl_start <= t <= run_start:
                drops_ctl += 1
            elif run_start <= t <= run_end + 1:
                drops_run += 1
        wrapped = False
        for line in oldest.splitlines():
            if line.startswith("{"):
                wrapped = flow_time(json.loads(line)["flow"]["time"]) > ctl_start

        # Figures.
        n = len(results)
        resolved = sum(r[0] for r in results)
        non200 = sum(r[0] and r[1] != "200" for r in results)
        slow = sum(r[0] and r[1] == "200" and r[2] >= SLOW_CONNECT for r in results)
        ok = sum(r[0] and r[1] == "200" and r[2] < SLOW_CONNECT for r in results)
        good = [r for r in results if r[0]]
        tc = [r[2] * 1000 for r in good if r[1] == "200"]
        dig = [r[3] for r in good]
        both = [r[4] for r in good]
        ex = [r[5] for r in results]
        print(f"lab: {args.nodes} nodes, frontend on {node}; {args.names} names cycled, "
              f"each checked not learned before its trial")
        print(f"negative control: {args.control} connects to unresolved addresses, "
              f"{args.control - control_ok} failed as they must, {control_ok} got through; "
              f"{drops_ctl} policy drops in the flows ({ctl_end - ctl_start:.1f} s)")
        print(f"trials:                  {n}")
        print(f"successes (200, connect < {SLOW_CONNECT:g} s): {ok}")
        print(f"first-packet drops:      {slow + non200} ({slow} slow connects, {non200} non-200)")
        print(f"resolve failures:        {n - resolved}")
        print(f"policy drops in flows:   {drops_run} (DROPPED to 10.0.0.101-{100 + args.names} "
              f"during the trials){' WARNING: flow buffer wrapped' if wrapped else ''}")
        print(f"time_connect:            p50 {percentile(tc, 50):.2f} ms, p99 {percentile(tc, 99):.2f} ms, "
              f"max {max(tc, default=float('nan')):.2f} ms")
        print(f"dig:                     p50 {percentile(dig, 50):.1f} ms, p99 {percentile(dig, 99):.1f} ms")
        print(f"dig + curl (in the pod): p50 {percentile(both, 50):.1f} ms, p99 {percentile(both, 99):.1f} ms, "
              f"max {max(both, default=float('nan')):.1f} ms")
        print(f"axon lab exec per trial: p50 {percentile(ex, 50):.0f} ms, p99 {percentile(ex, 99):.0f} ms")
        print(f"trials run time:         {run_end - run_start:.1f} s "
              f"({waited:.1f} s of it checking the names had expired)")
        print(f"total run time:          {time.monotonic() - t_start:.1f} s")
        passed = (ok == args.trials and drops_run == 0 and control_ok == 0 and drops_ctl > 0)
        print(f"target (1,000 resolve-then-connect trials, 0 first-packet drops): "
              f"{'met' if passed and args.trials >= 1000 else 'NOT met'}")
        return 0 if passed else 1
    finally:
        if echo is not None:
            if echo.poll() is None:
                echo.send_signal(signal.SIGTERM)
            try:
                echo.wait(timeout=5)
            except subprocess.TimeoutExpired:
                echo.kill()
                echo.wait()
        for a in addrs:  # removed with the namespace anyway; in case lab down fails
            subprocess.run(["ip", "-n", client_ns, "addr", "del", f"{a}/24", "dev", "eth0"],
                           capture_output=True)
        subprocess.run([axon, "--state-dir", state, "lab", "down", "--name", lab.name],
                       capture_output=True)
        shutil.rmtree(state, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
