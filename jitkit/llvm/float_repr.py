"""Python's `repr` of a float, written in LLVM IR (notebook 08 LLVM mini compiler).

In: an `llvmlite.ir.Module`. Out: `jk_format_float(double, i8* out) -> i64`, which writes the
bytes of `repr(x)` (at most `REPR_MAX` of them) and returns their count, and
`jk_print_float(double)`, which hands them to the runtime's buffered writer. No libc:
the runtime-free executable has no `printf`, and `%.17g` is not `repr` anyway.

The digits are Ryu's (Ulf Adams, PLDI 2018), the shortest decimal that reads back as the
same double, the closest one to it when several are shortest, ties to an even digit;
CPython's `repr` (David Gay's `dtoa`, mode 0) makes the same choice. Ryu multiplies the
binary mantissa by one 128-bit power of five (tables computed here, in Python, at build
time) and shifts, with 64x64->128 multiplies only (no i128 division: that would be a call
into compiler-rt, which an `ld -static` executable does not have). The layout is repr's:
exponent form when the decimal point would sit more than 16 digits right or 4 left of the
first digit (`1e+16`, `1.5e-05`), `.0` on integral values, `inf`, `-inf`, `nan`, `-0.0`.
"""

from __future__ import annotations

from collections.abc import Callable

from llvmlite import ir

from jitkit.llvm.runtime import BYTES, I1, I8, I32, I64, function

DOUBLE = ir.DoubleType()
REPR_MAX = 32  # "-1.2345678901234567e-308" is 24; "-0.0001234567890123456" is 22
POW5_BITS = 125  # bits kept of each power of five (Ryu's DOUBLE_POW5_(INV_)BITCOUNT)
INV_TABLE_SIZE, TABLE_SIZE = 342, 326  # 10^q below 2^1024, 5^i above 2^-1074
MASK64 = (1 << 64) - 1
PAIR = ir.LiteralStructType([I64, I64])  # (decimal digits, power of ten of the last digit)


def pow5bits(e: int) -> int:
    """ceil(log2(5^e)) for 1 <= e <= 3528 (1 for e = 0): Ryu's integer approximation."""
    return ((e * 1217359) >> 19) + 1


def pow5_inv_table() -> list[int]:
    """floor(2^k / 5^q) + 1 with k = pow5bits(q) - 1 + 125: multiplies by 10^-q, rounded up."""
    return [(1 << (pow5bits(q) - 1 + POW5_BITS)) // 5**q + 1 for q in range(INV_TABLE_SIZE)]


def pow5_table() -> list[int]:
    """5^i scaled to exactly 125 bits (truncated): multiplies by 5^i."""
    return [(5**i << POW5_BITS) >> pow5bits(i) for i in range(TABLE_SIZE)]


def c64(value: int) -> ir.Constant:
    return ir.Constant(I64, value)


def _table(module: ir.Module, name: str, values: list[int]) -> tuple[ir.Value, ir.Value]:
    """Two private constant [N x i64] arrays: the low and high halves of 128-bit values."""
    halves = []
    for half, shift in (("lo", 0), ("hi", 64)):
        typ = ir.ArrayType(I64, len(values))
        var = ir.GlobalVariable(module, typ, f"{name}.{half}")
        var.initializer = ir.Constant(typ, [(v >> shift) & MASK64 for v in values])
        var.global_constant, var.linkage, var.unnamed_addr = True, "private", True
        halves.append(var)
    return halves[0], halves[1]


class _Body:
    """A builder with mutable i64 variables (allocas: mem2reg makes them registers) and loops."""

    def __init__(self, fn: ir.Function, b: ir.IRBuilder) -> None:
        self.fn, self.b = fn, b

    def var(self, init: ir.Value, typ: ir.Type = I64) -> ir.AllocaInstr:
        with self.b.goto_entry_block():
            slot = self.b.alloca(typ)
        self.b.store(init, slot)
        return slot

    def get(self, slot: ir.Value) -> ir.Value:
        return self.b.load(slot)

    def while_(self, cond: Callable[[], ir.Value], body: Callable[[], None]) -> None:
        """while cond(): body()"""
        head = self.fn.append_basic_block("while")
        loop, after = self.fn.append_basic_block("do"), self.fn.append_basic_block("done")
        self.b.branch(head)
        self.b.position_at_end(head)
        self.b.cbranch(cond(), loop, after)
        self.b.position_at_end(loop)
        body()
        self.b.branch(head)
        self.b.position_at_end(after)

    def for_(self, start: ir.Value, stop: ir.Value, body: Callable[[ir.Value], None]) -> None:
        """for i in range(start, stop): body(i)"""
        i = self.var(start)

        def step() -> None:
            body(self.get(i))
            self.b.store(self.b.add(self.get(i), c64(1)), i)

        self.while_(lambda: self.b.icmp_signed("<", self.get(i), stop), step)


def _emit_pow5_factor(module: ir.Module) -> ir.Function:
    """`jk_pow5_factor(v)`: how many times 5 divides v (v > 0)."""
    fn, b = function(module, "jk_pow5_factor", I64, [I64])
    body = _Body(fn, b)
    value, count = body.var(fn.args[0]), body.var(c64(0))

    def divide() -> None:
        b.store(b.udiv(body.get(value), c64(5)), value)
        b.store(b.add(body.get(count), c64(1)), count)

    body.while_(lambda: b.icmp_unsigned("==", b.urem(body.get(value), c64(5)), c64(0)), divide)
    b.ret(body.get(count))
    return fn


def _mul_shift(b: ir.IRBuilder, m: ir.Value, lo: ir.Value, hi: ir.Value, j: ir.Value) -> ir.Value:
    """(m * (hi:lo)) >> j, for j >= 64: the top of a 64x128-bit product, 64x64 multiplies only."""
    i128 = ir.IntType(128)
    m = b.zext(m, i128)
    low = b.mul(m, b.zext(lo, i128))
    high = b.mul(m, b.zext(hi, i128))
    total = b.add(b.lshr(low, ir.Constant(i128, 64)), high)
    return b.trunc(b.lshr(total, b.zext(b.sub(j, c64(64)), i128)), I64)


def _emit_shortest(module: ir.Module) -> ir.Function:
    """`jk_shortest(bits)` of a finite, positive, nonzero double: (digits, exponent) with
    digits * 10^exponent the shortest decimal that rounds to it (Ryu's d2d)."""
    fn, b = function(module, "jk_shortest", PAIR, [I64])
    fn.attributes.add("noinline")  # one copy, optimized once (compile time)
    body = _Body(fn, b)
    pow5_factor = _emit_pow5_factor(module)
    inv_lo, inv_hi = _table(module, "jk_pow5_inv", pow5_inv_table())
    pow_lo, pow_hi = _table(module, "jk_pow5", pow5_table())
    (bits,) = fn.args
    true, false = ir.Constant(I1, 1), ir.Constant(I1, 0)

    def pow5bits_of(e: ir.Value) -> ir.Value:
        return b.add(b.lshr(b.mul(e, c64(1217359)), c64(19)), c64(1))

    def load(table: ir.Value, index: ir.Value) -> ir.Value:
        return b.load(b.gep(table, [c64(0), index]))

    # 1. decode: value = m2 * 2^(e2 + 2), subnormals included
    mantissa = b.and_(bits, c64((1 << 52) - 1))
    biased = b.and_(b.lshr(bits, c64(52)), c64(0x7FF))
    subnormal = b.icmp_unsigned("==", biased, c64(0))
    e2 = b.select(subnormal, c64(1 - 1023 - 52 - 2), b.sub(biased, c64(1023 + 52 + 2)))
    m2 = b.select(subnormal, mantissa, b.or_(mantissa, c64(1 << 52)))
    even = b.icmp_unsigned("==", b.and_(m2, c64(1)), c64(0))
    # 2. the interval of decimals that read back as this double: 4*m2 - 1 - mm_shift ..
    # 4*m2 + 2 (the gap below a power of two is half as wide)
    mv = b.shl(m2, c64(2))
    mm_shift = b.zext(
        b.or_(b.icmp_unsigned("!=", mantissa, c64(0)), b.icmp_unsigned("<=", biased, c64(1))),
        I64,
    )
    mm = b.sub(b.sub(mv, c64(1)), mm_shift)
    vr, vp, vm, e10 = (body.var(c64(0)) for _ in range(4))
    vm_zeros, vr_zeros = body.var(false, I1), body.var(false, I1)

    def scale(lo: ir.Value, hi: ir.Value, j: ir.Value) -> None:
        for slot, m in ((vr, mv), (vp, b.add(mv, c64(2))), (vm, mm)):
            b.store(_mul_shift(b, m, lo, hi, j), slot)

    def multiple_of_pow5(value: ir.Value, q: ir.Value) -> ir.Value:
        return b.icmp_unsigned(">=", b.call(pow5_factor, [value]), q)

    # 3. to base 10: vr, vp, vm = the three bounds * 2^e2 / 10^e10, truncated
    with b.if_else(b.icmp_signed(">=", e2, c64(0))) as (positive, negative):
        with positive:
            q = b.sub(
                b.lshr(b.mul(e2, c64(78913)), c64(18)),
                b.zext(b.icmp_signed(">", e2, c64(3)), I64),
            )
            b.store(q, e10)
            k = b.add(c64(POW5_BITS - 1), pow5bits_of(q))
            scale(load(inv_lo, q), load(inv_hi, q), b.add(b.sub(q, e2), k))
            with b.if_then(b.icmp_signed("<=", q, c64(21))):
                # at most one of the three bounds is a multiple of 5
                mv_mod5 = b.icmp_unsigned("==", b.urem(mv, c64(5)), c64(0))
                with b.if_else(mv_mod5) as (vr_case, other):
                    with vr_case:
                        b.store(multiple_of_pow5(mv, q), vr_zeros)
                    with other:
                        with b.if_else(even) as (vm_case, vp_case):
                            with vm_case:
                                b.store(multiple_of_pow5(mm, q), vm_zeros)
                            with vp_case:
                                exact = multiple_of_pow5(b.add(mv, c64(2)), q)
                                b.store(b.sub(body.get(vp), b.zext(exact, I64)), vp)
        with negative:
            minus_e2 = b.neg(e2)
            q = b.sub(
                b.lshr(b.mul(minus_e2, c64(732923)), c64(20)),
                b.zext(b.icmp_signed(">", minus_e2, c64(1)), I64),
            )
            b.store(b.add(q, e2), e10)
            i = b.sub(minus_e2, q)
            j = b.sub(q, b.sub(pow5bits_of(i), c64(POW5_BITS)))
            scale(load(pow_lo, i), load(pow_hi, i), j)
            with b.if_else(b.icmp_signed("<=", q, c64(1))) as (small, large):
                with small:
                    b.store(true, vr_zeros)
                    b.store(b.and_(even, b.icmp_unsigned("==", mm_shift, c64(1))), vm_zeros)
                    b.store(b.sub(body.get(vp), b.zext(b.not_(even), I64)), vp)
                with large:
                    with b.if_then(b.icmp_signed("<", q, c64(63))):
                        low_bits = b.sub(b.shl(c64(1), q), c64(1))
                        b.store(b.icmp_unsigned("==", b.and_(mv, low_bits), c64(0)), vr_zeros)
    # 4. drop digits while the interval still holds two decimals; round the last one
    removed, last = body.var(c64(0)), body.var(c64(0))

    def drop_digit() -> None:
        is_zero = b.icmp_unsigned("==", body.get(last), c64(0))
        b.store(b.and_(body.get(vr_zeros), is_zero), vr_zeros)
        b.store(b.urem(body.get(vr), c64(10)), last)
        for slot in (vr, vp, vm):
            b.store(b.udiv(body.get(slot), c64(10)), slot)
        b.store(b.add(body.get(removed), c64(1)), removed)

    def vm_digit_zero() -> ir.Value:
        return b.icmp_unsigned("==", b.urem(body.get(vm), c64(10)), c64(0))

    def wide() -> ir.Value:
        ten = c64(10)
        return b.icmp_unsigned(">", b.udiv(body.get(vp), ten), b.udiv(body.get(vm), ten))

    def drop_and_track_vm() -> None:
        b.store(b.and_(body.get(vm_zeros), vm_digit_zero()), vm_zeros)
        drop_digit()

    body.while_(wide, drop_and_track_vm)
    with b.if_then(body.get(vm_zeros)):
        body.while_(vm_digit_zero, drop_digit)
    vr_now = body.get(vr)
    tie = b.and_(
        b.and_(body.get(vr_zeros), b.icmp_unsigned("==", body.get(last), c64(5))),
        b.icmp_unsigned("==", b.and_(vr_now, c64(1)), c64(0)),
    )
    last_digit = b.select(tie, c64(4), body.get(last))  # exactly ...5000: round half even
    at_lower = b.and_(
        b.icmp_unsigned("==", vr_now, body.get(vm)),
        b.or_(b.not_(even), b.not_(body.get(vm_zeros))),
    )
    round_up = b.or_(at_lower, b.icmp_unsigned(">=", last_digit, c64(5)))
    digits = b.add(vr_now, b.zext(round_up, I64))
    result = b.insert_value(ir.Constant(PAIR, None), digits, 0)
    b.ret(b.insert_value(result, b.add(body.get(e10), body.get(removed)), 1))
    return fn


def emit_format_float(module: ir.Module) -> ir.Function:
    """`jk_format_float(x, out)`: write repr(x) into out (REPR_MAX bytes), return its length."""
    existing = module.globals.get("jk_format_float")
    if existing is not None:
        return existing
    shortest = _emit_shortest(module)
    fn, b = function(module, "jk_format_float", I64, [DOUBLE, BYTES])
    fn.attributes.add("noinline")
    x, out = fn.args
    body = _Body(fn, b)
    pos = body.var(c64(0))
    with b.goto_entry_block():
        digits = b.alloca(ir.ArrayType(I8, 20))

    def put(byte: ir.Value | int) -> None:
        if isinstance(byte, int):
            byte = ir.Constant(I8, byte)
        at = body.get(pos)
        # atomic byte stores: keeps LLVM from making the copy loops calls of memcpy/memset,
        # which the runtime-free executable does not have
        b.store_atomic(byte, b.gep(out, [at]), "monotonic", 1)
        b.store(b.add(at, c64(1)), pos)

    def put_text(text: str) -> None:
        for char in text.encode():
            put(char)

    def digit(index: ir.Value) -> ir.Value:
        return b.load(b.gep(digits, [c64(0), index]))

    def ascii_digit(value: ir.Value) -> ir.Value:
        return b.trunc(b.add(value, c64(ord("0"))), I8)

    bits = b.bitcast(x, I64)
    biased = b.and_(b.lshr(bits, c64(52)), c64(0x7FF))
    magnitude = b.and_(bits, c64((1 << 63) - 1))
    special = b.icmp_unsigned("==", biased, c64(0x7FF))
    with b.if_then(b.and_(special, b.icmp_unsigned(">", magnitude, c64(0x7FF << 52)))):
        put_text("nan")  # no sign: repr(-nan) is 'nan'
        b.ret(c64(3))
    with b.if_then(b.icmp_signed("<", bits, c64(0))):
        put_text("-")
    with b.if_then(special):
        put_text("inf")
        b.ret(body.get(pos))
    with b.if_then(b.icmp_unsigned("==", magnitude, c64(0))):
        put_text("0.0")
        b.ret(body.get(pos))
    pair = b.call(shortest, [magnitude])
    value, exponent = b.extract_value(pair, 0), b.extract_value(pair, 1)
    # the digits, most significant first, into `digits`; count = how many
    count, power = body.var(c64(1)), body.var(c64(10))

    def longer() -> None:
        b.store(b.add(body.get(count), c64(1)), count)
        b.store(b.mul(body.get(power), c64(10)), power)

    body.while_(
        lambda: b.and_(
            b.icmp_unsigned("<=", body.get(power), value),
            b.icmp_unsigned("<", body.get(count), c64(19)),
        ),
        longer,
    )
    n = body.get(count)
    rest = body.var(value)

    def store_digit(i: ir.Value) -> None:
        now = body.get(rest)
        index = b.sub(b.sub(n, c64(1)), i)
        b.store(ascii_digit(b.urem(now, c64(10))), b.gep(digits, [c64(0), index]))
        b.store(b.udiv(now, c64(10)), rest)

    body.for_(c64(0), n, store_digit)
    # repr's layout: value = 0.d1d2...dn * 10^point
    point = b.add(n, exponent)

    def copy(start: ir.Value, stop: ir.Value) -> None:
        body.for_(start, stop, lambda i: put(digit(i)))

    def zeros(how_many: ir.Value) -> None:
        body.for_(c64(0), how_many, lambda _: put(ord("0")))

    scientific = b.or_(b.icmp_signed("<=", point, c64(-4)), b.icmp_signed(">", point, c64(16)))
    with b.if_then(scientific):
        put(digit(c64(0)))
        with b.if_then(b.icmp_signed(">", n, c64(1))):
            put_text(".")
            copy(c64(1), n)
        put_text("e")
        e = b.sub(point, c64(1))
        negative = b.icmp_signed("<", e, c64(0))
        put(b.select(negative, ir.Constant(I8, ord("-")), ir.Constant(I8, ord("+"))))
        e = b.select(negative, b.neg(e), e)
        with b.if_then(b.icmp_signed(">=", e, c64(100))):
            put(ascii_digit(b.udiv(e, c64(100))))
        put(ascii_digit(b.urem(b.udiv(e, c64(10)), c64(10))))
        put(ascii_digit(b.urem(e, c64(10))))
        b.ret(body.get(pos))
    with b.if_then(b.icmp_signed("<=", point, c64(0))):
        put_text("0.")
        zeros(b.neg(point))
        copy(c64(0), n)
        b.ret(body.get(pos))
    with b.if_then(b.icmp_signed(">=", point, n)):
        copy(c64(0), n)
        zeros(b.sub(point, n))
        put_text(".0")
        b.ret(body.get(pos))
    copy(c64(0), point)
    put_text(".")
    copy(point, n)
    b.ret(body.get(pos))
    return fn


def emit_print_float(module: ir.Module, write: ir.Function) -> ir.Function:
    """`jk_print_float(x)`: repr(x) to stdout through the runtime's `jk_write(ptr, n, fd)`."""
    existing = module.globals.get("jk_print_float")
    if existing is not None:
        return existing
    format_float = emit_format_float(module)
    fn, b = function(module, "jk_print_float", ir.VoidType(), [DOUBLE])
    text = b.alloca(ir.ArrayType(I8, REPR_MAX))
    start = b.gep(text, [c64(0), c64(0)])
    length = b.call(format_float, [fn.args[0], start])
    b.call(write, [start, length, ir.Constant(I32, 1)])
    b.ret_void()
    return fn
