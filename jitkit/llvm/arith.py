"""Integer arithmetic with Python's results in int64 IR (notebook 08 LLVM mini compiler).

In: kit values (`Val`) and an operator. Out: IR computing Python's answer wherever it fits
in 64 bits, and an error site where it does not: `+ - *` through LLVM's
`llvm.s*.with.overflow` intrinsics, `**` by square-and-multiply (`jk_pow`), `//` and `%`
flooring as Python does (C truncates toward zero), division by zero, unary minus, and the
comparisons (`==`/`!=` also for None). An operation with a float operand (a runtime branch
on the tags, only in modules that make floats) goes to `floats`.
"""

from __future__ import annotations

from llvmlite import ir

from jitkit.lang import nodes as n
from jitkit.lang.runtime import INT64_MIN
from jitkit.llvm.floats import DOUBLE
from jitkit.llvm.lists import ListLowering
from jitkit.llvm.lowering import constant_int
from jitkit.llvm.runtime import I1, I8, I64
from jitkit.llvm.values import INT, NONE, Val, const

RARE = 1 << 12  # branch weight: the common side of a branch taken once in RARE times

ARITH = {"+": "sadd_with_overflow", "-": "ssub_with_overflow", "*": "smul_with_overflow"}
NSW = {
    "+": lambda b, x, y: b.add(x, y, flags=["nsw"]),
    "-": lambda b, x, y: b.sub(x, y, flags=["nsw"]),
    "*": lambda b, x, y: b.mul(x, y, flags=["nsw"]),
}
POW_TYPE = ir.FunctionType(ir.LiteralStructType([I64, I1]), [I64, I64])
SIGNED = {"<": "<", "<=": "<=", ">": ">", ">=": ">=", "==": "==", "!=": "!="}


class ArithmeticLowering(ListLowering):
    """`lower_BinOp`, `lower_UnaryOp` and the `binary` / `compare` helpers others reuse."""

    pow: ir.Function  # jk_pow, declared on first use (codegen), its body by `emit_pow`

    def lower_BinOp(self, e: n.BinOp) -> Val:
        return self.binary(e.op, self.expr(e.left), self.expr(e.right), e)

    def binary(self, op: str, left: Val, right: Val, node: n.Node) -> Val:
        """One arithmetic operator with Python's results, or an error site."""
        if self.lists:
            either = self.b.or_(self.is_list(left), self.is_list(right))
            return self.split(
                either,
                lambda: self.list_binary(op, left, right, node),
                lambda: self.numeric_binary(op, left, right, node),
            )
        return self.numeric_binary(op, left, right, node)

    def numeric_binary(self, op: str, left: Val, right: Val, node: n.Node) -> Val:
        """An arithmetic operator on numbers (ints, bools, floats), or an error site."""
        if op == "/":
            return self.float_binary(op, left, right, node)
        if not self.floats:
            return self.int_binary(op, left, right, node)
        return self.split(
            self.any_float(left, right),
            lambda: self.float_binary(op, left, right, node),
            lambda: self.int_binary(op, left, right, node),
        )

    def int_binary(self, op: str, left: Val, right: Val, node: n.Node) -> Val:
        """One arithmetic operator on ints with Python's results, or an error site."""
        a, c = self.number(left, op, node), self.number(right, op, node)
        b = self.b
        if op in ARITH:
            pair = getattr(b, ARITH[op])(a, c)
            self.overflow_guard(b.extract_value(pair, 1), op, node)
            # past the guard the result is the same operation with `nsw`, a fact LLVM uses
            # where the intrinsic's result says nothing: i * i >= 0 (so `% 7` needs no sign
            # fix-up), i + 1 > i (induction variables, trip counts)
            return Val(const(I8, INT), NSW[op](b, a, c))
        if op == "**" and self.floats:  # a negative exponent: CPython's float power
            negative = b.icmp_signed("<", c, const(I64, 0))
            return self.split(
                negative,
                lambda: self.float_power(b.sitofp(a, DOUBLE), b.sitofp(c, DOUBLE), node),
                lambda: self.int_power(a, c, node),
            )
        if op == "**":
            self.guard(
                b.icmp_signed(">=", c, const(I64, 0)),
                "unsupported",
                "a negative exponent gives a float (in a module without floats)",
                node,
            )
            return self.int_power(a, c, node)
        message = "integer division or modulo by zero" if op == "//" else "integer modulo by zero"
        self.guard(b.icmp_signed("!=", c, const(I64, 0)), "zerodiv", message, node)
        minus_one = b.icmp_signed("==", c, const(I64, -1))
        if op == "//":
            self.overflow_guard(
                b.and_(minus_one, b.icmp_signed("==", a, const(I64, INT64_MIN))), op, node
            )
        if constant_int(c) is None:
            return self.divide_by_variable(op, a, c, minus_one)
        safe = b.select(minus_one, const(I64, 1), c)  # x // -1 is -x, x % -1 is 0: no trap
        q, r = b.sdiv(a, safe), b.srem(a, safe)
        q = b.select(minus_one, b.neg(a), q)
        # C truncates toward zero; Python floors: fix up when the signs of r and c differ
        adjust = b.and_(
            b.icmp_signed("!=", r, const(I64, 0)), b.icmp_signed("<", b.xor(r, c), const(I64, 0))
        )
        if op == "//":
            return Val(const(I8, INT), b.sub(q, b.zext(adjust, I64)))
        return Val(const(I8, INT), b.select(adjust, b.add(r, c), r))

    def divide_by_variable(self, op: str, a: ir.Value, c: ir.Value, minus_one: ir.Value) -> Val:
        """`a // c` or `a % c` (c != 0) when c is known only at run time: the two rare cases,
        c == -1 (no `idiv`: it would trap on INT64_MIN) and the floor fix-up (the signs of the
        remainder and c differ), as branches that the branch weights mark as rare, so LLVM
        keeps them branches. Why: as selects (`cmov`) both sat on the dependency chain from
        one division to the next (gcd's `a, b = b, a % b`: the divisor is the last
        remainder), ~7 cycles per division more than gcc's loop, which needs neither."""
        b = self.b
        result = self.temp()[1]
        by_minus_one, divide, done = self.block("div.m1"), self.block("div"), self.block("div.end")
        b.cbranch(minus_one, by_minus_one, divide).set_weights([1, RARE])
        b.position_at_end(by_minus_one)
        b.store(b.neg(a) if op == "//" else const(I64, 0), result)
        b.branch(done)
        b.position_at_end(divide)
        q, r = b.sdiv(a, c), b.srem(a, c)
        b.store(q if op == "//" else r, result)
        adjust = b.and_(
            b.icmp_signed("!=", r, const(I64, 0)), b.icmp_signed("<", b.xor(r, c), const(I64, 0))
        )
        fix = self.block("div.floor")
        b.cbranch(adjust, fix, done).set_weights([1, RARE])
        b.position_at_end(fix)
        b.store(b.sub(q, const(I64, 1)) if op == "//" else b.add(r, c), result)
        b.branch(done)
        b.position_at_end(done)
        return Val(const(I8, INT), b.load(result))

    def int_power(self, a: ir.Value, c: ir.Value, node: n.Node) -> Val:
        """a ** c for c >= 0 by square-and-multiply, or an overflow site."""
        pair = self.b.call(self.pow, [a, c])
        self.overflow_guard(self.b.extract_value(pair, 1), "**", node)
        return Val(const(I8, INT), self.b.extract_value(pair, 0))

    def overflow_guard(self, overflowed: ir.Value, op: str, node: n.Node) -> None:
        self.guard(
            self.b.not_(overflowed),
            "overflow",
            f"result of {op!r} does not fit in 64 bits (jitkit executables use int64)",
            node,
        )

    def lower_UnaryOp(self, e: n.UnaryOp) -> Val:
        literal = e.operand
        if e.op == "-" and isinstance(literal, n.Const) and type(literal.value) is int:
            # -9223372036854775808 is INT64_MIN, though 9223372036854775808 alone does not fit
            return self.expr(n.Const(literal.line, literal.col, -literal.value))
        v = self.expr(e.operand)
        if e.op == "not":
            return self.boolean(self.b.not_(self.truth(v)))
        if not self.floats:
            return self.int_unary(e, v)
        negated = (lambda: self.negate_float(v)) if e.op == "-" else (lambda: v)
        return self.split(self.is_float(v), negated, lambda: self.int_unary(e, v))

    def int_unary(self, e: n.UnaryOp, v: Val) -> Val:
        x = self.number(v, f"unary {e.op}", e)
        if e.op == "+":
            return Val(const(I8, INT), x)
        pair = self.b.ssub_with_overflow(const(I64, 0), x)
        self.overflow_guard(self.b.extract_value(pair, 1), "-", e)
        return Val(const(I8, INT), self.b.sub(const(I64, 0), x, flags=["nsw"]))

    def compare(self, op: str, left: Val, right: Val, node: n.Node) -> ir.Value:
        """One comparison as an i1; == and != also accept None (equal only to None)."""
        if self.lists:
            self.refuse_list_compare(left, right, node)
        if not self.floats:
            return self.int_compare(op, left, right, node)
        return self.split_bit(
            self.any_float(left, right),
            lambda: self.float_compare(op, left, right, node),
            lambda: self.int_compare(op, left, right, node),
        )

    def int_compare(self, op: str, left: Val, right: Val, node: n.Node) -> ir.Value:
        """A comparison of ints, bools or None."""
        b = self.b
        if op in ("==", "!="):
            none_l = b.icmp_unsigned("==", left.tag, const(I8, NONE))
            none_r = b.icmp_unsigned("==", right.tag, const(I8, NONE))
            same = b.and_(
                b.icmp_unsigned("==", none_l, none_r),
                b.icmp_signed("==", left.payload, right.payload),
            )
            return same if op == "==" else b.not_(same)
        a, c = self.number(left, op, node), self.number(right, op, node)
        return b.icmp_signed(SIGNED[op], a, c)

    def emit_pow(self, fn: ir.Function) -> None:
        """The body of `jk_pow(base, exp) -> {result, overflowed}`: square-and-multiply,
        exp >= 0 (`fn` declared with `POW_TYPE`)."""
        b = ir.IRBuilder(fn.append_basic_block("entry"))
        base0, exp0 = fn.args
        result, base, exp, over = (b.alloca(t) for t in (I64, I64, I64, I1))
        for slot, value in (
            (result, const(I64, 1)),
            (base, base0),
            (exp, exp0),
            (over, const(I1, 0)),
        ):
            b.store(value, slot)
        test, body, done = (fn.append_basic_block(x) for x in ("test", "body", "done"))
        b.branch(test)
        b.position_at_end(test)
        b.cbranch(b.icmp_signed(">", b.load(exp), const(I64, 0)), body, done)
        b.position_at_end(body)
        e = b.load(exp)
        with b.if_then(b.trunc(e, I1)):
            pair = b.smul_with_overflow(b.load(result), b.load(base))
            b.store(b.extract_value(pair, 0), result)
            b.store(b.or_(b.load(over), b.extract_value(pair, 1)), over)
        e = b.ashr(e, const(I64, 1))
        b.store(e, exp)
        with b.if_then(b.icmp_signed(">", e, const(I64, 0))):
            pair = b.smul_with_overflow(b.load(base), b.load(base))
            b.store(b.extract_value(pair, 0), base)
            b.store(b.or_(b.load(over), b.extract_value(pair, 1)), over)
        b.branch(test)
        b.position_at_end(done)
        out = b.insert_value(ir.Constant(fn.ftype.return_type, ir.Undefined), b.load(result), 0)
        b.ret(b.insert_value(out, b.load(over), 1))
