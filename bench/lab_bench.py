#!/usr/bin/env python3
"""The lab's speed and memory: how long a cluster takes to come up and to
become ready with axon installed, how fast pods become Ready, how long a
policy takes to be enforced on every node, and how much memory an agent
uses when idle.

    bench/lab_bench.py BUILD_DIR [--nodes 3] [--pods 30] [--policy-rounds 20] [--kubernetes]

--kubernetes: the same on the Kubernetes lab (`lab up --kubernetes`: the real
kube-apiserver, controller-manager and scheduler from ../shared/tools/kubernetes
or AXON_KUBE_TOOLS), so the two stores compare in one run.

Runs a lab named "bench" under a private state directory (needs root) and
removes it at the end.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from benchlib import rss_kib, wait


def run(axon, state, *args, check=True, input=None):
    r = subprocess.run([axon, "--state-dir", state, "--lab", "bench", *args], capture_output=True,
                       text=True, input=input)
    if check and r.returncode != 0:
        raise RuntimeError(f"axon {' '.join(args)} failed ({r.returncode}): {r.stderr.strip()}")
    return r


PROBER = r"""
import select, socket, sys, time
targets = sys.argv[1:]
while True:
    socks = {}
    for t in targets:
        s = socket.socket(); s.setblocking(False)
        s.connect_ex((t, 8080)); socks[s] = t
    ok = set()
    deadline = time.time() + 0.03
    while socks and time.time() < deadline:
        _, w, _ = select.select([], list(socks), [], max(0, deadline - time.time()))
        for s in w:
            if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0: ok.add(socks[s])
            s.close(); del socks[s]
    for s in socks: s.close()
    print(f"{time.time():.4f} {len(ok)}", flush=True)
    time.sleep(0.01)
"""


def policy_propagation(axon, state, rounds):
    """Seconds from `axon apply` (and `axon delete`) of a policy to the
    moment every node enforces it, measured with real connections: a prober
    pod connects to one target pod per node every ~40 ms; the targets'
    ingress policy is enforced by each target's own agent."""
    def pods(sel):
        return json.loads(run(axon, state, "get", "pods", "-l", sel, "-o", "json").stdout)["items"]
    prober = {"apiVersion": "apps/v1", "kind": "Deployment",
              "metadata": {"name": "prober", "namespace": "default"},
              "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "prober"}},
                       "template": {"metadata": {"labels": {"app": "prober"}},
                                    "spec": {"containers": [{"name": "p", "image": "axon/http-echo",
                                                             "command": ["axon", "workload", "http-echo"]}]}}}}
    run(axon, state, "apply", "-f", "-", input=json.dumps(prober))
    wait("prober running", lambda: any(p.get("status", {}).get("podIP") for p in pods("app=prober")))
    by_node = {}
    for p in pods("app=many"):
        by_node.setdefault(p["spec"]["nodeName"], p["status"]["podIP"])
    targets = list(by_node.values())
    name = pods("app=prober")[0]["metadata"]["name"]
    proc = subprocess.Popen([axon, "--state-dir", state, "--lab", "bench", "lab", "exec", "-n", "default",
                             name, "--", "python3", "-u", "-c", PROBER, *targets],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    policy = json.dumps({"apiVersion": "cilium.io/v2", "kind": "CiliumNetworkPolicy",
                         "metadata": {"name": "only-nobody", "namespace": "default"},
                         "spec": {"endpointSelector": {"matchLabels": {"app": "many"}},
                                  "ingress": [{"fromEndpoints": [{"matchLabels": {"app": "nobody"}}]}]}})

    def until(want, since):
        # The first probe round that started after `since` and saw `want` reachable targets.
        for line in proc.stdout:
            t, n = line.split()
            if float(t) - 0.03 > since and int(n) == want:
                return float(t) - 0.03 - since
        raise RuntimeError("the prober stopped")

    out = {"applied": [], "deleted": []}
    try:
        until(len(targets), 0)
        for _ in range(rounds):
            t = time.time()
            run(axon, state, "apply", "-f", "-", input=policy)
            out["applied"].append(until(0, t))
            t = time.time()
            run(axon, state, "delete", "cnp", "only-nobody", "-n", "default")
            out["deleted"].append(until(len(targets), t))
    finally:
        proc.kill()
        proc.wait()
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build_dir")
    ap.add_argument("--nodes", type=int, default=3)
    ap.add_argument("--pods", type=int, default=30)
    ap.add_argument("--policy-rounds", type=int, default=20)
    ap.add_argument("--kubernetes", action="store_true")
    args = ap.parse_args()
    axon = os.path.join(args.build_dir, "axon")
    src = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    seed = os.path.join(src, "..", "shared", "seed", "manifests", "cilium-values.yaml")
    state = tempfile.mkdtemp(prefix="axon-bench-")
    try:
        t0 = time.monotonic()
        up = ["lab", "up", "--name", "bench", "--nodes", str(args.nodes)]
        if args.kubernetes:
            tools = os.environ.get("AXON_KUBE_TOOLS", os.path.join(src, "..", "shared", "tools", "kubernetes"))
            up += ["--kubernetes", "--kube-binaries", tools]
        run(axon, state, *up)
        t_up = time.monotonic() - t0
        values = os.path.join(state, "values.yaml")
        shutil.copy(seed, values)
        run(axon, state, "values", "fix", "-f", values, "-w")
        t1 = time.monotonic()
        run(axon, state, "install", "-f", values, "--set", "hubble.relay.enabled=false",
            "--set", "hubble.ui.enabled=false")
        run(axon, state, "status", "--wait", "--wait-duration", "300s")
        t_ready = time.monotonic() - t1

        # Pods to Ready: one Deployment of N echo servers.
        deploy = {
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "many", "namespace": "default"},
            "spec": {"replicas": args.pods, "selector": {"matchLabels": {"app": "many"}},
                     "template": {"metadata": {"labels": {"app": "many"}},
                                  "spec": {"containers": [{"name": "echo", "image": "axon/http-echo",
                                                           "command": ["axon", "workload", "http-echo"]}]}}}}
        t2 = time.monotonic()
        run(axon, state, "apply", "-f", "-", input=json.dumps(deploy))

        def all_ready():
            d = json.loads(run(axon, state, "get", "deploy", "many", "-o", "json").stdout)
            return d.get("status", {}).get("readyReplicas", 0) >= args.pods
        wait("pods ready", all_ready)
        t_pods = time.monotonic() - t2

        # Agent memory, idle (after the pods settled).
        time.sleep(3)
        pods = json.loads(run(axon, state, "get", "pods", "-n", "kube-system", "-o", "json").stdout)["items"]
        rss = []
        for p in pods:
            if p["metadata"]["name"].startswith("axon-agent-"):
                cid = p["status"]["containerStatuses"][0].get("containerID", "")
                if "//" in cid:
                    rss.append(rss_kib(int(cid.split("//")[1])))

        t_prop = policy_propagation(axon, state, args.policy_rounds)

        print(f"nodes: {args.nodes}, store: {'kube-apiserver' if args.kubernetes else 'the lab etcd'}")
        print(f"lab up (network, store, controllers, kubelets): {t_up:6.2f} s")
        print(f"install -> status --wait ready (agents, operator): {t_ready:6.2f} s")
        print(f"{args.pods} pods created -> all Ready:              {t_pods:6.2f} s ({args.pods / t_pods:.1f} pods/s)")
        if rss:
            print(f"agent RSS idle: mean {statistics.fmean(rss) / 1024:.1f} MiB, max {max(rss) / 1024:.1f} MiB ({len(rss)} agents)")
        for what, samples in t_prop.items():
            samples = sorted(samples)
            p50 = samples[len(samples) // 2]
            p99 = samples[min(len(samples) - 1, int(len(samples) * 0.99))]
            print(f"policy {what}, enforced on every node: p50 {p50 * 1000:.0f} ms, "
                  f"p99 {p99 * 1000:.0f} ms, max {samples[-1] * 1000:.0f} ms ({len(samples)} rounds)")
        return 0
    finally:
        subprocess.run([axon, "--state-dir", state, "lab", "down", "--name", "bench"], capture_output=True)
        shutil.rmtree(state, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
