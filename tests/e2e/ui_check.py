#!/usr/bin/env python3
"""Drives the web UI in a real browser: Debian's headless Chromium through
ChromeDriver's W3C WebDriver API (plain HTTP + JSON; no client library).

    ui_check.py URL NAMESPACE --traffic "CMD" --screenshot FILE

Opens URL, picks NAMESPACE from the namespace list by clicking it, then
checks what an operator would look at: dropped and forwarded flows in the
table, the service map's nodes and edges with their verdicts, the verdict
filter, and that new traffic (CMD, run while the page is open) appears
without a reload. Prints one "ok"/"FAIL" line per check; exit 1 on a
failure. ChromeDriver and Chromium are started here and stopped by pid,
with a temporary profile that is removed afterwards.
"""
import argparse
import base64
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

failures = 0


def check(what, ok, detail=""):
    global failures
    print(f"{'ok' if ok else 'FAIL'}: {what}{'' if ok or not detail else ': ' + detail}", flush=True)
    if not ok:
        failures += 1
    return ok


class WebDriver:
    """The few W3C WebDriver commands the check needs."""

    def __init__(self, driver_url):
        self.base = driver_url
        self.session = None

    def call(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                return json.loads(r.read() or b"{}").get("value")
        except urllib.error.HTTPError as e:
            raise RuntimeError(f"WebDriver {method} {path}: {e.read().decode(errors='replace')}")

    def start(self, profile):
        args = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--no-first-run", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--disable-dev-shm-usage", f"--user-data-dir={profile}",
                "--window-size=1400,1000"]
        caps = {"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": "/usr/bin/chromium", "args": args}}}}
        self.session = self.call("POST", "/session", caps)["sessionId"]

    def s(self, path):
        return f"/session/{self.session}{path}"

    def get(self, url):
        self.call("POST", self.s("/url"), {"url": url})

    def js(self, script, *args):
        return self.call("POST", self.s("/execute/sync"), {"script": script, "args": list(args)})

    def find(self, css):
        v = self.call("POST", self.s("/element"), {"using": "css selector", "value": css})
        return next(iter(v.values()))

    def click(self, element):
        self.call("POST", self.s(f"/element/{element}/click"), {})

    def screenshot(self, path):
        with open(path, "wb") as f:
            f.write(base64.b64decode(self.call("GET", self.s("/screenshot"))))

    def quit(self):
        if self.session:
            try:
                self.call("DELETE", self.s(""))
            except Exception:
                pass


def wait_until(fn, secs):
    """fn's first truthy value within secs (polled), else its last value."""
    end = time.monotonic() + secs
    v = None
    while time.monotonic() < end:
        try:
            v = fn()
        except (RuntimeError, OSError):  # not up yet
            v = None
        if v:
            return v
        time.sleep(0.25)
    return v


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


ROWS = """return [...document.querySelectorAll('#flows tbody tr')].map(tr => ({
  verdict: tr.dataset.verdict, seq: Number(tr.dataset.seq),
  source: tr.querySelector('.source').textContent,
  destination: tr.querySelector('.destination').textContent,
  type: tr.querySelector('.type').textContent}));"""
MAP = """return {
  nodes: [...document.querySelectorAll('#map .node')].map(n => n.dataset.id),
  edges: [...document.querySelectorAll('#map .edge-group')].map(e => ({
    source: e.dataset.source, destination: e.dataset.destination,
    verdict: e.dataset.verdict, port: e.dataset.port}))};"""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("namespace")
    ap.add_argument("--client", required=True, help="map node id of the client workload")
    ap.add_argument("--allowed", required=True, help="map node id the client reaches")
    ap.add_argument("--denied", required=True, help="map node id the client is denied")
    ap.add_argument("--traffic", required=True, help="shell command making new flows")
    ap.add_argument("--screenshot")
    args = ap.parse_args()

    port = free_port()
    profile = tempfile.mkdtemp(prefix="axon-ui-chromium-")
    log = open(os.path.join(profile, "chromedriver.log"), "w")
    # Its own process group: Chromium's processes go with it at the end.
    driver = subprocess.Popen(["/usr/bin/chromedriver", f"--port={port}"], stdout=log,
                              stderr=subprocess.STDOUT, start_new_session=True)
    wd = WebDriver(f"http://127.0.0.1:{port}")
    try:
        if not wait_until(lambda: wd.call("GET", "/status").get("ready"), 20):
            check("chromedriver starts", False)
            return 1
        wd.start(os.path.join(profile, "profile"))
        wd.get(args.url)
        check("the page loads", wd.js("return document.title") == "axon · Hubble UI",
              wd.js("return document.title"))
        option = f'#namespace option[value="{args.namespace}"]'
        has_ns = wait_until(lambda: wd.js(f"return !!document.querySelector('{option}')"), 30)
        if not check(f"namespace {args.namespace} is offered", has_ns):
            return 1
        wd.click(wd.find(option))  # clicking an option selects it (WebDriver)
        check("picking it puts it in the address",
              wait_until(lambda: f"namespace={args.namespace}" in wd.js("return location.search"), 10))

        rows = wait_until(lambda: (lambda r: r if any(x["verdict"] == "DROPPED" for x in r) and
                                   any(x["verdict"] == "FORWARDED" for x in r) else None)(wd.js(ROWS)), 30)
        rows = rows or wd.js(ROWS)
        check("the flow table shows forwarded and dropped flows",
              any(r["verdict"] == "DROPPED" for r in rows) and any(r["verdict"] == "FORWARDED" for r in rows),
              f"{len(rows)} rows")
        dropped = [r for r in rows if r["verdict"] == "DROPPED"]
        check("dropped rows name the pods and the reason",
              any(args.namespace + "/" in r["source"] and args.namespace + "/" in r["destination"] and
                  "Policy denied" in r["type"] for r in dropped), json.dumps(dropped[:3]))

        def map_ready():
            m = wd.js(MAP)
            edges = {(e["source"], e["destination"]): e["verdict"] for e in m["edges"]}
            ok = (edges.get((args.client, args.denied)) == "dropped" and
                  edges.get((args.client, args.allowed)) in ("forwarded", "mixed"))
            return m if ok else None
        m = wait_until(map_ready, 30) or wd.js(MAP)
        check("the service map has the workloads", all(n in m["nodes"] for n in
                                                        (args.client, args.allowed, args.denied)),
              json.dumps(m["nodes"]))
        edges = {(e["source"], e["destination"]): e for e in m["edges"]}
        check(f"edge {args.client} -> {args.denied} is dropped",
              edges.get((args.client, args.denied), {}).get("verdict") == "dropped", json.dumps(m["edges"]))
        check(f"edge {args.client} -> {args.allowed} is forwarded",
              edges.get((args.client, args.allowed), {}).get("verdict") in ("forwarded", "mixed"),
              json.dumps(m["edges"]))
        if args.screenshot:
            wd.screenshot(args.screenshot)

        # Live: new traffic shows up without a reload.
        newest = max((r["seq"] for r in wd.js(ROWS)), default=0)
        subprocess.run(args.traffic, shell=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        check("new flows appear without a reload",
              wait_until(lambda: max((r["seq"] for r in wd.js(ROWS)), default=0) > newest, 15))

        # The verdict filter.
        wd.click(wd.find('#verdict option[value="DROPPED"]'))
        only = wait_until(lambda: (lambda r: r if r and all(x["verdict"] == "DROPPED" for x in r) else None)(
            wd.js(ROWS)), 15)
        check("the verdict filter shows only dropped flows", bool(only))
        check("the address keeps the filter", "verdict=DROPPED" in wd.js("return location.search"))
        errors = wd.js("return document.getElementById('status').className")
        check("the status line shows no error", errors != "error",
              wd.js("return document.getElementById('status').textContent"))
        return 1 if failures else 0
    finally:
        wd.quit()
        try:
            os.killpg(driver.pid, signal.SIGTERM)
            driver.wait(10)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            pass
        try:
            os.killpg(driver.pid, signal.SIGKILL)  # whatever of Chromium is left
        except ProcessLookupError:
            pass
        driver.wait()
        log.close()
        shutil.rmtree(profile, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
