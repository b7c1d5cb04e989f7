"""Instruction selection for doubles: SSE2 on xmm registers (notebook 07).

Takes one `f64` instruction (or a comparison of doubles) whose operands have locations; emits
scalar SSE2: `movsd`, `addsd`, `subsd`, `mulsd`, `divsd`, `ucomisd`, `cvtsi2sd`,
`cvttsd2si`, `xorpd`. Mixed into `jitkit.ssa.select.Selector`, whose `loc`, `move`, `stub`
and `fused` it shares. xmm14 and xmm15 are never allocated: they hold a constant operand or
an intermediate. A double constant has no immediate form: it is read from a pool after the
function's code (`mulsd xmm2, [rip + pool]`), written as `emit_constants` finishes; 0.0 is
`xorpd x, x`.

NaN. `ucomisd a, b` sets ZF, PF and CF all to 1 when either is NaN, so `a > b` is `ja`
(CF = 0 and ZF = 0) and `a >= b` is `jae`, both false on NaN as Python says; `a < b` is
`b > a`. Equality needs ZF = 1 and PF = 0, two flags: `feq` and `fne` make a bool with
`sete`/`setnp` and are never fused into a branch.
"""

from __future__ import annotations

import ctypes

from jitkit.ssa.ir import Const, Instr, Value, double_bits
from jitkit.ssa.ops import wrap
from jitkit.x86 import Mem, Reg, gpr, qword, r11, rax, rcx, rsp, xmm

SCRATCH, SPARE = xmm(14), xmm(15)
ARITHMETIC = {"fadd": "addsd", "fsub": "subsd", "fmul": "mulsd", "fdiv": "divsd"}
# (swap the operands?, condition code) of `ucomisd a, b` for each ordered comparison
ORDERED = {"fgt": (False, "a"), "fge": (False, "ae"), "flt": (True, "a"), "fle": (True, "ae")}
SIGN = -(2**63)
# |x| >= 2**52 (or inf, NaN): every such double is an integer. Compared as bits shifted left
# once (the sign gone), which order like the magnitudes.
INTEGRAL = wrap(double_bits(2.0**52) << 1)


def fmod_address() -> int:
    """libm's fmod (CPython links it: its own float % calls it)."""
    return ctypes.cast(ctypes.CDLL(None).fmod, ctypes.c_void_p).value  # type: ignore[return-value]


def is_xmm(x: object) -> bool:
    return isinstance(x, Reg) and x.kind == "xmm"


class DoubleSelection:
    """`emit_double(i)` for the f64 opcodes; `move_double` for the moves `move` delegates."""

    def constant(self, x: float) -> Mem:
        """The pool entry of double `x` (bits equal: -0.0 and 0.0 are two entries)."""
        pool: dict[int, str] = self.__dict__.setdefault("pool", {})
        bits = double_bits(x)
        if bits not in pool:
            pool[bits] = f"{self.prefix}/double{len(pool)}"  # type: ignore[attr-defined]
        return qword(None, label=pool[bits])

    def emit_constants(self) -> None:
        """The pool: each double's 8 bytes, aligned, after the function's code."""
        pool: dict[int, str] = self.__dict__.get("pool", {})
        if pool:
            self.a.align(8, 0)  # type: ignore[attr-defined]
        for bits, label in pool.items():
            self.a.label(label).quad(bits)  # type: ignore[attr-defined]

    def move_double(self, dst, src) -> bool:
        """Moves that involve an xmm register or a double constant; False: not one of them."""
        a = self.a  # type: ignore[attr-defined]
        if isinstance(src, float):
            bits = double_bits(src)
            if is_xmm(dst):
                if bits == 0:
                    a.xorpd(dst, dst)
                else:
                    a.movsd(dst, self.constant(src))
            else:
                self.move(dst, bits)  # type: ignore[attr-defined]
            return True
        if is_xmm(dst):
            if isinstance(src, int):
                a.mov(r11, src).movq(dst, r11)
            elif is_xmm(src):
                a.movapd(dst, src)  # movsd would merge into dst's old value: a dependency
            elif isinstance(src, Mem):
                a.movsd(dst, src)
            else:
                a.movq(dst, src)  # bits arriving in a general register
            return True
        if is_xmm(src):
            if isinstance(dst, Mem):
                a.movsd(dst, src)
            else:
                a.movq(dst, src)  # bits leaving in a general register
            return True
        return False

    def xmm_operand(self, v: Value, scratch: Reg = SCRATCH) -> Reg | Mem:
        """An xmm register or memory for an SSE2 source operand (a constant goes to `scratch`)."""
        x = self.loc(v)  # type: ignore[attr-defined]
        if is_xmm(x) or isinstance(x, Mem):
            return x
        if isinstance(x, float):
            return self.constant(x)
        self.move(scratch, x)  # type: ignore[attr-defined]
        return scratch

    def xmm_register(self, v: Value, scratch: Reg) -> Reg:
        x = self.loc(v)  # type: ignore[attr-defined]
        if is_xmm(x):
            return x
        self.move(scratch, x)  # type: ignore[attr-defined]
        return scratch

    def double_target(self, i: Instr) -> Reg:
        """The result's xmm register, unless another operand or a deopt value lives there."""
        dst = self.loc(i.result)  # type: ignore[attr-defined]
        if not is_xmm(dst):
            return SPARE
        others = [self.loc(v) for v in i.args[1:]]  # type: ignore[attr-defined]
        if i.deopt is not None:
            others += [self.loc(v) for v in (*i.deopt.locals, *i.deopt.stack)]  # type: ignore[attr-defined]
        return SPARE if dst in others else dst

    def emit_double(self, i: Instr, fuse: bool) -> None:
        a, op = self.a, i.op  # type: ignore[attr-defined]
        if op in ARITHMETIC:
            x, y = i.args
            if i.op in ("fadd", "fmul") and self.loc(y) == self.loc(i.result) != self.loc(x):  # type: ignore[attr-defined]
                x, y = y, x  # commutative: compute in y's register
            if op == "fdiv":
                self.check_divisor(i, y)
            # fdiv's deopt stub runs before the division: its state may be overwritten here
            dst = self.double_target(Instr(op, [x, y], i.result, i.type))
            self.move(dst, self.loc(x))  # type: ignore[attr-defined]
            a.emit(ARITHMETIC[op], dst, self.xmm_operand(y))
            self.move(self.loc(i.result), dst)  # type: ignore[attr-defined]
        elif op in ("fneg", "fabs"):  # the sign bit, through rax
            self.move(rax, self.loc(i.args[0]))  # type: ignore[attr-defined]
            if op == "fneg":
                a.mov(r11, SIGN).xor(rax, r11)
            else:
                a.shl(rax, 1).shr(rax, 1)
            self.move(self.loc(i.result), rax)  # type: ignore[attr-defined]
        elif op in ("itof", "itof_exact"):
            dst = self.double_target(i)
            src = self.loc(i.args[0])  # type: ignore[attr-defined]
            if isinstance(src, int):
                a.mov(rax, src)
                src = rax
            a.xorpd(dst, dst).cvtsi2sd(dst, src)  # xorpd: no dependency on dst's old value
            if op == "itof_exact":  # back to an int: a different int was rounded
                a.cvttsd2si(r11, dst).cmp(r11, src).jne(self.stub(i))  # type: ignore[attr-defined]
            self.move(self.loc(i.result), dst)  # type: ignore[attr-defined]
        elif op in ("fmod", "ffloordiv"):
            self.emit_python_division(i)
        elif op == "ftoi":  # cvttsd2si gives INT64_MIN for NaN, inf and out of range
            dst = self.target(i)  # type: ignore[attr-defined]
            a.cvttsd2si(dst, self.xmm_operand(i.args[0]))
            a.cmp(dst, 1).jo(self.stub(i))  # type: ignore[attr-defined]  # only MIN - 1 overflows
            self.move(self.loc(i.result), dst)  # type: ignore[attr-defined]
        else:
            self.emit_double_compare(i, fuse)

    def check_divisor(self, i: Instr, y: Value) -> None:
        """Deopt (ZeroDivisionError in Python) when the divisor is 0.0 or -0.0, not NaN."""
        a = self.a  # type: ignore[attr-defined]
        if isinstance(y, Const):
            if y.value == 0:
                a.jmp(self.stub(i))  # type: ignore[attr-defined]
            return
        divisor = self.xmm_register(y, SPARE)
        nonzero = self.label("nonzero")  # type: ignore[attr-defined]
        a.xorpd(SCRATCH, SCRATCH).ucomisd(divisor, SCRATCH)
        a.jp(nonzero).je(self.stub(i)).label(nonzero)  # type: ignore[attr-defined]

    def emit_python_division(self, i: Instr) -> None:
        """Python's float `%` and `//` (CPython's float_rem and float_floor_div): libm's fmod,
        then the sign rules inline. The call clobbers every xmm register, so the operands go
        to the stack first (the allocator keeps nothing else live in a caller-saved one)."""
        a, (x, y) = self.a, i.args  # type: ignore[attr-defined]
        self.check_divisor(i, y)
        zero = xmm(2)
        a.sub(rsp, 16)
        self.move(qword(rsp, 8), self.loc(x))  # type: ignore[attr-defined]
        self.move(qword(rsp, 0), self.loc(y))  # type: ignore[attr-defined]
        a.movsd(xmm(0), qword(rsp, 8)).movsd(xmm(1), qword(rsp, 0))
        a.mov(rax, fmod_address()).call(rax)  # xmm0 = fmod(x, y), the sign of x
        a.movsd(xmm(1), qword(rsp, 0)).xorpd(zero, zero)
        done, adjusted = self.label("divided"), self.label("adjusted")  # type: ignore[attr-defined]
        al, cl = gpr(rax.code, 8), gpr(rcx.code, 8)
        if i.op == "fmod":
            nonzero, signed_zero = self.label("mod"), self.label("zero")  # type: ignore[attr-defined]
            a.ucomisd(xmm(0), zero).jp(nonzero).je(signed_zero).label(nonzero)
            a.ucomisd(zero, xmm(0)).seta(al).ucomisd(zero, xmm(1)).seta(cl)
            a.cmp(al, cl).je(done).addsd(xmm(0), xmm(1)).jmp(done)  # signs differ: mod += y
            a.label(signed_zero)  # a zero remainder has the divisor's sign
            a.mov(rax, qword(rsp, 0)).shr(rax, 63).shl(rax, 63).movq(xmm(0), rax)
        else:
            div, nonzero = xmm(4), self.label("div")  # type: ignore[attr-defined]
            a.movsd(div, qword(rsp, 8)).subsd(div, xmm(0)).divsd(div, xmm(1))  # (x - mod) / y
            a.ucomisd(xmm(0), zero).jp(nonzero).je(adjusted).label(nonzero)
            a.ucomisd(zero, xmm(0)).seta(al).ucomisd(zero, xmm(1)).seta(cl)
            a.cmp(al, cl).je(adjusted).subsd(div, self.constant(1.0))  # signs differ: div - 1
            a.label(adjusted)
            floor, big = self.label("floor"), self.label("integral")  # type: ignore[attr-defined]
            a.ucomisd(div, zero).jp(floor).jne(floor)  # div == 0: the sign of x / y
            a.mov(rax, qword(rsp, 8)).xor(rax, qword(rsp, 0)).shr(rax, 63).shl(rax, 63)
            a.movq(xmm(0), rax).jmp(done)
            a.label(floor).movq(rax, div).shl(rax, 1).mov(r11, INTEGRAL).cmp(rax, r11).jae(big)
            rounded = self.label("rounded")  # type: ignore[attr-defined]
            a.cvttsd2si(rax, div).xorpd(xmm(0), xmm(0)).cvtsi2sd(xmm(0), rax)
            a.ucomisd(xmm(0), div).jbe(rounded).subsd(xmm(0), self.constant(1.0))  # floor
            a.label(rounded).movapd(xmm(5), div).subsd(xmm(5), xmm(0))
            a.ucomisd(xmm(5), self.constant(0.5)).jbe(done).addsd(xmm(0), self.constant(1.0))
            a.jmp(done)
            a.label(big).movapd(xmm(0), div)
        a.label(done).add(rsp, 16)
        self.move(self.loc(i.result), xmm(0))  # type: ignore[attr-defined]

    def emit_double_compare(self, i: Instr, fuse: bool) -> None:
        a, (x, y) = self.a, i.args  # type: ignore[attr-defined]
        if i.op in ORDERED:
            swap, cc = ORDERED[i.op]
            if swap:
                x, y = y, x
            a.ucomisd(self.xmm_register(x, SPARE), self.xmm_operand(y))
            if fuse:
                self.fused = cc
                return
            dst = self.loc(i.result)  # type: ignore[attr-defined]
            reg = dst if isinstance(dst, Reg) else rax
            a.emit(f"set{cc}", gpr(reg.code, 8)).movzx(gpr(reg.code, 32), gpr(reg.code, 8))
            self.move(dst, reg)  # type: ignore[attr-defined]
            return
        a.ucomisd(self.xmm_register(x, SPARE), self.xmm_operand(y))
        equal, ordered = ("sete", "setnp") if i.op == "feq" else ("setne", "setp")
        a.emit(equal, gpr(rax.code, 8)).emit(ordered, gpr(r11.code, 8))
        a.emit("and" if i.op == "feq" else "or", gpr(rax.code, 8), gpr(r11.code, 8))
        a.movzx(gpr(rax.code, 32), gpr(rax.code, 8))
        self.move(self.loc(i.result), rax)  # type: ignore[attr-defined]
