"""`eliminate_bounds_checks`: golden cases/bounds_*.ir (each removed check beside a case where
it must stay), and meaning kept on random functions (which have no lists: nothing changes)."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jitkit.ssa.passes.bounds import eliminate_bounds_checks
from tests.ssa import golden


@pytest.mark.parametrize("case", golden.cases("bounds"), ids=lambda c: c.path.name)
def test_golden(case):
    golden.check(case, eliminate_bounds_checks)


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 10**6), st.lists(golden.ARGS, min_size=2, max_size=2))
def test_random_functions_keep_their_meaning(seed, args):
    golden.check_random(eliminate_bounds_checks, seed, args)
