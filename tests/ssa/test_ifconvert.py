"""`convert_ifs`, `select` and the speculated checks `_ovf_if`: golden cases, meaning kept on
random functions, the cmov against `evaluate` natively, the checks the range analysis may
and may not drop, and collatz's step through the SSA tier against CPython."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jitkit.ssa.ops import evaluate
from jitkit.ssa.passes.guards import remove_guards
from jitkit.ssa.passes.ifconvert import convert_ifs
from jitkit.ssa.text import parse
from tests.ssa import golden
from tests.ssa.test_codegen import native_call
from tests.ssa.test_ssa_tier import run_ssa

int64 = st.integers(-(2**63), 2**63 - 1)


@pytest.mark.parametrize("case", golden.cases("ifconvert"), ids=lambda c: c.path.name)
def test_golden(case):
    golden.check(case, convert_ifs)


@settings(max_examples=150, deadline=None)
@given(st.integers(0, 10**6), st.lists(golden.ARGS, min_size=2, max_size=2))
def test_keeps_meaning(seed, args):
    golden.check_random(convert_ifs, seed, args)


SELECTS = """\
function i64 $f(i64 %x, i64 %y) {
@entry
    %c =bool lt %x, %y
    %a =i64 select %c, %x, 7
    %d =bool eq %x, 0
    %e =i64 add %y, 1
    %b =i64 select %d, 0, %e
    %s =i64 add %a, %b
    ret %s
}
"""


@pytest.mark.parametrize("registers", [None, ("rbx", "rsi")])  # ("rbx", "rsi"): spills
@settings(max_examples=100, deadline=None)
@given(x=int64, y=int64)
def test_select_is_a_cmov_that_agrees_with_evaluate(registers, x, y):
    f, code = native_call(parse(SELECTS), registers)
    a = evaluate("select", [int(x < y), x, 7])
    b = evaluate("select", [int(x == 0), 0, evaluate("add", [y, 1])])
    assert f(x, y) == evaluate("add", [a, b])
    assert "cmov" in code.listing()


def checked(guard: str, predicate: str) -> str:
    """`mul_ovf_if` on `predicate`, after `guard` (a bool the guard makes true)."""
    return (
        "function i64 $f(i64 %x, bool %p) {\n@entry\n"
        f"    %small =bool lt %x, 1000\n    %big =bool gt %x, -1000\n{guard}"
        f"    %t =i64 mul_ovf_if {predicate}, 3, %x deopt 4 locals(%x) stack(3, %x)\n"
        "    ret %t\n}\n"
    )


@pytest.mark.parametrize(
    ("guard", "predicate", "op"),
    [
        ("", "%p", "mul_ovf_if"),  # nothing known: the check stays
        ("", "0", "mul"),  # the arm never runs: nothing to check
        ("", "1", "mul_ovf"),  # the arm always runs: an ordinary check
        ("    guard %small deopt 1 locals(%x) stack()\n", "%p", "mul_ovf_if"),  # x < 1000 only
        (
            "    guard %small deopt 1 locals(%x) stack()\n"
            "    guard %big deopt 2 locals(%x) stack()\n",
            "%p",
            "mul",  # -1000 < x < 1000: 3 * x fits
        ),
    ],
)
def test_guards_drop_a_speculated_check_only_when_ranges_prove_it(guard, predicate, op):
    fn = parse(checked(guard, predicate))
    remove_guards(fn)
    ops = [i.op for i in fn.blocks[0].body]
    assert ops[-1] == op, ops


COLLATZ_STEP = """\
def step(x):
    if x % 2 == 0:
        x = x // 2
    else:
        x = 3 * x + 1
    return x


def steps(x, limit):
    n = 0
    while x != 1 and n < limit:
        x = step(x)
        n += 1
    return x


print(step(7), step(8), step(3074457345618258602), step(3074457345618258603))
print(step(-3074457345618258603), step(-3074457345618258604), step(-9223372036854775807))
print(steps(27, 1000), steps(3074457345618258603, 3), steps(6148914691236517203, 2))
"""


def test_collatz_step_is_branch_free_and_exact_in_the_ssa_tier():
    out, error, engine = run_ssa(COLLATZ_STEP)
    assert error is None
    assert out.split() == [str(v) for v in _cpython_collatz()]
    final = engine.ir("step")
    assert "select" in final and "mul_ovf_if" in final and "br " not in final
    # the checks' predicate (x is odd) is compared again in their cold tests, never set in a
    # register: the overflowing steps above took both ways out of those tests
    lazy = engine.compiled.allocations["step"].lazy
    assert [i.op for i in lazy.values()] == ["ne"]
    assert not set(lazy) & set(engine.compiled.allocations["step"].location)


def _cpython_collatz() -> list[int]:
    namespace: dict = {}
    lines = COLLATZ_STEP.splitlines()
    exec("\n".join(line for line in lines if not line.startswith("print")), namespace)
    step, steps = namespace["step"], namespace["steps"]
    return [
        step(7),
        step(8),
        step(3074457345618258602),
        step(3074457345618258603),
        step(-3074457345618258603),
        step(-3074457345618258604),
        step(-9223372036854775807),
        steps(27, 1000),
        steps(3074457345618258603, 3),
        steps(6148914691236517203, 2),
    ]
