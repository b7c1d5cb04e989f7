"""The IR interpreter: Python's floor `//` and `%`, int64 checks that deopt, calls, prints."""

from __future__ import annotations

import random

from hypothesis import given
from hypothesis import strategies as st

from jitkit.ssa.interp import Outcome, run
from jitkit.ssa.ops import I64_MAX, I64_MIN, OPS, Fault, Overflow, evaluate, wrap
from jitkit.ssa.text import format, parse
from tests.ssa.generate import random_function

FIB = """\
function i64 $fib(i64 %n) {
@entry
    %c =bool lt %n, 2
    br %c, @base, @rec
@base
    ret %n
@rec
    %n1 =i64 sub %n, 1
    %a =i64 call $fib(%n1)
    %n2 =i64 sub %n, 2
    %b =i64 call $fib(%n2)
    %s =i64 add_ovf %a, %b deopt 20 locals(%n) stack(%a, %b)
    ret %s
}
"""

int64 = st.integers(I64_MIN, I64_MAX)


def test_fib_recurses():
    assert [run(parse(FIB), [n]).value for n in range(10)] == [0, 1, 1, 2, 3, 5, 8, 13, 21, 34]


def test_overflow_deopts_with_its_state():
    fn = parse(FIB.replace("sub %n, 2", "sub %n, 1"))  # 2**(n-1): overflows at n = 65
    assert run(fn, [5]).value == 16
    fn = parse(FIB.replace("%b =i64 call $fib(%n2)", "%b =i64 copy 9223372036854775807"))
    assert run(fn, [2]) == Outcome(None, (20, (2,), (1, I64_MAX)))


def test_print_collects_output_in_order():
    fn = parse("function i64 $p(i64 %x) {\n@s\n    print %x\n    print 7\n    ret 0\n}\n")
    assert run(fn, [3]) == Outcome(0, None, (3, 7))


@given(int64, int64)
def test_division_floors_like_python(a, b):
    for op, py in (("div", a.__floordiv__), ("mod", a.__mod__)):
        if b == 0 or not I64_MIN <= a // b <= I64_MAX:
            for name, error in ((op, Fault), (op + "_ovf", Overflow)):
                try:
                    evaluate(name, [a, b])
                    raise AssertionError(f"{name} {a}, {b} should not compute")
                except error:
                    pass
        else:
            assert evaluate(op, [a, b]) == evaluate(op + "_ovf", [a, b]) == py(b)


@given(int64, int64)
def test_plain_arithmetic_wraps_checked_arithmetic_deopts(a, b):
    for op, exact in (("add", a + b), ("sub", a - b), ("mul", a * b)):
        assert evaluate(op, [a, b]) == wrap(exact)
        if I64_MIN <= exact <= I64_MAX:
            assert evaluate(op + "_ovf", [a, b]) == exact


def test_every_computing_opcode_has_a_meaning():
    for op in OPS.values():
        # phi, call and fits (the depth of the frames running) depend on more than operands
        computes = (
            op.result is not None and op.name not in ("phi", "call", "fits") and not op.memory
        )
        assert (op.fn is not None) == computes, op.name
        assert (op.list_fn is not None) == op.memory, op.name  # lists: on Python lists


def test_random_functions_run_and_round_trip():
    for seed in range(100):
        fn = random_function(random.Random(seed), loop=seed % 2 == 1)
        assert format(parse(format(fn))) == format(fn)
        assert run(parse(format(fn)), [seed, -seed]) == run(fn, [seed, -seed])
