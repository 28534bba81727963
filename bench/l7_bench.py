#!/usr/bin/env python3
"""The node's L7 proxy against the reverse proxies operators know, on the
machine's loopback, same backend, same cores, one worker each:

  direct   wrk -> nginx (the backend: a 1 KiB file)
  axon     wrk -> axon's proxy (one http rule checked per request, every
           request's record sent to the agent's end as the node does) -> backend
  axon-noflows  the same without the records (no L7 flows)
  axon-gateway  the same proxy as a Gateway listener (10 HTTPRoutes, the
           request routed by Host to the backend; no policy), records as axon
  nginx    wrk -> nginx reverse proxy (keep-alive upstream) -> backend
  haproxy  wrk -> haproxy (mode http, http-reuse always) -> backend

wrk: 1 thread, 50 keep-alive connections, 10 s, --latency; L7_BENCH_ROUNDS
rounds (default 3) alternating the paths, each path's median. Prints requests/s,
p50/p99 latency and the latency each proxy adds over direct, the same at
one connection (what a proxy adds to a request, without queueing); then the axon
proxy's memory per idle connection (10,000 without a request, 5,000 kept
alive after one: RSS before and after). Loopback only; every process is ours and stopped by pid.
Usage: l7_bench.py BUILD_DIR
"""
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

from benchlib import rss_kib, wrk_result

BUILD = sys.argv[1] if len(sys.argv) > 1 else "build"
DURATION = os.environ.get("L7_BENCH_DURATION", "10s")
ROUNDS = int(os.environ.get("L7_BENCH_ROUNDS", "3"))


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def wait_port(port, timeout=10):
    end = time.time() + timeout
    while time.time() < end:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port}")


def raise_nofile():
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    want = 65536 if hard == resource.RLIM_INFINITY else min(hard, 65536)
    resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))


def wrk(port, connections=50, duration=None):
    # Every path gets the Host of one of the Gateway's routes (the others
    # ignore it).
    out = subprocess.run(["wrk", "-t1", f"-c{connections}", "-d" + (duration or DURATION), "--latency",
                          "-H", "Host: h0.example.com", f"http://127.0.0.1:{port}/1k"], capture_output=True, text=True,
                         check=True).stdout
    return wrk_result(out)


def main():
    for tool in ("wrk", "nginx", "haproxy"):
        if not shutil.which(tool):
            print(f"SKIP: {tool} is not installed (scripts/debian-packages.txt)")
            return 0
    d = tempfile.mkdtemp(prefix="axon-l7-bench.")
    procs = []
    try:
        backend, nginx_proxy, haproxy_port = free_port(), free_port(), free_port()
        with open(os.path.join(d, "1k"), "w") as f:
            f.write("x" * 1024)
        with open(os.path.join(d, "nginx.conf"), "w") as f:
            f.write(f"""
daemon off; user root; worker_processes 1; pid {d}/nginx.pid; error_log {d}/nginx.err;
events {{ worker_connections 4096; }}
http {{
  access_log off; keepalive_requests 1000000;
  upstream be {{ server 127.0.0.1:{backend}; keepalive 64; }}
  server {{ listen 127.0.0.1:{backend}; root {d}; }}
}}
""")
        with open(os.path.join(d, "nginx-proxy.conf"), "w") as f:
            f.write(f"""
daemon off; user root; worker_processes 1; pid {d}/nginx-proxy.pid; error_log {d}/nginx-proxy.err;
events {{ worker_connections 4096; }}
http {{
  access_log off; keepalive_requests 1000000;
  upstream be {{ server 127.0.0.1:{backend}; keepalive 64; }}
  server {{ listen 127.0.0.1:{nginx_proxy};
    location / {{ proxy_pass http://be; proxy_http_version 1.1; proxy_set_header Connection ""; }} }}
}}
""")
        with open(os.path.join(d, "haproxy.cfg"), "w") as f:
            f.write(f"""
global
  nbthread 1
  maxconn 8000
defaults
  mode http
  timeout client 30s
  timeout server 30s
  timeout connect 5s
  http-reuse always
frontend fe
  bind 127.0.0.1:{haproxy_port}
  default_backend be
backend be
  server b1 127.0.0.1:{backend}
""")
        procs.append(subprocess.Popen(["nginx", "-c", f"{d}/nginx.conf", "-p", d],
                                      stderr=subprocess.DEVNULL))
        wait_port(backend)
        procs.append(subprocess.Popen(["nginx", "-c", f"{d}/nginx-proxy.conf", "-p", d],
                                      stderr=subprocess.DEVNULL))
        procs.append(subprocess.Popen(["haproxy", "-f", f"{d}/haproxy.cfg"],
                                      stderr=subprocess.DEVNULL))
        axon = subprocess.Popen([f"{BUILD}/bench/axon_bench_l7_proxy", "--upstream-port",
                                 str(backend)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                text=True, preexec_fn=raise_nofile)
        procs.append(axon)
        axon_port = int(axon.stdout.readline().split()[1])
        # The same without L7 flows (no record per request: what nginx and
        # haproxy do here, access logs off), to show what the flows cost.
        bare = subprocess.Popen([f"{BUILD}/bench/axon_bench_l7_proxy", "--upstream-port",
                                 str(backend), "--records", "0"], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, text=True)
        procs.append(bare)
        bare_port = int(bare.stdout.readline().split()[1])
        gateway = subprocess.Popen([f"{BUILD}/bench/axon_bench_l7_proxy", "--upstream-port",
                                    str(backend), "--gateway", "10"], stdin=subprocess.PIPE,
                                   stdout=subprocess.PIPE, text=True)
        procs.append(gateway)
        gateway_port = int(gateway.stdout.readline().split()[1])
        for p in (nginx_proxy, haproxy_port, axon_port, bare_port, gateway_port):
            wait_port(p)

        # Rounds alternate the paths (the machine is shared: its speed drifts
        # within a run); each path's median round by req/s is reported.
        paths = (("direct", backend), ("axon", axon_port), ("axon-noflows", bare_port),
                 ("axon-gateway", gateway_port), ("nginx", nginx_proxy), ("haproxy", haproxy_port))
        for _, port in paths:
            wrk(port)  # warm-up (the same for all)
        rounds = {name: [] for name, _ in paths}
        for _ in range(ROUNDS):
            for name, port in paths:
                rounds[name].append(wrk(port))
        results = {name: sorted(r)[len(r) // 2] for name, r in rounds.items()}
        print(f"{ROUNDS} rounds; req/s per round:")
        for name, r in rounds.items():
            print(f"  {name:12} " + " ".join(f"{x[0]:.0f}" for x in r))
        base = results["direct"]
        print(f"{'path':12} {'req/s':>10} {'p50 ms':>8} {'p99 ms':>8} {'+p50 us':>8} {'+p99 us':>8} non-2xx")
        for name, (rps, p50, p99, errs) in results.items():
            print(f"{name:12} {rps:10.0f} {p50:8.3f} {p99:8.3f} {1000 * (p50 - base[1]):8.0f} "
                  f"{1000 * (p99 - base[2]):8.0f} {errs}")
        better = max(results["nginx"][0], results["haproxy"][0])
        print(f"axon / better of nginx, haproxy: {results['axon'][0] / better:.2f}x (target >= 0.8x); "
              f"without L7 flows {results['axon-noflows'][0] / better:.2f}x; "
              f"as a Gateway listener {results['axon-gateway'][0] / better:.2f}x")

        # What the proxy itself adds to a request: one connection, one
        # request at a time (at 50 connections p50 is mostly queueing on
        # the two cores wrk, the backend and the proxy share).
        print("one connection (no queueing), median of "
              f"{ROUNDS} rounds:  p50 us  p99 us  +p50 us  +p99 us")
        single = {name: [] for name, _ in paths}
        for _ in range(ROUNDS):
            for name, port in paths:
                single[name].append(wrk(port, 1, "5s"))
        one = {name: sorted(r, key=lambda x: x[1])[len(r) // 2] for name, r in single.items()}
        for name, (_, p50, p99, _) in one.items():
            print(f"  {name:12} {1000 * p50:8.0f} {1000 * p99:7.0f} {1000 * (p50 - one['direct'][1]):8.0f} "
                  f"{1000 * (p99 - one['direct'][2]):8.0f}")

        # Idle connections: 10,000 opened and left without a request (the
        # proxy holds only their client side), then 5,000 that made one
        # request and stay kept alive (each also holds its upstream
        # connection). The machine allows 20,000 descriptors per process.
        raise_nofile()
        before = rss_kib(axon.pid)
        conns = [socket.create_connection(("127.0.0.1", axon_port)) for _ in range(10000)]
        time.sleep(1)
        idle = rss_kib(axon.pid)
        print(f"10,000 idle connections: RSS {before / 1024:.1f} -> {idle / 1024:.1f} MiB, "
              f"{(idle - before) / 10000:.1f} KiB per connection")
        for s in conns:
            s.close()
        time.sleep(1)
        before = rss_kib(axon.pid)
        conns = []
        for _ in range(5000):
            s = socket.create_connection(("127.0.0.1", axon_port))
            s.sendall(b"GET /1k HTTP/1.1\r\nHost: b\r\n\r\n")
            conns.append(s)
        got = 0
        for s in conns:
            data = b""
            while len(data) < 1024 + 100:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
                if b"\r\n\r\n" in data and len(data) >= data.index(b"\r\n\r\n") + 4 + 1024:
                    break
            got += data.startswith(b"HTTP/1.1 200")
        time.sleep(1)
        after = rss_kib(axon.pid)
        print(f"5,000 kept-alive connections after one request each ({got} answered 200, upstream "
              f"connection kept too): RSS {before / 1024:.1f} -> {after / 1024:.1f} MiB, "
              f"{(after - before) / 5000:.1f} KiB per connection")
        for s in conns:
            s.close()
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()
        shutil.rmtree(d, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
