"""Keyword arguments and default values on every tier, against CPython (issue 14, docs/calls.md).

Random programs call functions with random signatures (constant defaults of every kind) with
random keyword permutations whose arguments print (`show(k)`), so the order CPython evaluates
them in is in the output; now and then an argument divides by zero half-way through a call.
Every tier of `jitkit.tiers` must print and raise exactly what CPython does. `jitkit build`
executables (libc and `--no-libc`) run a few programs, and a call that cannot bind is refused
by `python -m jitkit run` and `build` with CPython's message (in a subprocess).
"""

from __future__ import annotations

import contextlib
import io
import itertools
import random
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jitkit.lang import nodes
from jitkit.lang.parse import parse_module
from jitkit.lang.treewalk import TreeWalker
from jitkit.tiers import TIERS, load

NATIVE = ("stack", "ssa")  # tiers whose engine says which functions run as machine code
DEFAULTS = ["0", "1", "-1", "7", "-3", "True", "False", "None", "2.5", "-0.5", "10**0"]


def run(runner) -> tuple[str, str | None]:
    """(stdout, "Type: message") of `runner()`."""
    out, error = io.StringIO(), None
    with contextlib.redirect_stdout(out):
        try:
            runner()
        except Exception as e:  # noqa: BLE001 - the exception is the result
            error = f"{type(e).__name__}: {e}"
    return out.getvalue(), error


def cpython(source: str) -> tuple[str, str | None]:
    code = compile(source, "prog.py", "exec")
    return run(lambda: exec(code, {"__name__": "__main__"}))


def on_tier(source: str, tier: str) -> tuple[str, str | None]:
    return run(load(source, tier, "prog.py").run_main)


class Generator:
    """One random program: callees with constant defaults, a `run(x)` full of keyword calls."""

    def __init__(self, rng: random.Random, ints_only: bool = False) -> None:
        """`ints_only`: int arguments and defaults (the native tiers compile every function),
        nearly all printed as they are evaluated."""
        self.rng = rng
        self.ints_only = ints_only
        self.callees: list[tuple[str, list[str], int]] = []  # name, params, defaults

    def callee(self, index: int) -> str:
        rng = self.rng
        params = [f"p{k}" for k in range(rng.randint(1, 4))]
        count = rng.randint(0, len(params))
        pool = DEFAULTS[:5] if self.ints_only else [d for d in DEFAULTS if d != "10**0"]
        defaults = [rng.choice(pool) for _ in range(count)]
        name = f"f{index}"
        self.callees.append((name, params, count))
        spelled = [
            p if k < len(params) - count else f"{p}={defaults[k - len(params) + count]}"
            for k, p in enumerate(params)
        ]
        return (
            f"def {name}({', '.join(spelled)}):\n"
            f"    print({name!r}, {', '.join(params)})\n"
            f"    return {index + 1}\n"
        )

    def argument(self, depth: int) -> str:
        rng = self.rng
        roll = rng.randint(1, 100)
        if self.ints_only and roll > 15:  # every argument seen: any reordering shows
            return f"show({rng.randint(-9, 99)})"
        if roll <= 60:
            return f"show({rng.randint(-9, 99)})"
        if roll <= 70:
            return str(rng.randint(-5, 5))
        if roll <= 80:
            return f"x + {rng.randint(0, 9)}"
        if roll <= 84 and not self.ints_only:
            return f"show({rng.randint(1, 9)}) // x"  # x is 0 in the last run: ÷0 mid-call
        if depth < 2:
            return self.call(depth + 1)
        return f"show({rng.randint(0, 9)})"

    def call(self, depth: int = 0) -> str:
        """A call that binds: some positional arguments, then keywords in a random order,
        every parameter without a default given."""
        rng = self.rng
        name, params, count = rng.choice(self.callees)
        positional = rng.randint(0, len(params))
        rest = params[positional:]
        required = [p for p in rest if params.index(p) < len(params) - count]
        optional = [p for p in rest if p not in required]
        keywords = required + rng.sample(optional, rng.randint(0, len(optional)))
        rng.shuffle(keywords)
        args = [self.argument(depth) for _ in range(positional)]
        args += [f"{key}={self.argument(depth)}" for key in keywords]
        return f"{name}({', '.join(args)})"

    def program(self) -> str:
        rng = self.rng
        parts = [
            "def show(v):\n    print('arg', v)\n    return v\n",
            *(self.callee(i) for i in range(rng.randint(1, 3))),
        ]
        body = [f"    t += {self.call()}" for _ in range(rng.randint(2, 6))]
        parts.append("def run(x):\n    t = 0\n" + "\n".join(body) + "\n    return t\n")
        parts.append("print(run(3))\nprint(run(0))\n")
        return "\n\n".join(parts)


def program(seed: int, ints_only: bool = False) -> str:
    return Generator(random.Random(seed), ints_only).program()


SETTINGS = dict(deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])


@settings(max_examples=80, **SETTINGS)
@given(st.integers(0, 2**32))
def test_interpreters_agree_with_cpython(seed):
    source = program(seed)
    expected = cpython(source)
    for tier in ("treewalk", "interp"):
        assert on_tier(source, tier) == expected, (tier, source)


@pytest.mark.parametrize("tier", [t for t in TIERS if t not in ("treewalk", "interp")])
@settings(max_examples=8, **SETTINGS)
@given(seed=st.integers(0, 2**32))
def test_compiled_tiers_agree_with_cpython(tier, seed):
    source = program(seed)
    assert on_tier(source, tier) == cpython(source), source


def in_parameter_order(source: str) -> tuple[str, str | None]:
    """What the tree-walker prints when every call evaluates its arguments in parameter
    order (`Call.order` dropped): a program where that differs tests the order."""
    module = parse_module(source, "prog.py")
    pending: list[object] = [f.body for f in [*module.functions.values(), module.main]]
    while pending:
        item = pending.pop()
        if isinstance(item, list):
            pending += item
        elif isinstance(item, nodes.Node):
            if isinstance(item, nodes.Call):
                item.order = None
            pending += [getattr(item, f) for f in item.__dataclass_fields__]
    return run(TreeWalker(module).run_main)


def order_seen(seeds: range, count: int) -> list[int]:
    """The first `count` int-only programs whose output shows the evaluation order."""
    seen = (s for s in seeds if in_parameter_order(program(s, True)) != cpython(program(s, True)))
    return list(itertools.islice(seen, count))


@pytest.mark.parametrize("tier", NATIVE)
@pytest.mark.parametrize("seed", order_seen(range(100), 4))
def test_reordered_calls_run_as_machine_code(tier, seed):
    """Int-only programs whose output shows the order: `run` and its callees compile, so
    the SWAPs that put the arguments in parameter order run natively, and still print
    CPython's order."""
    source = program(seed, ints_only=True)
    loaded = load(source, tier, "prog.py")
    assert run(loaded.run_main) == cpython(source), source
    names = ["run", *(f"f{i}" for i in range(3) if f"def f{i}(" in source)]
    assert {loaded.engine.tier_of(name) for name in names} == {tier}


FIRST_PROGRAM = """\
def show(x):
    print("arg", x)
    return x


def total(n, acc=0, step=1):
    while n > 0:
        acc += n
        n -= step
    return acc


def mix(a, b, c=-1, d=2.5, e=None, f=True):
    print(a, b, c, d, e, f)
    return a * 100 + b


def acc(n, total=0):
    if n == 0:
        return total
    return acc(n - 1, total=total + n)


def down(n, step=1):
    if n <= 0:
        return 0
    return show(n) + down(step=show(step), n=show(n - step))


print(total(10))
print(total(step=show(2), n=show(9)))
print(down(5), down(7, step=3))
print(mix(b=show(1), a=show(2)))
print(mix(show(3), f=show(False), b=show(4), e=show(5)))
print(acc(100))
print(acc(total=show(5), n=show(3)))
"""


@pytest.mark.parametrize("tier", TIERS)
def test_a_first_program_agrees_with_cpython(tier):
    """Defaults of every kind, keywords in every order, a recursive sum (`down`) whose
    self-call reorders its arguments (the LLVM tier's loop form evaluates in parameter
    order, so it leaves that call alone)."""
    assert on_tier(FIRST_PROGRAM, tier) == cpython(FIRST_PROGRAM)


@pytest.mark.parametrize("libc", [True, False], ids=["libc", "no-libc"])
@pytest.mark.parametrize("partial_eval", [True, False], ids=["partial-eval", "at-run-time"])
def test_build_executables_agree_with_cpython(tmp_path, libc, partial_eval):
    from jitkit.llvm.compiler import build

    path = tmp_path / "prog.py"
    generated = program(order_seen(range(100, 200), 1)[0], ints_only=True)
    path.write_text(
        FIRST_PROGRAM + generated.replace("def show(v):\n    print('arg', v)\n    return v\n", "")
    )
    assert in_parameter_order(path.read_text()) != cpython(path.read_text())  # order shows
    exe = build(path, tmp_path / "prog", libc=libc, partial_eval=partial_eval)
    ran = subprocess.run([str(exe)], capture_output=True, text=True, timeout=60)
    python = subprocess.run([sys.executable, str(path)], capture_output=True, text=True)
    assert (ran.stdout, ran.returncode) == (python.stdout, 0)


BAD = """\
def f(a, b=2):
    return a


print("before")
print(f(1, c=3))
"""


@pytest.mark.parametrize("command", ["run", "build"])
def test_a_call_that_cannot_bind_is_refused_on_the_command_line(tmp_path, command):
    path = tmp_path / "bad.py"
    path.write_text(BAD)
    python = subprocess.run([sys.executable, str(path)], capture_output=True, text=True)
    message = python.stderr.strip().splitlines()[-1].removeprefix("TypeError: ")
    extra = ["-o", str(tmp_path / "bad")] if command == "build" else []
    result = subprocess.run(
        [sys.executable, "-m", "jitkit", command, str(path), *extra],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 1, result.stderr
    assert result.stdout == ""  # refused before anything ran
    line = result.stderr.strip()
    assert line.startswith(f"{path}:6:7: UnsupportedError: a call that always raises TypeError")
    assert f"({message})" in line


LATE_TYPE_ERROR = """\
def show(x):
    print("arg", x)
    return x


def f(a, b, c=1):
    return a * 10 + b + c


def two(a, b):
    return a + b


def run(x):
    t = f(b=show(x), a=show(2))
    print(t)
    return t + two(show(t))


print(run(4))
"""


@pytest.mark.parametrize("tier", TIERS)
def test_a_positional_count_error_still_raises_when_it_runs(tmp_path, tier):
    """After reordered keyword calls in the same function, a positional call of a function
    without defaults with one argument too few: CPython's TypeError when it runs, after the
    output before it (in a child process: a native tier must not take the caller down)."""
    path = tmp_path / "late.py"
    path.write_text(LATE_TYPE_ERROR)
    python = subprocess.run([sys.executable, str(path)], capture_output=True, text=True)
    result = subprocess.run(
        [sys.executable, "-m", "jitkit", "run", str(path), "--tier", tier],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert (result.stdout, result.returncode) == (python.stdout, python.returncode)
    last = python.stderr.strip().splitlines()[-1]
    assert last == "TypeError: two() missing 1 required positional argument: 'b'"
    assert last in result.stderr.splitlines()  # the VM's kit call stack may follow it


def _outcome(fn, args, kwargs):
    try:
        return ("value", fn(*args, **kwargs))
    except TypeError as error:
        return ("TypeError", str(error))


def stepped_total(n, acc=0, step=1):
    for i in range(0, n, step):
        acc += i
    return acc


PYTHON_CALLS = [
    ((10,), {}),
    ((10,), {"step": 2}),
    ((), {"n": 10, "acc": 5}),
    ((10, 1, 2, 3), {}),
    ((10,), {"n": 3}),
    ((), {}),
    ((10,), {"stride": 2}),
]


@pytest.mark.parametrize("tier", [*TIERS, "cpython-first"])
def test_jit_binds_python_calls_with_defaults_as_cpython(tier):
    """Defaults left out, keywords, and CPython's TypeErrors from a Python caller of `@jit`,
    twice each (the second call may go through the builtin entry)."""
    from jitkit.jit import jit

    f = jit(tier=tier)(stepped_total)
    for _ in range(2):
        for args, kwargs in PYTHON_CALLS:
            expected = _outcome(stepped_total, args, kwargs)
            assert _outcome(f, args, kwargs) == expected, (args, kwargs)
