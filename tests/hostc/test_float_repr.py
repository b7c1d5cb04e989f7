"""print of a float in C is CPython's repr, checked against repr itself on many doubles."""

from __future__ import annotations

import ctypes
import math
import random
import struct

import pytest

from jitkit.hostc.build import build
from jitkit.hostc.runtime import prelude

DRIVER = r"""
/* repr of n doubles, one a line: the test's way into the prelude's formatter */
int64_t jk_repr_lines(const double *xs, int64_t n, char *out) {
    char *at = out;
    for (int64_t i = 0; i < n; i++) at += jk_float_repr(xs[i], at), *at++ = '\n';
    return at - out;
}
"""


def reprs_in_c(values: list[float]) -> list[str]:
    library = build(prelude() + DRIVER).library
    run = library["jk_repr_lines"]
    run.restype = ctypes.c_int64
    run.argtypes = (ctypes.POINTER(ctypes.c_double), ctypes.c_int64, ctypes.c_char_p)
    out = ctypes.create_string_buffer(32 * len(values) + 1)
    length = run((ctypes.c_double * len(values))(*values), len(values), out)
    return out.raw[:length].decode().splitlines()


def from_bits(bits: int) -> float:
    return struct.unpack("<d", struct.pack("<Q", bits))[0]


def doubles(count: int, seed: int) -> list[float]:
    """Random bit patterns (subnormals and NaNs among them), short decimals and their
    neighbours (near-halfway digits), powers of ten and of two and their neighbours."""
    rng = random.Random(seed)
    values = [0.0, -0.0, math.inf, -math.inf, math.nan, 5e-324, 2.2250738585072014e-308]
    values += [10.0**k for k in range(-323, 309)] + [2.0**k for k in range(-1074, 1024)]
    values += [float(f"1e{k}") for k in range(-323, 309)]
    values += [1e16, 1e15, 9999999999999998.0, 0.0001, 0.00001, 123456789012345678.0]
    while len(values) < count:
        kind = rng.randrange(4)
        if kind == 0:  # any bit pattern
            x = from_bits(rng.getrandbits(64))
        elif kind == 1:  # subnormal
            x = from_bits(rng.getrandbits(52) | rng.getrandbits(1) << 63)
        elif kind == 2:  # a short decimal, where ties between two candidates live
            x = float(f"{rng.randrange(1, 10 ** rng.randint(1, 17))}e{rng.randint(-330, 310)}")
        else:  # next to a power of two or a short decimal: the asymmetric gaps
            base = (
                2.0 ** rng.randint(-1074, 1023)
                if rng.random() < 0.5
                else float(f"{rng.randrange(1, 1000)}e{rng.randint(-320, 300)}")
            )
            x = math.nextafter(base, math.inf if rng.random() < 0.5 else -math.inf)
        values.append(x)
    return values[:count]


def check(values: list[float]) -> None:
    wrong = [(x, c) for x, c in zip(values, reprs_in_c(values), strict=True) if c != repr(x)]
    assert not wrong, f"{len(wrong)} of {len(values)} differ from repr, e.g. " + ", ".join(
        f"{x.hex()}: C {c!r}, repr {x!r}" for x, c in wrong[:5]
    )


def test_the_layout_of_repr():
    samples = [0.1, 1e16, 1.5e-05, 0.0001, -0.0, 2.0, 1e22, 1e23, 5e-324, 1.7976931348623157e308]
    assert reprs_in_c(samples) == [repr(x) for x in samples]
    assert reprs_in_c([math.inf, -math.inf, math.nan, -math.nan]) == ["inf", "-inf", "nan", "nan"]


def test_repr_of_a_hundred_thousand_doubles():
    check(doubles(100_000, seed=17))


@pytest.mark.slow
def test_repr_of_a_million_doubles():
    check(doubles(1_000_000, seed=1017))
