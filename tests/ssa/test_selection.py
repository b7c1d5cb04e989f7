"""Instruction selection choices made for speed, against CPython: `2.0 * x` as `x + x`
(addsd: exact, and a shorter latency than mulsd on mandel's critical path), on the doubles
where rounding, overflow, signed zeros and NaN could tell them apart; and the floor fix-up
after `idiv` on every sign of dividend and divisor, zero remainders included (a branch-free
fix-up, tried, made gcd_sum 20% slower: it lengthens the chain through the divider)."""

from __future__ import annotations

from jitkit.machine_code import stack_code
from tests.ssa.test_ssa_tier import run_ssa

DOUBLING = """\
def twice(x):
    return 2.0 * x


def twice_right(x, y):
    z = x * 2.0
    return z + y * 0.0


for v in [1.5, -0.0, 0.0, 1e308, -1e308, 5e-324, 2.2250738585072014e-308, 0.1, 1e300 * 1e300]:
    print(twice(v), twice_right(v, 1.0), twice(v) == v + v)
print(twice(1e300 * 1e300 - 1e300 * 1e300))
"""


def test_twice_x_is_an_addition_with_python_results():
    out, error, engine = run_ssa(DOUBLING)
    assert error is None
    want = []
    for v in [1.5, -0.0, 0.0, 1e308, -1e308, 5e-324, 2.2250738585072014e-308, 0.1, float("inf")]:
        want.append(f"{2.0 * v} {v * 2.0 + 0.0} {2.0 * v == v + v}")
    want.append(str(2.0 * float("nan")))
    assert out.splitlines() == want
    listing = str(stack_code(engine, "twice", "ssa"))
    assert "addsd" in listing and "mulsd" not in listing, listing
    assert engine.tier_of("twice") == "ssa" and engine.tier_of("twice_right") == "ssa"


FLOOR = """\
def quotients(x, y):
    return x // y


def remainders(x, y):
    return x % y


def gcd(a, b):
    while b:
        a, b = b, a % b
    return a


for x in [-(2**63), -(2**63) + 1, -1000, -21, -7, -6, -1, 0, 1, 6, 7, 21, 1000, 2**63 - 1]:
    for y in [-(2**63), -1000, -7, -3, -2, -1, 1, 2, 3, 7, 1000, 2**63 - 1]:
        if not (x == -(2**63) and y == -1):
            print(quotients(x, y), remainders(x, y), gcd(x, y))
print(gcd(2**62, 3 * 2**40), gcd(-48, 18), gcd(48, -18))
"""


def test_floor_division_and_modulo_match_cpython_on_every_sign():
    out, error, engine = run_ssa(FLOOR)
    assert error is None
    want = []
    for x in [-(2**63), -(2**63) + 1, -1000, -21, -7, -6, -1, 0, 1, 6, 7, 21, 1000, 2**63 - 1]:
        for y in [-(2**63), -1000, -7, -3, -2, -1, 1, 2, 3, 7, 1000, 2**63 - 1]:
            if not (x == -(2**63) and y == -1):
                want.append(f"{x // y} {x % y} {_python_gcd(x, y)}")
    want.append(f"{_python_gcd(2**62, 3 * 2**40)} {_python_gcd(-48, 18)} {_python_gcd(48, -18)}")
    assert out.splitlines() == want
    assert {engine.tier_of(f) for f in ("quotients", "remainders", "gcd")} == {"ssa"}


def _python_gcd(a: int, b: int) -> int:
    """The program's gcd, run by CPython."""
    while b:
        a, b = b, a % b
    return a
