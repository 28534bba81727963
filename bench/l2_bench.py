#!/usr/bin/env python3
"""L2 announcements: how fast a LoadBalancer address moves to another node
when the node announcing it fails, and how many store writes the election
costs at 100 announced Services.

    bench/l2_bench.py [BUILD_DIR | AXON] [--axon PATH] [--runs 20] [--services 100]
                      [--count-seconds 30] [--logs DIR]

A 3-node lab with the seed's L2 manifests as l2_test.sh has them
(cilium-values.yaml fixed + l2-values.yaml; lb-ip-pool.yaml,
l2-announcement-policy.yaml, service-fixed-ip.yaml: production/api at
10.0.0.241, its two pods and admin's from tests/e2e/l2.yaml). A prober in
the LAN client's namespace (10.0.0.100) starts an HTTP GET to
http://10.0.0.241/ every 20 ms (non-blocking, 300 ms each) and reports every
attempt and who served it (the echo's pod, and its client address: the
serving node's when it forwarded to another node's pod).

1. Failover, --runs times each, of the node whose agent holds
   production/api's Lease (looked up every run; after each run the failure is
   undone, and the next run waits until the client's requests succeed, every
   node's L2 lease is live with eth0 up and the holder has not changed for 3 s):
   node down     SIGSTOP of the holder's agent and its LAN port down
                 (`ip -n axon-l2bench-lan link set nX down`) together: time to
                 the first successful request started after the failure
   link down     the LAN port only, the agent alive: the same
   agent stopped SIGSTOP only (the node's datapath goes on serving): requests
                 failed in 5 s
   each with the time until the Lease names another node and until the
   client's ARP entry for 10.0.0.241 has another node's MAC (gratuitous ARP),
   polled every ~50 and ~20 ms. The lab's bridge floods frames for a MAC it
   no longer knows (the failed port's) to every port, and a veth hands them
   to from-netdev whatever their destination MAC, where a NIC would drop them:
   node down and link down run again with unknown-unicast flooding off on the
   node ports ("no flood"), where a success means the address has moved.
2. Store writes at --services announced Services: that many LoadBalancer
   Services in namespace bench (sharing key "k", ports 1000..., so they share
   one address), every `cilium-l2announce-bench-*` Lease held, then
   `get leases -n kube-system` polled every ~100 ms for --count-seconds: each
   new resourceVersion of a Lease is one write (a Lease written twice between
   two polls counts once: the node leases are renewed every 500 ms, so the
   polls must stay closer than that; the largest gap is printed); beside it
   etcd's own counters (revision: every write of every kind; Txn requests:
   writes and failed compare-and-swaps). Then the Services' address moves
   once (its holder's LAN link down until every bench Lease names another
   node, then up) and the count runs again.

Runs a lab named "l2bench" under a private state directory (needs root:
network namespaces, BPF) and removes it at the end, even on failure. Traffic
goes only between the lab's namespaces; only the lab's LAN ports and bridge
are changed, and only the lab's agents are stopped (by pid, resumed after).
"""
import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

from benchlib import wait

LAB = "l2bench"
VIP = "10.0.0.241"
CLIENT_NS = f"axon-{LAB}-client"
LAN_NS = f"axon-{LAB}-lan"

# The LAN client's prober: an HTTP GET every EVERY s, each a fresh
# non-blocking connection with TIMEOUT s to get the answer; one line per
# attempt: "start end ok pod,client" (CLOCK_MONOTONIC, the same clock as the
# benchmark's time.monotonic()).
PROBER = r"""
import select, socket, struct, sys, time
ip, port = sys.argv[1], int(sys.argv[2])
EVERY, TIMEOUT = 0.02, 0.3
REQ = ("GET / HTTP/1.0\r\nHost: %s\r\n\r\n" % ip).encode()
LINGER0 = struct.pack("ii", 1, 0)  # close with RST: no TIME_WAIT piles up
ep = select.epoll()
live = {}  # fd -> [socket, start, sent, received]
def finish(fd, ok, via="-"):
    s, start = live.pop(fd)[:2]
    try: ep.unregister(fd)
    except OSError: pass
    s.close()
    print("%.4f %.4f %d %s" % (start, time.monotonic(), ok, via), flush=True)
next_at = time.monotonic()
while True:
    now = time.monotonic()
    if now >= next_at:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, LINGER0)
        s.connect_ex((ip, port))
        live[s.fileno()] = [s, now, False, b""]
        ep.register(s.fileno(), select.EPOLLOUT)
        next_at = max(next_at + EVERY, now)
    for fd, ev in ep.poll(max(0.0, next_at - time.monotonic())):
        ent = live.get(fd)
        if ent is None: continue
        s = ent[0]
        if not ent[2]:
            if ev & (select.EPOLLERR | select.EPOLLHUP) or s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR):
                finish(fd, False); continue
            try: s.send(REQ)
            except OSError: finish(fd, False); continue
            ent[2] = True
            ep.modify(fd, select.EPOLLIN)
            continue
        try: d = s.recv(4096)
        except OSError: d = b""
        ent[3] += d
        body = ent[3].decode("latin-1")
        if not d or ("client=" in body and body.rstrip(" ").endswith("\n")):
            line = body.split("\r\n", 1)[0]
            ok = line.startswith("HTTP/1.") and " 200" in line
            # Who served it: the echo's pod=NAME and client=IP (the
            # serving node's address when it forwarded to another node).
            words = dict(w.split("=", 1) for w in body.split() if "=" in w)
            via = words.get("pod", "-") + "," + words.get("client", "-").rsplit(":", 1)[0]
            finish(fd, ok, via)
    now = time.monotonic()
    for fd in [fd for fd, e in live.items() if now - e[1] > TIMEOUT]:
        finish(fd, False)
"""


EVERY_NODE = {
    "apiVersion": "apps/v1", "kind": "DaemonSet",
    "metadata": {"name": "api-every-node", "namespace": "production"},
    "spec": {"selector": {"matchLabels": {"role": "api", "bench": "l2"}},
             "template": {"metadata": {"labels": {"role": "api", "bench": "l2"}},
                          "spec": {"containers": [{
                              "name": "echo", "image": "axon/http-echo",
                              "command": ["axon", "workload", "http-echo", "--port", "8080"],
                              "ports": [{"name": "http", "containerPort": 8080}],
                              "readinessProbe": {"httpGet": {"path": "/", "port": "http"}, "periodSeconds": 2}}]}}}}


class Lab:
    def __init__(self, axon, state):
        self.axon, self.state = axon, state

    def run(self, *args, check=True, input=None, timeout=120):
        r = subprocess.run([self.axon, "--state-dir", self.state, "--lab", LAB, *args], capture_output=True,
                           text=True, input=input, timeout=timeout)
        if check and r.returncode != 0:
            raise RuntimeError(f"axon {' '.join(args)} failed ({r.returncode}): {r.stderr.strip()}")
        return r

    def json(self, *args):
        return json.loads(self.run(*args, "-o", "json").stdout)

    def holder(self, ns="production", name="api"):
        r = self.run("get", "lease", f"cilium-l2announce-{ns}-{name}", "-n", "kube-system", "-o", "json",
                     check=False, timeout=10)
        if r.returncode != 0:
            return ""
        try:
            return json.loads(r.stdout).get("spec", {}).get("holderIdentity", "") or ""
        except ValueError:
            return ""

    def agent_pid(self, node):
        for p in self.json("get", "pods", "-n", "kube-system")["items"]:
            if p["metadata"]["name"].startswith("axon-agent-") and p["spec"].get("nodeName") == node:
                return int(p["status"]["containerStatuses"][0]["containerID"].split("//")[1])
        raise RuntimeError(f"no agent pod on {node}")

    def node_leases_live(self, nodes):
        """Every node's L2 lease held by its node with eth0 among its devices up."""
        items = {l["metadata"]["name"]: l for l in self.json("get", "leases", "-n", "kube-system")["items"]}
        for n in nodes:
            l = items.get(f"axon-l2-node-{n}")
            if l is None or l.get("spec", {}).get("holderIdentity") != n:
                return False
            if "eth0" not in l["metadata"].get("annotations", {}).get("l2.axon.io/devices-up", "").split(","):
                return False
        return True


def node_mac(node):
    return subprocess.run(["ip", "netns", "exec", f"axon-{LAB}-{node}", "cat", "/sys/class/net/eth0/address"],
                          capture_output=True, text=True, check=True).stdout.strip()


def client_mac():
    out = subprocess.run(["ip", "-n", CLIENT_NS, "neigh", "show", VIP], capture_output=True, text=True).stdout
    w = out.split()
    return w[w.index("lladdr") + 1] if "lladdr" in w else ""


def lan_port(node, up):
    subprocess.run(["ip", "-n", LAN_NS, "link", "set", "n" + node.removeprefix("node"), "up" if up else "down"],
                   check=True)


def bridge_flood(node, on):
    """Unknown-unicast flooding to the node's LAN port (the lab's bridge)."""
    subprocess.run(["ip", "netns", "exec", LAN_NS, "bridge", "link", "set", "dev", "n" + node.removeprefix("node"),
                    "flood", "on" if on else "off"], check=True)


class Prober:
    """The prober in the client's namespace; its attempts as (start, end,
    ok, "pod,client")."""

    def __init__(self):
        # `ip netns exec` execs python: the pid is the prober's.
        self.proc = subprocess.Popen(["ip", "netns", "exec", CLIENT_NS, "python3", "-u", "-c", PROBER, VIP, "80"],
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.attempts = []
        self.lock = threading.Lock()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            start, end, ok, via = line.split()
            with self.lock:
                self.attempts.append((float(start), float(end), ok == "1", via))

    def since(self, t):
        """Attempts started at or after t (they are kept in the order they
        ended, and one that started at t ended after it: read from the end)."""
        out = []
        with self.lock:
            for a in reversed(self.attempts):
                if a[1] < t:
                    break
                if a[0] >= t:
                    out.append(a)
        return out[::-1]

    def first_success(self, t, timeout):
        """The first successful attempt started at or after t (the first
        to end), or None."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ok = [a for a in self.since(t) if a[2]]
            if ok:
                return min(ok, key=lambda a: a[1])
            time.sleep(0.01)
        return None

    def stop(self):
        self.proc.kill()
        self.proc.wait()


class Watch:
    """Polls the Lease's holder (~50 ms) and the client's ARP entry (~20 ms)
    from t0 on: when each first differs from the old holder / its MAC."""

    def __init__(self, lab, old_holder, old_mac, macs):
        self.lab, self.old_holder, self.old_mac, self.macs = lab, old_holder, old_mac, macs
        self.holder_at = self.mac_at = None
        self.new_holder = self.new_mac = ""
        self.stopped = threading.Event()
        self.threads = [threading.Thread(target=self._holder, daemon=True),
                        threading.Thread(target=self._mac, daemon=True)]
        for t in self.threads:
            t.start()

    def _holder(self):
        while not self.stopped.is_set() and self.holder_at is None:
            h = self.lab.holder()
            if h and h != self.old_holder:
                self.holder_at, self.new_holder = time.monotonic(), h
            time.sleep(0.05)

    def _mac(self):
        while not self.stopped.is_set() and self.mac_at is None:
            m = client_mac()
            if m and m != self.old_mac and m in self.macs:
                self.mac_at, self.new_mac = time.monotonic(), m
            time.sleep(0.02)

    def done(self):
        return self.holder_at is not None and self.mac_at is not None

    def stop(self):
        self.stopped.set()
        for t in self.threads:
            t.join()


def pct(samples, q):
    s = sorted(samples)
    return s[min(len(s) - 1, int(round(q * (len(s) - 1))))]


def ms(t):
    return "-" if t is None else f"{t * 1000:.0f} ms"


def summary(samples):
    """p50/p95/max of the runs that got there; the others (None) counted apart."""
    got = [t for t in samples if t is not None]
    missed = len(samples) - len(got)
    if not got:
        return f"none within 20 s ({missed} runs)"
    return (f"p50 {pct(got, 0.5) * 1000:5.0f} ms, p95 {pct(got, 0.95) * 1000:5.0f} ms, "
            f"max {max(got) * 1000:5.0f} ms ({len(got)} runs" + (f"; {missed} not within 20 s)" if missed else ")"))


def served_by(via, pod_nodes):
    """The node that served an answer: the echo's client address is that
    node's when it forwarded to another node's pod, else the pod's node."""
    pod, client = via.split(",")
    if client.startswith("10.0.0.1") and client != "10.0.0.100":
        return "node" + client.removeprefix("10.0.0.1")
    return pod_nodes.get(pod, "?")


def failover(lab, prober, nodes, macs, kind, runs, undo, log, pod_nodes, out):
    """`kind`: node, link or agent. Per run, appended to `out`: the
    measures, seconds from t0 (None: not within 20 s)."""
    for i in range(runs):
        h = settle(lab, prober, nodes)
        pid = lab.agent_pid(h)
        watch = Watch(lab, h, macs[h], set(macs.values()))
        time.sleep(0.2)  # the watch's first polls: both still show the old state
        t0 = time.monotonic()
        if kind in ("node", "agent"):
            os.kill(pid, signal.SIGSTOP)
            undo[("cont", pid)] = lambda pid=pid: os.kill(pid, signal.SIGCONT)
        if kind in ("node", "link"):
            lan_port(h, False)
            undo[("up", h)] = lambda h=h: lan_port(h, True)
        t1 = time.monotonic()  # the failure complete: attempts from here on count
        r = {"holder": h, "inject_ms": (t1 - t0) * 1000}
        if kind == "agent":
            time.sleep(max(0.0, t0 + 5 + 0.4 - time.monotonic()))  # the last attempts time out by then
            window = [a for a in prober.since(t1) if a[0] < t0 + 5]
            r["attempts"] = len(window)
            r["failed"] = sum(1 for a in window if not a[2])
        else:
            a = prober.first_success(t1, 20)
            r["first_ok"] = None if a is None else a[1] - t0
            if a is not None:
                r["served_by"] = served_by(a[3], pod_nodes)
                # Did it stay up? Failures among attempts started in the 2 s after the first success.
                first = a[1]
                time.sleep(max(0.0, first + 2.4 - time.monotonic()))
                after = [x for x in prober.since(first) if x[0] < first + 2]
                r["failed_after"] = sum(1 for x in after if not x[2])
                r["tried_after"] = len(after)
        deadline = t0 + 20
        while not watch.done() and time.monotonic() < deadline:
            time.sleep(0.02)
        watch.stop()
        r["holder_changed"] = None if watch.holder_at is None else watch.holder_at - t0
        r["mac_changed"] = None if watch.mac_at is None else watch.mac_at - t0
        r["new_holder"] = watch.new_holder or "none"
        if kind in ("node", "agent"):
            os.kill(pid, signal.SIGCONT)
            undo.pop(("cont", pid), None)
        if kind in ("node", "link"):
            lan_port(h, True)
            undo.pop(("up", h), None)
        out.append(r)
        extra = (f"failed {r['failed']}/{r['attempts']}" if kind == "agent" else
                 f"first ok {r['first_ok'] * 1000:.0f} ms (served by {r['served_by']}), "
                 f"failed after {r['failed_after']}/{r['tried_after']}"
                 if r.get("first_ok") is not None else "no success")
        log(f"  {kind} run {i + 1}: {h} -> {r['new_holder']}: {extra}; holder {ms(r['holder_changed'])}, "
            f"ARP {ms(r['mac_changed'])}")


def settle(lab, prober, nodes, stable=3.0, timeout=60):
    """Waits until the client's requests succeed, every node's L2 lease is
    live, and the holder has not changed for `stable` s; the holder."""
    deadline = time.monotonic() + timeout
    last, since = None, time.monotonic()
    while time.monotonic() < deadline:
        h = lab.holder()
        now = time.monotonic()
        if h != last:
            last, since = h, now
        recent = [a for a in prober.since(now - 0.5) if a[1] <= now]
        if h and now - since >= stable and recent and all(a[2] for a in recent) and lab.node_leases_live(nodes):
            return h
        time.sleep(0.1)
    raise RuntimeError(f"not settled within {timeout}s (holder {last!r})")


def etcd_counters(lab):
    """The lab etcd's revision (one per successful write, every kind) and its
    Txn requests (axon's creates and updates are compare-and-swap Txns: a
    failed compare is a Txn too, and no revision)."""
    sock = os.path.join(lab.state, LAB, "etcd", "etcd.sock:0")
    r = subprocess.run(["curl", "-s", "-m", "5", "--unix-socket", sock, "http://localhost/metrics"],
                       capture_output=True, text=True)
    out = {"revision": 0, "txn": 0, "range": 0}
    for line in r.stdout.splitlines():
        if line.startswith("etcd_debugging_mvcc_current_revision "):
            out["revision"] = int(float(line.split()[1]))
        elif line.startswith("grpc_server_handled_total{") and 'grpc_service="etcdserverpb.KV"' in line:
            for m in ("Txn", "Range"):
                if f'grpc_method="{m}"' in line:
                    out[m.lower()] += int(float(line.split()[1]))
    return out


def lease_writes(lab, seconds):
    """Polls the Leases of kube-system for `seconds`: writes per Lease kind,
    and what etcd counted over the same window."""
    versions, gaps = {}, []
    etcd0 = etcd_counters(lab)
    start = time.monotonic()
    first = last = None
    polls = 0
    while time.monotonic() - start < seconds:
        items = lab.json("get", "leases", "-n", "kube-system")["items"]
        now = time.monotonic()
        if polls:
            gaps.append(now - last)
        else:
            first = now
        last = now
        polls += 1
        for l in items:
            versions.setdefault(l["metadata"]["name"], set()).add(l["metadata"].get("resourceVersion", ""))
        time.sleep(max(0.0, 0.1 - (time.monotonic() - now)))
    elapsed = last - first  # from the first poll's answer to the last's
    etcd_elapsed = time.monotonic() - start
    etcd1 = etcd_counters(lab)
    etcd = {k: (etcd1[k] - etcd0[k]) / etcd_elapsed for k in etcd0}
    kinds = {"node": 0, "service": 0, "other": 0}
    for name, vs in versions.items():
        w = len(vs) - 1
        if name.startswith("axon-l2-node-"):
            kinds["node"] += w
        elif name.startswith("cilium-l2announce-"):
            kinds["service"] += w
        else:
            kinds["other"] += w
    return {"elapsed": elapsed, "polls": polls, "kinds": kinds, "leases": len(versions),
            "gap_mean": sum(gaps) / len(gaps), "gap_max": max(gaps), "etcd": etcd}


def print_writes(title, counts, services):
    k, el = counts["kinds"], counts["elapsed"]
    print(f"\n{title}:")
    print(f"  {el:.1f} s, {counts['polls']} polls of {counts['leases']} Leases (gap between polls: mean"
          f" {counts['gap_mean'] * 1000:.0f} ms, max {counts['gap_max'] * 1000:.0f} ms)")
    print(f"  node-lease renewals: {k['node']} ({k['node'] / el:.1f}/s), Service-lease writes: {k['service']}"
          f" ({k['service'] / el:.1f}/s), other Leases: {k['other']} ({k['other'] / el:.1f}/s);"
          f" Leases in all: {sum(k.values()) / el:.1f}/s")
    e = counts["etcd"]
    print(f"  etcd over the window: {e['revision']:.1f} writes/s (every kind), {e['txn']:.1f} Txn requests/s"
          f" (writes and failed compare-and-swaps), {e['range']:.1f} Range requests/s")


def stale_views(lab):
    """Per node: the Services whose holder its agent sees (its last logged
    "Services (holder[live candidates])" line: logged on every change, so its
    current view) other than the Leases say; (wrong, of, first few)."""
    actual = {}
    for l in lab.json("get", "leases", "-n", "kube-system")["items"]:
        key = l["metadata"].get("annotations", {}).get("l2.axon.io/service")
        if l["metadata"]["name"].startswith("cilium-l2announce-") and key:
            actual[key] = l.get("spec", {}).get("holderIdentity", "") or ""
    out = {}
    for p in lab.json("get", "pods", "-n", "kube-system")["items"]:
        if not p["metadata"]["name"].startswith("axon-agent-"):
            continue
        path = os.path.join(lab.state, LAB, "pods", p["metadata"]["uid"], "log")
        last = ""
        with open(path, errors="replace") as f:
            for line in f:
                if "Services (holder[live candidates]):" in line:
                    last = line
        seen = re.findall(r" (\S+/\S+)=([^\[ ]+)\[", last)
        wrong = [k for k, h in seen if actual.get(k, "") != ("" if h == "-" else h)]
        out[p["spec"].get("nodeName", "?")] = (len(wrong), len(seen), wrong[:3])
    return out


def save_logs(lab, out):
    """Copies the pods' logs (STATE/LAB/pods/UID/log) to out as NS_NAME.log."""
    os.makedirs(out, exist_ok=True)
    names = {}
    try:
        for p in lab.json("get", "pods", "-A")["items"]:
            names[p["metadata"]["uid"]] = p["metadata"]["namespace"] + "_" + p["metadata"]["name"]
    except Exception as e:  # noqa: BLE001 - the logs by uid, then
        print(f"logs: {e}", file=sys.stderr)
    pods = os.path.join(lab.state, LAB, "pods")
    for uid in os.listdir(pods) if os.path.isdir(pods) else []:
        p = os.path.join(pods, uid, "log")
        if os.path.exists(p):
            shutil.copy(p, os.path.join(out, names.get(uid, uid) + ".log"))


def services_yaml(n):
    docs = ["apiVersion: v1\nkind: Namespace\nmetadata: {name: bench}\n"]
    for i in range(n):
        docs.append(f"""apiVersion: v1
kind: Service
metadata:
  name: s{i:03d}
  namespace: bench
  annotations: {{lbipam.cilium.io/sharing-key: "k"}}
spec:
  type: LoadBalancer
  selector: {{role: api}}
  ports: [{{port: {1000 + i}, targetPort: 8080}}]
""")
    return "---\n".join(docs)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("target", nargs="?", help="the build directory or the axon binary")
    ap.add_argument("--axon", help="the axon binary (instead of BUILD_DIR/axon)")
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--services", type=int, default=100)
    ap.add_argument("--count-seconds", type=float, default=30)
    ap.add_argument("--logs", help="copy the agents' pod logs here before the lab goes")
    args = ap.parse_args()
    axon = args.axon or args.target
    if axon is None:
        ap.error("give BUILD_DIR, AXON or --axon")
    if os.path.isdir(axon):
        axon = os.path.join(axon, "axon")
    axon = os.path.abspath(axon)
    src = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    seed = os.path.join(src, "..", "shared", "seed", "manifests")
    state = tempfile.mkdtemp(prefix="axon-l2bench-")
    lab = Lab(axon, state)
    undo = {}
    prober = None
    t_start = time.monotonic()

    def log(msg):
        print(f"[{time.monotonic() - t_start:7.1f}s] {msg}", file=sys.stderr, flush=True)

    try:
        log(f"lab up (state {state})")
        lab.run("lab", "up", "--name", LAB, "--nodes", "3", timeout=300)
        values = os.path.join(state, "values.yaml")
        shutil.copy(os.path.join(seed, "cilium-values.yaml"), values)
        lab.run("values", "fix", "-f", values, "-w")
        lab.run("install", "-f", values, "-f", os.path.join(seed, "l2-values.yaml"),
                "--set", "hubble.relay.enabled=false", "--set", "hubble.ui.enabled=false", timeout=300)
        lab.run("status", "--wait", "--wait-duration", "120s", timeout=200)
        nodes = sorted(n["metadata"]["name"] for n in lab.json("get", "nodes")["items"])
        wait("nodes Ready", lambda: "NotReady" not in lab.run("get", "nodes").stdout, timeout=60, interval=1)
        lab.run("apply", "-f", os.path.join(src, "tests", "e2e", "l2.yaml"))

        def ready(ns, name):
            d = lab.json("get", "deploy", name, "-n", ns)
            return d.get("status", {}).get("readyReplicas", 0) >= d["spec"]["replicas"]
        # A backend on every node beside the Deployment's two (the lab puts
        # pods on the least loaded node: both may land on one), so that a
        # node's failure leaves backends to fail over to.
        lab.run("apply", "-f", "-", input=json.dumps(EVERY_NODE))
        wait("production/api ready", lambda: ready("production", "api"), timeout=120, interval=1)

        def ds_ready():
            d = lab.json("get", "ds", "api-every-node", "-n", "production").get("status", {})
            return d.get("numberReady", 0) >= 3
        wait("production/api-every-node ready", ds_ready, timeout=120, interval=1)
        for m in ("lb-ip-pool.yaml", "l2-announcement-policy.yaml", "service-fixed-ip.yaml"):
            lab.run("apply", "-f", os.path.join(seed, m))

        def vip():
            ing = lab.json("get", "svc", "api", "-n", "production").get("status", {}).get("loadBalancer", {})
            return [i.get("ip") for i in ing.get("ingress", [])] == [VIP]
        wait(f"production/api gets {VIP}", vip, timeout=60, interval=0.5)
        macs = {n: node_mac(n) for n in nodes}
        log(f"nodes {nodes}, MACs {macs}")
        prober = Prober()
        wait(f"the client reaches http://{VIP}/", lambda: any(a[2] for a in prober.since(0)), timeout=60)

        pod_nodes = {p["metadata"]["name"]: p["spec"].get("nodeName", "?")
                     for p in lab.json("get", "pods", "-n", "production")["items"]}
        log(f"pods: {pod_nodes}")

        # The lab's bridge floods frames to an unknown MAC (the failed port's
        # MAC once its FDB entry went with the port) to every port, and a
        # veth hands them to from-netdev as they are; a NIC drops them in
        # hardware. The passes "(no flood)" turn unknown-unicast flooding
        # off on the node ports, as that NIC would: only then does the first
        # success mean the address moved.
        # Node down without flooding first: the headline, before any pass
        # that takes a holder's link down while its agent runs.
        results, errors, stale_after = {}, {}, {}
        passes = [("node", False), ("agent", True), ("node", True), ("link", False), ("link", True)]
        for kind, flood in passes:
            for n in nodes:
                bridge_flood(n, flood)
                if flood:
                    undo.pop(("flood", n), None)
                else:
                    undo[("flood", n)] = lambda n=n: bridge_flood(n, True)
            log(f"failover: {kind}{'' if flood else ' (no flood)'}, {args.runs} runs")
            results[(kind, flood)] = []
            try:
                failover(lab, prober, nodes, macs, kind, args.runs, undo, log, pod_nodes, results[(kind, flood)])
            except RuntimeError as e:  # the runs so far count; the next pass tries again
                errors[(kind, flood)] = str(e)
                log(f"  {kind}: stopped: {e}")
                for f in list(undo.values()):
                    f()
                undo.clear()
                if not flood:
                    for n in nodes:
                        bridge_flood(n, False)
                        undo[("flood", n)] = lambda n=n: bridge_flood(n, True)
            settle(lab, prober, nodes)  # the last run's restore settled: no passing views
            views = stale_views(lab)
            stale_after[(kind, flood)] = {n: w for n, (w, t, ex) in views.items()}
            log(f"  agents' views differing from the Leases after it: {stale_after[(kind, flood)]}")
        for n in nodes:
            bridge_flood(n, True)
            undo.pop(("flood", n), None)
        settle(lab, prober, nodes)
        prober.stop()
        prober = None

        # Lease writes at N announced Services.
        log(f"{args.services} LoadBalancer Services in namespace bench")
        lab.run("apply", "-f", "-", input=services_yaml(args.services), timeout=300)

        def all_addressed():
            items = lab.json("get", "svc", "-n", "bench")["items"]
            ips = [i.get("ip") for s in items for i in s.get("status", {}).get("loadBalancer", {}).get("ingress", [])]
            return len(items) == args.services and len(ips) == args.services and all(ips)
        wait("every bench Service has an address", all_addressed, timeout=120, interval=1)
        bench_ips = sorted({i["ip"] for s in lab.json("get", "svc", "-n", "bench")["items"]
                            for i in s["status"]["loadBalancer"]["ingress"]})

        def all_held():
            ls = [l for l in lab.json("get", "leases", "-n", "kube-system")["items"]
                  if l["metadata"]["name"].startswith("cilium-l2announce-bench-")]
            return len(ls) == args.services and all(l.get("spec", {}).get("holderIdentity") for l in ls)
        t = wait("every bench Service's Lease held", all_held, timeout=120, interval=0.5)
        log(f"bench Services on {bench_ips}; all {args.services} Leases held {t:.1f} s after they had addresses")
        time.sleep(2)
        timing = time.monotonic()
        lab.json("get", "leases", "-n", "kube-system")
        one_get = time.monotonic() - timing
        counts = lease_writes(lab, args.count_seconds)
        holders = {}
        for l in lab.json("get", "leases", "-n", "kube-system")["items"]:
            if l["metadata"]["name"].startswith("cilium-l2announce-"):
                h = l.get("spec", {}).get("holderIdentity", "")
                holders[h] = holders.get(h, 0) + 1

        # The same after the Services' address moved once: its holder's LAN
        # link down until every bench Lease names another node, then up.
        bh = lab.holder("bench", "s000")
        log(f"the bench address's holder {bh}: LAN link down")
        before = etcd_counters(lab)
        t0 = time.monotonic()
        lan_port(bh, False)
        undo[("up", bh)] = lambda: lan_port(bh, True)

        def moved():
            ls = [l for l in lab.json("get", "leases", "-n", "kube-system")["items"]
                  if l["metadata"]["name"].startswith("cilium-l2announce-bench-")]
            return all(l.get("spec", {}).get("holderIdentity") not in ("", bh) for l in ls)
        t_moved = wait(f"every bench Lease moved off {bh}", moved, timeout=60, interval=0.1)
        move_writes = etcd_counters(lab)["revision"] - before["revision"]
        time.sleep(max(0.0, t0 + 3 - time.monotonic()))
        lan_port(bh, True)
        undo.pop(("up", bh), None)
        log(f"moved in {t_moved:.2f} s ({move_writes} store writes); link up again")
        time.sleep(5)
        counts_after = lease_writes(lab, args.count_seconds)
        stale = stale_views(lab)
        restarts = {p["metadata"]["name"]: p["status"]["containerStatuses"][0].get("restartCount", 0)
                    for p in lab.json("get", "pods", "-n", "kube-system")["items"]
                    if p["metadata"]["name"].startswith("axon-agent-")}

        # The figures.
        print(f"nodes: {len(nodes)}, VIP {VIP} (production/api, pods on {sorted(set(pod_nodes.values()))}),"
              f" prober: a GET every 20 ms, 300 ms each")
        names = {"node": "node down (agent SIGSTOP + LAN port down)", "link": "LAN link down (agent alive)",
                 "agent": "agent stopped (SIGSTOP; datapath serving)"}
        for (kind, flood), rs in results.items():
            print(f"\n{names[kind]}{'' if flood else ', no flood (node ports drop unknown unicast, as NICs)'}:")
            if (kind, flood) in errors:
                print(f"  STOPPED after {len(rs)} runs: {errors[(kind, flood)]}")
            if not rs:
                continue
            if kind == "agent":
                fails = [r["failed"] for r in rs]
                print(f"  requests failed in the 5 s after: total {sum(fails)} of {sum(r['attempts'] for r in rs)}"
                      f" (runs with failures: {sum(1 for f in fails if f)}; max in a run {max(fails)})")
            else:
                ok = [r for r in rs if r["first_ok"] is not None]
                print(f"  first successful request: {summary([r['first_ok'] for r in rs])}")
                print(f"  ... served by the new holder in {sum(1 for r in ok if r['served_by'] == r['new_holder'])}"
                      f" runs, by another live node in"
                      f" {sum(1 for r in ok if r['served_by'] not in (r['new_holder'], r['holder']))},"
                      f" by the failed node in {sum(1 for r in ok if r['served_by'] == r['holder'])}")
                fa, ta = sum(r["failed_after"] for r in ok), sum(r["tried_after"] for r in ok)
                print(f"  requests failed in the 2 s after the first success: {fa} of {ta}"
                      f" (runs with any: {sum(1 for r in ok if r['failed_after'])})")
            print(f"  Lease holder changed:     {summary([r['holder_changed'] for r in rs])}")
            print(f"  client's ARP entry moved: {summary([r['mac_changed'] for r in rs])}")
            print(f"  holders: {' '.join(r['holder'] + '->' + r['new_holder'] for r in rs)}")
            print(f"  after the pass, Services each agent sees held other than the Leases say:"
                  f" {stale_after.get((kind, flood))}")
        print_writes(f"Lease writes at {args.services} announced Services (on {', '.join(bench_ips)};"
                     f" Service Leases by holder {holders}; one get of the Leases: {one_get * 1000:.0f} ms)",
                     counts, args.services)
        print(f"\n{args.services} Services' address moved ({bh}'s LAN link down): every Lease moved within"
              f" {t_moved:.2f} s, {move_writes} store writes")
        print_writes(f"Lease writes again, from 5 s after the link came back", counts_after, args.services)
        print(f"\nCilium's design at its defaults: one renewal per Service per 2 s retry period = {args.services / 2:.0f}"
              f" writes/s at {args.services} Services ({args.services * 2}/s at axon's 500 ms period)")
        print(f"agent restarts: {restarts}")
        print("agents' views of who holds each Service (their last logged view) against the Leases: "
              + ", ".join(f"{n}: {w} of {t} differ" + (f" ({', '.join(ex)}...)" if ex else "")
                          for n, (w, t, ex) in sorted(stale.items())))
        return 0
    finally:
        for f in list(undo.values()):
            try:
                f()
            except Exception as e:  # noqa: BLE001 - undo what can be undone
                print(f"undo: {e}", file=sys.stderr)
        if prober is not None:
            prober.stop()
        if args.logs:
            try:
                save_logs(lab, args.logs)
            except Exception as e:  # noqa: BLE001 - the lab goes down whatever happens
                print(f"logs: {e}", file=sys.stderr)
        subprocess.run([axon, "--state-dir", state, "lab", "down", "--name", LAB], capture_output=True)
        shutil.rmtree(state, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
