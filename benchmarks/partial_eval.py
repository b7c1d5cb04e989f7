"""What partial evaluation of the init code buys an executable, in one run (notebook 09).

    python benchmarks/partial_eval.py [--repeat N]

For each program, built by `python -m jitkit build`'s path (`jitkit.llvm.compiler.build`,
O2, libc) with and without partial evaluation:
  size       the executable's size in bytes (with / without)
  init       instructions of the init function `py.<module>` before O2 (after / before)
  globals    globals given a computed initializer + globals made `constant`
  eval s     the evaluator's own time at build time
  run ms     the executable's whole run, best of N (with / without): for these programs the
             top-level code is the whole program, so this is its start-up time
fib(25) needs more than the default step budget: the evaluation stops and the rest of the
init runs at start-up (the "stopped" note says why).
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
import time
from pathlib import Path

from jitkit.lang.parse import parse_module
from jitkit.llvm.codegen import compile_module
from jitkit.llvm.compiler import build
from jitkit.llvm.partial_eval import partial_evaluate

REPO = Path(__file__).resolve().parents[1]

TABLE = """\
def collatz(n):
    steps = 0
    while n != 1:
        if n % 2 == 0:
            n = n // 2
        else:
            n = 3 * n + 1
        steps += 1
    return steps


best = 0
arg = 0
for i in range(1, 300):
    c = collatz(i)
    if c > best:
        best = c
        arg = i
print(arg, best)
"""

FIB = """\
def fib(n):
    if n < 2:
        return n
    return fib(n - 1) + fib(n - 2)


print(fib(18))
"""

PRIMES = """\
def is_prime(n):
    if n < 2:
        return False
    d = 2
    while d * d <= n:
        if n % d == 0:
            return False
        d += 1
    return True


count = 0
for k in range(1000):
    if is_prime(k):
        count += 1
print("primes below 1000:", count)
"""

PROGRAMS = {
    "collatz": TABLE,
    "fib(18)": FIB,
    "primes": PRIMES,
    "fib(25)": FIB.replace("fib(18))", "fib(25))"),  # more than the step budget
    "swap_gcd": (REPO / "tests/programs/swap_gcd.py").read_text(),
    # module-level names computed by loops and calls: constants after evaluation
    "globals": (REPO / "tests/programs/globals_computed.py").read_text(),
}


def run_time(exe: Path, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run([str(exe)], capture_output=True, check=True)
        best = min(best, time.perf_counter() - start)
    return best


def measure(name: str, source: str, tmp: Path, repeat: int) -> dict:
    path = tmp / "prog.py"
    path.write_text(source)
    program = compile_module(parse_module(source, str(path)), "libc")
    start = time.perf_counter()
    result = partial_evaluate(str(program.module))
    eval_s = time.perf_counter() - start
    row = {"program": name, "eval": eval_s, "stopped": result.stopped}
    row["init"] = (result.init_after, result.init_before)
    row["globals"] = (len(result.globals_initialized), len(result.globals_constant))
    for flag in (True, False):
        exe = build(path, tmp / f"{name}.{flag}.exe", partial_eval=flag)
        row[("size", flag)] = exe.stat().st_size
        row[("run", flag)] = run_time(exe, repeat)
    outputs = [subprocess.run([str(tmp / f"{name}.{f}.exe")], capture_output=True).stdout
               for f in (True, False)]  # fmt: skip
    row["same"] = outputs[0] == outputs[1]
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    print(f"{'program':10} {'size with/without':>19} {'init after/before':>18} "
          f"{'globals':>8} {'eval s':>7} {'run ms with/without':>20} same")  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        for name, source in PROGRAMS.items():
            r = measure(name, source, Path(tmp), args.repeat)
            size = f"{r[('size', True)]}/{r[('size', False)]}"
            init = f"{r['init'][0]}/{r['init'][1]}"
            glob = f"{r['globals'][0]}+{r['globals'][1]}"
            run = f"{1000 * r[('run', True)]:.2f}/{1000 * r[('run', False)]:.2f}"
            stopped = f"  (stopped: {r['stopped']})" if r["stopped"] else ""
            print(f"{name:10} {size:>19} {init:>18} {glob:>8} {r['eval']:7.2f} {run:>20} "
                  f"{r['same']}{stopped}")  # fmt: skip


if __name__ == "__main__":
    main()
