"""Chapter 10's own range analysis (`load_chapter("10")`) on inputs the chapter never showed.

The interval arithmetic and the branch facts are checked by brute force against CPython's
own arithmetic and comparisons; random counted loops near both ends of int64 go through the
kit's SSA builder, the chapter's pass (in place of the kit's "guards" pass, with the kit's
verifier after every pass) and the kit's machine code, against CPython; and a check the
analysis cannot prove stays, and deoptimizes where the exact result leaves int64.
"""

from __future__ import annotations

import random

import pytest

from jitkit.bytecode.compiler import compile_module
from jitkit.lang.parse import parse_module
from jitkit.ssa.build import build_function
from jitkit.ssa.ir import Instr, Temp
from jitkit.ssa.pipeline import DEFAULT, compile
from jitkit.ssa.text import parse
from jitkit.ssa.tier import ssa_tier
from jitkit.ssa.verify import verify
from jitkit.workshop import load_chapter

ch = load_chapter("10")
TOP, BOTTOM = 2**63 - 1, -(2**63)
BEFORE = DEFAULT[: [name for name, _ in DEFAULT].index("guards")]
CHECKED = ("add_ovf", "sub_ovf", "mul_ovf")


def built(source: str, name: str):
    codes = compile_module(parse_module(source))
    return compile(build_function(codes[name], codes), BEFORE)


def with_chapters_pass(source: str):
    mine = lambda fn: bool(ch.remove_overflow_checks(fn))  # noqa: E731
    passes = [(n, mine if n == "guards" else p) for n, p in DEFAULT]
    return ssa_tier(compile_module(parse_module(source)), passes=passes, verify=True)


def small_interval(rng: random.Random) -> tuple[int, int]:
    lo = rng.randint(-20, 20)
    return (lo, lo + rng.randint(0, 12))


def test_interval_arithmetic_holds_every_result():
    rng = random.Random(101)
    fn = parse("function i64 $f(i64 %a) {\n@entry\n    ret %a\n}\n")
    analysis = ch.RangeAnalysis(fn)
    python = {"add": lambda x, y: x + y, "sub": lambda x, y: x - y, "mul": lambda x, y: x * y}
    for _ in range(300):
        a, b = small_interval(rng), small_interval(rng)
        for op, f in python.items():
            lo, hi = ch.exact(op, a, b)
            given = analysis.transfer(Instr(op + "_ovf", [Temp("x"), Temp("y")], Temp("r")), [a, b])
            for x in range(a[0], a[1] + 1):
                for y in range(b[0], b[1] + 1):
                    assert lo <= f(x, y) <= hi and given[0] <= f(x, y) <= given[1], (op, a, b)
    # near the ends of int64: a checked result is clamped (past it the check deopts), a plain
    # one that may wrap knows nothing
    near, few = (TOP - 5, TOP), (0, 5)
    clamped = analysis.transfer(Instr("add_ovf", [Temp("x"), Temp("y")], Temp("r")), [near, few])
    assert clamped == (TOP - 5, TOP)
    wraps = analysis.transfer(Instr("add", [Temp("x"), Temp("y")], Temp("r")), [near, few])
    assert wraps == ch.EVERYTHING


BRANCH = """function i64 $f(i64 %a, i64 %b) {
@entry
    %c =bool OP %a, %b
    br %c, @yes, @no
@yes
    ret %a
@no
    ret %b
}
"""


@pytest.mark.parametrize("op", ["lt", "le", "gt", "ge", "eq", "ne"])
def test_branch_facts_keep_every_value_that_takes_the_edge(op):
    rng = random.Random(op)
    analysis = ch.RangeAnalysis(parse(BRANCH.replace("OP", op)))
    compare = {"lt": "<", "le": "<=", "gt": ">", "ge": ">=", "eq": "==", "ne": "!="}[op]
    a, b, c = Temp("a"), Temp("b"), Temp("c")
    for _ in range(80):
        a_iv = small_interval(rng)
        analysis.base[b] = small_interval(rng)
        for taken in (True, False):
            lo, hi = analysis.narrow(a, c, taken, a_iv)
            assert a_iv[0] <= lo and hi <= a_iv[1]
            for x in range(a_iv[0], a_iv[1] + 1):
                for y in range(analysis.base[b][0], analysis.base[b][1] + 1):
                    if eval(f"{x} {compare} {y}") == taken:
                        assert lo <= x <= hi, (op, taken, a_iv, analysis.base[b], x)


def random_loop(rng: random.Random) -> tuple[str, list[tuple[int, int]]]:
    """A counted loop up or down, by a random step, with a bounded and an unbounded
    accumulator; and inputs that end it within a few dozen trips, some at int64's ends."""
    step = rng.choice([1, 1, 2, 3, 7])
    up = rng.random() < 0.6
    body = rng.choice(["t = t + i % 5", "t = t * 2 + 1", "t = t - i", "t = t + (i - a) * 3"])
    if up and rng.random() < 0.5:
        loop = f"    for i in range(a, b, {step}):\n        {body}\n"
    elif up:
        loop = f"    i = a\n    while i < b:\n        {body}\n        i = i + {step}\n"
    else:
        loop = f"    i = a\n    while i > b:\n        {body}\n        i = i - {step}\n"
    source = f"def f(a, b):\n    t = 0\n{loop}    return t\n"
    trips = rng.randint(0, 40) * step
    starts = [0, rng.randint(-1000, 1000), TOP - trips, BOTTOM + trips, TOP - 1, BOTTOM + 1]
    inputs = [(s, s + trips) if up else (s, s - trips) for s in starts]
    inputs = [(a, b) for a, b in inputs if BOTTOM <= min(a, b) and max(a, b) <= TOP]
    return source, inputs


def test_random_loops_agree_with_cpython_in_machine_code():
    rng = random.Random(1010)
    removed_somewhere = 0
    for _ in range(25):
        source, inputs = random_loop(rng)
        fn = built(source, "f")
        removed_somewhere += len(ch.remove_overflow_checks(fn))
        verify(fn)
        tier, python = with_chapters_pass(source), {}
        exec(source, python)
        for a, b in inputs:
            assert tier.call("f", a, b) == python["f"](a, b), (source, a, b)
    assert removed_somewhere > 0, "the pass removed nothing: the test tests nothing"


def test_a_check_it_cannot_prove_stays_and_deopts_at_the_edge():
    source = "def f(a, b):\n    i = a\n    while i < b:\n        i = i + 2\n    return i\n"
    fn = built(source, "f")
    assert ch.remove_overflow_checks(fn) == []
    assert [i.op for _, i in fn.instrs() if i.op in CHECKED] == ["add_ovf"]
    assert with_chapters_pass(source).call("f", TOP - 1, TOP) == TOP + 1  # exact, past int64
    counted = source.replace("i + 2", "i + 1")
    fn = built(counted, "f")
    assert len(ch.remove_overflow_checks(fn)) == 1
    assert with_chapters_pass(counted).call("f", TOP - 3, TOP) == TOP
