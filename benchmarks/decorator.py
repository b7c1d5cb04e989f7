"""What the bare `@jitkit.jit` (tier "cpython-first") costs and buys, per kernel.

    python benchmarks/decorator.py [--rounds N]

The kernels and sizes are `jitkit.bench`'s. Each is decorated the way a tinkerer would, in
source run by `exec` (so, as in `python -c`, there is no source file: the dis front end reads
CPython's bytecode). CPU time (`time.process_time`), in N interleaved rounds (every kernel once
per round, so a slow moment of the machine hits all columns alike); medians, [min-max] ranges:

  cpython  one call of the undecorated kernel
  first    the first call of a freshly decorated kernel in this process: CPython runs it, and
           when the call shows the function is hot, the SSA tier compiles it (inside this time)
  fresh    the same first call in a new process: also imports the compiler and sets up the
           native runtime, once per process
  compile  the dis front end and the SSA tier's compile of the kernel's module, timed alone
  steady   one call once the decorated kernel has settled (on native code, or in CPython)
  first÷   first ÷ (cpython + compile): the target is at most 2
  steady÷  steady ÷ cpython: the target is below 1 on every kernel

Then functions that should stay in CPython, called in a Python loop: a one-line `add` (too
quick for a native entry) and a list comprehension (outside the kit's subset): the time of
the first calls (warming up, then settling) and of the calls after, ÷ the plain function's.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

import jitkit
from jitkit.bench import SIZES, kernel_source
from jitkit.cpython_first import CPYTHON, NATIVE
from jitkit.jit import JitFunction

ROOT = Path(__file__).resolve().parents[1]
COLUMNS = ("cpython", "first", "fresh", "compile", "steady")


def cpu(call) -> float:
    start = time.process_time()
    call()
    return time.process_time() - start


def decorated(source: str) -> dict:
    """The kernels under the bare decorator, defined without source."""
    namespace = {"jitkit": jitkit}
    exec(source.replace("\ndef ", "\n@jitkit.jit\ndef "), namespace)
    return namespace


def fresh_first_call(kernel: str, size: int) -> float:
    """CPU seconds of a decorated kernel's first call in a new Python process."""
    program = (
        "import sys, time, jitkit\n"
        "from jitkit.bench import kernel_source\n"
        "ns = {'jitkit': jitkit}\n"
        "exec(kernel_source().replace('\\ndef ', '\\n@jitkit.jit\\ndef '), ns)\n"
        "start = time.process_time()\n"
        f"ns[{kernel!r}]({size})\n"
        "print(time.process_time() - start)\n"
    )
    child = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, check=True, cwd=ROOT
    )
    return float(child.stdout)


def one_round(source: str, plain: dict, out: dict, where: dict) -> None:
    """Every column once for every kernel."""
    for kernel, size in SIZES.items():
        expected = plain[kernel](size)
        times = out.setdefault(kernel, {c: [] for c in COLUMNS})
        times["cpython"].append(cpu(lambda k=kernel, n=size: plain[k](n)))
        f = decorated(source)[kernel]
        times["first"].append(cpu(lambda f=f, n=size: f(n)))
        times["fresh"].append(fresh_first_call(kernel, size))
        alone = JitFunction(plain[kernel], "ssa")  # no source: the dis front end
        times["compile"].append(cpu(lambda j=alone: j.engine))
        for _ in range(200):  # the warm-up and the trial, bounded
            if f.jit.cpython_first.state in (NATIVE, CPYTHON):
                break
            assert f(size) == expected
        result: list = []
        times["steady"].append(cpu(lambda f=f, n=size, r=result: r.append(f(n))))
        assert result == [expected], f"{kernel}: {result} != {expected}"
        where[kernel] = f.running_tier()


def cell(values: list[float]) -> str:
    ms = [v * 1e3 for v in values]
    return f"{statistics.median(ms):.2f} [{min(ms):.2f}-{max(ms):.2f}]"


def table(out: dict, where: dict, rounds: int) -> str:
    head = f"{'kernel':<13}" + "".join(f"{c + ' ms':>22}" for c in COLUMNS)
    lines = [
        f"the bare @jitkit.jit, CPU ms per call: median [min-max] of {rounds} interleaved rounds",
        head + f"{'first÷':>8}{'steady÷':>9}  runs on",
    ]
    firsts, steadies = [], []
    for kernel, times in out.items():
        med = {c: statistics.median(v) for c, v in times.items()}
        first = med["first"] / (med["cpython"] + med["compile"])
        steady = med["steady"] / med["cpython"]
        firsts.append(first)
        steadies.append(steady)
        cells = "".join(f"{cell(times[c]):>22}" for c in COLUMNS)
        lines.append(f"{kernel:<13}{cells}{first:7.2f}x{steady:8.3f}x  {where[kernel]}")
    lines.append(
        f"{'geomean':<13}{'':>{22 * len(COLUMNS)}}"
        f"{statistics.geometric_mean(firsts):7.2f}x{statistics.geometric_mean(steadies):8.3f}x"
    )
    return "\n".join(lines)


STAYS = """
def add(a, b):
    return a + b

def squares(n):
    return [i * i for i in range(n)]
"""
STAY_ARGS = {"add": (3, 4), "squares": (20,)}


def stays_in_cpython(rounds: int, first: int = 2_000, after: int = 100_000) -> str:
    """Per function: (first calls, later calls) ÷ the same calls of the plain function."""
    lines = [f"stays in CPython: time ÷ plain, median [min-max] of {rounds} rounds"]
    lines.append(f"{'function':<13}{f'first {first} calls':>24}{f'next {after} calls':>24}")
    ratios: dict = {name: ([], []) for name in STAY_ARGS}
    states: dict = {}
    for _ in range(rounds):
        plain: dict = {}
        exec(STAYS, plain)
        jitted = decorated(STAYS)
        for name, args in STAY_ARGS.items():
            for column, count in enumerate((first, after)):
                loops = range(count)
                base = cpu(lambda f=plain[name], a=args, r=loops: [f(*a) for _ in r])
                mine = cpu(lambda f=jitted[name], a=args, r=loops: [f(*a) for _ in r])
                ratios[name][column].append(mine / base)
            states[name] = jitted[name].jit.cpython_first.state
    for name, (early, late) in ratios.items():
        cells = "".join(
            f"{statistics.median(r):>9.2f}x [{min(r):.2f}-{max(r):.2f}]" for r in (early, late)
        )
        lines.append(f"{name:<13}{cells}  (then: {states[name]})")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    rounds = parser.parse_args().rounds
    source = kernel_source()
    plain: dict = {}
    exec(source, plain)
    decorated(source)["fib"].jit.engine.call("fib", 2)  # imports, runtime set-up: in "fresh"
    out: dict = {}
    where: dict = {}
    for _ in range(rounds):
        one_round(source, plain, out, where)
    print(table(out, where, rounds))
    print()
    print(stays_in_cpython(rounds))


if __name__ == "__main__":
    main()
