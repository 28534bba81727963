#!/usr/bin/env python3
"""The agent on a real kube-apiserver against the agent on the etcd store,
same machine, same run (issue: axon on a real Kubernetes API):

  start   agent start to ready (its CNI configuration written) on a store that
          already holds --pods pods (with addresses) and --policies policies;
  prop    policy propagation: `axon apply` of a CiliumNetworkPolicy (and
          `axon delete`) to the moment the node's datapath enforces it,
          measured with real connections between two pods on the node;
  idle    (Kubernetes) the requests the agent and the operator make over
          --idle seconds of nothing happening, from the API server's audit log.

    bench/kube_bench.py BUILD_DIR [--pods 300] [--policies 100] [--rounds 50] [--idle 300]

Needs root and ../shared/tools/kubernetes (or AXON_KUBE_TOOLS). The agent
runs as its DaemonSet would, in a network namespace of its own (the store's
port forwarded in, nothing routed) with a private /run and bpffs; its pods
are namespaces it networks through its CNI plugin. Everything it makes is
removed at the end.
"""
import argparse
import json
import os
import re
import shutil
import signal
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

from benchlib import wait

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NODE = "bench-node"
POD_CIDR = "10.210.0.0/24"


def free_ports(n):
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def sh(*cmd, check=True, **kw):
    r = subprocess.run(list(cmd), capture_output=True, text=True, **kw)
    if check and r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: {r.returncode}: {r.stderr.strip()[-500:]}")
    return r


class Kube:
    """etcd + kube-apiserver from start-kube, with an audit log."""

    def __init__(self, tools, tmp):
        self.tools, self.tmp = tools, tmp
        self.run_dir = os.path.join(tmp, "kube-run")
        self.audit = os.path.join(tmp, "audit.log")

    def start(self):
        policy = os.path.join(self.tmp, "audit.yaml")
        with open(policy, "w") as f:
            f.write("apiVersion: audit.k8s.io/v1\nkind: Policy\nomitStages: [RequestReceived]\n"
                    "rules:\n- level: Metadata\n")
        etcd, peer, api = free_ports(3)
        env = dict(os.environ, RUN_DIR=self.run_dir, ETCD_PORT=str(etcd), ETCD_PEER_PORT=str(peer),
                   KUBE_PORT=str(api))
        self.kubeconfig = sh(os.path.join(self.tools, "start-kube"), "--allow-privileged=true",
                             f"--audit-policy-file={policy}",
                             f"--audit-log-path={self.audit}", env=env).stdout.strip()
        self.etcd_port, self.api_port = etcd, api
        self.token = open(os.path.join(self.run_dir, "token")).read().strip()
        self.ctx = ssl.create_default_context(cafile=os.path.join(self.run_dir, "ca.crt"))

    def stop(self):
        if os.path.isdir(self.run_dir):
            subprocess.run([os.path.join(self.tools, "stop-kube")], capture_output=True,
                           env=dict(os.environ, RUN_DIR=self.run_dir))

    def call(self, method, path, body=None, content_type="application/json"):
        req = urllib.request.Request(f"https://127.0.0.1:{self.api_port}{path}", method=method,
                                     data=json.dumps(body).encode() if body is not None else None)
        req.add_header("Authorization", "Bearer " + self.token)
        req.add_header("Content-Type", content_type)
        with urllib.request.urlopen(req, context=self.ctx) as r:
            return json.loads(r.read())

    def audit_lines(self):
        with open(self.audit) as f:
            return f.readlines()


class Backend:
    """Where objects are written (`axon apply` through the CLI, as a user
    would) and what the agent is pointed at."""

    def __init__(self, name, axon, kube, tmp):
        self.name, self.axon, self.kube, self.tmp = name, axon, kube, tmp
        self.env = dict(os.environ)
        self.env.pop("KUBECONFIG", None)
        self.env.pop("AXON_STORE", None)
        if name == "kubernetes":
            self.env["KUBECONFIG"] = kube.kubeconfig
        else:
            self.env["AXON_STORE"] = f"127.0.0.1:{kube.etcd_port}"

    def cli(self, *args, input=None):
        r = subprocess.run([self.axon, *args], capture_output=True, text=True, input=input,
                           env=self.env)
        if r.returncode != 0:
            raise RuntimeError(f"axon {' '.join(args)} ({self.name}): {r.stderr.strip()[-400:]}")
        return r.stdout

    def apply(self, objects):
        self.cli("apply", "-f", "-", input="\n---\n".join(json.dumps(o) for o in objects))

    def set_pod_ip(self, ns, name, ip):
        if self.name == "kubernetes":
            self.kube.call("PATCH", f"/api/v1/namespaces/{ns}/pods/{name}/status",
                           {"status": {"podIP": ip, "podIPs": [{"ip": ip}]}},
                           "application/merge-patch+json")
        else:  # the lab's store: status is a field like any other
            pod = json.loads(self.cli("get", "pod", name, "-n", ns, "-o", "json"))
            pod["status"] = dict(pod.get("status", {}), podIP=ip, podIPs=[{"ip": ip}])
            for k in ("resourceVersion", "managedFields", "uid", "creationTimestamp", "generation"):
                pod["metadata"].pop(k, None)
            pod["metadata"].get("annotations", {}).pop("kubectl.kubernetes.io/last-applied-configuration", None)
            self.apply([pod])


def pod(ns, name, labels, node=None):
    spec = {"containers": [{"name": "c", "image": "bench"}]}
    if node:
        spec["nodeName"] = node
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": ns, "labels": labels}, "spec": spec}


def policy(i):
    return {"apiVersion": "cilium.io/v2", "kind": "CiliumNetworkPolicy",
            "metadata": {"name": f"p{i}", "namespace": "bench"},
            "spec": {"endpointSelector": {"matchLabels": {"app": f"a{i % 30}"}},
                     "ingress": [{"fromEndpoints": [{"matchLabels": {"app": f"a{(i + 1) % 30}"}}],
                                  "toPorts": [{"ports": [{"port": str(1000 + i), "protocol": "TCP"}]}]}]}}


def populate(b, pods, policies):
    b.apply([{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "bench"}},
             {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "default"}},
             {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default", "namespace": "default"}},
             {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default", "namespace": "bench"}},
             {"apiVersion": "v1", "kind": "Node", "metadata": {"name": NODE},
              "spec": {"podCIDR": POD_CIDR, "podCIDRs": [POD_CIDR]}}])
    # Pods elsewhere in the cluster: addresses outside this node's CIDR.
    ips = [f"10.211.{i // 250}.{i % 250 + 1}" for i in range(pods)]
    objs = [pod("bench", f"p{i}", {"app": f"a{i % 30}"}) for i in range(pods)]
    if b.name == "etcd":  # the lab's store takes status with the object
        for o, ip in zip(objs, ips):
            o["status"] = {"podIP": ip, "podIPs": [{"ip": ip}]}
    objs += [policy(i) for i in range(policies)]
    b.apply(objs)
    if b.name == "kubernetes":  # through the status subresource, as a kubelet
        for i, ip in enumerate(ips):
            b.set_pod_ip("bench", f"p{i}", ip)


class Agent:
    def __init__(self, b, tmp, tag):
        self.b, self.tmp = b, tmp
        self.ns = f"axon-kb{os.getpid()}-{tag}"
        self.dir = os.path.join(tmp, tag)
        os.makedirs(os.path.join(self.dir, "cfg"), exist_ok=True)
        os.makedirs(os.path.join(self.dir, "cni", "net.d"), exist_ok=True)
        os.makedirs(os.path.join(self.dir, "cni", "bin"), exist_ok=True)
        for k, v in {"ipam": "kubernetes", "enable-ipv4-masquerade": "false"}.items():
            with open(os.path.join(self.dir, "cfg", k), "w") as f:
                f.write(v)
        self.procs, self.netns = [], []
        sh("ip", "netns", "add", self.ns)
        self.netns.append(self.ns)
        sh("ip", "netns", "exec", self.ns, "ip", "link", "set", "lo", "up")
        # The store's port, forwarded into the node's namespace.
        target = b.kube.api_port if b.name == "kubernetes" else b.kube.etcd_port
        self.port = free_ports(1)[0]
        fwd = subprocess.Popen([sys.executable, os.path.join(ROOT, "tests/support/netns_forward.py"),
                                self.ns, str(self.port), f"127.0.0.1:{target}"],
                               stdout=subprocess.PIPE, text=True)
        self.procs.append(fwd)
        fwd.stdout.readline()
        self.agent = None

    def conflist(self):
        return os.path.join(self.dir, "cni", "net.d", "05-axon.conflist")

    def start(self):
        if os.path.exists(self.conflist()):
            os.remove(self.conflist())
        env = ["env", f"NODE_NAME={NODE}"]
        args = [self.b.axon, "agent", "--config-dir", os.path.join(self.dir, "cfg"),
                "--cni-conf-dir", os.path.join(self.dir, "cni", "net.d"),
                "--cni-bin-dir", os.path.join(self.dir, "cni", "bin")]
        if self.b.name == "kubernetes":
            kc = os.path.join(self.dir, "kubeconfig")
            text = open(self.b.kube.kubeconfig).read()
            text = re.sub(r"server: .*", f"server: https://127.0.0.1:{self.port}", text)
            open(kc, "w").write(text)
            args += ["--kubeconfig", kc]
        else:
            env.append(f"AXON_STORE=127.0.0.1:{self.port}")
        t0 = time.monotonic()
        self.agent = subprocess.Popen(
            ["ip", "netns", "exec", self.ns, "unshare", "-m", "--propagation", "private", "sh", "-c",
             'mount -t tmpfs tmpfs /run && mount -t bpf bpf /sys/fs/bpf && exec "$@"', "sh", *env, *args],
            stdout=open(os.path.join(self.dir, "agent.log"), "a"), stderr=subprocess.STDOUT)
        wait("agent ready", lambda: os.path.exists(self.conflist()) or self.agent.poll() is not None, 60,
             0.02)
        if self.agent.poll() is not None:
            raise RuntimeError("agent exited: " + open(os.path.join(self.dir, "agent.log")).read()[-600:])
        return time.monotonic() - t0

    def stop(self):
        if self.agent and self.agent.poll() is None:
            self.agent.send_signal(signal.SIGTERM)
            self.agent.wait(30)

    def add_pod(self, name, labels):
        """A pod on this node: its namespace, networked by the CNI plugin; returns its IP."""
        ns = f"{self.ns}-{name}"
        sh("ip", "netns", "add", ns)
        self.netns.append(ns)
        holder = subprocess.Popen(["ip", "netns", "exec", ns, "sleep", "100000"])
        self.procs.append(holder)
        self.b.apply([pod("default", name, labels, NODE)])
        time.sleep(0.2)
        r = sh("nsenter", "-t", str(self.agent.pid), "-m", "-n", "env", "CNI_COMMAND=ADD",
               f"CNI_CONTAINERID={name}", f"CNI_NETNS=/proc/{holder.pid}/ns/net", "CNI_IFNAME=eth0",
               f"CNI_PATH={self.dir}/cni/bin",
               f"CNI_ARGS=IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME={name}",
               f"{self.dir}/cni/bin/axon-cni",
               input=json.dumps({"cniVersion": "1.0.0", "name": "axon", "type": "axon-cni",
                                 "socket": "/run/axon/agent.sock"}))
        ip = json.loads(r.stdout)["ips"][0]["address"].split("/")[0]
        self.b.set_pod_ip("default", name, ip)  # as the kubelet reports it
        return ns, ip

    def close(self):
        self.stop()
        for p in self.procs:
            p.kill()
            p.wait()
        for ns in reversed(self.netns):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)


SERVER = r"""
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 8080)); s.listen(128)
while True:
    c, _ = s.accept(); c.close()
"""

PROBER = r"""
import select, socket, sys, time
target = sys.argv[1]
while True:
    s = socket.socket(); s.setblocking(False); s.connect_ex((target, 8080))
    _, w, _ = select.select([], [s], [], 0.03)
    ok = bool(w) and s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0
    s.close()
    print(f"{time.monotonic():.4f} {int(ok)}", flush=True)
    time.sleep(0.005)
"""


def propagation(b, agent, rounds):
    """Seconds from `axon apply`/`axon delete` of an allowing policy to the
    first connection that the datapath lets through / stops."""
    server_ns, server_ip = agent.add_pod("server", {"app": "server"})
    client_ns, _ = agent.add_pod("client", {"app": "client"})
    agent.procs.append(subprocess.Popen(["ip", "netns", "exec", server_ns, sys.executable, "-c", SERVER]))
    prober = subprocess.Popen(["ip", "netns", "exec", client_ns, sys.executable, "-c", PROBER, server_ip],
                              stdout=subprocess.PIPE, text=True)
    agent.procs.append(prober)
    state = {"t": 0.0, "ok": None}
    lock = threading.Lock()

    def read():
        for line in prober.stdout:
            t, ok = line.split()
            with lock:
                state["t"], state["ok"] = float(t), ok == "1"

    threading.Thread(target=read, daemon=True).start()

    def seen(want, after):
        with lock:
            return state["ok"] == want and state["t"] > after

    # The server's ingress is enforced by a policy that admits nobody; the
    # measured one admits the client.
    b.apply([{"apiVersion": "cilium.io/v2", "kind": "CiliumNetworkPolicy",
              "metadata": {"name": "server-base", "namespace": "default"},
              "spec": {"endpointSelector": {"matchLabels": {"app": "server"}},
                       "ingress": [{"fromEndpoints": [{"matchLabels": {"app": "nobody"}}]}]}}])
    wait("base policy enforced", lambda: seen(False, time.monotonic() - 0.01), 30, 0.02)
    allow = {"apiVersion": "cilium.io/v2", "kind": "CiliumNetworkPolicy",
             "metadata": {"name": "allow-client", "namespace": "default"},
             "spec": {"endpointSelector": {"matchLabels": {"app": "server"}},
                      "ingress": [{"fromEndpoints": [{"matchLabels": {"app": "client"}}],
                                   "toPorts": [{"ports": [{"port": "8080", "protocol": "TCP"}]}]}]}}
    applied, deleted = [], []
    for _ in range(rounds):
        t0 = time.monotonic()
        b.apply([allow])
        wait("allowed", lambda: seen(True, t0), 30, 0.002)
        applied.append(time.monotonic() - t0)  # from before `axon apply`
        time.sleep(0.1)
        t0 = time.monotonic()
        b.cli("delete", "ciliumnetworkpolicy", "allow-client", "-n", "default")
        wait("denied", lambda: seen(False, t0), 30, 0.002)
        deleted.append(time.monotonic() - t0)  # from before `axon delete`
        time.sleep(0.1)
    return applied, deleted


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def idle_requests(kube, agent_tag_seconds):
    before = len(kube.audit_lines())
    time.sleep(agent_tag_seconds)
    counts = {}
    for line in kube.audit_lines()[before:]:
        e = json.loads(line)
        if e.get("stage") != "ResponseComplete" or not e.get("userAgent", "").startswith("axon/"):
            continue
        uri = e["requestURI"].split("?")[0]
        key = f"{e['verb']} {uri}"
        counts[key] = counts.get(key, 0) + 1
    return counts


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("--pods", type=int, default=300)
    ap.add_argument("--policies", type=int, default=100)
    ap.add_argument("--rounds", type=int, default=50)
    ap.add_argument("--idle", type=int, default=300)
    ap.add_argument("--starts", type=int, default=3)
    args = ap.parse_args()
    axon = os.path.join(os.path.abspath(args.build), "axon")
    tools = os.environ.get("AXON_KUBE_TOOLS", os.path.join(ROOT, "..", "shared", "tools", "kubernetes"))
    if os.geteuid() != 0 or not os.path.exists(os.path.join(tools, "start-kube")):
        print("kube_bench needs root and the Kubernetes tools (AXON_KUBE_TOOLS)", file=sys.stderr)
        return 2
    tmp = tempfile.mkdtemp(prefix="axon-kbench-")
    kube = Kube(tools, tmp)
    agents = []
    try:
        kube.start()
        k8s = Backend("kubernetes", axon, kube, tmp)
        k8s.cli("install", "--set", "hubble.relay.enabled=false")  # CRDs, RBAC, ConfigMap
        results = {}
        for name in ("kubernetes", "etcd"):
            b = k8s if name == "kubernetes" else Backend("etcd", axon, kube, tmp)
            t0 = time.monotonic()
            populate(b, args.pods, args.policies)
            print(f"[{name}] {args.pods} pods and {args.policies} policies written in "
                  f"{time.monotonic() - t0:.1f} s", flush=True)
            a = Agent(b, tmp, name[:4])
            agents.append(a)
            starts = []
            for _ in range(args.starts):
                starts.append(a.start())
                a.stop()
            a.start()
            print(f"[{name}] agent start to ready: " + ", ".join(f"{s:.2f} s" for s in starts), flush=True)
            applied, deleted = propagation(b, a, args.rounds)
            both = applied + deleted
            print(f"[{name}] policy propagation, {len(both)} samples ({args.rounds} applies, "
                  f"{args.rounds} deletes): p50 {pct(both, 50) * 1000:.0f} ms, p99 {pct(both, 99) * 1000:.0f} ms "
                  f"(apply p50 {pct(applied, 50) * 1000:.0f} / p99 {pct(applied, 99) * 1000:.0f} ms, "
                  f"delete p50 {pct(deleted, 50) * 1000:.0f} / p99 {pct(deleted, 99) * 1000:.0f} ms)",
                  flush=True)
            results[name] = (starts, both)
            if name == "kubernetes":
                op = subprocess.Popen([axon, "operator", "--config-dir", os.path.join(a.dir, "cfg"),
                                       "--kubeconfig", kube.kubeconfig],
                                      env=dict(os.environ, POD_NAMESPACE="kube-system"),
                                      stdout=open(os.path.join(tmp, "operator.log"), "w"),
                                      stderr=subprocess.STDOUT)
                a.procs.append(op)
                time.sleep(5)
                counts = idle_requests(kube, args.idle)
                lists = sum(v for k, v in counts.items() if k.startswith("list "))
                print(f"[{name}] idle {args.idle} s, agent + operator requests: "
                      f"{sum(counts.values())} ({lists} lists)", flush=True)
                for k, v in sorted(counts.items()):
                    print(f"    {v:5d}  {k}")
            a.close()
            agents.remove(a)
        return 0
    finally:
        for a in agents:
            a.close()
        kube.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
