"""`reduce_strength`: golden cases/strength_*.ir; the expansions agree with Python's `//`
and `%` exhaustively on small ranges and by hypothesis over all of int64."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jitkit.ssa.interp import run
from jitkit.ssa.ops import I64_MAX, I64_MIN
from jitkit.ssa.passes.strength import reduce_strength
from jitkit.ssa.text import parse
from jitkit.ssa.verify import verify
from tests.ssa import golden

BOUNDARY = [I64_MIN, I64_MIN + 1, -(2**32), -1, 0, 1, 2**31 - 1, 2**32, I64_MAX - 1, I64_MAX]


def reduced(op: str, c: int):
    fn = parse(f"function i64 $f(i64 %x) {{\n@s\n    %q =i64 {op} %x, {c}\n    ret %q\n}}\n")
    assert reduce_strength(fn)
    verify(fn)
    assert not any(i.op in ("div", "mod") for _, i in fn.instrs())
    return fn


@pytest.mark.parametrize("case", golden.cases("strength"), ids=lambda c: c.path.name)
def test_golden(case):
    golden.check(case, reduce_strength)


@pytest.mark.parametrize("c", [*range(1, 26), 100, 641, 1000, 2**31 - 1, 2**32 + 1, I64_MAX])
def test_exhaustive_small_range(c):
    div, mod = reduced("div", c), reduced("mod", c)
    for x in [*range(-200, 201), *BOUNDARY]:
        assert run(div, [x]).value == x // c, (x, c)
        assert run(mod, [x]).value == x % c, (x, c)


@settings(max_examples=300, deadline=None)
@given(st.integers(I64_MIN, I64_MAX), st.one_of(st.integers(1, 100), st.integers(1, I64_MAX)))
def test_floor_semantics_over_int64(x, c):
    assert run(reduced("div", c), [x]).value == x // c
    assert run(reduced("mod_ovf", c), [x]).value == x % c


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 10**6), st.lists(golden.ARGS, min_size=2, max_size=2))
def test_keeps_meaning(seed, args):
    golden.check_random(reduce_strength, seed, args)
