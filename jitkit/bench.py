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

Two ways to run it: `run` (`python -m jitkit bench`) takes the best of a few wall-clock runs
per tier, one tier after another; `measure` (notebook 10, `benchmarks/every_tier.py`) runs
every column once per kernel per round, rounds interleaved, in CPU time, keeping every sample
for medians and ranges, with the bare decorator and the peers (clang -O2 in process, numba
and PyPy in child processes that time themselves) beside the tiers.
"""

from __future__ import annotations

import ast
import ctypes
import importlib.util
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
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
    "mandel": 50,  # small, as the interpreters run it too (the VM is ~2,000x gcc on it)
    "sieve": 50_000,  # small, as the interpreters run it too (stack and SSA compile lists)
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
    """The size at which `kernel` does about `fraction` of its work at `size`."""
    if fraction == 1.0:
        return size
    if kernel == "fib":
        return max(2, size - round(math.log(1 / fraction, 1.618)))
    if kernel == "mandel":
        return max(2, round(size * math.sqrt(fraction)))
    return max(2, int(size * fraction))


def work(kernel: str, size: int) -> float:
    """Relative amount of work: calls for fib, grid points for mandel (n x n), iterations
    of the outer loop otherwise."""
    if kernel == "fib":
        return 1.618**size
    return size * size if kernel == "mandel" else size


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
    """Milliseconds from source to something callable, per stage or tier (a line each) and
    kernel module (a column each: the kernel and the functions it calls)."""
    lines = [
        "compile time, ms per kernel module",
        f"{'':<16}" + "".join(f"{r.kernel[:9]:>10}" for r in rows),
        f"{'functions':<16}" + "".join(f"{r.functions:>10}" for r in rows),
    ]
    for stage in rows[0].compile_seconds:
        cells = "".join(f"{r.compile_seconds[stage] * 1e3:>10.2f}" for r in rows)
        lines.append(f"{stage:<16}{cells}")
    return "\n".join(lines)


def as_json(rows: list[Row]) -> dict:
    columns = list(rows[0].seconds)
    return {
        "kernels": [
            {
                "kernel": r.kernel,
                "size": r.size,
                "result": r.result,
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


# ---- Every tier and the peers, interleaved, in CPU time (notebook 10, benchmarks/every_tier.py)

ANCHOR = {"fib": 30, "sum_loop": 12_000_000, "gcd_sum": 2_000, "collatz": 200_000,
          "count_primes": 300_000, "mandel": 300, "sieve": 3_000_000}  # fmt: skip
DECORATOR = "cpython-first"  # the bare @jitkit.jit, timed once it has settled
# A peer Python (PyPy, or one with numba) runs this in a child process: kernels on request,
# each answer with the child's own CPU time, so it joins the same interleaved rounds.
# The kernels are imported from a file: PyPy runs `exec`'d code in a plain dict 2.5x slower.
PEER_DRIVER = """
import importlib, json, os, platform, sys, tempfile, time
setup = json.loads(sys.stdin.readline())
folder = tempfile.TemporaryDirectory()  # removed when the child exits
with open(os.path.join(folder.name, "jitkit_peer_kernels.py"), "w") as f:
    f.write(setup["source"])
sys.path.insert(0, folder.name)
ns = vars(importlib.import_module("jitkit_peer_kernels"))
if setup["numba"]:
    import numba
    for name in setup["functions"]:
        ns[name] = numba.njit(ns[name])
version = platform.python_implementation() + " " + platform.python_version()
version += " numba " + numba.__version__ if setup["numba"] else ""
print(json.dumps(version), flush=True)
for line in sys.stdin:
    kernel, size, number = json.loads(line)
    start = time.process_time()
    for _ in range(number):
        result = ns[kernel](size)
    print(json.dumps([result, time.process_time() - start]), flush=True)
"""
PEER_VARIABLES = ("JITKIT_CLANG", "JITKIT_NUMBA_PYTHON", "JITKIT_PYPY")  # where peers are
Timed = Callable[[str, int, int], tuple[int, float]]  # (kernel, size, calls) -> result, CPU s


class Peer:
    """A child Python running the kernels when asked, timing them in its own CPU time."""

    def __init__(self, python: str, numba: bool = False) -> None:
        self.proc = subprocess.Popen(
            [python, "-c", PEER_DRIVER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        source = kernel_source()
        functions = [n.name for n in ast.parse(source).body if isinstance(n, ast.FunctionDef)]
        self.version = str(self._ask({"source": source, "numba": numba, "functions": functions}))

    def _ask(self, message: object) -> object:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps(message) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise MissingDependencyError(f"peer {self.proc.args[0]} exited ({self.proc.wait()})")
        return json.loads(line)

    def timed(self, kernel: str, size: int, calls: int) -> tuple[int, float]:
        result, seconds = self._ask([kernel, size, calls])  # type: ignore[misc]
        return result, seconds

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        self.proc.wait(timeout=30)


def in_process(call: Callable[[str, int], int]) -> Timed:
    def timed(kernel: str, size: int, calls: int) -> tuple[int, float]:
        start = time.process_time()
        for _ in range(calls):
            result = call(kernel, size)
        return result, time.process_time() - start

    return timed


VERSIONS: dict[str, str] = {}  # column -> what ran it, as the peers found report it


def compiler_version(cc: str) -> str:
    """The first line of `cc --version`."""
    done = subprocess.run([cc, "--version"], capture_output=True, text=True, check=False)
    return done.stdout.splitlines()[0] if done.stdout else cc


def peers(optional: bool = True) -> tuple[dict[str, Timed], dict[str, str], list[Peer]]:
    """The columns beside the tiers that are here (gcc -O2 always; clang -O2, numba and PyPy
    when installed and `optional`), why each missing one is missing, and the child processes
    to close. `VERSIONS` records what each found one is."""
    lib = gcc_kernels()
    found: dict[str, Timed] = {"gcc -O2": in_process(lambda k, n: getattr(lib, k)(n))}
    VERSIONS["gcc -O2"] = compiler_version(shutil.which("gcc") or "cc")
    skipped: dict[str, str] = {}
    children: list[Peer] = []
    if not optional:
        return found, skipped, children
    clang = os.environ.get("JITKIT_CLANG") or shutil.which("clang")
    if clang:
        from jitkit.hostc.build import build

        clib = build((KERNELS / "kernels.c").read_text(), compiler=clang).library
        for name in SIZES:
            getattr(clib, name).restype = ctypes.c_int64
            getattr(clib, name).argtypes = (ctypes.c_int64,)
        found["clang -O2"] = in_process(lambda k, n: getattr(clib, k)(n))
        VERSIONS["clang -O2"] = compiler_version(clang)
    else:
        skipped["clang -O2"] = "no clang on PATH (or $JITKIT_CLANG)"
    numba_python = os.environ.get("JITKIT_NUMBA_PYTHON") or (
        sys.executable if importlib.util.find_spec("numba") else None
    )
    pypy = os.environ.get("JITKIT_PYPY") or shutil.which("pypy3") or shutil.which("pypy")
    for name, python, numba, why in (
        ("numba", numba_python, True, "not importable (pip install 'jitkit[peers]', "
         "or $JITKIT_NUMBA_PYTHON)"),
        ("pypy", pypy, False, "no pypy3 on PATH (or $JITKIT_PYPY)"),
    ):  # fmt: skip
        if python is None:
            skipped[name] = why
            continue
        children.append(Peer(python, numba))
        found[name] = children[-1].timed
        VERSIONS[name] = children[-1].version
    return found, skipped, children


@dataclass
class Suite:
    """CPU seconds per call of every column on every kernel, one sample per round."""

    sizes: dict[str, int]
    rounds: int
    results: dict[str, int] = field(default_factory=dict)
    samples: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    compile: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    functions: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: dict) -> Suite:
        """A suite back from `suite_json`'s output (benchmarks/every_tier.json)."""
        functions = {k["kernel"]: k["functions"] for k in data["kernels"]}
        results = {k["kernel"]: k.get("result", 0) for k in data["kernels"]}
        return cls(data["sizes"], data["rounds"], results, data["samples"],
                   data["compile_samples"], functions, data["skipped"])  # fmt: skip

    def rows(self) -> list[Row]:
        """Medians as `Row`s, for `table`, `as_json` and `jitkit.pictures.speed`."""
        med = statistics.median
        return [
            Row(k, self.sizes[k], self.results[k], {c: med(v) for c, v in self.samples[k].items()},
                self.functions[k], {c: med(v) for c, v in self.compile[k].items()})
            for k in self.samples
        ]  # fmt: skip


def measure(
    tiers: list[str],
    sizes: dict[str, int] | None = None,
    rounds: int = 3,
    slow: float = 0.1,
    sample: float = 2e-3,
    with_peers: bool = True,
) -> Suite:
    """Every column once per kernel per round, in an order that rotates each round (a busy
    moment of the machine hits all columns alike); CPU time (`time.process_time`). Each
    sample makes enough calls to last `sample` seconds; interpreters run `slow` of the size,
    scaled up as in `run`. Every column is called until it settles (`settle`), every answer
    is checked against CPython's, and a first round, not recorded, warms up: peers' warm-up
    and compile time are not in the samples (the kit's tiers' compile CPU time is, apart,
    in `Suite.compile`)."""
    import jitkit
    from jitkit.cpython_first import CPYTHON, NATIVE
    from jitkit.jit import JitFunction

    suite, source = Suite(dict(sizes or SIZES), rounds), kernel_source()
    plain: dict = {}
    exec(compile(source, str(KERNELS / "kernels.py"), "exec"), plain)
    decorated: dict = {"jitkit": jitkit}
    exec(source.replace("\ndef ", "\n@jitkit.jit\ndef "), decorated)
    columns: dict[str, Timed] = {"cpython": in_process(lambda k, n: plain[k](n))}
    found, suite.skipped, children = peers(optional=with_peers)
    columns |= found
    programs = {t: load(source, t, str(KERNELS / "kernels.py")) for t in tiers if t in TIERS}
    columns |= {t: in_process(lambda k, n, p=p: p.call(k, n)) for t, p in programs.items()}
    if DECORATOR in tiers:
        columns[DECORATOR] = in_process(lambda k, n: decorated[k](n))
    plan: dict[tuple[str, str], tuple[int, int]] = {}  # (kernel, column) -> size, calls
    try:
        for kernel, size in suite.sizes.items():
            suite.results[kernel] = plain[kernel](size)
            suite.samples[kernel] = {c: [] for c in columns}
            for _ in range(200 if DECORATOR in columns else 0):  # warming, trial, settled
                if decorated[kernel].jit.cpython_first.state in (NATIVE, CPYTHON):
                    break
                decorated[kernel](size)
            for column, timed in columns.items():
                small = work_size(kernel, size, slow if column in SLOW else 1.0)
                got, once = settle(timed, kernel, small)
                if got != (plain[kernel](small) if small != size else suite.results[kernel]):
                    raise AssertionError(f"{column} gives {got} for {kernel}({small})")
                plan[kernel, column] = small, max(1, math.ceil(sample / max(once, 1e-9)))
        for r in range(-1, rounds):  # round -1 warms up (promotions, caches) and is dropped
            for kernel, size in suite.sizes.items():
                order = list(columns)[r % len(columns) :] + list(columns)[: r % len(columns)]
                for column in order:
                    small, calls = plan[kernel, column]
                    _, cpu = columns[column](kernel, small, calls)
                    seconds = cpu / calls * work(kernel, size) / work(kernel, small)
                    if r >= 0:
                        suite.samples[kernel][column].append(seconds)
                if r >= 0:
                    compile_round(suite, kernel, source, programs, plain[kernel], JitFunction)
    finally:
        for child in children:
            child.close()
    return suite


def settle(timed: Timed, kernel: str, size: int, limit: float = 3.0) -> tuple[int, float]:
    """Call until three calls in a row take within 20% of each other (a tracing JIT such as
    PyPy's takes several calls to settle: measured, its fib(25) went 27, 23, 363, 427, 4 ms),
    or `limit` seconds went by and it made two calls at least (a first call may be the
    whole warm-up); gives the answer and the last call's CPU seconds."""
    times: list[float] = []
    while True:
        result, seconds = timed(kernel, size, 1)
        times.append(seconds)
        last = times[-3:]
        if (len(last) == 3 and max(last) <= 1.2 * min(last)) or (
            sum(times) > limit and len(times) > 1
        ):
            return result, seconds


def compile_round(suite: Suite, kernel: str, source: str, programs, fn, jit_function) -> None:
    """CPU seconds from source to callable: the front end, each tier's factory, and the
    decorator's compile (CPython's bytecode of the function through the SSA tier)."""
    module_source = kernel_module(source, kernel)
    module = parse_module(module_source, f"<{kernel}>")
    codes = compile_module(module)
    suite.functions[kernel] = len(module.functions)
    times = suite.compile.setdefault(kernel, {})

    def cpu(call) -> float:
        start = time.process_time()
        call()
        return time.process_time() - start

    times.setdefault("front end", []).append(
        cpu(lambda: compile_module(parse_module(module_source, f"<{kernel}>")))
    )
    for tier in programs:
        times.setdefault(tier, []).append(cpu(lambda t=tier: TIERS[t](module, codes)))
    if DECORATOR in suite.samples[kernel]:
        times.setdefault(DECORATOR, []).append(cpu(lambda: jit_function(fn, "ssa").engine))


def break_even(row: Row, tier: str, base: str) -> float:
    """Calls of `row`'s kernel after which compiling for `tier` has paid for itself against
    running on `base`: compile time ÷ time saved per call (inf when `tier` is not faster)."""
    saved = row.seconds[base] - row.seconds[tier]
    compile_time = row.compile_seconds.get(tier, 0.0) + row.compile_seconds.get("front end", 0.0)
    return compile_time / saved if saved > 0 else math.inf


def suite_json(suite: Suite, command: str) -> dict:
    """`as_json` of the medians plus every sample, the skipped peers and where it ran."""
    out = as_json(suite.rows())
    out["samples"] = suite.samples
    out["compile_samples"] = suite.compile
    out |= {"sizes": suite.sizes, "rounds": suite.rounds, "skipped": suite.skipped}
    out["versions"] = {c: VERSIONS[c] for c in out["geomean_vs_gcc"] if c in VERSIONS}
    out["run"] = machine() | {
        "command": command,
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    return out


def machine() -> dict:
    """What the numbers ran on: CPU model, cores, load, Python and kernel."""
    model = next(
        (line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo")
         if line.startswith("model name")), platform.processor(),
    )  # fmt: skip
    return {"cpu": model, "cores": os.cpu_count(), "load": os.getloadavg(),
            "python": platform.python_version(), "system": platform.platform()}  # fmt: skip


def round_geomeans(suite: Suite, column: str, base: str = "gcc -O2") -> list[float]:
    """Per round, the geomean over kernels of `column`'s time ÷ `base`'s in that round: the
    rounds are interleaved, so a round's columns saw the same moment of the machine."""
    samples = suite.samples.values()
    return [geomean([s[column][r] / s[base][r] for s in samples]) for r in range(suite.rounds)]


SHORT = {"sum_loop": "sum", "count_primes": "primes"}  # table headers: seven kernels in a column


def ratio_table(suite: Suite, base: str = "gcc -O2") -> str:
    """One line per column: each kernel's median time ÷ `base`'s median; the geomean of
    those, with the [min-max] of the per-round geomeans; and the widest spread of one
    kernel's samples ((max - min) / median) in that column."""
    rows = suite.rows()
    lines = [f"{'÷ ' + base:<14}" + "".join(f"{SHORT.get(r.kernel, r.kernel)[:7]:>8}" for r in rows)
             + f"{'geomean [range]':>18}{'spread':>7}"]  # fmt: skip
    for column in rows[0].seconds:
        spread = max(
            (max(v) - min(v)) / statistics.median(v)
            for v in (suite.samples[r.kernel][column] for r in rows)
        )
        cells = "".join(f"{_ratio(r.ratio(column, base)):>8}" for r in rows)
        per_round = round_geomeans(suite, column, base)
        mean = f"{_ratio(mean_ratio(rows, column, base))} "
        mean += f"[{_ratio(min(per_round))}-{_ratio(max(per_round))}]"
        lines.append(f"{column:<14}{cells}{mean:>18}{spread:>7.0%}")
    return "\n".join(lines)


def _ratio(x: float) -> str:
    """Three significant digits, without an exponent: 1.23, 12.3, 1230."""
    return f"{x:.3g}" if x < 100 else f"{x:.0f}"
