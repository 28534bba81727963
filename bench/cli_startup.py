#!/usr/bin/env python3
"""CLI start-up and shell-completion latency.

What an operator and a CI script feel on every call: how long `axon`
takes to start, parse and answer, and how long a TAB takes with the
bash completion script. Reports mean, p50, p95 and peak RSS.

    bench/cli_startup.py BUILD_DIR [--runs N]
"""
import argparse
import os
import resource
import statistics
import subprocess
import sys
import time


def measure(argv, runs, env=None):
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, check=False)
        times.append((time.perf_counter() - t0) * 1000.0)
    times.sort()
    return {
        "mean_ms": statistics.fmean(times),
        "p50_ms": times[len(times) // 2],
        "p95_ms": times[int(len(times) * 0.95) - 1],
    }


def peak_rss_kib(argv):
    """Peak RSS of one run, from GNU time (-f %M, KiB)."""
    out = subprocess.run(["/usr/bin/time", "-f", "%M"] + argv, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True, check=False)
    return int(out.stderr.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build_dir")
    ap.add_argument("--runs", type=int, default=200)
    args = ap.parse_args()
    axon = os.path.join(args.build_dir, "axon")
    src = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    bash_script = os.path.join(src, "completions", "axon.bash")

    cases = [
        ("axon version", [axon, "version"]),
        ("axon --help", [axon, "--help"]),
        ("axon observe --verdict MAYBE (usage error)", [axon, "observe", "--verdict", "MAYBE"]),
        ("axon completion bash", [axon, "completion", "bash"]),
    ]
    # One TAB in bash: source once, then time the completion function alone
    # (what the user waits for), over the same number of calls in one shell.
    tab = (f"source {bash_script}; "
           "COMP_WORDS=(axon -o json observe --since 5m --verdict ''); COMP_CWORD=6; "
           f"s=$(date +%s%N); for i in $(seq {args.runs}); do _axon; done; e=$(date +%s%N); "
           f"echo $(( (e - s) / {args.runs} ))")
    print(f"runs per case: {args.runs}")
    print(f"{'case':48} {'mean':>8} {'p50':>8} {'p95':>8} {'peak RSS':>10}")
    for name, argv in cases:
        m = measure(argv, args.runs)
        rss = peak_rss_kib(argv)
        print(f"{name:48} {m['mean_ms']:7.2f}ms {m['p50_ms']:7.2f}ms {m['p95_ms']:7.2f}ms {rss / 1024:8.1f}MiB")
    ns = int(subprocess.run(["bash", "-c", tab], capture_output=True, text=True, check=True).stdout.strip())
    print(f"{'bash TAB: axon -o json observe --since 5m --verdict <TAB>':48} {ns / 1e6:7.2f}ms (mean, in-shell)")


if __name__ == "__main__":
    sys.exit(main())
