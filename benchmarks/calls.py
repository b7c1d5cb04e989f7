"""The cost of crossing between Python and machine code, in one run (notebook 06).

First the ladder of `jitkit.native.ladder` (native->native ... native->Python), then one call
of `def inc(x): return x + 1` through each door the kit has, side by side: the loops take
turns round after round, each timed in CPU time (`time.process_time_ns`), with the bare loop
around them subtracted; the table gives the median and the range over the rounds.

    PYTHONPATH=$PWD .venv/bin/python benchmarks/calls.py [--calls N] [--rounds R]
"""

from __future__ import annotations

import argparse
import gc
import statistics
import time
from collections.abc import Callable

import jitkit
from jitkit.cpython_first import Policy
from jitkit.native.ladder import identity, measure, table

SOURCE = "def inc(x):\n    return x + 1\n"


def inc(x):
    return x + 1


def total(n):
    s = 0
    i = 0
    while i < n:
        s = s + i
        i = i + 1
    return s


def loop_of(fn: Callable) -> Callable[[int], None]:
    def loop(n: int) -> None:
        for _ in range(n):
            fn(5)

    return loop


def bare(n: int) -> None:
    for _ in range(n):
        pass


def doors() -> dict[str, tuple[Callable, int]]:
    """Each way to call `inc`, with a weight: the slow doors make fewer calls per round."""
    jitted = {tier: jitkit.jit(inc, tier=tier) for tier in ("stack", "ssa", "llvm", "hostc")}
    for f in jitted.values():
        assert f(41) == 42  # compiles, and gives the JitFunction its builtin entry
    native = jitkit.jit(inc)  # the default decorator, made hot at once and kept native
    first = native.jit.cpython_first
    first.policy = Policy(budget=0.0, long_call=0.0, min_call=0.0, trial=1)
    for _ in range(3):
        native(41)
    if first.state != "native":  # the trial judged CPython quicker: enter natively anyway
        first.state = "native"
        first.switch(first.entry)
    policy = jitkit.jit(inc)  # the default decorator as it decides by itself
    for _ in range(2000):
        policy(41)
    cases: dict[str, tuple[Callable, int]] = {
        "Python function (plain inc)": (inc, 1),
        "ctypes function pointer (identity)": (identity().cfunc, 1),
    }
    for tier, f in jitted.items():
        cases[f"builtin entry, {tier} (engine.builtin)"] = (f.engine.builtin("inc"), 1)
    for tier, f in jitted.items():
        cases[f"@jit(tier={tier!r})"] = (f, 1)
    cases["@jit, native (trampoline + builtin)"] = (native, 1)
    cases[f"@jit, its own choice (runs in {policy.running_tier()})"] = (policy, 1)
    looping = jitkit.jit(total, tier="ssa")
    assert looping(4) == 6
    cases["Python function (plain total(5))"] = (total, 1)
    cases["@jit(tier='ssa'), a loop: total(5) (GIL, sigaction)"] = (looping, 1)
    cases["before: StackTier.call (ctypes)"] = (lambda x: jitted["stack"].engine.call("inc", x), 20)
    return cases


def run(calls: int, rounds: int) -> list[tuple[str, float, float, float]]:
    """(door, median ns, min ns, max ns) per call, the bare loop subtracted."""
    cases = doors()
    times: dict[str, list[float]] = {name: [] for name in ["bare", *cases]}
    for _ in range(rounds):
        for name in times:
            fn, weight = (None, 1) if name == "bare" else cases[name]
            n = calls // weight
            body = bare if fn is None else loop_of(fn)
            gc.collect()
            start = time.process_time_ns()
            body(n)
            times[name].append((time.process_time_ns() - start) / n)
    base = statistics.median(times.pop("bare"))
    return [
        (name, statistics.median(v) - base, min(v) - base, max(v) - base)
        for name, v in times.items()
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=9)
    args = parser.parse_args()
    print(table(measure()))
    print()
    rows = run(args.calls, args.rounds)
    python = rows[0][1]
    door = "one call (of inc(5) unless named) through"
    print(f"{door:<50}{'median ns':>10}{'range':>16}{'x Python':>10}")
    for name, median, low, high in rows:
        print(f"{name:<50}{median:>10.1f}{f'{low:.0f}..{high:.0f}':>16}{median / python:>10.1f}")
    print(f"(CPU time, {args.rounds} interleaved rounds, the bare loop subtracted)")


if __name__ == "__main__":
    main()
