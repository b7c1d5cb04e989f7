"""jitkit.llvm.float_repr: the runtime's float printing against CPython's repr.

In process: a batch function (written here in IR) formats an array of doubles through MCJIT,
one line each; the oracle is `repr`. Runtime-free: an `ld -static` executable prints a few
hundred doubles through its own `jk_print_float` and raw `write` system calls.
"""

from __future__ import annotations

import ctypes
import math
import random
import shutil
import struct
import subprocess
from functools import cache
from pathlib import Path

import pytest
from llvmlite import ir

from jitkit.llvm.emit import emit_object, link_executable
from jitkit.llvm.float_repr import (
    DOUBLE,
    REPR_MAX,
    emit_format_float,
    emit_print_float,
    pow5_inv_table,
    pow5_table,
)
from jitkit.llvm.jit import JitFunction, jit
from jitkit.llvm.runtime import BYTES, I8, I64, emit_entry, emit_runtime, function
from jitkit.llvm.target import new_module

ZERO, ONE = ir.Constant(I64, 0), ir.Constant(I64, 1)


def from_bits(bits: int) -> float:
    return struct.unpack("<d", struct.pack("<Q", bits))[0]


def interesting_doubles(count: int, seed: int) -> list[float]:
    """Edge cases, then `count` draws spread over the kinds of doubles where printers go wrong."""
    rnd = random.Random(seed)
    values = [0.0, -0.0, math.inf, -math.inf, math.nan, -math.nan, from_bits(0xFFF8 << 48)]
    values += [5e-324, 1e-323, 2.2250738585072014e-308, 2.225073858507201e-308]
    values += [1.7976931348623157e308, 0.1, 0.2, 0.3, 1 / 3, 2 / 3, 100.0, 123.456]
    values += [10.0**k for k in range(-30, 31)] + [1e15, 1e16, 1e17, 9999999999999998.0]
    values += [1e-4, 1e-5, 0.00012345, 0.000012345, 1.5e-05, 2.0**63, 2.0**64]

    def random_bits() -> float:
        return from_bits(rnd.getrandbits(64))

    def subnormal() -> float:
        return from_bits(rnd.getrandbits(52) | rnd.getrandbits(1) << 63)

    def power_of_ten() -> float:  # 10^k and its neighbours, all exponents
        x = float(f"1e{rnd.randrange(-323, 309)}")
        return math.nextafter(x, rnd.choice((0.0, math.inf))) if rnd.random() < 0.5 else x

    def halfway() -> float:  # 17 digits ending in 5: a tie in the last digit, and neighbours
        digits = f"{rnd.randrange(10**15, 10**16)}5"
        x = float(f"{digits[0]}.{digits[1:]}e{rnd.randrange(-307, 308)}")
        return math.nextafter(x, rnd.choice((0.0, math.inf))) if rnd.random() < 0.3 else x

    def dyadic() -> float:  # m / 2^j: the interval's bounds are exact decimals
        return rnd.randrange(1, 1 << rnd.randrange(1, 54)) / 2.0 ** rnd.randrange(0, 60)

    def near_2_53() -> float:  # integers where doubles stop holding every integer
        return float((1 << rnd.randrange(50, 66)) + rnd.randrange(-5000, 5000))

    def short_decimal() -> float:  # few digits: repr must give exactly these back
        return float(f"{rnd.randrange(1, 10 ** rnd.randrange(1, 10))}e{rnd.randrange(-330, 300)}")

    kinds = (random_bits, subnormal, power_of_ten, halfway, dyadic, near_2_53, short_decimal)
    for _ in range(count):
        x = rnd.choice(kinds)()
        values.append(-x if rnd.random() < 0.25 else x)
    return values


@cache
def batch_formatter() -> JitFunction:
    """`batch(double* xs, i64 n, i8* out) -> i64`: repr of each x and a newline, into out."""
    module = new_module("float_repr_test")
    format_float = emit_format_float(module)
    fn, b = function(module, "batch", I64, [DOUBLE.as_pointer(), I64, BYTES], internal=False)
    xs, count, out = fn.args
    entry, loop, done = b.block, fn.append_basic_block("loop"), fn.append_basic_block("done")
    b.cbranch(b.icmp_signed(">", count, ZERO), loop, done)
    b.position_at_end(loop)
    i, pos = b.phi(I64), b.phi(I64)
    end = b.add(pos, b.call(format_float, [b.load(b.gep(xs, [i])), b.gep(out, [pos])]))
    b.store(ir.Constant(I8, ord("\n")), b.gep(out, [end]))
    i_next, pos_next = b.add(i, ONE), b.add(end, ONE)
    for phi, first, then in ((i, ZERO, i_next), (pos, ZERO, pos_next)):
        phi.add_incoming(first, entry)
        phi.add_incoming(then, loop)
    b.cbranch(b.icmp_signed("<", i_next, count), loop, done)
    b.position_at_end(done)
    written = b.phi(I64)
    written.add_incoming(ZERO, entry)
    written.add_incoming(pos_next, loop)
    b.ret(written)
    return jit(module, "batch", ctypes.c_int64, [ctypes.c_void_p, ctypes.c_int64, ctypes.c_void_p])


def formatted(values: list[float]) -> list[str]:
    array = (ctypes.c_double * len(values))(*values)
    out = ctypes.create_string_buffer(len(values) * (REPR_MAX + 1))
    written = batch_formatter()(array, len(values), out)
    return out.raw[:written].decode().split("\n")[:-1]


def assert_reprs(values: list[float]) -> None:
    got = formatted(values)
    assert len(got) == len(values)
    wrong = [(repr(x), text) for x, text in zip(values, got, strict=True) if text != repr(x)]
    assert not wrong, f"{len(wrong)} of {len(values)} differ from repr, e.g. {wrong[:5]}"


def test_tables_are_the_powers_of_five_ryu_needs():
    inverse, powers = pow5_inv_table(), pow5_table()
    for q, scaled in enumerate(inverse):  # 2^k / 5^q rounded up, k = bit length of 5^q + 124
        k = (5**q).bit_length() + 124
        assert (scaled - 1) * 5**q <= 1 << k < scaled * 5**q
    for i, scaled in enumerate(powers):  # the top 125 bits of 5^i
        shift = (5**i).bit_length() - 125
        assert scaled == (5**i >> shift if shift >= 0 else 5**i << -shift)


@pytest.mark.parametrize(
    "x",
    [0.0, -0.0, math.inf, -math.inf, math.nan, 5e-324, 1e16, 1e15, 1e-5, 1e-4, 0.1, 123.0,
     1.5e-05, 1e22, 1.7976931348623157e308, 9007199254740993.0, -2.5, 1e100, 1.25e-300],
)  # fmt: skip
def test_layout_cases(x: float):
    assert formatted([x]) == [repr(x)]


def test_matches_repr_on_10_thousand_doubles():
    assert_reprs(interesting_doubles(10_000, seed=17))


@pytest.mark.slow
def test_matches_repr_on_a_million_doubles():
    for seed in range(10):
        assert_reprs(interesting_doubles(100_000, seed=1000 + seed))


def print_program(values: list[float]) -> ir.Module:
    """A runtime-free executable's module that prints each value on its own line."""
    module = new_module("print_floats")
    runtime = emit_runtime(module, "nolibc")
    print_float = emit_print_float(module, runtime.write)
    table_type = ir.ArrayType(DOUBLE, len(values))
    table = ir.GlobalVariable(module, table_type, "values")
    table.initializer = ir.Constant(table_type, values)
    table.global_constant, table.linkage = True, "private"
    newline = ir.GlobalVariable(module, ir.ArrayType(I8, 1), "newline")
    newline.initializer = ir.Constant(ir.ArrayType(I8, 1), bytearray(b"\n"))
    newline.global_constant, newline.linkage = True, "private"
    main, b = function(module, "run", I64, [])
    entry, loop, done = b.block, main.append_basic_block("loop"), main.append_basic_block("done")
    b.branch(loop)
    b.position_at_end(loop)
    i = b.phi(I64)
    b.call(print_float, [b.load(b.gep(table, [ZERO, i]))])
    b.call(runtime.write, [b.gep(newline, [ZERO, ZERO]), ONE, ir.Constant(ir.IntType(32), 1)])
    i_next = b.add(i, ONE)
    i.add_incoming(ZERO, entry)
    i.add_incoming(i_next, loop)
    b.cbranch(b.icmp_signed("<", i_next, ir.Constant(I64, len(values))), loop, done)
    b.position_at_end(done)
    b.ret(ZERO)
    emit_entry(module, "nolibc", main, runtime)
    return module


@pytest.mark.skipif(shutil.which("ld") is None, reason="needs binutils' ld")
def test_runtime_free_executable_prints_repr(tmp_path: Path):
    values = interesting_doubles(400, seed=5)
    exe = link_executable(emit_object(print_program(values)), tmp_path / "floats", libc=False)
    done = subprocess.run([exe], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [repr(x) for x in values]
