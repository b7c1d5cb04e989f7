"""The bytecode compiler (compile and verify) as the operand stack deepens (issue #14 item 7).

    python benchmarks/operand_depth.py [--depths 500 1000 ...] [--repeat N] [--tiers T ...]

A print of N arguments keeps N values on the operand stack. Each cell runs in a fresh child:
the bytecode compiler's CPU time (best of N) and its peak traced memory (tracemalloc), and,
for each tier asked for, the CPU time and peak RSS of `jitkit.tiers.load` plus running the
program. Linear growth shows as ~2x per doubling.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CHILD = textwrap.dedent(
    """
    import contextlib, io, json, resource, sys, time, tracemalloc
    from jitkit.bytecode.compiler import compile_module
    from jitkit.lang.parse import parse_module
    depth, repeat, tier = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    source = "def f(x):\\n    print(" + ", ".join(["x"] * depth) + ")\\n    return 0\\n\\nf(1)\\n"
    module = parse_module(source)
    best = float("inf")
    for _ in range(repeat):
        start = time.process_time()
        compile_module(module)
        best = min(best, time.process_time() - start)
    tracemalloc.start()
    compile_module(module)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    out = {"compile_s": best, "compile_peak_mb": peak / 1e6}
    if tier != "-":
        from jitkit.tiers import load
        start = time.process_time()
        with contextlib.redirect_stdout(io.StringIO()):
            load(source, tier).run_main()
        out["tier_s"] = time.process_time() - start
        out["rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(out))
    """
)


def measure(depth: int, repeat: int, tier: str) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    argv = [sys.executable, "-c", CHILD, str(depth), str(repeat), tier]
    done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=600, cwd=ROOT)
    if done.returncode:
        return {"error": done.stderr.strip().splitlines()[-1]}
    return json.loads(done.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--depths", type=int, nargs="+", default=[500, 1000, 2000, 4000, 8000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--tiers", nargs="*", default=[])
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f}")
    header = f"{'depth':>6} {'compile ms':>11} {'x':>5} {'peak MB':>8} {'x':>5}"
    print(header + "".join(f" {t + ' s':>9} {t + ' RSS MB':>13}" for t in args.tiers))
    previous = None
    for depth in args.depths:
        r = measure(depth, args.repeat, "-")
        row = f"{depth:>6} {r['compile_s'] * 1e3:>11.1f} "
        ratio = r["compile_s"] / previous["compile_s"] if previous else None
        row += f"{ratio:>5.2f} " if ratio else f"{'':>5} "
        row += f"{r['compile_peak_mb']:>8.2f} "
        ratio = r["compile_peak_mb"] / previous["compile_peak_mb"] if previous else None
        row += f"{ratio:>5.2f}" if ratio else f"{'':>5}"
        for tier in args.tiers:
            t = measure(depth, 1, tier)
            row += f" {t['tier_s']:>9.2f} {t['rss_mb']:>13.0f}" if "error" not in t else " error"
        print(row, flush=True)
        previous = r


if __name__ == "__main__":
    main()
