"""Helpers the benchmark scripts share."""
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
