#!/usr/bin/env python3
"""The lab's speed and memory: how long a cluster takes to come up and to
become ready with axon installed, how fast pods become Ready, how long a
policy takes to be enforced on every node, and how much memory an agent
uses when idle.

    bench/lab_bench.py BUILD_DIR [--nodes 3] [--pods 30] [--policy-rounds 20]

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


def run(axon, state, *args, check=True, input=None):
    r = subprocess.run([axon, "--state-dir", state, "--lab", "bench", *args], capture_output=True,
                       text=True, input=input)
    if check and r.returncode != 0:
        raise RuntimeError(f"axon {' '.join(args)} failed ({r.returncode}): {r.stderr.strip()}")
    return r


def wait(what, fn, timeout=300, interval=0.05):
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if fn():
            return time.monotonic() - start
        time.sleep(interval)
    raise RuntimeError(f"{what}: not within {timeout}s")


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build_dir")
    ap.add_argument("--nodes", type=int, default=3)
    ap.add_argument("--pods", type=int, default=30)
    ap.add_argument("--policy-rounds", type=int, default=20)
    args = ap.parse_args()
    axon = os.path.join(args.build_dir, "axon")
    src = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    seed = os.path.join(src, "..", "shared", "seed", "manifests", "cilium-values.yaml")
    state = tempfile.mkdtemp(prefix="axon-bench-")
    try:
        t0 = time.monotonic()
        run(axon, state, "lab", "up", "--name", "bench", "--nodes", str(args.nodes))
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

        print(f"nodes: {args.nodes}")
        print(f"lab up (network, etcd, controller, kubelets):   {t_up:6.2f} s")
        print(f"install -> status --wait ready (agents, operator): {t_ready:6.2f} s")
        print(f"{args.pods} pods created -> all Ready:              {t_pods:6.2f} s ({args.pods / t_pods:.1f} pods/s)")
        if rss:
            print(f"agent RSS idle: mean {statistics.fmean(rss) / 1024:.1f} MiB, max {max(rss) / 1024:.1f} MiB ({len(rss)} agents)")
        return 0
    finally:
        subprocess.run([axon, "--state-dir", state, "lab", "down", "--name", "bench"], capture_output=True)
        shutil.rmtree(state, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
