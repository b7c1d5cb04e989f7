"""Every tier on every kernel, as ratios to gcc -O2 and CPython, in one run.

python benchmarks/suite.py [--tier T ...]     (the same as `python -m jitkit bench`)
"""

import argparse

from jitkit import bench

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tier", action="append", choices=bench.available_tiers())
    args = parser.parse_args()
    print(bench.table(bench.run(args.tier or bench.available_tiers())))
