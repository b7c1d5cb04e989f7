"""Linear scan: the interval table of a loop, no two overlapping intervals share a register,
values live across calls sit in callee-saved registers, and spilling when registers run out."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from jitkit.ssa.pipeline import compile
from jitkit.ssa.regalloc import CALLEE_SAVED, Slot, allocate_registers
from jitkit.ssa.text import parse
from tests.ssa.generate import random_function
from tests.ssa.test_interp import FIB
from tests.ssa.test_verify import GOOD

TABLE = """\
temp        interval      call  location
%n          [0, 25]             rbx
%s          [4, 20]             r12
%i          [4, 22]             r13
%c          [11, 12]            r14
%s2         [21, 25]            r12
%i2         [23, 25]            r13"""


def test_interval_table_of_a_loop():
    assert allocate_registers(parse(GOOD)).table() == TABLE


def _check(fn, registers=None):
    alloc = allocate_registers(fn) if registers is None else allocate_registers(fn, registers)
    ivs = alloc.intervals
    for n, a in enumerate(ivs):
        if a.crosses_call and not isinstance(alloc.location[a.temp], Slot):
            assert alloc.location[a.temp] in CALLEE_SAVED, a
        for b in ivs[n + 1 :]:
            overlap = a.start <= b.end and b.start <= a.end
            same = alloc.location[a.temp] == alloc.location[b.temp]
            assert not (overlap and same), (a, b, alloc.table())
    return alloc


def test_values_live_across_calls_are_callee_saved():
    alloc = _check(compile(parse(FIB)))
    crossing = [iv for iv in alloc.intervals if iv.crosses_call]
    assert crossing and all(alloc.location[iv.temp] in CALLEE_SAVED for iv in crossing)


def test_two_registers_spill():
    alloc = _check(parse(GOOD), ("rbx", "rsi"))
    assert alloc.slots >= 2


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 10**6), st.sampled_from([None, ("rbx", "rsi"), ("rdi",)]))
def test_no_two_live_values_share_a_location(seed, registers):
    fn = random_function(random.Random(seed), loop=seed % 2 == 0)
    _check(compile(fn), registers)


SPECULATED = """\
function i64 $f(i64 %x) {{
@entry
    %odd =i64 and %x, 1
    %p =bool ne %odd, 0
    %t =i64 mul_ovf_if %p, 3, %x deopt 4 locals(%x) stack(3, %x)
    {extra}ret %t
}}
"""


def test_a_predicate_only_speculated_checks_read_gets_no_register():
    """Their cold tests compare again: the comparison's operands live to the last check."""
    fn = parse(SPECULATED.format(extra=""))
    alloc = allocate_registers(fn)
    assert [str(t) for t in alloc.lazy] == ["%p"] and "%p" not in alloc.table()
    span = {str(iv.temp): (iv.start, iv.end) for iv in alloc.intervals}
    assert span["%odd"][1] >= span["%t"][0]  # the cold test reads it after %t is written


def test_a_predicate_used_elsewhere_is_materialized():
    extra = "%s =i64 select %p, %x, 0\n    %u =i64 add %t, %s\n    "
    fn = parse(SPECULATED.format(extra=extra).replace("ret %t", "ret %u"))
    alloc = allocate_registers(fn)
    assert not alloc.lazy and isinstance(alloc.location[fn.blocks[0].body[1].result], str)
