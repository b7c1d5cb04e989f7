"""`sum_recursion` and `inline_leaves` (jitkit/ssa/passes/recursion.py): the IR before and
after, the IR interpreter as the oracle, the shapes they must leave alone, and the SSA tier
against CPython where it matters: overflow in the middle of the recursion, RecursionError at
the same depth as the VM, prints and other calls in order, Ctrl-C."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jitkit.ssa.interp import run
from jitkit.ssa.passes.recursion import inline_leaves, sum_recursion
from jitkit.ssa.pipeline import DEFAULT, PASSES
from jitkit.ssa.text import format, parse
from jitkit.ssa.verify import verify
from jitkit.tiers import load
from tests.programs.engines import run as run_engine
from tests.ssa import golden
from tests.ssa.test_ssa_differential import Program

FIB = """\
function i64 $fib(i64 %n) {
@entry
    %t.1 =bool lt %n, 2
    br %t.1, @pc4, @pc6
@pc4
    ret %n
@pc6
    %t.2 =i64 sub %n, 1
    %t.3 =i64 call $fib(%t.2) deopt 11 locals(%n) stack()
    %t.4 =i64 sub %n, 2
    %t.5 =i64 call $fib(%t.4) deopt 16 locals(%n) stack(%t.3)
    %t.6 =i64 add_ovf %t.3, %t.5 deopt 16 locals(%n) stack(%t.3, %t.5)
    ret %t.6
}
"""

FIB_LOOP = """\
function i64 $fib(i64 %n) {
@recursion
    jmp @entry
@entry
    %n.1 =i64 phi @recursion %n, @pc6 %t.4
    %sum =i64 phi @recursion 0, @pc6 %sum.1
    %t.1 =bool lt %n.1, 2
    br %t.1, @pc4, @pc6
@pc4
    %ret =i64 leave %sum, %n.1 deopt 16 locals(0) stack(%sum, %n.1)
    ret %ret
@pc6
    %t.2 =i64 sub %n.1, 1
    %t.3 =i64 call $fib(%t.2) deopt 11 locals(%n.1) stack()
    %t.4 =i64 sub %n.1, 2
    %sum.1 =i64 add_ovf %sum, %t.3 deopt 15 locals(%n.1) stack(%t.3, 0, %t.4)
    enter %sum.1 deopt 15 locals(%n.1) stack(%t.3, 0, %t.4)
    jmp @entry
}
"""

FIB_LEAVES = """\
function i64 $fib(i64 %n) {
@recursion
    jmp @entry
@entry
    %n.1 =i64 phi @recursion %n, @pc6.join %t.4
    %sum =i64 phi @recursion 0, @pc6.join %sum.1
    %t.1 =bool lt %n.1, 2
    br %t.1, @pc4, @pc6
@pc4
    %ret =i64 leave %sum, %n.1 deopt 16 locals(0) stack(%sum, %n.1)
    ret %ret
@pc6
    %t.2 =i64 sub %n.1, 1
    %t.1.1 =bool lt %t.2, 2
    br %t.1.1, @pc6.fits, @pc6.call
@pc6.fits
    %fits =bool fits
    br %fits, @pc6.leaf, @pc6.call
@pc6.leaf
    jmp @pc6.join
@pc6.call
    %t.3.1 =i64 call $fib(%t.2) deopt 11 locals(%n.1) stack()
    jmp @pc6.join
@pc6.join
    %t.3 =i64 phi @pc6.leaf %t.2, @pc6.call %t.3.1
    %t.4 =i64 sub %n.1, 2
    %sum.1 =i64 add_ovf %sum, %t.3 deopt 15 locals(%n.1) stack(%t.3, 0, %t.4)
    enter %sum.1 deopt 15 locals(%n.1) stack(%t.3, 0, %t.4)
    jmp @entry
}
"""


def fib(n: int) -> int:
    a, b = 0, 1
    for _ in range(n):
        a, b = b, a + b
    return a


def test_the_tail_call_of_a_sum_becomes_a_loop_with_a_running_sum():
    fn = parse(FIB)
    assert sum_recursion(fn)
    verify(fn)
    assert format(fn) == FIB_LOOP
    assert not sum_recursion(fn)  # once is enough: no call left in tail position


def test_each_remaining_self_call_tests_for_the_quick_return_and_room_first():
    fn = parse(FIB_LOOP)
    assert inline_leaves(fn)
    verify(fn)
    assert format(fn) == FIB_LEAVES
    assert not inline_leaves(fn)


@pytest.mark.parametrize("text", [FIB_LOOP, FIB_LEAVES], ids=["loop", "leaves"])
def test_the_interpreter_gives_the_same_values(text):
    before, after = parse(FIB), parse(text)
    for n in range(-2, 16):
        want = run(before, [n])
        assert run(after, [n]) == want and want.value == (fib(n) if n >= 0 else n)


COUNT = """\
function i64 $f(i64 %n) {
@entry
    %c =bool eq %n, 0
    br %c, @base, @rec
@base
    ret 0
@rec
    %m =i64 sub_ovf %n, 1 deopt 9 locals(%n) stack(1, 0, %n, 1)
    %r =i64 call $f(%m) deopt 11 locals(%n) stack(1)
    %s =i64 add_ovf 1, %r deopt 11 locals(%n) stack(1, %r)
    ret %s
}
"""


def test_a_deopt_in_the_loop_leaves_one_record_per_pending_frame_holding_the_sum():
    """`return 1 + f(n - 1)` with room for three frames: the fourth trip deopts at its CALL,
    under three pending frames (outermost first), the innermost holding the sum 3."""
    fn = parse(COUNT)
    assert sum_recursion(fn) and "call" not in format(fn)
    assert run(fn, [10]).value == 10
    out = run(fn, [10], depth=3)
    assert out.deopt == (10, (7,), (1, 0, 6))
    assert out.frames == (("f", 11, (0,), (0,)), ("f", 11, (0,), (0,)), ("f", 11, (0,), (3,)),
                          ("f", 10, (7,), (1, 0, 6)))  # fmt: skip


def test_a_sum_leaving_int64_at_the_return_deopts_at_the_innermost_pending_add():
    """fib(2) where the quick return is `top`: the call gives top, the loop's return adds
    top to it: past int64, so the one pending frame is the deopt's own, at its add."""
    top = 2**62 + 2**61
    quick = "leave %sum, %n.1 deopt 16 locals(0) stack(%sum, %n.1)"
    fn = parse(FIB_LOOP.replace(quick, f"leave %sum, {top} deopt 16 locals(0) stack(%sum, {top})"))
    out = run(fn, [2])
    assert out.deopt == (16, (0,), (top, top)) and len(out.frames) == 1


def shapes(call: str) -> str:
    """A function f(n) whose recursive case is `return CALL` (the shape under test)."""
    return f"def f(n):\n    if n < 2:\n        return n\n    return {call}\n"


CASES = {
    # transformed: (source, the SSA tier's IR shows the loop)
    "fib": (shapes("f(n - 1) + f(n - 2)") + "print(f(20), f(0), f(1), f(-3))\n", True),
    "overflow mid-recursion": (
        "def f(n):\n    if n < 2:\n        return 3000000000000000000\n"
        "    return f(n - 1) + f(n - 2)\nk = 0\nwhile k < 12:\n    print(f(k))\n    k += 1\n",
        True,
    ),
    "overflow of the running sum": (
        "def f(n):\n    if n == 0:\n        return 0\n    return 4611686018427387904 + f(n - 1)\n"
        "print(f(1), f(2), f(7))\n",
        True,
    ),
    "overflow at the return": (
        "def f(n):\n    if n == 0:\n        return 9223372036854775807\n    return 1 + f(n - 1)\n"
        "print(f(0), f(1), f(5))\n",
        True,
    ),
    "negative overflow": (
        "def f(n):\n    if n == 0:\n        return -9223372036854775807\n"
        "    return -4611686018427387904 + f(n - 1)\nprint(f(0), f(1), f(3))\n",
        True,
    ),
    "a print in the body": (
        "def f(n):\n    if n == 0:\n        return 0\n    print('at', n)\n    return n + f(n - 1)\n"
        "print(f(5))\n",
        True,
    ),
    "another call with a print first": (
        "def g(n):\n    print('g', n)\n    return n * n\n\n"
        "def f(n):\n    if n == 0:\n        return 0\n    return g(n) + f(n - 1)\nprint(f(6))\n",
        True,
    ),
    "a loop in the body": (
        "def f(n):\n    if n == 0:\n        return 0\n    i = 0\n    while i < 3:\n"
        "        i += 1\n    return i + f(n - 1)\nprint(f(9))\n",
        True,
    ),
    "frames counted in memory": (  # a function on templates: no frame count in r13
        "def p(x):\n    return x ** 2.5\n\n"
        "def f(n):\n    if n < 2:\n        return 3000000000000000000\n"
        "    return f(n - 1) + f(n - 2)\nprint(p(2.0))\nk = 0\n"
        "while k < 9:\n    print(f(k))\n    k += 1\n",
        True,
    ),
    # left alone: not a sum, or not ints
    "minus": (shapes("f(n - 1) - f(n - 2)") + "print(f(15))\n", False),
    "the call first": (shapes("f(n - 1) + n") + "print(f(30))\n", False),
    "a float sum": (
        "def f(n):\n    if n < 1:\n        return 0.5\n    return 1.5 + f(n - 1)\nprint(f(20))\n",
        False,
    ),
}


def test_the_pass_is_in_the_pipeline():
    assert PASSES["recursion"] is sum_recursion and PASSES["leaves"] is inline_leaves


@pytest.mark.parametrize("case", CASES)
def test_ir_with_deopts_resumed_in_the_vm_matches_cpython(case):
    """The IR interpreter nests six calls, then deopts at the next entry: every run below
    leaves loops with frames pending, which the VM finishes."""
    source, _ = CASES[case]
    want, program = run_engine("cpython", source), Program(source)
    pipelines = {
        "none": (),
        "recursion": (("recursion", sum_recursion),),
        "leaves": (("leaves", inline_leaves),),
        "both": (("recursion", sum_recursion), ("leaves", inline_leaves)),
        "all": DEFAULT,
    }
    for name, passes in pipelines.items():
        assert program.run(passes) == want, name
    for poll in range(1, 4):  # a simulated Ctrl-C at the k-th loop poll
        assert program.run(DEFAULT, poll) == want, poll


@pytest.mark.parametrize("case", CASES)
def test_the_ssa_tier_matches_cpython(case):
    source, looped = CASES[case]
    assert run_engine("ssa", source) == run_engine("cpython", source)
    tier = load(source, "ssa").engine
    assert tier.tier_of("f") == "ssa", tier.compiled.fallbacks
    assert ("enter" in tier.ir("f")) == looped


def test_a_leaf_with_a_print_or_a_checked_operation_is_not_inlined():
    for leaf in ("print(n)\n        return n", "return n * 3"):
        source = f"def f(n):\n    if n < 2:\n        {leaf}\n    return f(n - 1) + f(n - 2)\n"
        ir = load(source, "ssa").engine.ir("f")
        assert "enter" in ir and "fits" not in ir and "call $f" in ir


def test_every_inlined_leaf_still_checks_for_room():
    """The callee's entry check is the one guard the quick path skips: `fits` replaces it,
    and a call is made (and fails as before) where one more frame would not fit."""
    ir = load(CASES["fib"][0], "ssa").engine.ir("f")
    assert ir.count("=bool fits") == 1 and ir.count("call $f") == 1


TEMPLATES = "def p(x):\n    return x ** 2.5\n\n"  # on templates: the frames counted in memory
LINEAR = {
    "sum": "def f(n):\n    if n == 0:\n        return 0\n    return 1 + f(n - 1)\n",
    "leaf": "def f(n):\n    if n < 2:\n        return n\n    return f(n - 1) + f(0)\n",
    "leaf deepest": "def f(n):\n    if n < 2:\n        return n\n    return f(n - 1) * 1\n",
}
LINEAR |= {f"{name}, counted in memory": TEMPLATES + source for name, source in LINEAR.items()}


def deepest(tier: str, source: str, limit: int) -> int:
    """The largest n for which f(n) returns under this recursion limit (then it raises)."""
    program = load(source, tier)
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(limit)
    try:
        n = 0
        while True:
            try:
                program.call("f", n + 1)
            except RecursionError:
                return n
            n += 1
    finally:
        sys.setrecursionlimit(old)


@pytest.mark.parametrize("limit", [120, 333])
@pytest.mark.parametrize("shape", LINEAR)
def test_recursion_error_comes_at_the_same_depth_as_in_the_vm(shape, limit):
    source = LINEAR[shape]
    tier = load(source, "ssa").engine
    ir = tier.ir("f")
    assert ("enter" in ir) == ("deepest" not in shape) and ("=bool fits" in ir) == ("leaf" in shape)
    assert bool(tier.compiled.fallbacks) == ("memory" in shape)
    vm = deepest("interp", source, limit)
    assert vm > limit - 60  # the frames of pytest below count too
    assert deepest("ssa", source, limit) == vm == deepest("stack", source, limit)


def test_ctrl_c_stops_a_recursion_turned_loop_within_a_second():
    code = textwrap.dedent(
        """
        import os, signal, threading, time
        from jitkit.tiers import load
        src = ('def f(n):\\n    if n == 0:\\n        return 0\\n    i = 0\\n'
               '    while i < 100000000:\\n        i += 1\\n    return i + f(n - 1)\\n')
        program = load(src, 'ssa')
        assert 'enter' in program.engine.ir('f')
        start = time.perf_counter()
        threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT)).start()
        try:
            program.call('f', 1000)
        except KeyboardInterrupt:
            print(time.perf_counter() - start)
        """
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=60)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert 0.3 <= float(result.stdout) < 1.3


@pytest.mark.parametrize("case", golden.cases("recursion"), ids=lambda c: c.path.name)
def test_golden_sums(case):
    golden.check(case, sum_recursion)


@pytest.mark.parametrize("case", golden.cases("leaves"), ids=lambda c: c.path.name)
def test_golden_leaves(case):
    golden.check(case, inline_leaves)


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 10**6), st.lists(golden.ARGS, min_size=2, max_size=2))
def test_random_functions_keep_their_meaning(seed, args):
    golden.check_random(lambda fn: sum_recursion(fn) | inline_leaves(fn), seed, args)
