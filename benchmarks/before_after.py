"""One tier from two source trees, interleaved, as ratios to gcc -O2: did a change make it faster?

    python benchmarks/before_after.py OLD_ROOT NEW_ROOT [--tier llvm] [--rounds 5] [--small]

OLD_ROOT and NEW_ROOT are checkouts (e.g. `git worktree add /tmp/old HEAD~3`, or
`git archive HEAD~3 jitkit | tar -x -C /tmp/old`). Each round starts one child process per
tree, in alternating order; a child imports jitkit from its tree, compiles the kernels for the
tier and, per kernel at the anchor sizes (`jitkit.bench.ANCHOR`; `--small`: `bench.SIZES`),
times gcc -O2 and the tier in alternating calls, in CPU time, and reports the medians. The
table gives per kernel the median [min-max] over rounds of tier time ÷ gcc -O2 time (both from
the same child, the same moments of the machine) and the geomean; then the load average.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys

CHILD = """
import json, statistics, sys, time
from jitkit import bench
from jitkit.tiers import load
tier, calls, small = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1"
lib = bench.gcc_kernels()
program = load(bench.kernel_source(), tier)
out = {}
for kernel, size in (bench.SIZES if small else bench.ANCHOR).items():
    gcc = getattr(lib, kernel)
    assert program.call(kernel, size) == gcc(size), kernel
    times = {"gcc": [], "tier": []}
    columns = (("gcc", lambda: gcc(size)), ("tier", lambda: program.call(kernel, size)))
    for _ in range(calls):
        for column, call in columns:
            start = time.process_time()
            call()
            times[column].append(time.process_time() - start)
    out[kernel] = {c: statistics.median(v) for c, v in times.items()}
print(json.dumps(out))
"""


def child(root: str, tier: str, calls: int, small: bool) -> dict[str, dict[str, float]]:
    env = {**os.environ, "PYTHONPATH": root}
    args = [sys.executable, "-c", CHILD, tier, str(calls), "1" if small else "0"]
    # run in the tree: `python -c` puts the working directory first on sys.path
    done = subprocess.run(args, capture_output=True, text=True, env=env, cwd=root, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{root}: {done.stderr}")
    return json.loads(done.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("old")
    parser.add_argument("new")
    parser.add_argument("--tier", default="llvm")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--calls", type=int, default=5, help="calls per kernel per child")
    parser.add_argument("--small", action="store_true", help="bench.SIZES, not bench.ANCHOR")
    args = parser.parse_args()
    roots = {"before": args.old, "after": args.new}
    runs: dict[str, list[dict]] = {name: [] for name in roots}
    load = [os.getloadavg()]
    for r in range(args.rounds):
        for name in list(roots) if r % 2 == 0 else list(roots)[::-1]:
            runs[name].append(child(roots[name], args.tier, args.calls, args.small))
    load.append(os.getloadavg())
    kernels = list(runs["before"][0])
    print(f"{args.tier + ' ÷ gcc -O2':<11}" + "".join(f"{k[:10]:>17}" for k in kernels)
          + f"{'geomean':>17}")  # fmt: skip
    for name, samples in runs.items():
        ratios = {k: [s[k]["tier"] / s[k]["gcc"] for s in samples] for k in kernels}
        per_round = [math.exp(statistics.fmean(math.log(ratios[k][r]) for k in kernels))
                     for r in range(len(samples))]  # fmt: skip
        cells = [f"{statistics.median(v):.2f} [{min(v):.2f}-{max(v):.2f}]" for v in
                 [*ratios.values(), per_round]]  # fmt: skip
        print(f"{name:<11}" + "".join(f"{c:>17}" for c in cells))
    print(f"load average (1, 5, 15 min) before {load[0]}, after {load[1]}")


if __name__ == "__main__":
    main()
