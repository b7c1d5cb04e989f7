"""`remove_guards`: golden cases/guards_*.ir, and meaning kept on random functions."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jitkit.ssa.ir import Temp
from jitkit.ssa.passes.guards import remove_guards
from jitkit.ssa.text import format, parse
from tests.ssa import golden


@pytest.mark.parametrize("case", golden.cases("guards"), ids=lambda c: c.path.name)
def test_golden(case):
    golden.check(case, remove_guards)


@settings(max_examples=150, deadline=None)
@given(st.integers(0, 10**6), st.lists(golden.ARGS, min_size=2, max_size=2))
def test_keeps_meaning(seed, args):
    golden.check_random(remove_guards, seed, args)


@pytest.mark.parametrize(
    ("bound", "square"),
    [
        ("%ok =bool le %d, %c", "mul_ovf"),  # d <= max(c) only: d + 1 may pass INT64_MAX
        ("%ok =bool le %sq, %c", "mul"),  # a plain square of an unbounded d may have wrapped
        ("%ok =bool ge %sq, %c", "mul_ovf"),  # a lower bound on the square bounds nothing
    ],
)
def test_a_bound_on_a_square_keeps_the_check_where_it_proves_nothing(bound, square):
    """guards_square.ir with `d * d <= c` weakened: `d + 1` keeps its overflow check."""
    text = golden.load(golden.CASES / "guards_square.ir").source
    text = text.replace("%ok =bool le %sq, %c", bound)
    if square == "mul":
        text = text.replace("mul_ovf %d, %d deopt 1 locals(%c, %d) stack(%d, %d)", "mul %d, %d")
    fn = parse(text)
    remove_guards(fn)
    step = next(i for b in fn.blocks for i in b.body if i.result == Temp("d2"))
    assert step.op == "add_ovf", format(fn)
