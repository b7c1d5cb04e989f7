"""`remove_guards`: golden cases/guards_*.ir, and meaning kept on random functions."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jitkit.ssa.passes.guards import remove_guards
from tests.ssa import golden


@pytest.mark.parametrize("case", golden.cases("guards"), ids=lambda c: c.path.name)
def test_golden(case):
    golden.check(case, remove_guards)


@settings(max_examples=150, deadline=None)
@given(st.integers(0, 10**6), st.lists(golden.ARGS, min_size=2, max_size=2))
def test_keeps_meaning(seed, args):
    golden.check_random(remove_guards, seed, args)
