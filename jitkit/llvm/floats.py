"""Floats with CPython's results in LLVM IR (notebook 08 LLVM mini compiler).

In: kit values (`Val`) whose tag may be FLOAT (the payload is then the double's bits).
Out: IR for `+ - * / // % **` on floats and mixed int/float (an int operand is converted as
CPython converts it: rounded to nearest, ties to even, which is what `sitofp` does),
comparisons (ordered, so NaN compares false except `!=`), truth, unary minus, `abs`,
`float()` and `int()`. `//` and `%` are CPython's `float_floor_div` / `float_rem`, formula
for formula; `fmod` is the x87 `fprem` loop (exact, as C's `fmod` must be, and no libm: the
runtime-free executable has none), `floor` is truncation by `cvttsd2si` corrected by one.
An int compared with a float is compared exactly, as CPython does. What would not be
CPython's result is an "unsupported" site (in process the call re-runs in the interpreter,
exactly): `int / int` with an int beyond 2^53 (CPython divides exactly there).
`**` is CPython's `float_pow`: its own special cases (zero, one, NaN, infinities, a negative
base) in IR, then libm's `pow`, the function CPython calls (in process the very same one;
an executable links libm). Without libc there is no `pow`, and libm's is not correctly
rounded, so no formula of ours is provably the same: a power beyond CPython's own cases is an
"unsupported" site there.
"""

from __future__ import annotations

import struct
from collections.abc import Callable

from llvmlite import ir

from jitkit.lang import nodes as n
from jitkit.llvm.lowering import Lowering, constant_int
from jitkit.llvm.runtime import I1, I8, I64
from jitkit.llvm.values import BOOL, FLOAT, INT, Val, const

DOUBLE = ir.DoubleType()
EXACT_INT = 1 << 53  # every int of at most this magnitude is a double
FCMP = {"<": "<", "<=": "<=", ">": ">", ">=": ">=", "==": "==", "!=": "!="}
MIRROR = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!="}  # a op b = b op' a
FPREM = "1:\n\tfprem\n\tfnstsw %ax\n\ttestb $$4, %ah\n\tjnz 1b"  # C2 set: not done yet
FPREM_CONSTRAINTS = "={st},0,{st(1)},~{ax},~{fpsr},~{flags},~{dirflag}"


def cpython_message(compute: Callable[[], object]) -> str:
    """The message of the exception CPython raises here (they differ between versions)."""
    try:
        compute()
    except (ArithmeticError, ValueError, TypeError, LookupError, AttributeError) as error:
        return str(error)
    raise AssertionError("expected an exception")


ZERO_DIVISION = {
    "int/": cpython_message(lambda: 1 / 0),
    "/": cpython_message(lambda: 1.0 / 0.0),
    "//": cpython_message(lambda: 1.0 // 0.0),
    "%": cpython_message(lambda: 1.0 % 0.0),
}
ZERO_POWER = cpython_message(lambda: 0.0**-1.0)
POWER_OVERFLOW = cpython_message(lambda: 10.0**400)
COMPLEX = "a negative number to a fractional power is complex (jitkit has no complex)"
NAN_TO_INT = cpython_message(lambda: int(float("nan")))
INF_TO_INT = cpython_message(lambda: int(float("inf")))


def float_bits(x: float) -> int:
    """The payload of a float constant: its IEEE bits as a signed int64."""
    return struct.unpack("<q", struct.pack("<d", x))[0]


def fval(x: float) -> Val:
    return Val(const(I8, FLOAT), const(I64, float_bits(x)))


class FloatLowering(Lowering):
    """Float arithmetic, comparisons and conversions; `arith` calls in when floats may occur."""

    floats: bool  # the module may make floats (else none of this is emitted)

    def is_float(self, v: Val) -> ir.Value:
        return self.b.icmp_unsigned("==", v.tag, const(I8, FLOAT))

    def is_number(self, v: Val) -> ir.Value:
        """int, bool or float: what arithmetic takes."""
        b = self.b
        return b.or_(b.icmp_unsigned("<=", v.tag, const(I8, BOOL)), self.is_float(v))

    def double(self, v: Val) -> ir.Value:
        """A number as a double: a float's bits, an int or bool converted."""
        b = self.b
        return b.select(self.is_float(v), b.bitcast(v.payload, DOUBLE), b.sitofp(v.payload, DOUBLE))

    def boxed(self, x: ir.Value) -> Val:
        return Val(const(I8, FLOAT), self.b.bitcast(x, I64))

    def split(
        self, is_float: ir.Value, on_float: Callable[[], Val], other: Callable[[], Val]
    ) -> Val:
        """Branch on a runtime test and merge the two results (SROA makes the slot registers,
        and when the tags are constants LLVM folds the branch away; a test known when
        compiling lowers only its side)."""
        known = constant_int(is_float)
        if known is not None:
            return on_float() if known else other()
        result = self.temp()
        float_block, other_block, done = (
            self.block("float"),
            self.block("nonfloat"),
            self.block("merge"),
        )
        self.b.cbranch(is_float, float_block, other_block)
        for block, make in ((float_block, on_float), (other_block, other)):
            self.b.position_at_end(block)
            self.store(result, make())
            self.b.branch(done)
        self.b.position_at_end(done)
        return self.load(result)

    def exact_int_guard(self, v: Val, node: n.Node) -> None:
        """An int beyond 2^53 next to a float: CPython compares (and divides) exactly there."""
        b = self.b
        big = b.icmp_unsigned(
            ">", b.add(v.payload, const(I64, EXACT_INT)), const(I64, 2 * EXACT_INT)
        )
        fine = b.or_(self.is_float(v), b.not_(big))
        self.guard(fine, "unsupported", "an int beyond 2**53 next to a float (not exact)", node)

    def float_binary(self, op: str, left: Val, right: Val, node: n.Node) -> Val:
        """`left op right` with at least one float operand (or `/`): CPython's float result."""
        b = self.b
        ok = b.and_(self.is_number(left), self.is_number(right))
        self.guard(ok, "type", f"unsupported operand type(s) for {op}", node)
        if op == "/":
            both_int = b.not_(b.or_(self.is_float(left), self.is_float(right)))
            zero = b.icmp_signed("==", right.payload, const(I64, 0))
            self.guard(b.not_(b.and_(both_int, zero)), "zerodiv", ZERO_DIVISION["int/"], node)
            with b.if_then(both_int):
                self.exact_int_guard(left, node)
                self.exact_int_guard(right, node)
        x, y = self.double(left), self.double(right)
        if op in ("+", "-", "*"):
            return self.boxed({"+": b.fadd, "-": b.fsub, "*": b.fmul}[op](x, y))
        if op == "**":
            return self.float_power(x, y, node)
        self.guard(
            b.fcmp_unordered("!=", y, ir.Constant(DOUBLE, 0.0)), "zerodiv", ZERO_DIVISION[op], node
        )
        if op == "/":
            return self.boxed(b.fdiv(x, y))
        if op == "%":
            return self.boxed(self.float_rem(x, y))
        return self.boxed(self.float_floor_div(x, y))

    # CPython's float_rem: mod = fmod(vx, wx), moved into wx's sign
    def float_rem(self, vx: ir.Value, wx: ir.Value) -> ir.Value:
        b = self.b
        mod = self.fmod(vx, wx)
        moved = b.select(self.signs_differ(wx, mod), b.fadd(mod, wx), mod)
        nonzero = b.fcmp_unordered("!=", mod, ir.Constant(DOUBLE, 0.0))
        return b.select(nonzero, moved, self.copysign(ir.Constant(DOUBLE, 0.0), wx))

    # CPython's _float_div_mod, the quotient half
    def float_floor_div(self, vx: ir.Value, wx: ir.Value) -> ir.Value:
        b = self.b
        zero, one = ir.Constant(DOUBLE, 0.0), ir.Constant(DOUBLE, 1.0)
        mod = self.fmod(vx, wx)
        div = b.fdiv(b.fsub(vx, mod), wx)
        nonzero = b.fcmp_unordered("!=", mod, zero)
        div = b.select(b.and_(nonzero, self.signs_differ(wx, mod)), b.fsub(div, one), div)
        floor = self.floor(div)
        floor = b.select(
            b.fcmp_ordered(">", b.fsub(div, floor), ir.Constant(DOUBLE, 0.5)),
            b.fadd(floor, one),
            floor,
        )
        div_nonzero = b.fcmp_unordered("!=", div, zero)
        return b.select(div_nonzero, floor, self.copysign(zero, b.fdiv(vx, wx)))

    def signs_differ(self, wx: ir.Value, mod: ir.Value) -> ir.Value:
        """(wx < 0) != (mod < 0), as C compares them (NaN is not below 0)."""
        b, zero = self.b, ir.Constant(DOUBLE, 0.0)
        return b.xor(b.fcmp_ordered("<", wx, zero), b.fcmp_ordered("<", mod, zero))

    def fmod(self, x: ir.Value, y: ir.Value) -> ir.Value:
        """C's fmod (exact): the x87 partial remainder, repeated until it is complete."""
        asm_type = ir.FunctionType(DOUBLE, [DOUBLE, DOUBLE])
        return self.b.asm(asm_type, FPREM, FPREM_CONSTRAINTS, [x, y], False)

    def floor(self, x: ir.Value) -> ir.Value:
        """C's floor without libm: below 2^52 truncate and step down if that went up; the
        sign of a zero result is x's (floor(-0.0) is -0.0); larger, inf and NaN stay x."""
        b = self.b
        small = b.fcmp_ordered("<", self.fabs(x), ir.Constant(DOUBLE, 2.0**52))
        truncated = b.sitofp(b.fptosi(b.select(small, x, ir.Constant(DOUBLE, 0.0)), I64), DOUBLE)
        stepped = b.select(
            b.fcmp_ordered(">", truncated, x),
            b.fsub(truncated, ir.Constant(DOUBLE, 1.0)),
            truncated,
        )
        return b.select(small, self.copysign(stepped, x), x)

    def intrinsic(self, name: str, args: list[ir.Value]) -> ir.Value:
        ftype = ir.FunctionType(DOUBLE, [DOUBLE] * len(args))
        fn = self.module.declare_intrinsic(name, [DOUBLE], ftype)
        return self.b.call(fn, args)

    def fabs(self, x: ir.Value) -> ir.Value:
        return self.intrinsic("llvm.fabs", [x])

    def copysign(self, magnitude: ir.Value, sign: ir.Value) -> ir.Value:
        return self.intrinsic("llvm.copysign", [magnitude, sign])

    # CPython's float_pow: its own special cases first, then libm's pow for finite x != 0
    def float_power(self, x: ir.Value, y: ir.Value, node: n.Node) -> Val:
        b = self.b
        zero, one, inf = (ir.Constant(DOUBLE, v) for v in (0.0, 1.0, float("inf")))
        result = self.temp()[1]
        done = self.block("pow.done")

        def case(test: ir.Value, value: Callable[[], ir.Value]) -> None:
            """if test: result = value(); goto done"""
            then, rest = self.block("pow.case"), self.block("pow.next")
            b.cbranch(test, then, rest)
            b.position_at_end(then)
            b.store(b.bitcast(value(), I64), result)
            b.branch(done)
            b.position_at_end(rest)

        def isinf(v: ir.Value) -> ir.Value:
            return b.fcmp_ordered("==", self.fabs(v), inf)

        odd = self.is_odd_integer(y)
        case(b.fcmp_ordered("==", y, zero), lambda: one)
        case(b.fcmp_unordered("!=", x, x), lambda: x)
        case(b.fcmp_unordered("!=", y, y), lambda: b.select(b.fcmp_ordered("==", x, one), one, y))
        ax = self.fabs(x)
        grows = b.icmp_unsigned("==", b.fcmp_ordered(">", y, zero), b.fcmp_ordered(">", ax, one))
        case(isinf(y), lambda: b.select(b.fcmp_ordered("==", ax, one), one,
                                        b.select(grows, inf, zero)))  # fmt: skip
        case(isinf(x), lambda: b.select(b.fcmp_ordered(">", y, zero), b.select(odd, x, ax),
                                        b.select(odd, self.copysign(zero, x), zero)))  # fmt: skip
        x_zero = b.fcmp_ordered("==", x, zero)
        negative_power = b.and_(x_zero, b.fcmp_ordered("<", y, zero))
        self.guard(b.not_(negative_power), "zerodiv", ZERO_POWER, node)
        case(x_zero, lambda: b.select(odd, x, zero))
        case(b.fcmp_ordered("==", x, one), lambda: one)
        negative = b.fcmp_ordered("<", x, zero)
        fractional = b.fcmp_unordered("!=", self.floor(y), y)
        self.guard(b.not_(b.and_(negative, fractional)), "unsupported", COMPLEX, node)
        negate = b.and_(negative, odd)
        if self.target == "nolibc":  # no libm: only CPython's own cases are provably exact
            case(
                b.fcmp_ordered("==", ax, one),
                lambda: b.select(negate, ir.Constant(DOUBLE, -1.0), one),
            )
            self.fail("unsupported", "x ** y needs libm's pow (an executable without libc)", node)
            b.branch(done)  # (unreachable: `fail` left the builder in a dead block)
        else:
            power = b.call(self.libm_pow(), [ax, y])
            power = b.select(negate, b.fneg(power), power)
            self.guard(b.not_(isinf(power)), "overflow", POWER_OVERFLOW, node)
            b.store(b.bitcast(power, I64), result)
            b.branch(done)
        b.position_at_end(done)
        return Val(const(I8, FLOAT), b.load(result))

    def is_odd_integer(self, y: ir.Value) -> ir.Value:
        """y is an odd integer (|y| < 2^53: beyond that every double is even)."""
        b = self.b
        small = b.fcmp_ordered("<", self.fabs(y), ir.Constant(DOUBLE, 2.0**53))
        as_int = b.fptosi(b.select(small, y, ir.Constant(DOUBLE, 0.0)), I64)
        exact = b.fcmp_ordered("==", b.sitofp(as_int, DOUBLE), y)
        return b.and_(b.and_(small, exact), b.trunc(as_int, I1))

    def libm_pow(self) -> ir.Value:
        """libm's `pow`, the one CPython calls (in process: the very same function), through
        a pointer an empty asm hands back: LLVM knows `pow` and would make pow(x, 2.0) x * x,
        which libm's pow need not equal (llvmlite's builder has no `nobuiltin`)."""
        ftype = ir.FunctionType(DOUBLE, [DOUBLE, DOUBLE])
        pow_fn = self.module.globals.get("pow") or ir.Function(self.module, ftype, "pow")
        launder = ir.FunctionType(ftype.as_pointer(), [ftype.as_pointer()])
        return self.b.asm(launder, "", "=r,0", [pow_fn], False)

    def float_compare(self, op: str, left: Val, right: Val, node: n.Node) -> ir.Value:
        """A comparison with at least one float operand; == and != are false / true
        against None (no error), the order comparisons want numbers."""
        b = self.b
        numbers = b.and_(self.is_number(left), self.is_number(right))
        if op not in ("==", "!="):
            self.guard(numbers, "type", f"'{op}' not supported between these operands", node)
        x, y = self.double(left), self.double(right)
        both = b.fcmp_unordered("!=", x, y) if op == "!=" else b.fcmp_ordered(FCMP[op], x, y)
        # an int against a float compares exactly (CPython does; 2**53 + 1 != 2.0**53)
        int_left = self.int_vs_float(op, left.payload, y)
        int_right = self.int_vs_float(MIRROR[op], right.payload, x)
        bit = b.select(
            self.is_float(left), b.select(self.is_float(right), both, int_right), int_left
        )
        if op == "!=":
            return b.or_(b.not_(numbers), bit)
        return b.and_(numbers, bit)

    def int_vs_float(self, op: str, i: ir.Value, d: ir.Value) -> ir.Value:
        """`i op d` for an int64 i and a double d, exactly: compare i with trunc(d), and on a
        tie 0 with d's fraction (both exact below 2^63); NaN and |d| >= 2^63 decide alone."""
        b = self.b
        zero = ir.Constant(DOUBLE, 0.0)
        above = b.fcmp_ordered(">=", d, ir.Constant(DOUBLE, 2.0**63))
        below = b.fcmp_ordered("<", d, ir.Constant(DOUBLE, -(2.0**63)))
        nan = b.fcmp_unordered("!=", d, d)
        inside = b.select(b.or_(b.or_(above, below), nan), zero, d)
        whole = b.fptosi(inside, I64)
        fraction = b.fsub(inside, b.sitofp(whole, DOUBLE))
        if op in ("==", "!="):
            equal = b.and_(b.icmp_signed("==", i, whole), b.fcmp_ordered("==", fraction, zero))
            equal = b.and_(equal, b.not_(b.or_(b.or_(above, below), nan)))
            return equal if op == "==" else b.not_(equal)
        tie = b.icmp_signed("==", i, whole)
        middle = b.select(tie, b.fcmp_ordered(op, zero, fraction), b.icmp_signed(op, i, whole))
        less = op in ("<", "<=")  # i < d when d is above every int64, i > d below all
        outside = b.select(above, const(I1, int(less)), const(I1, int(not less)))
        return b.select(nan, const(I1, 0), b.select(b.or_(above, below), outside, middle))

    def float_truth(self, v: Val) -> ir.Value:
        """Truthiness when v may be a float: 0.0 and -0.0 are false, NaN is true."""
        b = self.b
        as_float = b.fcmp_unordered("!=", b.bitcast(v.payload, DOUBLE), ir.Constant(DOUBLE, 0.0))
        return b.select(self.is_float(v), as_float, b.icmp_signed("!=", v.payload, const(I64, 0)))

    def negate_float(self, v: Val) -> Val:
        return Val(v.tag, self.b.xor(v.payload, const(I64, -(1 << 63))))

    def abs_float(self, v: Val) -> Val:
        return Val(v.tag, self.b.and_(v.payload, const(I64, (1 << 63) - 1)))

    # float(x): 0.0, a float itself, an int or bool converted
    def to_float(self, args: list[Val], node: n.Node) -> Val:
        if not args:
            return fval(0.0)
        (v,) = args
        message = "float() argument must be a string or a real number"
        self.guard(self.is_number(v), "type", message, node)
        return self.boxed(self.double(v))

    # int(x): 0, an int (a bool becomes one), a float truncated toward zero
    def to_int(self, args: list[Val], node: n.Node) -> Val:
        if not args:
            return Val(const(I8, INT), const(I64, 0))
        (v,) = args
        b = self.b
        message = "int() argument must be a string, a bytes-like object or a real number"
        self.guard(self.is_number(v), "type", message, node)

        def truncate() -> Val:
            x = b.bitcast(v.payload, DOUBLE)
            self.guard(b.fcmp_ordered("==", x, x), "value", NAN_TO_INT, node)
            magnitude = self.fabs(x)
            self.guard(
                b.fcmp_ordered("!=", magnitude, ir.Constant(DOUBLE, float("inf"))),
                "overflow",
                INF_TO_INT,
                node,
            )
            message = "int() of a float beyond int64 (jitkit executables use int64)"
            fits = b.fcmp_ordered("<", magnitude, ir.Constant(DOUBLE, 2.0**63))
            self.guard(fits, "overflow", message, node)
            return Val(const(I8, INT), b.fptosi(x, I64))

        return self.split(self.is_float(v), truncate, lambda: Val(const(I8, INT), v.payload))

    def any_float(self, left: Val, right: Val) -> ir.Value:
        return self.b.or_(self.is_float(left), self.is_float(right))

    def split_bit(
        self, is_float: ir.Value, on_float: Callable[[], ir.Value], other: Callable[[], ir.Value]
    ) -> ir.Value:
        """`split` for an i1 result (a comparison)."""
        as_val = lambda make: lambda: Val(const(I8, BOOL), self.b.zext(make(), I64))  # noqa: E731
        merged = self.split(is_float, as_val(on_float), as_val(other))
        return self.b.trunc(merged.payload, I1)

    def truth(self, v: Val) -> ir.Value:
        return self.float_truth(v) if self.floats else super().truth(v)
