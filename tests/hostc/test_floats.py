"""Floats in C: every operator, compare and conversion against CPython itself on edge values."""

from __future__ import annotations

import itertools
import math
import operator
import random

import pytest

from jitkit.hostc.cgen import c_double, generate
from jitkit.lang.parse import parse_module
from tests.hostc.helpers import HandedOver, c_only, same

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
FLOATS = [0.0, -0.0, 0.5, -0.5, 1.0, -1.0, 1.5, -2.5, 3.0, 0.1, -7.25, 1e16, 1e-300]
FLOATS += [5e-324, 1.7976931348623157e308, -1e308, math.inf, -math.inf, math.nan]
FLOATS += [float(2**53), float(2**63), -float(2**63), 9007199254740993.0, 1e22, 2.0**-1074]
INTS = [0, 1, -1, 2, 3, -7, True, False, 2**53, 2**53 + 1, -(2**53) - 1, INT64_MAX, INT64_MIN]
VALUES = FLOATS + INTS
BINARY = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv}
BINARY |= {"//": operator.floordiv, "%": operator.mod, "**": operator.pow}
COMPARE = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}
COMPARE |= {"==": operator.eq, "!=": operator.ne}
NAMES = {"+": "add", "-": "sub", "*": "mul", "/": "div", "//": "fdiv", "%": "mod", "**": "pow"}
NAMES |= {"<": "lt", "<=": "le", ">": "gt", ">=": "ge", "==": "eq", "!=": "ne"}
SOURCE = "".join(
    f"def {NAMES[op]}(a, b):\n    return a {op} b\n\n" for op in [*BINARY, *COMPARE]
) + (
    "def fl(a):\n    return float(a)\n\ndef it(a):\n    return int(a)\n\n"
    "def ab(a):\n    return abs(a)\n\ndef neg(a):\n    return -a\n\n"
    "def mn(a, b):\n    return min(a, b)\n\ndef mx(a, b):\n    return max(a, b)\n\n"
    "def truth(a):\n    return 1 if a else 0\n\ndef nt(a):\n    return not a\n"
)


def cpython(f, *args):
    try:
        return f(*args)
    except (ArithmeticError, ValueError, TypeError) as error:
        return error


def inexact_in_c(op: str, a: object, b: object) -> bool:
    """Where C hands over although CPython gives a value (documented in the runtime)."""
    if op == "/" and not any(isinstance(x, float) for x in (a, b)):
        return any(abs(x) > 2**53 for x in (a, b))  # int / int beyond exact doubles
    if op == "**":  # NaN or infinite operands, a complex result, int ** int beyond int64
        return (
            any(isinstance(x, float) and not math.isfinite(x) for x in (a, b))
            or not any(isinstance(x, float) for x in (a, b))
            or isinstance(cpython(operator.pow, a, b), complex)
        )
    return False


@pytest.fixture(scope="module")
def m():
    return c_only(SOURCE)


def check(m, name: str, f, args: tuple, may_hand_over: bool = False) -> None:
    expected = cpython(f, *args)
    try:
        got = m.call(name, *args)
    except HandedOver:
        assert isinstance(expected, Exception) or may_hand_over, (name, args, expected)
        return
    assert not isinstance(expected, Exception), (name, args, got, expected)
    assert same(got, expected), (name, args, got, expected)


def test_every_binary_operator_on_every_pair_of_edge_values(m):
    for op, f in BINARY.items():
        for a, b in itertools.product(VALUES, VALUES):
            if isinstance(a, float) or isinstance(b, float) or op == "/":
                check(m, NAMES[op], f, (a, b), inexact_in_c(op, a, b))


def test_random_floats_through_floor_division_modulo_and_power(m):
    rng = random.Random(17)
    for _ in range(3000):
        a = rng.choice([rng.uniform(-1e3, 1e3), rng.randint(-50, 50) / 4, rng.choice(VALUES)])
        b = rng.choice([rng.uniform(-20, 20), rng.randint(-9, 9) / 2, rng.choice(FLOATS)])
        for op in ("//", "%", "/", "**"):
            check(m, NAMES[op], BINARY[op], (a, b), inexact_in_c(op, a, b))


def test_comparisons_of_ints_and_floats_are_exact_not_rounded(m):
    # 2**53 + 1 == float(2**53) is False in CPython: the int is not rounded to a double
    for op, f in COMPARE.items():
        for a, b in itertools.product(VALUES, VALUES):
            check(m, NAMES[op], f, (a, b))
    assert m.call("eq", 2**53 + 1, float(2**53)) is False
    assert m.call("lt", float(2**53), 2**53 + 1) is True
    assert m.call("ne", math.nan, math.nan) is True and m.call("eq", None, 0.0) is False


def test_conversions_abs_negation_min_max_and_truth(m):
    for a in VALUES:
        for name, f in (("fl", float), ("it", int), ("ab", abs), ("neg", operator.neg)):
            value = cpython(f, a)
            big = type(value) is int and abs(value) > INT64_MAX
            check(m, name, f, (a,), may_hand_over=big)  # the VM's big int
        check(m, "truth", lambda x: 1 if x else 0, (a,))
        check(m, "nt", operator.not_, (a,))
    for a, b in itertools.product(VALUES, VALUES):
        check(m, "mn", min, (a, b))
        check(m, "mx", max, (a, b))
    assert m.call("it", -2.9) == -2 and m.call("it", 9.2e18) == 9200000000000000000


def test_float_errors_hand_the_call_to_the_vm():
    m = c_only(SOURCE)
    cases = [("div", 1.0, 0), ("fdiv", 1, -0.0), ("mod", 2.5, 0.0), ("pow", 0.0, -1)]
    cases += [("pow", 10.0, 400), ("pow", -8.0, 1 / 3), ("it", math.nan), ("it", math.inf)]
    cases += [("it", 1e19), ("div", 2**53 + 1, 3), ("lt", 1.5, None), ("fl", None)]
    for name, *args in cases:
        with pytest.raises(HandedOver):
            m.call(name, *args)
    assert m.bailouts == {"zero_division": 4, "overflow": 3, "inexact": 2, "value": 1, "type": 2}


def test_float_literals_are_exact_in_c():
    assert [c_double(x) for x in (0.1, -0.0, 1e16, 5e-324)] == ["0.1", "-0.0", "1e+16", "5e-324"]
    specials = [c_double(x) for x in (math.inf, -math.inf, math.nan)]
    assert specials == ["HUGE_VAL", "-HUGE_VAL", "NAN"]
    values = [0.1, -0.0, 5e-324, 2.5e-310, 1.7976931348623157e308, 1 / 3, 2.2250738585072014e-308]
    values += [9007199254740993.0, 1e23, 123456789.125, -1e-7, math.inf, -math.inf, math.nan]
    text = ", ".join(f"float({str(x)!r})" if not math.isfinite(x) else repr(x) for x in values)
    m = c_only(f"def f():\n    return [{text}]\n")
    assert same(m.call("f"), values)  # bit for bit, through cc's reading of the literals


def test_print_of_floats_is_repr(capsys):
    m = c_only(
        "def f(x):\n    print(x, x / 3, -x, x * 1e20, x / 1e10)\n    return x\n"
        "def g():\n    print(0.1 + 0.2, 1e16, 1e15, 1.5e-05, 0.0001, 1e300 * 1e10, -0.0)\n"
    )
    for x in [1.0, 0.1, 123456.789, 5e-324, -2.5]:
        assert m.call("f", x) == x
        assert capsys.readouterr().out == f"{x} {x / 3} {-x} {x * 1e20} {x / 1e10}\n"
    m.call("g")
    assert (
        capsys.readouterr().out
        == "0.30000000000000004 1e+16 1000000000000000.0 1.5e-05 0.0001 inf -0.0\n"
    )


def test_generated_c_of_float_code_reads_like_the_source():
    c = generate(parse_module("def f(x):\n    return x / 2.5 + float(1)\n")).function_source("f")
    assert "jk_add(cx, jk_truediv(cx, jk_load(cx, v_x), jk_from_double(2.5)), " in c
    assert "jk_to_float(cx, jk_int(1))" in c
