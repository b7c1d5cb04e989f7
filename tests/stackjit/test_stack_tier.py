"""The stack tier against CPython: every program file, random programs (hypothesis), and the
cases compiled int64 code gets wrong unless it deopts: overflow after printing, floor
division, INT64_MIN // -1, deep recursion."""

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from hypothesis import given, settings

from jitkit.bytecode.compiler import compile_module
from jitkit.lang.parse import parse_module
from jitkit.stackjit import stack_tier
from jitkit.tiering import AutoTier, Thresholds
from tests.programs.engines import capture
from tests.programs.engines import run as run_engine
from tests.test_differential import programs

PROGRAMS = sorted(
    p
    for p in (Path(__file__).parents[1] / "programs").glob("*.py")
    if not p.name.startswith(("test_", "_")) and p.name != "engines.py"
)


def run_stack(source: str, tier: str = "stack") -> tuple[str, str | None, dict]:
    """(stdout, exception type name, functions left to the VM) of the stack tier, or of
    tiered execution with thresholds so low that functions switch tiers mid-run."""
    codes = compile_module(parse_module(source, "prog.py"))
    engine = stack_tier(codes) if tier == "stack" else AutoTier(codes, Thresholds(2, 3))
    out, error = capture(lambda: engine.call("<module>"))
    skipped = engine.compiled.skipped if tier == "stack" else engine.fallbacks
    return out, error, skipped


@pytest.mark.parametrize("tier", ["stack", "auto"])
@pytest.mark.parametrize("path", PROGRAMS, ids=lambda p: p.stem)
def test_program_files_match_cpython(path, tier):
    source = path.read_text()
    out, error, _ = run_stack(source, tier)
    assert (out, error) == run_engine("cpython", source)


def same_run(ours: tuple[str, str | None], cpython: tuple[str, str | None]) -> bool:
    """Equal stdout and exception ("Type: message"). Past the recursion limit, how many
    lines a program prints first depends on how many Python frames sit below it (CPython
    counts its caller's frames too), so there one output must be a prefix of the other."""
    recursion = "RecursionError: maximum recursion depth exceeded"
    if ours[1] == cpython[1] == recursion:
        return ours[0].startswith(cpython[0]) or cpython[0].startswith(ours[0])
    return ours == cpython


@settings(max_examples=40, deadline=None)
@given(programs())
def test_random_programs_match_cpython(source):
    expected = run_engine("cpython", source)
    for tier in ("stack", "auto"):
        out, error, _ = run_stack(source, tier)
        assert same_run((out, error), expected), f"{tier}:\n{source}"


def compiled(source: str):
    tier = stack_tier(compile_module(parse_module(textwrap.dedent(source))))
    assert not tier.compiled.skipped, tier.compiled.skipped
    return tier


def test_overflow_mid_loop_after_printing_deopts_without_repeating_a_line(capsys):
    tier = compiled("""
        def grow(n):
            x = 1
            for i in range(n):
                print(i, x)
                x = x * 1000
            return x
    """)
    assert tier.call("grow", 10) == 1000**10
    assert capsys.readouterr().out.splitlines() == [f"{i} {1000**i}" for i in range(10)]


def test_a_deopt_deep_in_native_calls_resumes_every_caller():
    tier = compiled("""
        def fact(n):
            if n <= 1:
                return 1
            return n * fact(n - 1)
    """)
    assert tier.call("fact", 30) == __import__("math").factorial(30)


@pytest.mark.parametrize("a", [7, -7, 0, 2**63 - 1, -(2**63)])
@pytest.mark.parametrize("b", [2, -2, 3, -3, 1, -1, 2**63 - 1, -(2**63)])
def test_floor_division_and_modulo_are_pythons(a, b):
    tier = compiled("""
        def div(a, b):
            return a // b
        def mod(a, b):
            return a % b
    """)
    assert tier.call("div", a, b) == a // b
    assert tier.call("mod", a, b) == a % b


@pytest.mark.parametrize("k", [1, 2, 8, 2**30, 3, -2, -8])
def test_constant_divisors_including_powers_of_two_floor_like_python(k):
    tier = compiled(f"""
        def div(a):
            return a // {k}
        def mod(a):
            return a % {k}
    """)
    for a in [0, 1, -1, 7, -7, 2**62, -(2**63), 2**63 - 1, -(2**31) - 1]:
        assert (tier.call("div", a), tier.call("mod", a)) == (a // k, a % k), a


def test_division_by_zero_raises_zero_division_error():
    tier = compiled("def f(a, b):\n    print('before')\n    return a // b\n")
    with pytest.raises(ZeroDivisionError):
        tier.call("f", 1, 0)


def test_bools_stay_bools_and_ints_stay_ints():
    tier = compiled("""
        def even(n):
            if n == 0:
                return True
            return odd(n - 1)
        def odd(n):
            if n == 0:
                return False
            return even(n - 1)
        def plus(n):
            return (n > 0) + 1
    """)
    assert tier.call("even", 10) is True and tier.call("odd", 10) is False
    assert tier.call("plus", 5) == 2 and type(tier.call("plus", 5)) is int


def test_functions_the_tier_cannot_type_stay_in_the_vm():
    tier = stack_tier(
        compile_module(
            parse_module(
                textwrap.dedent("""
        def mixed(n):
            if n:
                return True
            return 5
    """)
            )
        )
    )
    assert "mixed" in tier.compiled.skipped
    assert tier.call("mixed", 1) is True and tier.call("mixed", 0) == 5


def run_isolated(code: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, timeout=timeout)  # fmt: skip


PRELUDE = """
    from jitkit.bytecode.compiler import compile_module
    from jitkit.lang.parse import parse_module
    from jitkit.stackjit import stack_tier
    def tier(src):
        return stack_tier(compile_module(parse_module(src)))
"""


@pytest.mark.parametrize(
    "call, expected",
    [
        ("tier('def f(a):\\n    return a // 0\\n').call('f', 1)", "ZeroDivisionError"),
        ("tier('def f(a):\\n    return a % 0\\n').call('f', 1)", "ZeroDivisionError"),
        ("print(tier('def f(a):\\n    return a // -1\\n').call('f', -2**63))", str(2**63)),
        ("print(tier('def f(a):\\n    return a * a * a\\n').call('f', 2**40))", str(2**120)),
        ("tier('def f(n):\\n    return f(n + 1)\\n').call('f', 0)", "RecursionError"),
        ("import sys; sys.setrecursionlimit(100000); print(tier('def f(n):\\n    if n == 0:\\n"
         "        return 0\\n    return 1 + f(n - 1)\\n').call('f', 50000))", "50000"),
    ],
    ids=["floordiv-zero", "mod-zero", "min-div-minus-one", "overflow", "recursion",
         "deeper-than-native-stack"],
)  # fmt: skip
def test_no_kernel_death(call, expected):
    result = run_isolated(PRELUDE + "\n    " + call + "\n")
    assert result.returncode in (0, 1), result.stderr  # an exception, never a signal
    assert expected in result.stdout + result.stderr


def test_sigint_stops_a_compiled_while_true_loop_within_a_second():
    result = run_isolated(
        PRELUDE
        + """
    import os, signal, threading, time
    spin = tier('def spin():\\n    n = 0\\n    while True:\\n        n = n + 1\\n')
    start = time.perf_counter()  # before the timer, so the signal cannot come sooner than 0.3 s
    threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT)).start()
    try:
        spin.call('spin')
    except KeyboardInterrupt:
        print(time.perf_counter() - start)
    """
    )
    assert result.returncode == 0, result.stderr
    assert 0.3 <= float(result.stdout) < 1.3
