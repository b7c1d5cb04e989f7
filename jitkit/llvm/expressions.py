"""Expressions other than arithmetic: constants, locals, calls, logic (notebook 08).

In: kit AST expression nodes. Out: IR that yields a `Val` (tag, payload): literals (a literal
past int64 is an overflow site), local loads (an unbound local is an error site), chained
comparisons and `and`/`or` that stop early as Python does, conditional expressions, calls of
kit functions (a callee's error is passed up unchanged) and the `abs`/`min`/`max` builtins.
"""

from __future__ import annotations

from collections.abc import Callable

from llvmlite import ir

from jitkit.lang import nodes as n
from jitkit.lang import runtime as rt
from jitkit.lang.runtime import INT64_MAX, INT64_MIN
from jitkit.llvm.arith import ArithmeticLowering
from jitkit.llvm.facts import int_valued
from jitkit.llvm.floats import fval
from jitkit.llvm.runtime import I1, I8, I64
from jitkit.llvm.values import (
    BOOL,
    ERROR,
    INT,
    NONE,
    UNBOUND,
    Val,
    const,
    lval,
)


class ExpressionLowering(ArithmeticLowering):
    """`lower_<Expr>` for every expression node but BinOp and UnaryOp (in `arith`)."""

    functions: dict[str, n.Function]  # every kit function of the module, by name
    llvm: dict[str, ir.Function]  # ... and its LLVM function
    int_llvm: dict[str, list[ir.Function | None]]  # ... its untagged copies, declared when
    int_copy: Callable[[str, int], ir.Function]  # first called (`facts.int_functions`)

    def lower_Const(self, e: n.Const) -> Val:
        v = e.value
        if v is None:
            return lval(NONE, 0)
        if isinstance(v, bool):
            return lval(BOOL, int(v))
        if isinstance(v, int) and INT64_MIN <= v <= INT64_MAX:
            return lval(INT, v)
        if isinstance(v, float):
            return fval(v)
        self.fail("overflow", f"the literal {v} does not fit in 64 bits", e)
        return lval(INT, 0)

    def lower_Local(self, e: n.Local) -> Val:
        v = self.load(self.f.slots[e.slot])
        v.kind = self.f.list_kinds.get(e.slot)
        if e.slot < len(self.f.kit.params):
            return v  # a parameter is bound from the start (the subset has no `del`)
        self.guard(
            self.b.icmp_unsigned("!=", v.tag, const(I8, UNBOUND)),
            "unbound",
            f"cannot access local variable {e.name!r} where it is not associated with a value",
            e,
        )
        return v

    # compare ::= a op1 b op2 c ...: stops at the first false link, like Python
    def lower_Compare(self, e: n.Compare) -> Val:
        result = self.temp()[1]
        done = self.block("cmp.end")
        left = self.expr(e.operands[0])
        for i, (op, right_node) in enumerate(zip(e.ops, e.operands[1:], strict=True)):
            right = self.expr(right_node)
            bit = self.b.zext(self.compare(op, left, right, e), I64)
            self.b.store(bit, result)
            if i == len(e.ops) - 1:
                self.b.branch(done)
            else:
                more = self.block("cmp.more")
                self.b.cbranch(self.b.trunc(bit, I1), more, done)
                self.b.position_at_end(more)
            left = right
        self.b.position_at_end(done)
        return Val(const(I8, BOOL), self.b.load(result))

    # boolop ::= a and b ...: the first falsy operand (or the last); `or`: the first truthy
    def lower_BoolOp(self, e: n.BoolOp) -> Val:
        result = self.temp()
        done = self.block("boolop.end")
        for i, value_node in enumerate(e.values):
            v = self.expr(value_node)
            self.store(result, v)
            if i == len(e.values) - 1:
                self.b.branch(done)
            else:
                more = self.block("boolop.more")
                t = self.truth(v)
                self.b.cbranch(t, done if e.op == "or" else more, more if e.op == "or" else done)
                self.b.position_at_end(more)
        self.b.position_at_end(done)
        return self.load(result)

    def lower_IfExp(self, e: n.IfExp) -> Val:
        result = self.temp()
        then, orelse, done = self.block("ifx.then"), self.block("ifx.else"), self.block("ifx.end")
        self.b.cbranch(self.truth(self.expr(e.test)), then, orelse)
        for block, node in ((then, e.body), (orelse, e.orelse)):
            self.b.position_at_end(block)
            self.store(result, self.expr(node))
            self.b.branch(done)
        self.b.position_at_end(done)
        return self.load(result)

    def lower_Call(self, e: n.Call) -> Val:
        args: list[Val] = [None] * len(e.args)  # type: ignore[list-item]
        for i in n.evaluation_order(e):  # source order; the call takes parameter order
            args[i] = self.expr(e.args[i])
        callee = self.functions[e.func]
        if len(args) != len(callee.params):
            self.fail("type", str(rt.arity_error(e.func, callee.params, len(args))), e)
            return lval(NONE, 0)
        left = self.b.sub(self.f.left, const(I64, 1), flags=["nsw"])  # this call's left >= 0
        proven = self.f.ints and all(
            int_valued(a, self.f.int_slots, set(self.int_llvm)) for a in e.args
        )
        if e.func in self.int_llvm and (proven or all(is_const(v.tag, INT) for v in args)):
            # ints in (known when compiling, or proven by the source in an untagged version:
            # checked all the same, LLVM folds the check), an int or an error out
            for v, a in zip(args, e.args, strict=True):
                if not is_const(v.tag, INT):
                    is_int = self.b.icmp_unsigned("==", v.tag, const(I8, INT))
                    self.guard(is_int, "unsupported", "a proven int argument was not one", a)
            copies = len(self.int_llvm[e.func])
            copy = (self.f.copy + 1) % copies if self.f.ints and e.func == self.f.kit.name else 0
            pair = self.b.call(self.int_copy(e.func, copy), [left, *(v.payload for v in args)])
            tag = const(I8, INT)
        else:
            tagged = [x for v in args for x in (v.tag, v.payload)]
            pair = self.b.call(self.llvm[e.func], [left, *tagged])
            tag = self.b.extract_value(pair, 0)
        failed, cont = self.block("call.failed"), self.block("call.ok")
        failing = self.b.icmp_unsigned("==", self.b.extract_value(pair, 0), const(I8, ERROR))
        self.b.cbranch(failing, failed, cont)
        self.b.position_at_end(failed)
        self.ret(pair)  # pass the callee's error site up unchanged
        self.b.position_at_end(cont)
        return Val(tag, self.b.extract_value(pair, 1))

    def lower_Builtin(self, e: n.Builtin) -> Val:
        args = [self.expr(a) for a in e.args]
        b = self.b
        if e.func == "len":
            return self.length(args[0], e)
        if e.func == "float":
            return self.to_float(args, e)
        if e.func == "int":
            return self.to_int(args, e)
        if e.func == "abs" and self.floats:
            v = args[0]
            return self.split(self.is_float(v), lambda: self.abs_float(v), lambda: self.abs(v, e))
        if e.func == "abs":
            return self.abs(args[0], e)
        first, second = args
        # min(a, b) is b only if b < a (ties keep a, and a's type: min(True, 1) is True)
        take_second = self.compare("<" if e.func == "min" else ">", second, first, e)
        return Val(
            b.select(take_second, second.tag, first.tag),
            b.select(take_second, second.payload, first.payload),
        )

    def abs(self, v: Val, e: n.Builtin) -> Val:
        """abs() of an int or bool (an int)."""
        b = self.b
        x = self.number(v, "abs()", e)
        self.overflow_guard(b.icmp_signed("==", x, const(I64, INT64_MIN)), "abs", e)
        negative = b.icmp_signed("<", x, const(I64, 0))
        return Val(const(I8, INT), b.select(negative, b.neg(x), x))


def is_const(tag: ir.Value, value: int) -> bool:
    """Is this tag the constant `value` when compiling (an int literal, an int operator)?"""
    return isinstance(tag, ir.Constant) and tag.constant == value
