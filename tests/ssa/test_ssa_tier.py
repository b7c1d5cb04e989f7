"""The SSA tier against CPython: every program file and random programs (hypothesis) through
tier="ssa" (bytecode -> SSA -> passes -> linear scan -> x86-64, the stack tier's runtime),
through "auto" with thresholds low enough to climb VM -> stack -> SSA mid-run, and through
every pass alone; deopt cases, Ctrl-C and callee-saved registers are in test_codegen_tier."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
from hypothesis import given, settings

import jitkit
from jitkit.bench import kernel_source
from jitkit.bytecode.compiler import compile_module
from jitkit.lang.parse import parse_module
from jitkit.ssa.pipeline import DEFAULT, PASSES
from jitkit.ssa.text import format, parse
from jitkit.ssa.tier import ssa_tier
from jitkit.tiering import AutoTier, Thresholds
from tests.programs.engines import capture
from tests.programs.engines import run as run_engine
from tests.stackjit.test_stack_tier import PROGRAMS, same_run
from tests.test_differential import programs


def run_ssa(source: str, tier: str = "ssa", passes=DEFAULT) -> tuple[str, str | None, object]:
    """(stdout, exception type name, engine) of the SSA tier (IR verified after every pass),
    or of tiered execution that promotes after 2 calls and moves on to SSA after 2 more."""
    codes = compile_module(parse_module(source, "prog.py"))
    if tier == "ssa":
        engine = ssa_tier(codes, passes=passes, verify=True)
    else:
        engine = AutoTier(codes, Thresholds(calls=2, loops=3, ssa=2))
    out, error = capture(lambda: engine.call("<module>"))
    return out, error, engine


@pytest.mark.parametrize("tier", ["ssa", "auto"])
@pytest.mark.parametrize("path", PROGRAMS, ids=lambda p: p.stem)
def test_program_files_match_cpython(path, tier):
    source = path.read_text()
    out, error, _ = run_ssa(source, tier)
    assert same_run((out, error), run_engine("cpython", source))


def test_program_files_compile_to_ssa_code():
    """Not a silent fallback: the kernels' functions really run as SSA code."""
    source = kernel_source()
    tier = ssa_tier(compile_module(parse_module(source)), verify=True)
    assert tier.compiled.fallbacks == {}
    kernels = ("fib", "sum_loop", "gcd", "collatz", "count_primes", "mandel", "sieve")
    assert {tier.tier_of(n) for n in kernels} == {"ssa"}


def assert_ir_round_trips(engine) -> None:
    for texts in engine.compiled.ir.values():
        for _, text in texts:
            assert format(parse(text)) == text


@settings(max_examples=30, deadline=None)
@given(programs())
def test_random_programs_match_cpython(source):
    expected = run_engine("cpython", source)
    out, error, engine = run_ssa(source)
    assert same_run((out, error), expected), source
    assert_ir_round_trips(engine)
    out, error, _ = run_ssa(source, "auto")
    assert same_run((out, error), expected), f"auto:\n{source}"


@pytest.mark.parametrize("name", sorted(PASSES))
@settings(max_examples=8, deadline=None)
@given(source=programs())
def test_each_pass_alone_keeps_cpythons_answer(name, source):
    out, error, _ = run_ssa(source, passes=[(name, PASSES[name])])
    assert same_run((out, error), run_engine("cpython", source)), f"{name}:\n{source}"


def test_jit_objects_show_the_ir_after_each_pass():
    @jitkit.jit(tier="ssa")
    def total(n):
        s = 0
        for i in range(n):
            s += i
        return s

    assert total(100) == 4950 and total.running_tier() == "ssa"
    names = [name for name, _ in total.passes]
    assert names == ["input", *(name for name, _ in DEFAULT)]
    assert total.ir() == total.passes[-1][1] and total.ir("input") == total.passes[0][1]
    assert "phi" in total.ir("input") and "$total" in total.ir()
    assert "total.entry" in total.listing()


def test_sigint_stops_while_true_under_tier_ssa_within_a_second(tmp_path):
    script = tmp_path / "spin.py"  # a file: @jitkit.jit reads the function's source
    script.write_text(
        textwrap.dedent("""
        import os, signal, threading, time
        import jitkit

        @jitkit.jit(tier="ssa")
        def spin():
            n = 0
            while True:
                n = n + 1

        spin.engine  # compile first: the timer measures the loop, not the compiler
        assert spin.running_tier() == "ssa", spin.engine.compiled.fallbacks
        start = time.perf_counter()  # before the timer: the signal comes 0.3 s after this
        threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT)).start()
        try:
            spin()
        except KeyboardInterrupt:
            print(time.perf_counter() - start)
    """)
    )
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                            timeout=60)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert 0.3 <= float(result.stdout) < 1.3


@pytest.mark.parametrize(
    "body",
    ["s += 2**62", "s -= 2**62", "s = s * 3 + 1", "s = -s - 2**62", "s = s // (i - 2)"],
)
def test_checked_arithmetic_deopts_mid_loop_exactly(body):
    """An accumulator overflowing (or dividing by zero) halfway: the VM takes over from the
    instruction that failed, nothing printed twice."""
    source = textwrap.dedent(f"""
        def acc(n):
            s = 1
            for i in range(n):
                {body}
                print(i, s)
            return s
        print(acc(6))
    """)
    out, error, engine = run_ssa(source)
    assert (out, error) == run_engine("cpython", source)
    assert engine.tier_of("acc") == "ssa"


DEEP = "def f(n):\n    if n == 0:\n        return 0\n    return 1 + f(n - 1)\nprint(f(50000))\n"


@pytest.mark.parametrize(
    "limit, program, expected",
    [
        (None, "def f(a):\n    return a // 0\nprint(f(1))\n", "ZeroDivisionError"),
        (None, "def f(a):\n    return a // -1\nprint(f(-2**63))\n", str(2**63)),
        (None, "def f(n):\n    return f(n + 1)\nf(0)\n", "RecursionError"),
        (100_000, DEEP, "50000"),
    ],
    ids=["zero", "min-by-minus-one", "recursion", "deeper-than-the-native-cap"],
)
def test_no_kernel_death(limit, program, expected, tmp_path):
    """In a subprocess: whatever goes wrong is a Python exception, never a signal."""
    script = tmp_path / "prog.py"
    script.write_text(
        (f"import sys; sys.setrecursionlimit({limit})\n" if limit else "")
        + "from jitkit.tiers import load\n"
        + f"program = load({program!r}, 'ssa')\n"
        + "assert set(program.engine.compiled.tiers.values()) == {'ssa'}\n"
        + "program.run_main()\n"
    )
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                            timeout=120)  # fmt: skip
    assert result.returncode in (0, 1), result.stderr
    assert expected in result.stdout + result.stderr


def test_auto_jit_objects_show_the_ir_the_auto_tier_promotes_to():
    @jitkit.jit(tier="auto")
    def square(n):
        return n * n

    assert [square(k) for k in range(3)] == [0, 1, 4]
    assert square.ssa is square.engine.ssa
    assert "mul_ovf" in square.ir("input")


WIDE = """
def wide(n, a, b, c, d, e, f):
    if n <= 0:
        return a + b * 2 + c * 3 + d * 4 + e * 5 + f * 6
    g = a * 3 + 1
    h = b - c
    i = c * d
    j = d + e + f
    k = e * f - a
    m = f // (n - 1) if n != 1 else f
    print(n, g, h, i, j, k, m, sep=",")
    r = wide(n - 1, g, h, i, j, k, m)
    return r + g + h + i + j + k + m + a + b + c + d + e + f

print(wide(9, 1, 2, 3, 4, 5, 6))
print(wide(40, 2**40, -3, 7, 11, 13, 17))
"""


def test_seven_arguments_spills_and_prints_under_deopt():
    """More arguments than registers (memory convention), more live values than registers
    (spill slots read by the deopt stubs), prints, and overflow deep in the recursion."""
    out, error, engine = run_ssa(WIDE)
    assert (out, error) == run_engine("cpython", WIDE)
    assert engine.tier_of("wide") == "ssa"
    assert engine.compiled.allocations["wide"].slots > 0
