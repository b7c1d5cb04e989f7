"""`keep_constants`: golden cases/constants_*.ir, meaning kept on random functions, and the
SSA tier's `% 7` loop with its magic number in a register, not a `movabs` per trip."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jitkit.machine_code import stack_code
from jitkit.ssa.passes.constants import keep_constants
from tests.ssa import golden
from tests.ssa.test_ssa_tier import run_ssa


@pytest.mark.parametrize("case", golden.cases("constants"), ids=lambda c: c.path.name)
def test_golden(case):
    golden.check(case, keep_constants)


@settings(max_examples=150, deadline=None)
@given(st.integers(0, 10**6), st.lists(golden.ARGS, min_size=2, max_size=2))
def test_keeps_meaning(seed, args):
    golden.check_random(keep_constants, seed, args)


SUM_MOD = """\
def f(n):
    s = 0
    for i in range(n):
        s += i * i % 7 - 3
    return s


print(f(1000), f(-5), f(0))
"""


def test_a_loops_magic_number_is_loaded_once_in_the_ssa_tier():
    out, error, engine = run_ssa(SUM_MOD)
    assert error is None
    assert out.split() == [str(sum(i * i % 7 - 3 for i in range(n))) for n in (1000, -5, 0)]
    assert "%k0 =i64 copy" in engine.ir("f")
    lines = str(stack_code(engine, "f", "ssa")).splitlines()
    mul = next(n for n, line in enumerate(lines) if " mul " in line)
    movabs = [n for n, line in enumerate(lines) if "movabs" in line]
    assert len(movabs) == 1 and movabs[0] < mul - 2, "\n".join(lines)  # before the loop
