"""Value ranges: every transfer function is sound (the true result lies in the interval),
and dominating branches narrow a loop counter."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from jitkit.ssa.ir import Temp
from jitkit.ssa.ops import I64_MAX, I64_MIN, OPS, Fault, Overflow, evaluate
from jitkit.ssa.ranges import FULL, ranges, transfer
from jitkit.ssa.text import parse
from tests.ssa.test_verify import GOOD

COMPUTING = sorted(
    op.name
    for op in OPS.values()
    if op.fn is not None
    and op.result == "i64"
    and op.operand != "cond"
    or op.name in ("and", "or", "xor", "lt", "eq", "ge")
)
edge = st.one_of(st.integers(-300, 300), st.integers(I64_MIN, I64_MAX))


@st.composite
def interval_and_point(draw):
    a, b = sorted([draw(edge), draw(edge)])
    return (a, b), draw(st.integers(a, b))


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(COMPUTING), interval_and_point(), interval_and_point(), st.booleans())
def test_transfer_is_sound(op, left, right, const_right):
    (r1, x), (r2, y) = left, right
    if const_right:
        r2 = (y, y)
    args, ranges_ = [x, y][: OPS[op].arity], [r1, r2][: OPS[op].arity]
    consts = [None, y if const_right else None][: OPS[op].arity]
    try:
        value = evaluate(op, args)
    except (Fault, Overflow):
        return
    lo, hi = transfer(op, ranges_, consts)
    assert lo <= value <= hi, (op, ranges_, args, value, (lo, hi))


def test_branches_narrow_a_counter():
    fn = parse(GOOD)
    known = ranges(fn)
    assert known.of(Temp("i")) == (0, I64_MAX)  # widened: the loop has no constant bound
    assert known.at(Temp("i"), "body") == (0, I64_MAX - 1)  # below `br (lt %i, %n)`
    assert known.at(Temp("n"), "done") == FULL
    assert known.at(Temp("c"), "body") == (1, 1)


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(["select", "add_ovf_if", "sub_ovf_if", "mul_ovf_if"]),
    st.sampled_from([(0, 0), (1, 1), (0, 1)]),
    interval_and_point(),
    interval_and_point(),
    st.data(),
)
def test_transfer_of_predicated_ops_is_sound(op, cond, left, right, data):
    (r1, x), (r2, y) = left, right
    p = data.draw(st.integers(*cond))
    try:
        value = evaluate(op, [p, x, y])
    except Overflow:
        return
    lo, hi = transfer(op, [cond, r1, r2], [None, None, None])
    assert lo <= value <= hi, (op, cond, r1, r2, p, x, y, value)
