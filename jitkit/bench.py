"""The benchmark suite: every kernel on every tier, as ratios to gcc -O2 and CPython (notebook 10).

Takes tier names; gives one table (or JSON) from one run: per kernel, each tier's time and its
time divided by gcc -O2's and by CPython's, then the geometric means. The kernels are
`jitkit/kernels/kernels.py` (the kit's subset, run by CPython and every tier) and their C twins in
`kernels.c` beside it, package data so a wheel install has them. Every tier's result is checked
against CPython's before it is timed.

Compile time is measured too: per kernel, a module holding only that kernel and the functions it
calls goes through the front end (parse + kit bytecode) and then through each tier's factory
(`jitkit.tiers.TIERS`), which is where a compiling tier does its work. Lazy tiers (`auto`, the
interpreters) show what they do up front, which is next to nothing; the host-compiler tier's
number is a cache hit after its first build (benchmarks/host_compiler.py measures cold builds).
"""

from __future__ import annotations

import ast
import ctypes
import math
import shutil
import time
from dataclasses import dataclass, field

from jitkit.bytecode.compiler import compile_module
from jitkit.errors import MissingDependencyError
from jitkit.kernels import FOLDER as KERNELS
from jitkit.lang.parse import parse_module
from jitkit.tiers import TIERS, load

SIZES = {
    "fib": 25,
    "sum_loop": 200_000,
    "gcd_sum": 20_000,
    "collatz": 6_000,
    "count_primes": 30_000,
}
SLOW = {"treewalk": 0.1, "interp": 0.2}  # interpreters run a smaller size, scaled back (see below)


@dataclass
class Row:
    """One kernel: seconds per tier (at the suite's size), and CPython's answer."""

    kernel: str
    size: int
    result: int
    seconds: dict[str, float] = field(default_factory=dict)
    functions: int = 1  # how many functions the kernel's module holds (it and its callees)
    compile_seconds: dict[str, float] = field(default_factory=dict)  # front end, then tiers

    def ratio(self, column: str, base: str) -> float:
        """How many times `base`'s time `column` took on this kernel."""
        return self.seconds[column] / self.seconds[base]


def kernel_source() -> str:
    """The kernels' source text (package data, so the same in a checkout and a wheel)."""
    return (KERNELS / "kernels.py").read_text()


def gcc_kernels() -> ctypes.CDLL:
    """kernels.c compiled with gcc -O2 into a shared object, through the host-compiler JIT's
    build cache (so it is compiled once per machine, and safely in parallel)."""
    from jitkit.hostc.build import build

    cc = shutil.which("gcc") or shutil.which("cc")
    if cc is None:
        raise MissingDependencyError("gcc (or cc) is needed for the gcc -O2 column")
    lib = build((KERNELS / "kernels.c").read_text(), compiler=cc).library
    for name in SIZES:
        getattr(lib, name).restype = ctypes.c_int64
        getattr(lib, name).argtypes = (ctypes.c_int64,)
    return lib


def best_of(fn, repeat: int) -> float:
    """The fastest of `repeat` runs: the least disturbed by the rest of the machine."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def run(tiers: list[str], repeat: int = 3, sizes: dict[str, int] | None = None) -> list[Row]:
    """Time CPython, gcc -O2 and each tier on each kernel. Interpreters run a fraction of
    the size and their time is scaled up linearly (fib, being exponential, is scaled by
    its call count instead), so the whole suite stays within a minute."""
    sizes = sizes or SIZES
    source = kernel_source()
    namespace: dict = {}
    exec(compile(source, str(KERNELS / "kernels.py"), "exec"), namespace)
    lib = gcc_kernels()
    programs = {tier: load(source, tier, str(KERNELS / "kernels.py")) for tier in tiers}
    rows = []
    for kernel, size in sizes.items():
        row = Row(kernel, size, namespace[kernel](size))
        row.seconds["cpython"] = best_of(lambda k=kernel, n=size: namespace[k](n), repeat)
        assert getattr(lib, kernel)(size) == row.result, f"gcc disagrees on {kernel}"
        row.seconds["gcc -O2"] = best_of(lambda k=kernel, n=size: getattr(lib, k)(n), repeat)
        for tier, program in programs.items():
            small = work_size(kernel, size, SLOW.get(tier, 1.0))
            expected = row.result if small == size else namespace[kernel](small)
            got = program.call(kernel, small)
            if got != expected:
                raise AssertionError(f"{tier} gives {got} for {kernel}({small}), not {expected}")
            seconds = best_of(lambda p=program, k=kernel, n=small: p.call(k, n), repeat)
            row.seconds[tier] = seconds * work(kernel, size) / work(kernel, small)
        measure_compile(row, kernel_module(source, kernel), tiers, repeat)
        rows.append(row)
    return rows


def kernel_module(source: str, kernel: str) -> str:
    """The source of `kernel` and every function it calls, directly or not, alone."""
    defs = {node.name: node for node in ast.parse(source).body if isinstance(node, ast.FunctionDef)}
    wanted, todo = [], [kernel]
    while todo:
        name = todo.pop()
        if name in wanted or name not in defs:
            continue
        wanted.append(name)
        todo += [
            n.func.id
            for n in ast.walk(defs[name])
            if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)
        ]
    return "\n\n".join(ast.unparse(defs[name]) for name in sorted(wanted, key=list(defs).index))


def measure_compile(row: Row, source: str, tiers: list[str], repeat: int) -> None:
    """Best-of-`repeat` seconds for the front end and for each tier's factory on `source`."""
    module = parse_module(source, f"<{row.kernel}>")
    codes = compile_module(module)
    row.functions = len(module.functions)
    row.compile_seconds["front end"] = best_of(
        lambda: compile_module(parse_module(source, f"<{row.kernel}>")), repeat
    )
    for tier in tiers:
        row.compile_seconds[tier] = best_of(lambda t=tier: TIERS[t](module, codes), repeat)


def work_size(kernel: str, size: int, fraction: float) -> int:
    if fraction == 1.0:
        return size
    if kernel == "fib":
        return max(2, size - round(math.log(1 / fraction, 1.618)))
    return max(2, int(size * fraction))


def work(kernel: str, size: int) -> float:
    """Relative amount of work: calls for fib, iterations of the outer loop otherwise."""
    return 1.618**size if kernel == "fib" else size


def geomean(values: list[float]) -> float:
    return math.exp(sum(math.log(v) for v in values) / len(values))


def mean_ratio(rows: list[Row], column: str, base: str) -> float:
    """The geometric mean over kernels of `column`'s time / `base`'s time."""
    return geomean([r.ratio(column, base) for r in rows])


def table(rows: list[Row]) -> str:
    """Per kernel and tier: time, time / gcc -O2, time / CPython; geomeans last."""
    columns = list(rows[0].seconds)
    head = f"{'kernel':<14}" + "".join(f"{c:>24}" for c in columns)
    lines = [head, f"{'':<14}" + "".join(f"{'ms  ÷gcc  ÷cpy':>24}" for _ in columns)]
    for row in rows:
        cells = []
        for c in columns:
            gcc, cpy = row.ratio(c, "gcc -O2"), row.ratio(c, "cpython")
            cells.append(f"{row.seconds[c] * 1e3:9.2f} {gcc:7.1f}x {cpy:5.2f}x")
        lines.append(f"{row.kernel:<14}" + "".join(f"{cell:>24}" for cell in cells))
    means = []
    for c in columns:
        gcc, cpy = mean_ratio(rows, c, "gcc -O2"), mean_ratio(rows, c, "cpython")
        means.append(f"{'':9} {gcc:7.1f}x {cpy:5.2f}x")
    lines.append(f"{'geomean':<14}" + "".join(f"{m:>24}" for m in means))
    return "\n".join(lines) + "\n\n" + compile_table(rows)


def compile_table(rows: list[Row]) -> str:
    """Per kernel: milliseconds to get from source to something callable, per stage/tier."""
    columns = list(rows[0].compile_seconds)
    lines = [
        "compile time, ms per kernel module (functions: the kernel and its callees)",
        f"{'kernel':<14}{'functions':>10}" + "".join(f"{c:>12}" for c in columns),
    ]
    for row in rows:
        cells = "".join(f"{row.compile_seconds[c] * 1e3:12.2f}" for c in columns)
        lines.append(f"{row.kernel:<14}{row.functions:>10}" + cells)
    return "\n".join(lines)


def as_json(rows: list[Row]) -> dict:
    columns = list(rows[0].seconds)
    return {
        "kernels": [
            {
                "kernel": r.kernel,
                "size": r.size,
                "seconds": r.seconds,
                "vs_gcc": {c: r.ratio(c, "gcc -O2") for c in columns},
                "vs_cpython": {c: r.ratio(c, "cpython") for c in columns},
                "functions": r.functions,
                "compile_seconds": r.compile_seconds,
            }
            for r in rows
        ],
        "geomean_vs_gcc": {c: mean_ratio(rows, c, "gcc -O2") for c in columns},
        "geomean_vs_cpython": {c: mean_ratio(rows, c, "cpython") for c in columns},
    }


def available_tiers() -> list[str]:
    return list(TIERS)
