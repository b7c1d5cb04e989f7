"""`thread_jumps`: golden cases/thread_*.ir, and meaning kept on random functions."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jitkit.ssa.passes.thread import thread_jumps
from tests.ssa import golden


@pytest.mark.parametrize("case", golden.cases("thread"), ids=lambda c: c.path.name)
def test_golden(case):
    golden.check(case, thread_jumps)


@settings(max_examples=150, deadline=None)
@given(st.integers(0, 10**6), st.lists(golden.ARGS, min_size=2, max_size=2))
def test_keeps_meaning(seed, args):
    golden.check_random(thread_jumps, seed, args)
