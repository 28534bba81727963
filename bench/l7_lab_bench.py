#!/usr/bin/env python3
"""HTTP through the node's L7 proxy in a lab, against the same traffic
without a redirect (issue 19): a client pod runs wrk against nginx in a
server pod (both Debian's, in the pods' own roots), first with an L3/L4
policy only (the datapath forwards: no proxy), then with an http rule on the
same port (GET /.*: the datapath redirects every connection to the server
node's proxy, which checks each request and sends its L7 flows to the
agent). Rounds alternate the two policies; each one's median round.

  wrk 1 thread, 50 keep-alive connections, L7_BENCH_DURATION (10 s), 1 KiB
  answers; then 1 connection for 5 s (what the redirect adds to a request
  without queueing).

Each round checks which path it measured: with the http rule a POST gets the
proxy's 403 "Access denied", without it nginx's own 405.

    bench/l7_lab_bench.py BUILD_DIR [--rounds 3] [--nodes 2]

Root; a lab under a private state directory, its name l7lab<pid>, removed at
the end, failed or not; only the lab's own namespaces are used.
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile

from benchlib import Lab, seed_values, wait, wrk_result

DURATION = os.environ.get("L7_BENCH_DURATION", "10s")


def workloads(conf):
    return f"""apiVersion: v1
kind: Namespace
metadata: {{name: l7bench}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: server, namespace: l7bench}}
spec:
  replicas: 1
  selector: {{matchLabels: {{role: server}}}}
  template:
    metadata: {{labels: {{role: server}}}}
    spec:
      containers:
        - name: nginx
          image: debian/nginx
          command: [nginx, -c, {conf}]
          ports: [{{containerPort: 8080}}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: client, namespace: l7bench}}
spec:
  replicas: 1
  selector: {{matchLabels: {{role: client}}}}
  template:
    metadata: {{labels: {{role: client}}}}
    spec:
      containers:
        - name: idle
          image: axon/http-echo
          command: [axon, workload, http-echo, --port, "9090"]
"""


def policy(l7):
    rules = """
          rules:
            http: [{method: GET, path: "/.*"}]""" if l7 else ""
    return f"""apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {{name: server-bench, namespace: l7bench}}
spec:
  endpointSelector: {{matchLabels: {{role: server}}}}
  ingress:
    - fromEndpoints: [{{matchLabels: {{role: client}}}}]
      toPorts:
        - ports: [{{port: "8080", protocol: TCP}}]{rules}
"""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build_dir")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--nodes", type=int, default=2)
    args = ap.parse_args()
    for tool in ("wrk", "nginx"):
        if not shutil.which(tool):
            print(f"SKIP: {tool} is not installed (scripts/debian-packages.txt)")
            return 0
    axon = os.path.abspath(os.path.join(args.build_dir, "axon"))
    src = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    seed = seed_values(src)
    state = tempfile.mkdtemp(prefix="axon-l7lab-bench.")
    # nginx's files, seen by the pods (their roots are overlays of the machine's).
    www = tempfile.mkdtemp(prefix="axon-l7lab-www.")
    os.chmod(www, 0o755)
    with open(os.path.join(www, "1k"), "w") as f:
        f.write("x" * 1024)
    conf = os.path.join(www, "nginx.conf")
    with open(conf, "w") as f:
        f.write(f"""daemon off; user root; worker_processes 1; pid /run/nginx-bench.pid; error_log stderr;
events {{ worker_connections 4096; }}
http {{ access_log off; keepalive_requests 1000000;
  server {{ listen 8080; root {www}; }} }}
""")
    lab = Lab(axon, state, f"l7lab{os.getpid() % 100000}")
    try:
        lab.up(args.nodes, seed, "--set", "hubble.relay.enabled=false",
               "--set", "hubble.ui.enabled=false")
        lab.run("apply", "-f", "-", input=workloads(conf))

        def ready(deploy):
            d = lab.json("get", "deploy", deploy, "-n", "l7bench")
            return d.get("status", {}).get("readyReplicas", 0) >= d["spec"]["replicas"]
        wait("server and client ready", lambda: ready("server") and ready("client"), interval=0.5)
        pods = {p["metadata"]["labels"]["role"]: p
                for p in lab.json("get", "pods", "-n", "l7bench")["items"]}
        client = pods["client"]["metadata"]["name"]
        server_ip = pods["server"]["status"]["podIP"]
        same = pods["client"]["spec"]["nodeName"] == pods["server"]["spec"]["nodeName"]
        url = f"http://{server_ip}:8080/1k"

        def exec_(*cmd, check=True):
            return lab.run("lab", "exec", "-n", "l7bench", client, "--", *cmd, check=check).stdout

        def post_code():
            return exec_("curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-m", "3",
                         "-X", "POST", url, check=False).strip()

        def wrk(connections, duration):
            out = exec_("wrk", "-t1", f"-c{connections}", f"-d{duration}", "--latency", url)
            return wrk_result(out)

        paths = (("no redirect (L3/L4 rule)", False), ("through the proxy (http rule)", True))
        expect = {False: "405", True: "403"}
        many = {name: [] for name, _ in paths}
        one = {name: [] for name, _ in paths}
        for r in range(args.rounds + 1):  # round 0 warms up
            for name, l7 in paths:
                lab.run("apply", "-f", "-", input=policy(l7))
                try:
                    wait(f"{name} in effect", lambda: post_code() == expect[l7], timeout=60,
                         interval=0.3)
                except RuntimeError:
                    print(f"POST {url}: {post_code()} (want {expect[l7]}): " +
                          exec_("curl", "-s", "-i", "-m", "3", "-X", "POST", url, check=False)[:600] +
                          "\nGET: " + exec_("curl", "-s", "-i", "-m", "3", url, check=False)[:400] +
                          "\nthe server's log:\n" +
                          lab.run("lab", "logs", "-n", "l7bench", pods["server"]["metadata"]["name"],
                                  check=False).stdout[-2000:], file=sys.stderr)
                    raise
                got = wrk(50, DURATION)
                single = wrk(1, "5s")
                if r > 0:
                    many[name].append(got)
                    one[name].append(single)
        med = {n: sorted(v)[len(v) // 2] for n, v in many.items()}
        med1 = {n: sorted(v, key=lambda x: x[1])[len(v) // 2] for n, v in one.items()}
        base, base1 = med[paths[0][0]], med1[paths[0][0]]
        print(f"client and server on {'the same node' if same else 'two nodes'}; "
              f"{args.rounds} rounds; req/s per round:")
        for n, v in many.items():
            print(f"  {n:32} " + " ".join(f"{x[0]:.0f}" for x in v))
        print(f"{'path':32} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7} {'+p50 us':>8} {'+p99 us':>8} "
              f"{'1 conn p50 us':>13} {'p99 us':>7} {'+p50 us':>8} non-2xx")
        for n in many:
            rps, p50, p99, errs = med[n]
            _, q50, q99, _ = med1[n]
            print(f"{n:32} {rps:8.0f} {p50:7.3f} {p99:7.3f} {1000 * (p50 - base[1]):8.0f} "
                  f"{1000 * (p99 - base[2]):8.0f} {1000 * q50:13.0f} {1000 * q99:7.0f} "
                  f"{1000 * (q50 - base1[1]):8.0f} {errs}")
        print(f"through the proxy / no redirect: {med[paths[1][0]][0] / base[0]:.2f}x req/s")
    finally:
        subprocess.run([axon, "--state-dir", state, "lab", "down", "--name", lab.name],
                       capture_output=True, timeout=600)
        shutil.rmtree(state, ignore_errors=True)
        shutil.rmtree(www, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
