"""SSE2 templates for float values (notebook 05).

Takes one instruction whose operands the type analysis says are floats (or ints meeting a
float), the operands' kinds (`Site.kinds`) and the `OperandCache`; emits x86-64 that computes
what CPython computes. A float lives in the same 64-bit word as an int, as its IEEE 754 bits:
stack slots, locals, registers and deopt records need nothing new, and each template moves
its operands into xmm registers (`cvtsi2sd` promotes an int, as Python does), computes there
and leaves the bits in rax. Where CPython raises (x / 0, x % 0.0, int(inf)) or an int cannot
be compared exactly as a double, the template jumps to the deopt stub before it changes
anything, and the interpreter redoes the instruction. The plain template of each opcode is
the same code with every operand in its stack slot (`plain`).
"""

from __future__ import annotations

import ctypes
import ctypes.util
from collections.abc import Callable

from jitkit.bytecode.opcodes import Op
from jitkit.jitrt.types import FLOAT, word
from jitkit.stackjit.cache import Entry, OperandCache
from jitkit.stackjit.templates import Site, template
from jitkit.x86 import (
    Mem,
    Reg,
    al,
    cl,
    eax,
    qword,
    r8,
    r9,
    r10,
    r11,
    rax,
    rcx,
    rdi,
    rsp,
    xmm0,
    xmm1,
    xmm2,
    xmm3,
    xmm4,
    xmm5,
)

Cached = Callable[[OperandCache, Site], None]
FLOAT_CACHED: dict[Op, Cached] = {}
COMPARES = (Op.COMPARE_LT, Op.COMPARE_LE, Op.COMPARE_EQ, Op.COMPARE_NE, Op.COMPARE_GT,
            Op.COMPARE_GE)  # fmt: skip
# Opcodes whose float form is not their int form (the others only move words around).
FLOAT_FORMS = {Op.BINARY_ADD, Op.BINARY_SUB, Op.BINARY_MUL, Op.BINARY_TRUEDIV,
               Op.BINARY_FLOORDIV, Op.BINARY_MOD, Op.BINARY_POW, Op.UNARY_NEG, Op.UNARY_ABS,
               Op.BINARY_MIN, Op.BINARY_MAX, Op.UNARY_NOT, Op.JUMP_IF_FALSE, Op.JUMP_IF_TRUE,
               Op.UNARY_FLOAT, Op.UNARY_INT, *COMPARES}  # fmt: skip
# Opcodes the per-instruction loops test, as plain globals: `Op.X` looks the member up
# through the Enum class each time (~0.2 µs), once per instruction per test.
BINARY_TRUEDIV, LOAD_CONST, UNARY_FLOAT = Op.BINARY_TRUEDIV, Op.LOAD_CONST, Op.UNARY_FLOAT
UNARY_INT = Op.UNARY_INT
ONE, HALF, TWO52, INF = word(1.0), word(0.5), word(2.0**52), word(float("inf"))
SIGN = -(2**63)  # the sign bit of a double, as an int64


def float_site(op: Op, kinds: tuple, consts: list, arg: int) -> bool:
    """Whether the instruction needs its float template: a float constant, or an opcode
    with a float form that has a float operand (`/`, `float()`, `int()` always do)."""
    if op == LOAD_CONST:
        return type(consts[arg]) is float
    if op in (BINARY_TRUEDIV, UNARY_FLOAT, UNARY_INT):
        return True
    return op in FLOAT_FORMS and FLOAT in kinds


def float_guarded(op: Op, kinds: tuple) -> bool:
    """A float form that may deopt where the int form does not: comparing an int with a
    float (exact only while the int converts exactly)."""
    return op in COMPARES and FLOAT in kinds and len(set(kinds)) > 1


def libm(name: str) -> int:
    """The address of C's `name` (fmod, pow): CPython's float operators call the same."""
    library = ctypes.CDLL(ctypes.util.find_library("m") or None)
    return ctypes.cast(getattr(library, name), ctypes.c_void_p).value


def call_libm(s: Site, name: str) -> None:
    """xmm0 = name(xmm0, xmm1), C's; afterwards xmm2 holds x and xmm1 y again. Saves the
    caller-saved registers that may hold locals; rsp stays 16-byte aligned."""
    a = s.a
    a.sub(rsp, 48).movsd(qword(rsp), xmm0).movsd(qword(rsp, 8), xmm1)
    for k, reg in enumerate((rdi, r8, r9, r10)):
        a.mov(qword(rsp, 16 + 8 * k), reg)
    a.mov(rax, libm(name)).call(rax)
    for k, reg in enumerate((rdi, r8, r9, r10)):
        a.mov(reg, qword(rsp, 16 + 8 * k))
    a.movsd(xmm2, qword(rsp)).movsd(xmm1, qword(rsp, 8)).add(rsp, 48)


def cached(*ops: Op) -> Callable[[Cached], Cached]:
    def register(fn: Cached) -> Cached:
        for op in ops:
            FLOAT_CACHED[op] = fn
        return fn

    return register


def plain(c_template: Cached) -> Callable[[Site], None]:
    """The stack template: the cached one with every operand in its slot, the result
    written back to its slot."""

    def emit(s: Site) -> None:
        c = OperandCache(s.a, s.nlocals)
        c.depth = s.depth
        c_template(c, s)
        c.flush()

    emit.__doc__ = c_template.__doc__
    return emit


# --- operands ---------------------------------------------------------------------------------


def to_xmm(c: OperandCache, xmm: Reg, e: Entry, kind: str) -> None:
    """Emit code leaving operand `e` (of `kind`) in `xmm` as a double: a float's bits are
    moved, an int or bool converted (`cvtsi2sd` rounds as Python's int -> float), a
    constant converted now."""
    a = c.a
    if e[0] == "imm":
        bits = e[1] if kind == FLOAT else word(float(e[1]))
        if bits == 0:
            a.xorpd(xmm, xmm)
        else:
            a.mov(r11, bits).movq(xmm, r11)
        return
    src = c.source(e)
    if kind != FLOAT:
        a.cvtsi2sd(xmm, src)
    elif isinstance(src, Reg):
        a.movq(xmm, src)
    else:
        a.movsd(xmm, src)


def exactly(c: OperandCache, s: Site, e: Entry, kind: str, xmm: Reg) -> None:
    """Deopt unless int operand `e` equals its double in `xmm` (|e| > 2**53 may not: then
    Python compares and divides the exact int, and the interpreter does it)."""
    if kind == FLOAT:
        return
    if e[0] == "imm":
        if float(e[1]) != e[1]:
            c.a.jmp(s.deopt)
        return
    c.a.cvttsd2si(r11, xmm).cmp(r11, c.source(e)).jne(s.deopt)


def zero_divisor(c: OperandCache, s: Site, xmm: Reg) -> None:
    """Deopt when the double in `xmm` is +0.0 or -0.0: the interpreter raises
    ZeroDivisionError with the message of the running CPython."""
    c.a.movq(r11, xmm).add(r11, r11).jz(s.deopt)  # the bits but the sign are all zero


def result(c: OperandCache, pops: int, xmm: Reg = xmm0) -> None:
    c.a.movq(rax, xmm)
    c.drop(pops)
    c.push(("reg", rax))


def load_double(a, xmm: Reg, bits: int) -> None:
    a.mov(r11, bits).movq(xmm, r11)


# --- arithmetic -------------------------------------------------------------------------------


@cached(Op.LOAD_CONST)
def load_const(c: OperandCache, s: Site) -> None:
    """A float constant is an immediate: its bits."""
    c.push(("imm", word(s.consts[s.arg])))


SSE = {Op.BINARY_ADD: "addsd", Op.BINARY_SUB: "subsd", Op.BINARY_MUL: "mulsd",
       Op.BINARY_TRUEDIV: "divsd"}  # fmt: skip


@cached(*SSE)
def arithmetic(c: OperandCache, s: Site) -> None:
    """`addsd`/`subsd`/`mulsd`/`divsd` on the two operands as doubles. `/` deopts on a zero
    divisor, and on ints that a double does not hold exactly (Python divides exact ints)."""
    c.spill_registers(keep=2)
    right, left = c.at(1), c.at(2)
    lk, rk = s.kinds
    a = s.a
    divide = s.op == Op.BINARY_TRUEDIV
    if divide:
        c.stub(s.pc)
    to_xmm(c, xmm0, left, lk)
    if rk == FLOAT and isinstance(c.source(right), Mem) and not divide:
        a.emit(SSE[s.op], xmm0, c.source(right))  # addsd xmm0, [slot]
    else:
        to_xmm(c, xmm1, right, rk)
        if divide:
            zero_divisor(c, s, xmm1)
            if FLOAT not in (lk, rk):
                exactly(c, s, left, lk, xmm0)
                exactly(c, s, right, rk, xmm1)
        a.emit(SSE[s.op], xmm0, xmm1)
    result(c, 2)


@cached(Op.BINARY_FLOORDIV, Op.BINARY_MOD)
def floor_division(c: OperandCache, s: Site) -> None:
    """CPython's float // and %: mod = fmod(x, y) (C's, called), moved to the divisor's
    sign; x // y = (x - mod) / y, made integral by floor and rounded to the nearest. A zero
    divisor deopts."""
    c.flush()  # a call: values held in rax, rcx, rdx would not survive it
    c.stub(s.pc)
    lk, rk = s.kinds
    a, label = s.a, s.label
    to_xmm(c, xmm0, c.at(2), lk)
    to_xmm(c, xmm1, c.at(1), rk)
    zero_divisor(c, s, xmm1)
    call_libm(s, "fmod")  # xmm0 = fmod(x, y): the exact remainder
    a.movsd(xmm3, xmm2).subsd(xmm3, xmm0).divsd(xmm3, xmm1)  # div = (x - mod) / y
    a.movq(r11, xmm0).add(r11, r11).jz(label("mod0"))
    a.xorpd(xmm4, xmm4).ucomisd(xmm4, xmm1).seta(al)  # y < 0
    a.ucomisd(xmm4, xmm0).seta(cl).cmp(al, cl).je(label("moved"))  # (y < 0) == (mod < 0)
    load_double(a, xmm4, ONE)
    a.addsd(xmm0, xmm1).subsd(xmm3, xmm4).jmp(label("moved"))  # mod += y; div -= 1
    a.label(label("mod0")).movq(r11, xmm1).shr(r11, 63).shl(r11, 63)  # copysign(0.0, y)
    a.movq(xmm0, r11)
    a.label(label("moved"))
    if s.op == Op.BINARY_FLOORDIV:
        floor_quotient(s)
    result(c, 2)


def floor_quotient(s: Site) -> None:
    """xmm0 = floor(div) for div in xmm3, as CPython rounds it: +1 when div is more than
    half above its floor; copysign(0.0, x / y) when div is 0 (x in xmm2, y in xmm1)."""
    a, label = s.a, s.label
    a.movq(r11, xmm3).add(r11, r11).jz(label("div0"))
    a.movq(r11, xmm3).shl(r11, 1).shr(r11, 1).movq(xmm4, r11)  # |div|
    load_double(a, xmm5, TWO52)
    a.ucomisd(xmm5, xmm4).jbe(label("integral"))  # |div| >= 2**52, inf or nan: floor(div)
    a.cvttsd2si(r11, xmm3).cvtsi2sd(xmm4, r11)  # toward zero ...
    a.ucomisd(xmm4, xmm3).jbe(label("rounded"))
    load_double(a, xmm5, ONE)
    a.subsd(xmm4, xmm5).jmp(label("rounded"))  # ... and down, for a negative div
    a.label(label("integral")).movsd(xmm4, xmm3)
    a.label(label("rounded")).movsd(xmm5, xmm3).subsd(xmm5, xmm4)
    load_double(a, xmm0, HALF)
    a.ucomisd(xmm5, xmm0).jbe(label("floored"))  # div - floor(div) > 0.5: one more
    load_double(a, xmm5, ONE)
    a.addsd(xmm4, xmm5)
    a.label(label("floored")).movsd(xmm0, xmm4).jmp(label("quotient"))
    a.label(label("div0")).movsd(xmm0, xmm2).divsd(xmm0, xmm1)
    a.movq(r11, xmm0).shr(r11, 63).shl(r11, 63).movq(xmm0, r11)
    a.label(label("quotient"))


@cached(Op.BINARY_POW)
def power(c: OperandCache, s: Site) -> None:
    """x ** y for a finite x > 0 and a finite y is C's pow(x, y), as in CPython; every
    other case (a negative or zero base, inf, nan: CPython's special cases, complex results,
    errors) and a result that overflows to inf (OverflowError) deopt."""
    c.flush()  # a call, as for %
    c.stub(s.pc)
    lk, rk = s.kinds
    a = s.a
    to_xmm(c, xmm0, c.at(2), lk)
    to_xmm(c, xmm1, c.at(1), rk)
    load_double(a, xmm3, INF)
    a.xorpd(xmm2, xmm2).ucomisd(xmm0, xmm2).jbe(s.deopt)  # x <= 0 or nan
    a.ucomisd(xmm3, xmm0).jbe(s.deopt)  # x == inf
    a.movq(r11, xmm1).shl(r11, 1).shr(r11, 1).movq(xmm2, r11)  # |y|
    a.ucomisd(xmm3, xmm2).jbe(s.deopt)  # y is inf or nan
    call_libm(s, "pow")
    load_double(a, xmm3, INF)
    a.ucomisd(xmm0, xmm3).je(s.deopt)  # overflowed: the VM raises OverflowError
    result(c, 2)


@cached(Op.UNARY_NEG, Op.UNARY_ABS)
def sign(c: OperandCache, s: Site) -> None:
    """-x flips the sign bit, abs(x) clears it (NaN and -0.0 included, as CPython)."""
    e = c.at(1)
    if e[0] == "imm":
        c.drop(1)
        c.push(("imm", e[1] ^ SIGN if s.op == Op.UNARY_NEG else e[1] & ~SIGN))
        return
    c.spill_registers(keep=1)
    c.load(rax, e)
    if s.op == Op.UNARY_NEG:
        s.a.mov(r11, SIGN).xor(rax, r11)
    else:
        s.a.shl(rax, 1).shr(rax, 1)
    c.drop(1)
    c.push(("reg", rax))


@cached(Op.UNARY_FLOAT)
def to_float(c: OperandCache, s: Site) -> None:
    """float(x): an int converted with `cvtsi2sd`, a float as it is."""
    (kind,) = s.kinds
    e = c.at(1)
    if kind == FLOAT:
        return
    if e[0] == "imm":
        c.drop(1)
        c.push(("imm", word(float(e[1]))))
        return
    c.spill_registers(keep=1)
    to_xmm(c, xmm0, e, kind)
    result(c, 1)


@cached(Op.UNARY_INT)
def to_int(c: OperandCache, s: Site) -> None:
    """int(x) truncates (`cvttsd2si`); inf, nan and anything past int64, for which the
    instruction gives 0x8000000000000000, deopt: the interpreter raises or makes the big
    int. An int or bool is itself."""
    (kind,) = s.kinds
    if kind != FLOAT:
        return
    c.spill_registers(keep=1)
    c.stub(s.pc)
    to_xmm(c, xmm0, c.at(1), kind)
    s.a.cvttsd2si(r11, xmm0).neg(r11).jo(s.deopt).neg(r11).mov(rax, r11)
    c.drop(1)
    c.push(("reg", rax))


@cached(Op.BINARY_MIN, Op.BINARY_MAX)
def min_max(c: OperandCache, s: Site) -> None:
    """min(a, b) is b only if b < a, max(a, b) only if b > a: a NaN compares false, so the
    first operand stays (as CPython's min and max)."""
    c.spill_registers(keep=2)
    right, left = c.at(1), c.at(2)
    first, second = (rcx, rax) if right == ("reg", rax) or left == ("reg", rcx) else (rax, rcx)
    c.load(first, left)
    c.load(second, right)
    a = s.a
    a.movq(xmm0, first).movq(xmm1, second)
    if s.op == Op.BINARY_MIN:
        a.ucomisd(xmm0, xmm1)  # a > b, ordered
    else:
        a.ucomisd(xmm1, xmm0)  # b > a, ordered
    a.cmova(first, second)
    c.drop(2)
    c.push(("reg", first))


# --- compares and branches -----------------------------------------------------------------

# op -> (operands swapped, the flag condition that means true); == and != also read PF
ORDERED = {Op.COMPARE_LT: (True, "a"), Op.COMPARE_LE: (True, "ae"), Op.COMPARE_GT: (False, "a"),
           Op.COMPARE_GE: (False, "ae"), Op.COMPARE_EQ: (False, "e"),
           Op.COMPARE_NE: (False, "ne")}  # fmt: skip


def ucomisd(c: OperandCache, s: Site) -> None:
    """Set the flags for the compare at `s`; ints compared with floats deopt unless exact."""
    c.spill_registers(keep=2)
    right, left = c.at(1), c.at(2)
    lk, rk = s.kinds
    if float_guarded(s.op, s.kinds):
        c.stub(s.pc)
    to_xmm(c, xmm0, left, lk)
    to_xmm(c, xmm1, right, rk)
    exactly(c, s, left, lk, xmm0)
    exactly(c, s, right, rk, xmm1)
    swapped = ORDERED[s.op][0]
    s.a.ucomisd(xmm1, xmm0) if swapped else s.a.ucomisd(xmm0, xmm1)
    c.drop(2)


@cached(*COMPARES)
def compare_value(c: OperandCache, s: Site) -> None:
    """A bool from `ucomisd`: unordered (a NaN) sets ZF, PF and CF, so < <= > >= test
    `a`/`ae` with the operands ordered to suit, == needs PF clear and != takes PF set."""
    ucomisd(c, s)
    condition, a = ORDERED[s.op][1], s.a
    a.emit(f"set{condition}", al)
    if s.op == Op.COMPARE_EQ:
        a.setnp(cl).and_(al, cl)
    elif s.op == Op.COMPARE_NE:
        a.setp(cl).or_(al, cl)
    a.movzx(eax, al)
    c.push(("reg", rax))


def compare_and_branch(c: OperandCache, s: Site, jump: Op, target: int) -> None:
    """A float compare and the JUMP_IF_FALSE/TRUE after it: `ucomisd` and one or two jcc."""
    ucomisd(c, s)
    c.flush()  # movs only: the flags survive
    a, to = s.a, s.target(target)
    taken = jump == Op.JUMP_IF_TRUE
    if s.op == Op.COMPARE_EQ and taken or s.op == Op.COMPARE_NE and not taken:
        a.jp(s.label("unordered")).je(to).label(s.label("unordered"))  # equal, ordered
    elif s.op in (Op.COMPARE_EQ, Op.COMPARE_NE):
        a.jne(to).jp(to)  # not equal, or unordered
    else:
        condition = ORDERED[s.op][1]
        a.emit(f"j{condition}" if taken else {"a": "jbe", "ae": "jb"}[condition], to)


def truth(c: OperandCache, s: Site) -> Entry | None:
    """Set ZF when the float on top is 0.0 or -0.0 (a NaN is true); a constant: None, and
    its truth is known now."""
    e = c.at(1)
    c.drop(1)
    if e[0] == "imm":
        return e
    c.load(r11, e)
    s.a.add(r11, r11)
    return None


@cached(Op.JUMP_IF_FALSE, Op.JUMP_IF_TRUE)
def conditional_jump(c: OperandCache, s: Site) -> None:
    known = truth(c, s)
    c.flush()
    if known is not None:
        if (known[1] & ~SIGN != 0) == (s.op == Op.JUMP_IF_TRUE):
            s.a.jmp(s.target(s.arg))
        return
    s.a.emit("jne" if s.op == Op.JUMP_IF_TRUE else "je", s.target(s.arg))


@cached(Op.UNARY_NOT)
def not_(c: OperandCache, s: Site) -> None:
    c.spill_registers(keep=1)
    known = truth(c, s)
    if known is not None:
        c.push(("imm", int(known[1] & ~SIGN == 0)))
        return
    s.a.sete(al).movzx(eax, al)
    c.push(("reg", rax))


FLOAT_FUSED = {op: compare_and_branch for op in COMPARES}
FLOAT_TEMPLATES = {op: plain(fn) for op, fn in FLOAT_CACHED.items()}
# `/`, float() and int() have only float forms: they are the templates of their opcodes
for _op, _guarded in ((Op.BINARY_TRUEDIV, True), (Op.UNARY_FLOAT, False), (Op.UNARY_INT, True)):
    template(_op, guarded=_guarded)(FLOAT_TEMPLATES[_op])
