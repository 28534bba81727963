"""Helpers the benchmark scripts share."""
import json
import os
import re
import shutil
import subprocess
import time


def wait(what, fn, timeout=300, interval=0.05):
    """Polls fn every `interval` s until it is true; the seconds it took.
    Raises when `timeout` s pass first."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if fn():
            return time.monotonic() - start
        time.sleep(interval)
    raise RuntimeError(f"{what}: not within {timeout}s")


def rss_kib(pid):
    """A process's resident set size in KiB (0 when unknown)."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class Lab:
    """`axon --state-dir STATE --lab NAME ...` for a benchmark's own lab."""

    def __init__(self, axon, state, name):
        self.axon, self.state, self.name = axon, state, name

    def run(self, *args, check=True, input=None, timeout=600):
        r = subprocess.run([self.axon, "--state-dir", self.state, "--lab", self.name, *args],
                           capture_output=True, text=True, input=input, timeout=timeout)
        if check and r.returncode != 0:
            raise RuntimeError(f"axon {' '.join(args)} failed ({r.returncode}): "
                               f"{r.stderr.strip() or r.stdout.strip()}")
        return r

    def json(self, *args):
        return json.loads(self.run(*args, "-o", "json").stdout)

    def up(self, nodes, seed, *sets):
        """The lab up with `nodes` nodes, axon installed from the seed's values
        (fixed) with `sets` (--set k=v ...), ready."""
        self.run("lab", "up", "--name", self.name, "--nodes", str(nodes))
        values = os.path.join(self.state, "values.yaml")
        shutil.copy(seed, values)
        self.run("values", "fix", "-f", values, "-w")
        self.run("install", "-f", values, *sets)
        self.run("status", "--wait", "--wait-duration", "300s")


def wrk_ms(text):
    """A wrk duration ("512.00us", "1.20ms", "1.01s") in ms."""
    m = re.match(r"([\d.]+)(us|ms|s)", text)
    v = float(m.group(1))
    return v / 1000 if m.group(2) == "us" else v * 1000 if m.group(2) == "s" else v


def wrk_result(out):
    """wrk --latency's output: (requests/s, p50 ms, p99 ms, non-2xx/3xx answers)."""
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50 = wrk_ms(re.search(r"\s50%\s+(\S+)", out).group(1))
    p99 = wrk_ms(re.search(r"\s99%\s+(\S+)", out).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return rps, p50, p99, int(errors.group(1)) if errors else 0


def seed_values(src):
    """The seed's Helm values (../shared), else the tests' copy of them."""
    seed = os.path.join(src, "..", "shared", "seed", "manifests", "cilium-values.yaml")
    return seed if os.path.exists(seed) else os.path.join(src, "tests", "e2e", "seed-values.yaml")
