#!/usr/bin/env python3
"""The cost of observing: pod-to-pod throughput (iperf3) and TCP
connections/s between two pods on different lab nodes, with Hubble's
observer off, on, and on with a follower (`axon observe -f` through the
relay reading every flow), alternating in the same run.

    bench/observer_bench.py BUILD_DIR [--rounds 3] [--iperf-seconds 3] [--connect-seconds 2]

Switching the observer is what an operator does: `axon install --set
hubble.enabled=...` then the agent pods are deleted so the DaemonSet starts
them with the new ConfigMap (`kubectl rollout restart ds/cilium`'s effect).
Runs a lab named "obsbench" under a private state directory (needs root)
and removes it at the end.
"""
import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

from benchlib import wait

LAB = "obsbench"

CONNECT_LOOP = r"""
import socket, sys, time
host, port, secs = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
n = 0
end = time.monotonic() + secs
while time.monotonic() < end:
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b'\x01\x00\x00\x00\x00\x00\x00\x00')
    s.connect((host, port))
    s.close()
    n += 1
print(n / secs)
"""


def run(axon, state, *args, check=True, input=None):
    r = subprocess.run([axon, "--state-dir", state, "--lab", LAB, *args], capture_output=True,
                       text=True, input=input)
    if check and r.returncode != 0:
        raise RuntimeError(f"axon {' '.join(args)} failed ({r.returncode}): {r.stderr.strip()}")
    return r


def pods(axon, state, ns, selector=None):
    args = ["get", "pods", "-n", ns, "-o", "json"]
    if selector:
        args += ["-l", selector]
    return json.loads(run(axon, state, *args).stdout)["items"]


def cpu_seconds(pid):
    """User + system CPU seconds of a process (the agent's)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def agent_pids(axon, state):
    out = []
    for p in pods(axon, state, "kube-system"):
        if p["metadata"]["name"].startswith("axon-agent-"):
            cid = p.get("status", {}).get("containerStatuses", [{}])[0].get("containerID", "")
            if "//" in cid:
                out.append(int(cid.split("//")[1]))
    return out


def set_observer(axon, state, values, mode):
    on = mode != "off"
    run(axon, state, "install", "-f", values, "--set", f"hubble.enabled={str(on).lower()}",
        "--set", f"hubble.relay.enabled={str(on).lower()}", "--set", "hubble.ui.enabled=false")
    old = {p["metadata"]["name"] for p in pods(axon, state, "kube-system", "app.kubernetes.io/name=axon-agent")}
    for name in old:
        run(axon, state, "delete", "pod", name, "-n", "kube-system", "--ignore-not-found")

    def fresh_agents_ready():
        now = pods(axon, state, "kube-system", "app.kubernetes.io/name=axon-agent")
        return len(now) == 2 and not any(p["metadata"]["name"] in old for p in now) and all(
            any(c.get("type") == "Ready" and c.get("status") == "True"
                for c in p.get("status", {}).get("conditions", [])) for p in now)
    wait("agents restarted", fresh_agents_ready, interval=0.2)
    run(axon, state, "status", "--wait", "--wait-duration", "120s")
    if on:
        # Flows reach the relay: the agents serve again.
        wait("relay answers", lambda: run(axon, state, "observe", "--last", "1", "-o", "json",
                                          check=False).returncode == 0, interval=0.2)
    time.sleep(1)


def measure(axon, state, client, server_ip, iperf_s, connect_s):
    r = run(axon, state, "lab", "exec", "-n", "default", client, "--", "iperf3", "-c", server_ip,
            "-t", str(iperf_s), "-J")
    bw = json.loads(r.stdout)["end"]["sum_received"]["bits_per_second"] / 1e9
    r = run(axon, state, "lab", "exec", "-n", "default", client, "--", "python3", "-c",
            CONNECT_LOOP, server_ip, "8080", str(connect_s))
    return bw, float(r.stdout.strip())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build_dir")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--iperf-seconds", type=int, default=3)
    ap.add_argument("--connect-seconds", type=float, default=2)
    args = ap.parse_args()
    axon = os.path.join(args.build_dir, "axon")
    src = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    seed = os.path.join(src, "..", "shared", "seed", "manifests", "cilium-values.yaml")
    if not os.path.exists(seed):
        seed = os.path.join(src, "tests", "e2e", "seed-values.yaml")
    state = tempfile.mkdtemp(prefix="axon-obsbench-")
    follower = None
    servers = []
    try:
        run(axon, state, "lab", "up", "--name", LAB, "--nodes", "2")
        values = os.path.join(state, "values.yaml")
        shutil.copy(seed, values)
        run(axon, state, "values", "fix", "-f", values, "-w")
        run(axon, state, "install", "-f", values, "--set", "hubble.ui.enabled=false")
        run(axon, state, "status", "--wait", "--wait-duration", "300s")
        nodes = sorted(n["metadata"]["name"] for n in
                       json.loads(run(axon, state, "get", "nodes", "-o", "json").stdout)["items"])
        for name, node in (("client", nodes[0]), ("server", nodes[1])):
            pod = {"apiVersion": "v1", "kind": "Pod",
                   "metadata": {"name": name, "namespace": "default", "labels": {"app": name}},
                   "spec": {"nodeName": node,
                            "containers": [{"name": "c", "image": "axon/http-echo",
                                            "command": ["axon", "workload", "http-echo"]}]}}
            run(axon, state, "apply", "-f", "-", input=json.dumps(pod))
        wait("pods running", lambda: all(p.get("status", {}).get("podIP") for p in
                                         pods(axon, state, "default")) and
             len(pods(axon, state, "default")) == 2, interval=0.2)
        server_ip = [p for p in pods(axon, state, "default")
                     if p["metadata"]["name"] == "server"][0]["status"]["podIP"]
        # One iperf3 server for the whole run; it lives in the pod's network namespace.
        servers.append(subprocess.Popen(
            [axon, "--state-dir", state, "--lab", LAB, "lab", "exec", "-n", "default", "server",
             "--", "iperf3", "-s"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        time.sleep(1)

        results = {"off": [], "on": [], "on+follow": []}
        cpu = {k: [] for k in results}
        flows_read = 0
        for rnd in range(args.rounds):
            for mode in results:
                if mode != "on+follow":
                    set_observer(axon, state, values, mode)
                if mode == "on+follow":
                    # Into a file: a pipe nobody drains would stall the follower.
                    follower_out = open(os.path.join(state, "follow.json"), "w+b")
                    follower = subprocess.Popen(
                        [axon, "--state-dir", state, "--lab", LAB, "observe", "-f", "-o", "json"],
                        stdout=follower_out, stderr=subprocess.DEVNULL)
                    time.sleep(1)
                pids = agent_pids(axon, state)
                c0 = sum(cpu_seconds(p) for p in pids)
                t0 = time.monotonic()
                measure(axon, state, "client", server_ip, 1, 0.3)  # warm up
                bw, cps = measure(axon, state, "client", server_ip, args.iperf_seconds,
                                  args.connect_seconds)
                elapsed = time.monotonic() - t0
                cpu[mode].append((sum(cpu_seconds(p) for p in pids) - c0) / elapsed)
                results[mode].append((bw, cps))
                if follower:
                    follower.send_signal(signal.SIGINT)  # Ctrl-C: observe flushes and ends
                    follower.wait(timeout=30)
                    follower_out.seek(0)
                    flows_read += follower_out.read().count(b"\n")
                    follower_out.close()
                    follower = None
                print(f"round {rnd + 1} {mode:10s} iperf3 {bw:6.2f} Gbit/s  "
                      f"connections {cps:7.0f}/s  agents' CPU {cpu[mode][-1] * 100:5.1f}%",
                      flush=True)

        for how, pick in (("best", max), ("median", statistics.median)):
            agg = {m: (pick([b for b, _ in r]), pick([c for _, c in r])) for m, r in results.items()}
            print()
            print(f"{how} of {args.rounds} rounds   iperf3 Gbit/s   connections/s   vs off")
            for m, (bw, cps) in agg.items():
                print(f"{m:18s} {bw:10.2f} {cps:14.0f}     throughput {bw / agg['off'][0]:.3f}x, "
                      f"connections {cps / agg['off'][1]:.3f}x; agents' CPU "
                      f"{statistics.median(cpu[m]) * 100:.1f}% of a core")
        print(f"flows read by the followers: {flows_read}")
        return 0
    finally:
        if follower:
            follower.kill()
        for s in servers:
            s.terminate()
            s.wait()
        subprocess.run([axon, "--state-dir", state, "lab", "down", "--name", LAB],
                       capture_output=True)
        shutil.rmtree(state, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
