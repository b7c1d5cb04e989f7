"""The bytecode instructions on floats, in SSA (notebook 07).

Takes nothing by itself: `FloatLowerings` is mixed into the builder of `jitkit.ssa.build`
and uses its state (the abstract operand stack, `emit`, `state`, `i64`, the stack tier's
types). Gives `lower_float(pc, op)`, which lowers an instruction with a float operand or
result and says whether it did.

Python's promotion: an int or bool operand of float arithmetic becomes a float (`itof`,
rounding to nearest, as `float(int)` does). Two things Python does exactly need a guard:
comparing an int with a float, and `int / int` (one rounding of the exact quotient); both
are what the doubles compute when each int is a double exactly, so the int goes through
`itof_exact`, which deopts otherwise and lets the VM do it. Float `%` and `//` are `fmod`
and `ffloordiv` (a call to libm's fmod, then Python's sign rules inline); float `**` is not
lowered (the stack tier's type check leaves it to the VM).
"""

from __future__ import annotations

from jitkit.bytecode.opcodes import Op
from jitkit.errors import UnsupportedError
from jitkit.jitrt.types import UNDEF, NotCompilable, exact
from jitkit.ssa.ir import Const, Deopt, Value

FLOAT_ARITHMETIC = {Op.BINARY_ADD: "fadd", Op.BINARY_SUB: "fsub", Op.BINARY_MUL: "fmul"}
FLOAT_COMPARE = {
    Op.COMPARE_LT: "flt",
    Op.COMPARE_LE: "fle",
    Op.COMPARE_EQ: "feq",
    Op.COMPARE_NE: "fne",
    Op.COMPARE_GT: "fgt",
    Op.COMPARE_GE: "fge",
}


class FloatLowerings:
    """`lower_float`, and the conversions it shares with the builder (`f64`, `truth`)."""

    def is_f64(self, v: Value) -> bool:
        v = self.resolve(v)  # type: ignore[attr-defined]
        if isinstance(v, Const):
            return isinstance(v.value, float)
        return self.type_of(v) == "f64"  # type: ignore[attr-defined]

    def f64(self, v: Value) -> Value:
        """An int or bool as Python's float of it (int64 always converts: it rounds)."""
        v = self.resolve(v)  # type: ignore[attr-defined]
        if self.is_f64(v):
            return v
        if isinstance(v, Const):
            return Const(float(v.value))
        return self.emit("itof", [self.i64(v)], "f64")  # type: ignore[attr-defined]

    def exact_f64(self, v: Value, pc: int) -> Value:
        """An int as the double equal to it; deopts at `pc` when there is none."""
        v = self.resolve(v)  # type: ignore[attr-defined]
        if self.is_f64(v):
            return v
        if isinstance(v, Const) and int(float(v.value)) == v.value:
            return Const(float(v.value))
        if not isinstance(v, Const) and self.type_of(v) == "bool":  # type: ignore[attr-defined]
            return self.f64(v)
        return self.emit("itof_exact", [self.i64(v)], "f64", self.checked_state(pc))  # type: ignore[attr-defined]

    def checked_state(self, pc: int) -> Deopt:
        """The deopt state before `pc`, refused unless each value there has one type (the
        stack tier checks that only where its templates may deopt)."""
        state = self.states[pc]  # type: ignore[attr-defined]
        try:
            for t in {*state.locals, *state.stack}:
                if UNDEF not in t:
                    exact(t, f"{self.code.name}: a value at pc {pc}")  # type: ignore[attr-defined]
        except NotCompilable as why:
            raise UnsupportedError(str(why)) from None
        return self.state(pc)  # type: ignore[attr-defined]

    def lower_float(self, pc: int, op: Op) -> bool:
        """Lower `op` at `pc` if a float is involved; False leaves it to the int lowering."""
        stack = self.stack  # type: ignore[attr-defined]
        if op in FLOAT_ARITHMETIC or op in FLOAT_COMPARE or op == Op.BINARY_TRUEDIV:
            a, b = stack[-2], stack[-1]
            if op != Op.BINARY_TRUEDIV and not (self.is_f64(a) or self.is_f64(b)):
                return False
            if op in FLOAT_COMPARE:
                x, y = self.exact_f64(a, pc), self.exact_f64(b, pc)
                del stack[-2:]
                stack.append(self.emit(FLOAT_COMPARE[op], [x, y], "bool"))  # type: ignore[attr-defined]
            elif op == Op.BINARY_TRUEDIV:
                both_ints = not (self.is_f64(a) or self.is_f64(b))
                convert = (lambda v: self.exact_f64(v, pc)) if both_ints else self.f64
                x, y = convert(a), convert(b)
                deopt = self.checked_state(pc)
                del stack[-2:]
                stack.append(self.emit("fdiv", [x, y], "f64", deopt))  # type: ignore[attr-defined]
            else:
                x, y = self.f64(a), self.f64(b)
                del stack[-2:]
                stack.append(self.emit(FLOAT_ARITHMETIC[op], [x, y], "f64"))  # type: ignore[attr-defined]
            return True
        if op in (Op.BINARY_FLOORDIV, Op.BINARY_MOD):
            if not (self.is_f64(stack[-2]) or self.is_f64(stack[-1])):
                return False
            deopt = self.checked_state(pc)
            y, x = self.f64(stack.pop()), self.f64(stack.pop())
            name = "fmod" if op == Op.BINARY_MOD else "ffloordiv"
            stack.append(self.emit(name, [x, y], "f64", deopt))  # type: ignore[attr-defined]
            return True
        if op == Op.BINARY_POW and (self.is_f64(stack[-2]) or self.is_f64(stack[-1])):
            name = self.code.name  # type: ignore[attr-defined]
            raise UnsupportedError(f"{name}: float ** is not lowered to SSA")
        if op == Op.UNARY_FLOAT:
            stack.append(self.f64(stack.pop()))
            return True
        if op == Op.UNARY_INT:
            if self.is_f64(stack[-1]):
                deopt = self.checked_state(pc)
                stack.append(self.emit("ftoi", [stack.pop()], "i64", deopt))  # type: ignore[attr-defined]
            else:
                stack.append(self.i64(stack.pop()))  # type: ignore[attr-defined]
            return True
        if op in (Op.UNARY_NEG, Op.UNARY_ABS, Op.UNARY_POS) and self.is_f64(stack[-1]):
            if op != Op.UNARY_POS:
                name = "fneg" if op == Op.UNARY_NEG else "fabs"
                stack.append(self.emit(name, [stack.pop()], "f64"))  # type: ignore[attr-defined]
            return True
        return False
