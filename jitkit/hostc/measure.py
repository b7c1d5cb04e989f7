"""What the host compiler costs and when it pays: compile latency and break-even (notebook 04).

In: a module's source, a function name and one argument. Out: a `BreakEven` row: the cold
compile latency (code generation, `cc`, loading; a fresh cache directory each time), the warm
latency (a cache hit), the time of one call in the kit VM and in C, and the number of calls
after which compiling has paid for itself: cold / (VM call - C call). `table(rows)` prints
them. `benchmarks/host_compiler.py` and the chapter both use this.
"""

from __future__ import annotations

import math
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass

from jitkit.bytecode.compiler import compile_module
from jitkit.hostc.module import HostModule
from jitkit.lang.parse import parse_module
from jitkit.vm.machine import VM


@dataclass
class BreakEven:
    """One function at one argument: compile latency against the time each call saves."""

    name: str
    arg: int
    cold_seconds: float  # generate C + cc + dlopen, nothing cached
    warm_seconds: float  # generate C + cache hit + dlopen
    vm_seconds: float  # one call in the kit VM
    c_seconds: float  # one call of the compiled C (ctypes included)

    @property
    def calls(self) -> float:
        """Calls after which compile + C calls cost less than VM calls (inf if never)."""
        saved = self.vm_seconds - self.c_seconds
        return math.ceil(self.cold_seconds / saved) if saved > 0 else math.inf


def per_call(fn: Callable[[], object], repeat: int, budget: float = 0.05) -> float:
    """Seconds per call: calls batched to about `budget` seconds, best of `repeat` batches."""
    start = time.perf_counter()
    fn()
    once = time.perf_counter() - start
    number = max(1, min(10_000, int(budget / max(once, 1e-7))))
    best = math.inf
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        best = min(best, (time.perf_counter() - start) / number)
    return best


def break_even(source: str, name: str, arg: int, repeat: int = 3) -> BreakEven:
    """Measure one row; the cold compiles each get their own empty cache directory."""
    kit = parse_module(source)
    cold, warm = math.inf, math.inf
    for _ in range(repeat):
        with tempfile.TemporaryDirectory(prefix="jitkit-hostc-") as folder:
            start = time.perf_counter()
            HostModule(kit, cache_dir=folder)
            cold = min(cold, time.perf_counter() - start)
            start = time.perf_counter()
            compiled = HostModule(kit, cache_dir=folder)
            warm = min(warm, time.perf_counter() - start)
            assert compiled.build.cached
    # the last object stays loaded after its folder is gone: time its calls
    expected = VM(compile_module(kit)).call(name, arg)
    if compiled.call(name, arg) != expected:
        raise AssertionError(f"C gives {compiled.call(name, arg)} for {name}({arg})")
    c_seconds = per_call(lambda: compiled.call(name, arg), repeat)
    vm = VM(compile_module(kit))
    vm_seconds = per_call(lambda: vm.call(name, arg), repeat)
    return BreakEven(name, arg, cold, warm, vm_seconds, c_seconds)


def table(rows: list[BreakEven]) -> str:
    """Compile latency in ms, per-call times in µs, and the break-even call count."""
    lines = [
        f"{'function':<22}{'cold ms':>9}{'warm ms':>9}{'VM µs':>12}{'C µs':>9}{'speed-up':>10}"
        f"{'break-even':>12}"
    ]
    for r in rows:
        lines.append(
            f"{f'{r.name}({r.arg})':<22}{r.cold_seconds * 1e3:9.1f}{r.warm_seconds * 1e3:9.2f}"
            f"{r.vm_seconds * 1e6:12.1f}{r.c_seconds * 1e6:9.2f}"
            f"{r.vm_seconds / r.c_seconds:9.0f}x{r.calls:>12}"
        )
    return "\n".join(lines)
