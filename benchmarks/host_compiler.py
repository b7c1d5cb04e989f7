"""JIT by host compiler: cold compile latency and the break-even call count against the VM.

python benchmarks/host_compiler.py [--repeat N]

For a few kernels of jitkit/kernels/kernels.py (each compiled alone, with its callees) at a small
argument: the cold compile (C generation + cc -shared -O2 + dlopen, in an empty temporary
cache), a warm load (cache hit), one call in the kit VM and in C, and after how many calls
compiling has paid for itself (notebook 04).
"""

import argparse

from jitkit import bench
from jitkit.hostc.measure import break_even, table

CALLS = {"fib": 15, "sum_loop": 1_000, "gcd_sum": 100, "collatz": 100, "count_primes": 1_000}

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    source = bench.kernel_source()
    rows = [
        break_even(bench.kernel_module(source, kernel), kernel, arg, args.repeat)
        for kernel, arg in CALLS.items()
    ]
    print(table(rows))
