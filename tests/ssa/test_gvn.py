"""`number_values`: golden cases/gvn_*.ir, and meaning kept on random functions."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jitkit.ssa.passes.gvn import number_values
from tests.ssa import golden


@pytest.mark.parametrize("case", golden.cases("gvn"), ids=lambda c: c.path.name)
def test_golden(case):
    golden.check(case, number_values)


@settings(max_examples=150, deadline=None)
@given(st.integers(0, 10**6), st.lists(golden.ARGS, min_size=2, max_size=2))
def test_keeps_meaning(seed, args):
    golden.check_random(number_values, seed, args)
