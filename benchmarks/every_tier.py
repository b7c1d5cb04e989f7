"""Every tier and the peers at the anchor sizes, interleaved, in CPU time: the JSON that
notebook 10 reads and plots.

    python benchmarks/every_tier.py [--rounds 5] [--out benchmarks/every_tier.json]

Columns: CPython, gcc -O2, clang -O2 / numba / PyPy when installed (`pip install
'jitkit[peers]'` for numba; PyPy as `pypy3` on PATH or `$JITKIT_PYPY`; absent ones are listed
under "skipped"), every tier of `jitkit.tiers.TIERS` and the bare decorator (`cpython-first`,
once it has settled). Each round runs every column once per kernel, the order rotating each
round; interpreters run a fraction (`--slow`) of the size, scaled up. The JSON keeps every
sample, the medians and ratios, compile CPU time per tier, the call-overhead ladder
(`jitkit.native.ladder`), and the machine, load, date and command.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from jitkit import bench
from jitkit.native import ladder

OUT = Path(__file__).with_name("every_tier.json")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--slow", type=float, default=0.02, help="interpreters' share of size")
    parser.add_argument("--small", action="store_true", help="the suite's default sizes")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    peers = [f"{k}={v}" for k, v in os.environ.items() if k in bench.PEER_VARIABLES]
    command = " ".join([*peers, "python", "benchmarks/every_tier.py", *sys.argv[1:]])
    load_before = os.getloadavg()
    start = time.perf_counter()
    tiers = [*bench.available_tiers(), bench.DECORATOR]
    sizes = bench.SIZES if args.small else bench.ANCHOR
    suite = bench.measure(tiers, sizes, rounds=args.rounds, slow=args.slow)
    out = bench.suite_json(suite, command)
    out["run"] |= {"load_before": load_before, "wall_seconds": time.perf_counter() - start}
    out["ladder"] = {r.name: r.nanoseconds for r in ladder.measure(calls=200_000, repeat=5)}
    args.out.write_text(json.dumps(out, indent=1) + "\n")
    print(bench.ratio_table(suite))
    print()
    print(bench.compile_table(suite.rows()))
    print(f"\nskipped: {suite.skipped}\nwrote {args.out}")


if __name__ == "__main__":
    main()
