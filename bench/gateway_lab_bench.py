#!/usr/bin/env python3
"""Gateway API HTTP routing through the node's proxy in a lab, from the LAN
client (issue 20), against nginx and haproxy configured with the same route
in front of the same backends, and the backends' Service without a proxy.

A lab of --nodes nodes with the seed's values and L2 announcements (LB IPAM
pool 10.0.0.240/28, ARP from one node); nginx (Debian's, one worker, 1 KiB
file) in --replicas pods behind a Service; a Gateway (class cilium, HTTP
listener on port 80, routes from All) whose LB IP the LAN client reaches;
HTTPRoute api.example.com, PathPrefix /v1 -> the Service, and 9 more routes
(hostnames h0..h8.example.com): 10 routes on the Gateway.

  1. Requests, rounds alternating the targets (GATEWAY_BENCH_ROUNDS or
     --rounds, default 3, after a warm-up round), each target's median round:
       gateway         http://<Gateway IP>/v1/1k, Host api.example.com
       gateway-spread  the same, the Host going round a shuffled list of every
                       route's hostname (a wrk Lua script)
       nginx, haproxy  reverse proxies with the same route (Host
                       api.example.com, PathPrefix /v1; anything else 404)
                       to the backend pods' addresses over keep-alive
                       upstreams, one worker / one thread each, X-Forwarded-For
                       and -Proto set as the Gateway sets them; they run in
                       the network namespace of the node that announces the
                       Gateway's IP (where the node's proxy runs), listening
                       on the node's address, ports 8081 and 8082
       direct          the backends' Service on an LB IP of its own, no
                       proxy (the baseline of "added latency")
     wrk from the LAN client's namespace: 1 thread, 50 keep-alive connections,
     GATEWAY_BENCH_DURATION (10 s); then 1 connection for
     GATEWAY_BENCH_DURATION1 (5 s): what each proxy adds without queueing.
     Before each measurement the target is checked: /v1/1k 200 with 1 KiB;
     through a proxy /other/1k (which the backends serve) and another host
     404 (the route applied), directly /other/1k 200.
  2. Route programming: --changes (50) times a new HTTPRoute with a new
     hostname; from `axon apply` returning to the first request the new
     route serves (a prober in the client's namespace, a new connection every
     ~10 ms, 0.5 s timeout, started before the apply); p50/p99/max.
  3. 1,000 routes (--routes) against 10: rounds in the order 10, 1,000 |
     1,000, 10 | 10, 1,000 ... (one change of the count per round: 990 more
     HTTPRoutes, h9..h998, in one `axon apply -f` of a multi-document file,
     or `axon delete -f` of it; timed until every hostname is served, or
     404), each state measured with gateway, gateway-spread (over that
     state's hostnames) and direct (the drift reference), no warm-up (part 1
     warmed the path). Then the route programming of part 2 again with
     1,000 routes loaded (--changes-at-scale, 50).

    bench/gateway_lab_bench.py BUILD_DIR [--rounds 3] [--nodes 2] [--replicas 2]
        [--changes 50] [--routes 1000] [--changes-at-scale 50] [--no-pin] [--compare-only]

With 2 CPUs or more (--pin, the default) the lab and everything it runs
(agents and their proxies, operator, store, backend pods, nginx, haproxy,
the prober) stay on CPU 1 and wrk on CPU 0: each target's proxy gets the
same one CPU beside the backends, and the rounds stop depending on where
the scheduler put wrk.

Root; a lab under a private state directory, its name gwlab<pid>, removed at
the end, failed or not (run by a copy of the build's axon, so that a
rebuild meanwhile changes nothing under it); only the lab's own namespaces
are used (the proxies run in a node's namespace, wrk and the prober in the
LAN client's); the nginx and haproxy processes started here are stopped by
their pids.
"""
import argparse
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from benchlib import Lab, seed_values, wait, wrk_result

DURATION = os.environ.get("GATEWAY_BENCH_DURATION", "10s")
DURATION1 = os.environ.get("GATEWAY_BENCH_DURATION1", "5s")
HOST = "api.example.com"
NS = "gwbench"
GW_NS = "gateway-api-system"
GW_NAME = "bench-gateway"


def workloads(conf, replicas):
    return f"""apiVersion: apps/v1
kind: Deployment
metadata: {{name: backend, namespace: {NS}}}
spec:
  replicas: {replicas}
  selector: {{matchLabels: {{role: backend}}}}
  template:
    metadata: {{labels: {{role: backend}}}}
    spec:
      containers:
        - name: nginx
          image: debian/nginx
          command: [nginx, -c, {conf}]
          ports: [{{name: http, containerPort: 8080}}]
          readinessProbe: {{httpGet: {{path: /v1/1k, port: http}}, periodSeconds: 2}}
---
apiVersion: v1
kind: Service
metadata: {{name: backend, namespace: {NS}}}
spec:
  selector: {{role: backend}}
  ports: [{{port: 80, targetPort: 8080}}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {{name: {GW_NAME}, namespace: {GW_NS}}}
spec:
  gatewayClassName: cilium
  listeners:
    - name: http
      port: 80
      protocol: HTTP
      allowedRoutes: {{namespaces: {{from: All}}}}
"""


# The backends' Service on an LB IP of its own (applied once the Gateway has
# its address: the Gateway gets the pool's first, 10.0.0.240).
DIRECT = f"""apiVersion: v1
kind: Service
metadata: {{name: backend-lb, namespace: {NS}}}
spec:
  type: LoadBalancer
  selector: {{role: backend}}
  ports: [{{port: 80, targetPort: 8080}}]
"""


def route(name, host):
    return f"""apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {{name: {name}, namespace: {NS}}}
spec:
  parentRefs: [{{name: {GW_NAME}, namespace: {GW_NS}}}]
  hostnames: [{host}]
  rules:
    - matches: [{{path: {{type: PathPrefix, value: /v1}}}}]
      backendRefs: [{{name: backend, port: 80}}]
"""


def routes(names_hosts):
    return "---\n".join(route(n, h) for n, h in names_hosts)


# Runs in the LAN client's namespace: for each hostname read from stdin, polls
# http://GW/v1/1k with it (a new connection every ~10 ms, 0.5 s timeout) until
# a 200; prints the monotonic clock then and the requests it took.
PROBER = r"""
import http.client, sys, time
gw = sys.argv[1]
for line in sys.stdin:
    host = line.strip()
    n, deadline = 0, time.monotonic() + 60
    while time.monotonic() < deadline:
        n += 1
        try:
            c = http.client.HTTPConnection(gw, 80, timeout=0.5)
            c.request("GET", "/v1/1k", headers={"Host": host})
            st = c.getresponse().status
            c.close()
        except Exception:
            st = 0
        if st == 200:
            print(time.monotonic(), n, flush=True)
            break
        time.sleep(0.01)
    else:
        print("timeout", n, flush=True)
"""

# Runs in the LAN client's namespace: how many of the hostnames on stdin
# http://GW/v1/1k serves (200), over one kept-alive connection.
SERVED = r"""
import http.client, sys
gw, ok = sys.argv[1], 0
c = None
for line in sys.stdin:
    for _ in range(2):
        try:
            c = c or http.client.HTTPConnection(gw, 80, timeout=2)
            c.request("GET", "/v1/1k", headers={"Host": line.strip()})
            r = c.getresponse(); r.read()
            ok += r.status == 200
            break
        except Exception:
            c = None
print(ok)
"""

SPREAD_LUA = """local hosts = {}
for line in io.lines("%s") do hosts[#hosts + 1] = line end
local i = 0
request = function()
  i = i + 1
  if i > #hosts then i = 1 end
  return wrk.format("GET", "/v1/1k", {["Host"] = hosts[i]})
end
"""


def pct(values, p):
    v = sorted(values)
    return v[min(len(v) - 1, int(round(p / 100 * (len(v) - 1))))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build_dir")
    ap.add_argument("--rounds", type=int, default=int(os.environ.get("GATEWAY_BENCH_ROUNDS", "3")))
    ap.add_argument("--nodes", type=int, default=2)
    ap.add_argument("--replicas", type=int, default=2)
    ap.add_argument("--changes", type=int, default=50)
    ap.add_argument("--routes", type=int, default=1000)
    ap.add_argument("--changes-at-scale", type=int, default=50)
    ap.add_argument("--compare-only", action="store_true",
                    help="part 1 only (the Gateway against nginx, haproxy and direct)")
    ap.add_argument("--pin", action=argparse.BooleanOptionalAction, default=(os.cpu_count() or 1) >= 2,
                    help="the lab (daemons, pods, the reverse proxies) on CPU 1, wrk on CPU 0 "
                         "(default with 2 CPUs or more)")
    args = ap.parse_args()
    for tool in ("wrk", "nginx", "haproxy"):
        if not shutil.which(tool):
            print(f"SKIP: {tool} is not installed (scripts/debian-packages.txt)")
            return 0
    if os.geteuid() != 0:
        print("SKIP: the lab needs root")
        return 0
    built = os.path.abspath(os.path.join(args.build_dir, "axon"))
    src = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    seed = seed_values(src)
    seed_dir = os.path.join(src, "..", "shared", "seed", "manifests")
    if not os.path.exists(os.path.join(seed_dir, "l2-values.yaml")):
        print(f"SKIP: the seed's L2 manifests are not in {seed_dir}")
        return 0
    state = tempfile.mkdtemp(prefix="axon-gwlab-bench.")
    # A copy of the binary: the lab's daemons and every CLI call run this one,
    # though the build directory's is relinked meanwhile (a shared machine).
    axon = os.path.join(state, "axon")
    shutil.copy2(built, axon)
    v = json.loads(subprocess.run([axon, "version", "-o", "json"], capture_output=True, text=True).stdout)
    print(f"axon {v['version']} {v['gitCommit']} (built "
          f"{time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(os.path.getmtime(built)))})", flush=True)
    # nginx's files, seen by the pods (their roots are overlays of the machine's)
    # and by the proxies in the node's namespace.
    www = tempfile.mkdtemp(prefix="axon-gwlab-www.")
    os.chmod(www, 0o755)
    for d in ("v1", "other"):
        os.mkdir(os.path.join(www, d))
        with open(os.path.join(www, d, "1k"), "w") as f:
            f.write("x" * 1024)
    conf = os.path.join(www, "nginx.conf")
    with open(conf, "w") as f:
        f.write(f"""daemon off; user root; worker_processes 1; pid /run/nginx-gwbench.pid; error_log stderr;
events {{ worker_connections 4096; }}
http {{ access_log off; keepalive_requests 1000000;
  server {{ listen 8080; root {www}; }} }}
""")
    # Pinned, every target's proxy and the backends share one CPU and wrk has
    # the other: unpinned on 2 CPUs, where the scheduler put wrk against the
    # proxy under test made rounds bimodal (6k or 19k req/s for one target).
    # Everything started from here inherits CPU 1; wrk is moved to CPU 0.
    if args.pin:
        os.sched_setaffinity(0, {1})
        print("pinned: the lab (agents, operator, store, pods, nginx, haproxy) on CPU 1, wrk on CPU 0",
              flush=True)
    lab = Lab(axon, state, f"gwlab{os.getpid() % 100000}")
    client_ns = f"axon-{lab.name}-client"
    procs = []

    def log(*a):
        print(*a, flush=True)

    diagnostics = []  # run when a command from the client fails, before the lab goes

    def lan(*cmd, check=True, input=None, timeout=600):
        r = subprocess.run(["ip", "netns", "exec", client_ns, *cmd], capture_output=True, text=True,
                           input=input, timeout=timeout)
        if check and r.returncode != 0:
            for d in diagnostics:
                try:
                    d()
                except Exception as e:  # a diagnostic's own failure is only reported
                    log(f"  (diagnostic failed: {e})")
            raise RuntimeError(f"{' '.join(cmd)} (in {client_ns}) failed ({r.returncode}): "
                               f"{r.stderr.strip()[-800:] or r.stdout.strip()[-800:]}")
        return r.stdout

    try:
        t = time.monotonic()
        lab.up(args.nodes, seed, "-f", os.path.join(seed_dir, "l2-values.yaml"),
               "--set", "hubble.relay.enabled=false", "--set", "hubble.ui.enabled=false")
        log(f"lab up and installed in {time.monotonic() - t:.0f} s")
        lab.run("apply", "-f", os.path.join(seed_dir, "lb-ip-pool.yaml"),
                "-f", os.path.join(seed_dir, "l2-announcement-policy.yaml"))
        for ns in (NS, GW_NS):
            lab.run("apply", "-f", "-", input=json.dumps(
                {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}))
        lab.run("apply", "-f", "-", input=workloads(conf, args.replicas))
        base_routes = [("api-route", HOST)] + [(f"h{i}", f"h{i}.example.com") for i in range(9)]
        lab.run("apply", "-f", "-", input=routes(base_routes))

        def ready():
            d = lab.json("get", "deploy", "backend", "-n", NS)
            return d.get("status", {}).get("readyReplicas", 0) >= d["spec"]["replicas"]
        wait("backends ready", ready, interval=0.5)

        def lb_ip(ns, svc):
            r = lab.run("get", "svc", svc, "-n", ns, "-o", "json", check=False)
            if r.returncode != 0:
                return ""
            ing = json.loads(r.stdout).get("status", {}).get("loadBalancer", {}).get("ingress", [])
            return ing[0].get("ip", "") if ing else ""
        wait("the Gateway's LB IP", lambda: lb_ip(GW_NS, f"cilium-gateway-{GW_NAME}"), timeout=60)
        lab.run("apply", "-f", "-", input=DIRECT)
        wait("the backends' LB IP", lambda: lb_ip(NS, "backend-lb"), timeout=60)
        gw, direct_ip = lb_ip(GW_NS, f"cilium-gateway-{GW_NAME}"), lb_ip(NS, "backend-lb")

        def code(url, host=HOST):
            return lan("curl", "-s", "-o", "/dev/null", "-m", "3", "-w", "%{http_code} %{size_download}",
                       "-H", f"Host: {host}", url, check=False).strip()
        wait("the Gateway routes api.example.com",
             lambda: code(f"http://{gw}/v1/1k") == "200 1024", timeout=120, interval=0.5)
        wait("the backends' LB IP answers", lambda: code(f"http://{direct_ip}/v1/1k") == "200 1024",
             timeout=60, interval=0.5)

        def holder(ns, svc):
            r = lab.run("get", "lease", f"cilium-l2announce-{ns}-{svc}", "-n", "kube-system", "-o", "json",
                        check=False)
            return json.loads(r.stdout).get("spec", {}).get("holderIdentity", "") if r.returncode == 0 else ""
        gw_node = holder(GW_NS, f"cilium-gateway-{GW_NAME}")
        direct_node = holder(NS, "backend-lb")
        nodes = {n["metadata"]["name"]: next(a["address"] for a in n["status"]["addresses"]
                                             if a["type"] == "InternalIP")
                 for n in lab.json("get", "nodes")["items"]}
        pods = lab.json("get", "pods", "-n", NS, "-l", "role=backend")["items"]
        backends = [p["status"]["podIP"] for p in pods]
        node_ip = nodes[gw_node]
        def diagnose():
            # What the LAN client sees, who holds each announcement, and every
            # log of the lab (kept under /tmp for a post-mortem).
            diagnostics.clear()
            log(f"-- diagnostics at {time.strftime('%H:%M:%S')}:")
            log("  client neighbours: " + lan("ip", "neigh", check=False).strip().replace("\n", "; "))
            for ns, svc in ((NS, "backend-lb"), (GW_NS, f"cilium-gateway-{GW_NAME}")):
                r = lab.run("get", "lease", f"cilium-l2announce-{ns}-{svc}", "-n", "kube-system", "-o", "json",
                            check=False)
                log(f"  lease {ns}/{svc}: " + (json.dumps(json.loads(r.stdout).get("spec", {}))
                                               if r.returncode == 0 else r.stderr.strip()))
            log(f"  curl {direct_ip}: {code(f'http://{direct_ip}/v1/1k')}; curl {gw}: {code(f'http://{gw}/v1/1k')}")
            keep = tempfile.mkdtemp(prefix="axon-gwlab-failed.", dir="/tmp")
            subprocess.run(["bash", "-c", f"cd {state} && find . \\( -name log -o -name '*.log' \\) "
                                          f"-exec cp --parents {{}} {keep} \\;"], check=False)
            log(f"  the lab's logs: {keep}")
        diagnostics.append(diagnose)
        log(f"Gateway {gw} announced by {gw_node} ({node_ip}); backends' LB IP {direct_ip} by {direct_node}; "
            f"backends " + ", ".join(f"{p['status']['podIP']} on {p['spec']['nodeName']}" for p in pods))

        # nginx and haproxy with the same route, in the announcing node's namespace.
        d = tempfile.mkdtemp(prefix="axon-gwlab-proxies.", dir=state)
        up_nginx = " ".join(f"server {ip}:8080;" for ip in backends)
        fwd = ("proxy_pass http://be; proxy_http_version 1.1; proxy_set_header Connection \"\"; "
               "proxy_set_header Host $host; "
               "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for; "
               "proxy_set_header X-Forwarded-Proto http;")
        with open(os.path.join(d, "nginx-proxy.conf"), "w") as f:
            f.write(f"""daemon off; user root; worker_processes 1; pid {d}/nginx-proxy.pid; error_log {d}/nginx-proxy.err;
events {{ worker_connections 4096; }}
http {{
  access_log off; keepalive_requests 1000000;
  upstream be {{ {up_nginx} keepalive 64; }}
  server {{ listen {node_ip}:8081 default_server; return 404; }}
  server {{ listen {node_ip}:8081; server_name {HOST};
    location = /v1 {{ {fwd} }}
    location /v1/ {{ {fwd} }}
    location / {{ return 404; }} }}
}}
""")
        with open(os.path.join(d, "haproxy.cfg"), "w") as f:
            servers = "\n".join(f"  server b{i} {ip}:8080" for i, ip in enumerate(backends))
            f.write(f"""global
  nbthread 1
  maxconn 8000
defaults
  mode http
  timeout client 30s
  timeout server 30s
  timeout connect 5s
  http-reuse always
frontend fe
  bind {node_ip}:8082
  acl api hdr(host) -i {HOST}
  acl v1 path /v1
  acl v1 path_beg /v1/
  option forwardfor
  http-request set-header X-Forwarded-Proto http
  http-request return status 404 unless api v1
  default_backend be
backend be
  balance roundrobin
{servers}
""")
        node_ns = f"axon-{lab.name}-{gw_node}"
        # `ip netns exec` execs the command: each pid is the proxy's (nginx's master).
        for cmd in (["nginx", "-c", f"{d}/nginx-proxy.conf", "-p", d], ["haproxy", "-f", f"{d}/haproxy.cfg"]):
            procs.append(subprocess.Popen(["ip", "netns", "exec", node_ns, *cmd],
                                          stdout=subprocess.DEVNULL, stderr=open(f"{d}/{cmd[0]}.out", "w")))
        wait("nginx and haproxy listening", lambda: code(f"http://{node_ip}:8081/v1/1k") == "200 1024"
             and code(f"http://{node_ip}:8082/v1/1k") == "200 1024", timeout=30, interval=0.3)

        hosts_file = os.path.join(state, "hosts")
        lua = os.path.join(state, "spread.lua")
        with open(lua, "w") as f:
            f.write(SPREAD_LUA % hosts_file)

        def set_hosts(hosts):
            h = list(hosts)
            random.Random(20).shuffle(h)
            with open(hosts_file, "w") as f:
                f.write("\n".join(h) + "\n")

        targets = {
            "gateway": (f"http://{gw}", True, False),
            "gateway-spread": (f"http://{gw}", True, True),
            "nginx": (f"http://{node_ip}:8081", True, False),
            "haproxy": (f"http://{node_ip}:8082", True, False),
            "direct": (f"http://{direct_ip}", False, False),
        }

        def check(name):
            """The target answers as it should; a failed check is reported
            (a measured gap) and tried again, up to 5 times."""
            base, proxied, _ = targets[name]
            want = {"/v1/1k": "200 1024", "/other/1k": "404" if proxied else "200 1024",
                    "other host": "404" if proxied else "200 1024"}
            for attempt in range(5):
                got = {p: code(base + p) for p in ("/v1/1k", "/other/1k")}
                got["other host"] = code(base + "/v1/1k", host="www.example.com")
                bad = {k: v for k, v in got.items() if not v.startswith(want[k])}
                if not bad:
                    return
                log(f"  CHECK FAILED ({attempt + 1}): {name}: {base}: got {bad}, want {want}; "
                    f"holders: Gateway {holder(GW_NS, f'cilium-gateway-{GW_NAME}')}, "
                    f"backend-lb {holder(NS, 'backend-lb')}; client's neighbours: " +
                    " ".join(lan("ip", "neigh", check=False).split("\n")))
                time.sleep(1)
            raise RuntimeError(f"{name}: {base}: got {bad}, want {want}")

        def wrk(name, connections, duration):
            base, _, spread = targets[name]
            cmd = (["taskset", "-c", "0"] if args.pin else []) + \
                ["wrk", "-t1", f"-c{connections}", f"-d{duration}", "--latency", "-H", f"Host: {HOST}"]
            if spread:
                cmd += ["-s", lua]
            out = lan(*cmd, base + "/v1/1k")
            m = re.search(r"Socket errors: (.*)", out)
            res = wrk_result(out)
            if res[3] or m:
                log(f"  {name}: {connections} connections: non-2xx {res[3]}; socket errors: "
                    f"{m.group(1) if m else 0}")
            return res

        def one_round(names, many, one, label=None):
            for n in names:
                check(n)
                got, single = wrk(n, 50, DURATION), wrk(n, 1, DURATION1)
                if label:
                    many[n].append(got)
                    one[n].append(single)
            if label:
                log(f"  {label}: " + ", ".join(f"{n} {many[n][-1][0]:.0f}" for n in names) +
                    f" req/s (load average {os.getloadavg()[0]:.1f})")

        def medians(many, one):
            med = {n: sorted(v)[len(v) // 2] for n, v in many.items()}
            med1 = {n: sorted(v, key=lambda x: x[1])[len(v) // 2] for n, v in one.items()}
            return med, med1

        def measure(names, rounds, label):
            many = {n: [] for n in names}
            one = {n: [] for n in names}
            one_round(names, many, one)  # warm-up
            for r in range(rounds):
                one_round(names, many, one, f"{label} round {r + 1}")
            return (many, *medians(many, one))

        def table(many, med, med1, label):
            base, base1 = med["direct"], med1["direct"]
            log(f"-- {label}: {args.rounds} rounds; req/s per round:")
            for n, v in many.items():
                log(f"  {n:16} " + " ".join(f"{x[0]:.0f}" for x in v))
            log(f"{'target':16} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7} {'+p50 us':>8} {'+p99 us':>8} "
                f"{'1 conn p50 us':>13} {'p99 us':>7} {'+p50 us':>8} {'+p99 us':>8} non-2xx")
            for n in many:
                rps, p50, p99, errs = med[n]
                _, q50, q99, errs1 = med1[n]
                log(f"{n:16} {rps:8.0f} {p50:7.3f} {p99:7.3f} {1000 * (p50 - base[1]):8.0f} "
                    f"{1000 * (p99 - base[2]):8.0f} {1000 * q50:13.0f} {1000 * q99:7.0f} "
                    f"{1000 * (q50 - base1[1]):8.0f} {1000 * (q99 - base1[2]):8.0f} {errs}/{errs1}")

        # 1. The Gateway against nginx, haproxy and no proxy, 10 routes.
        set_hosts(h for _, h in base_routes)
        names = ["gateway", "gateway-spread", "nginx", "haproxy", "direct"]
        many, med10, med10_1 = measure(names, args.rounds, "10 routes")
        table(many, med10, med10_1, "10 routes on the Gateway")
        better = max(med10["nginx"][0], med10["haproxy"][0])
        log(f"gateway / better of nginx and haproxy: {med10['gateway'][0] / better:.2f}x req/s "
            f"(target >= 0.8x); gateway / direct: {med10['gateway'][0] / med10['direct'][0]:.2f}x")
        # The same paired by round (the targets of a round run minutes apart
        # at most): what a slow minute of a shared machine moves less.
        paired = [g[0] / max(x[0], y[0]) for g, x, y in zip(many["gateway"], many["nginx"], many["haproxy"])]
        log("gateway / better of nginx and haproxy, per round: " + " ".join(f"{r:.2f}" for r in paired) +
            f"; median {sorted(paired)[len(paired) // 2]:.2f}x")

        if args.compare_only:
            return 0

        # 2. Route programming.
        def programming(count, prefix):
            prober = subprocess.Popen(["ip", "netns", "exec", client_ns, "python3", "-u", "-c", PROBER, gw],
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
            procs.append(prober)
            lat, applies, probes = [], [], []
            try:
                for i in range(count):
                    host = f"{prefix}{i}.example.com"
                    prober.stdin.write(host + "\n")
                    prober.stdin.flush()
                    t0 = time.monotonic()
                    lab.run("apply", "-f", "-", input=route(f"{prefix}{i}", host))
                    t1 = time.monotonic()
                    line = prober.stdout.readline().split()
                    if not line or line[0] == "timeout":
                        raise RuntimeError(f"route {prefix}{i} ({host}) not served within 60 s "
                                           f"of its apply: {code(f'http://{gw}/v1/1k', host=host)}")
                    lat.append(float(line[0]) - t1)
                    applies.append(t1 - t0)
                    probes.append(int(line[1]))
                    time.sleep(0.2)
            finally:
                prober.stdin.close()
                prober.wait(timeout=10)
                procs.remove(prober)
            ms = [1000 * x for x in lat]
            log(f"  apply returned -> first request routed, {count} changes: p50 {pct(ms, 50):.0f} ms, "
                f"p99 {pct(ms, 99):.0f} ms, max {max(ms):.0f} ms, min {min(ms):.0f} ms "
                f"(target p99 <= 1000 ms); `axon apply` itself p50 {1000 * pct(applies, 50):.0f} ms, "
                f"max {1000 * max(applies):.0f} ms; probes per change p50 {pct(probes, 50)}")
            log("  per change ms: " + " ".join(f"{x:.0f}" for x in ms))
            lab.run("delete", "-f", "-", input=routes((f"{prefix}{i}", f"{prefix}{i}.example.com")
                                                      for i in range(count)))
            return ms

        log(f"-- route programming, {len(base_routes)} routes on the Gateway")
        programming(args.changes, "p")

        # 3. 1,000 routes against 10, rounds in the order 10, N | N, 10 | 10, N ...
        # (one change of the route count per round: 990 routes applied in one
        # file, or deleted), the Gateway's figures against direct's in the
        # same state.
        more = [(f"h{i}", f"h{i}.example.com") for i in range(9, args.routes - 1)]
        big = os.path.join(state, "routes.yaml")
        with open(big, "w") as f:
            f.write(routes(more))
        ten = [h for _, h in base_routes]
        all_hosts = ten + [h for _, h in more]
        n_all = len(all_hosts)

        def served(hosts):
            return int(lan("python3", "-c", SERVED, gw, input="\n".join(hosts) + "\n").strip() or 0)
        changes = []

        def load(on):
            t0 = time.monotonic()
            lab.run("apply" if on else "delete", "-f", big)
            t_cli = time.monotonic() - t0
            want = len(more) if on else 0
            t_all = t_cli + wait(f"{len(more)} routes {'served' if on else 'gone'}",
                                 lambda: served([h for _, h in more]) == want, timeout=300, interval=0.2)
            changes.append((on, t_cli, t_all))
            log(f"  `axon {'apply' if on else 'delete'} -f` of {len(more)} HTTPRoutes in one file: "
                f"{t_cli:.1f} s; every one {'served' if on else 'gone (404)'} {t_all:.1f} s after it began")
            set_hosts(all_hosts if on else ten)

        names = ["gateway", "gateway-spread", "direct"]
        scale = {c: ({n: [] for n in names}, {n: [] for n in names}) for c in (10, n_all)}
        loaded = False
        log(f"-- {n_all} routes against 10")
        for r in range(args.rounds):
            order = (10, n_all) if r % 2 == 0 else (n_all, 10)
            for c in order:
                if (c == n_all) != loaded:
                    load(not loaded)
                    loaded = not loaded
                one_round(names, *scale[c], f"{c} routes, round {r + 1}")
        res = {}
        for c, (many, one) in scale.items():
            res[c] = medians(many, one)
            table(many, *res[c], f"{c} routes on the Gateway")
        for n in ("gateway", "gateway-spread"):
            a, b = res[10][0][n], res[n_all][0][n]
            a1, b1 = res[10][1][n], res[n_all][1][n]
            da, db = res[10][0]["direct"], res[n_all][0]["direct"]
            log(f"{n}: {n_all} routes / 10 routes: req/s {b[0] / a[0]:.2f}x, p50 {b[1] / a[1]:.2f}x, "
                f"p99 {b[2] / a[2]:.2f}x; 1 connection p50 {b1[1] / a1[1]:.2f}x, p99 {b1[2] / a1[2]:.2f}x; "
                f"+p50 at 1 connection {1000 * (a1[1] - res[10][1]['direct'][1]):.0f} -> "
                f"{1000 * (b1[1] - res[n_all][1]['direct'][1]):.0f} us (target: within 10%); "
                f"direct in the same rounds {db[0] / da[0]:.2f}x req/s")
        if not loaded:
            load(True)
        if args.changes_at_scale:
            log(f"-- route programming, {n_all} routes on the Gateway")
            programming(args.changes_at_scale, "q")
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        for _ in range(3):
            r = subprocess.run([axon, "--state-dir", state, "lab", "down", "--name", lab.name],
                               capture_output=True, text=True, timeout=600)
            if r.returncode == 0:
                break
            print(f"lab down: {r.stderr.strip()[-400:]}", file=sys.stderr)
            time.sleep(2)
        shutil.rmtree(state, ignore_errors=True)
        shutil.rmtree(www, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
