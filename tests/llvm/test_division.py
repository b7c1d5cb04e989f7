"""`//` and `%` by a divisor known only at run time (`arith.divide_by_variable`: the -1 case
and the floor fix-up are rare branches there) give CPython's answers for every sign, for -1,
for INT64_MIN (whose `// -1` leaves int64: the interpreter finishes it) and for 0; the
divisors known when compiling keep their own path and are checked too."""

from __future__ import annotations

import itertools

import pytest

from tests.llvm.conftest import outcome

SOURCE = """
def div(a, b):
    return a // b

def mod(a, b):
    return a % b

def both(a, b):
    q = 0
    r = 0
    for i in range(3):
        q = q + a // b
        r = r + a % b
    return q * 1000003 + r

def gcd(a, b):
    while b:
        a, b = b, a % b
    return a

def by_constants(a):
    return a // 7 + a % 7 + a // -1 + a % -1 + a // -3 + a % -3
"""
INT64_MIN, INT64_MAX = -(1 << 63), (1 << 63) - 1
VALUES = [0, 1, -1, 2, -2, 7, -7, 10, -10, 1 << 40, -(1 << 40), INT64_MIN, INT64_MAX]


@pytest.mark.parametrize("name", ["div", "mod", "both", "gcd"])
def test_a_run_time_divisor_gives_pythons_answer(compiled, python, name):
    for a, b in itertools.product(VALUES, repeat=2):
        mine = outcome(lambda a=a, b=b: compiled.call(name, a, b))
        assert mine == outcome(lambda a=a, b=b: python[name](a, b)), (name, a, b)


def test_constant_divisors_give_pythons_answer(compiled, python):
    for a in VALUES:
        mine = outcome(lambda a=a: compiled.call("by_constants", a))
        assert mine == outcome(lambda a=a: python["by_constants"](a)), a
