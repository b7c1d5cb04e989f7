"""The kit's cached templates: the cheap wins of a template JIT (notebook 05).

Takes one instruction (a `Site`) and the `OperandCache` of its function; emits what the
template in `templates.py` emits, but with operands read where the cache keeps them
(immediates, locals in place, a register), results left in a register, a compare (or a range
test) and the conditional jump after it fused into one `cmp` and one `jcc`, and division by a
constant done without `idiv`. A guard records what its deopt stub must write, so the
interpreter gets the frame exactly as it was before the guarded instruction.
"""

from __future__ import annotations

from collections.abc import Callable

from jitkit.bytecode.opcodes import Op
from jitkit.stackjit.cache import IMM32, Entry, OperandCache, store
from jitkit.stackjit.templates import CONDITION, Site, floor_divide
from jitkit.x86 import Mem, Reg, al, eax, edx, rax, rcx, rdi, rdx, rsi

NEGATE = {"l": "ge", "le": "g", "e": "ne", "ne": "e", "g": "le", "ge": "l"}

Cached = Callable[[OperandCache, Site], None]
CACHED: dict[Op, Cached] = {}


def cached(*ops: Op) -> Callable[[Cached], Cached]:
    def register(fn: Cached) -> Cached:
        for op in ops:
            CACHED[op] = fn
        return fn

    return register


@cached(Op.LOAD_CONST)
def load_const(c: OperandCache, s: Site) -> None:
    value = s.consts[s.arg]
    c.push(("imm", int(value)) if type(value) in (int, bool) else None)


@cached(Op.LOAD_LOCAL)
def load_local(c: OperandCache, s: Site) -> None:
    c.push(("local", s.arg))


@cached(Op.LOAD_FUNC)
def load_func(c: OperandCache, s: Site) -> None:
    c.push(None)


@cached(Op.POP)
def pop(c: OperandCache, s: Site) -> None:
    c.drop(1)


@cached(Op.UNARY_POS)
def unary_pos(c: OperandCache, s: Site) -> None:
    """+x is x."""


@cached(Op.STORE_LOCAL)
def store_local(c: OperandCache, s: Site) -> None:
    value = c.at(1)
    c.drop(1)
    for j, e in list(c.pending.items()):  # values still read from this local: write them out
        if e == ("local", s.arg):
            c.write(j)
    if value != ("local", s.arg):
        store(c.a, c.local(s.arg), value, c)


@cached(Op.DUP, Op.COPY)
def copy(c: OperandCache, s: Site) -> None:
    e = c.at(1 if s.op == Op.DUP else s.arg)
    if e[0] in ("imm", "local"):
        c.push(e)
        return
    c.spill_registers()
    c.push(("reg", c.load(rax, c.at(1 if s.op == Op.DUP else s.arg))))


@cached(Op.SWAP)
def swap(c: OperandCache, s: Site) -> None:
    top, other = c.at(1), c.at(s.arg)
    if top[0] == "slot" or other[0] == "slot":
        c.flush()
        s.a.mov(rax, c.slot(c.depth - 1)).mov(rcx, c.slot(c.depth - s.arg))
        s.a.mov(c.slot(c.depth - 1), rcx).mov(c.slot(c.depth - s.arg), rax)
        return
    c.pending[c.depth - 1], c.pending[c.depth - s.arg] = other, top


def free_register(*operands: Entry) -> Reg:
    """rax, or rcx when an operand is in rax: a guard needs its operands intact."""
    return rcx if ("reg", rax) in operands else rax


@cached(Op.BINARY_ADD, Op.BINARY_SUB, Op.BINARY_MUL)
def checked_arithmetic(c: OperandCache, s: Site) -> None:
    """Like the template, with the left operand loaded straight into a register and the right
    one read where it is (an immediate, a local); the overflow guard keeps both intact."""
    c.spill_registers(keep=2)
    right, left = c.at(1), c.at(2)
    c.stub(s.pc)
    a, res = s.a, free_register(left, right)
    if s.op != Op.BINARY_SUB and left[0] == "imm" and right[0] != "imm":
        left, right = right, left  # commutative: the constant becomes the immediate
    c.load(res, left)
    src = c.operand(right)
    if s.op == Op.BINARY_MUL:
        a.imul(res, res, src) if isinstance(src, int) else a.imul(res, src)
    else:
        a.emit("add" if s.op == Op.BINARY_ADD else "sub", res, src)
    a.jo(s.deopt)
    c.drop(2)
    c.push(("reg", res))


def compare(c: OperandCache, left: Entry, right: Entry) -> None:
    """Emit `cmp left, right`; flags only, every register but rax, rcx and r11 kept."""
    lhs = c.source(left)
    if left[0] == "imm" or lhs is None:
        lhs = c.load(rcx if right == ("reg", rax) else rax, left)
    rhs = c.operand(right)
    if isinstance(lhs, Mem) and isinstance(rhs, Mem):
        lhs = c.load(rcx if right == ("reg", rax) else rax, left)
    c.a.cmp(lhs, rhs)


@cached(*CONDITION)
def compare_value(c: OperandCache, s: Site) -> None:
    c.spill_registers(keep=2)
    compare(c, c.at(2), c.at(1))
    s.a.emit(f"set{CONDITION[s.op]}", al).movzx(eax, al)
    c.drop(2)
    c.push(("reg", rax))


def compare_and_branch(c: OperandCache, s: Site, jump: Op, target: int) -> None:
    """A compare and the JUMP_IF_FALSE/TRUE after it: one cmp, one jcc, no bool."""
    c.spill_registers(keep=2)
    compare(c, c.at(2), c.at(1))
    c.drop(2)
    c.flush()  # movs only: the flags survive
    condition = CONDITION[s.op] if jump == Op.JUMP_IF_TRUE else NEGATE[CONDITION[s.op]]
    s.a.emit(f"j{condition}", s.target(target))


def range_test_and_branch(c: OperandCache, s: Site, jump: Op, target: int) -> None:
    """RANGE_TEST and the jump after it: i < stop going up, i > stop going down (the step's
    sign decides, at compile time when the step is a constant)."""
    c.spill_registers()
    i, stop, step = c.at(3), c.at(2), c.at(1)
    c.drop(3)
    c.flush()
    a = s.a
    c.load(rax, i)
    limit = c.operand(stop)
    taken = s.target(target)

    def test(going_up: bool) -> None:
        a.cmp(rax, limit)
        if jump == Op.JUMP_IF_TRUE:
            a.emit("jl" if going_up else "jg", taken)
        else:
            a.emit("jge" if going_up else "jle", taken)

    if step[0] == "imm":
        test(step[1] > 0)
        return
    a.cmp(c.source(step), 0).jle(s.label("down"))
    test(True)
    a.jmp(s.label("on")).label(s.label("down"))
    test(False)
    a.label(s.label("on"))


def conditional_jump(c: OperandCache, s: Site) -> None:
    e = c.at(1)
    c.drop(1)
    if e[0] == "imm":
        c.flush()
        if bool(e[1]) == (s.op == Op.JUMP_IF_TRUE):
            s.a.jmp(s.target(s.arg))
        return
    src = c.source(e)
    s.a.test(src, src) if isinstance(src, Reg) else s.a.cmp(src, 0)
    c.flush()
    s.a.emit("jne" if s.op == Op.JUMP_IF_TRUE else "je", s.target(s.arg))


CACHED[Op.JUMP_IF_FALSE] = CACHED[Op.JUMP_IF_TRUE] = conditional_jump


@cached(Op.BINARY_MIN, Op.BINARY_MAX)
def min_max(c: OperandCache, s: Site) -> None:
    """min(a, b) is b only if b < a; max(a, b) is b only if b > a (ties keep a, as Python)."""
    c.spill_registers(keep=2)
    right, left = c.at(1), c.at(2)
    if right == ("reg", rax):
        first, second = rcx, rax
    else:
        first, second = (rcx, rax) if left == ("reg", rcx) else (rax, rcx)
    c.load(first, left)
    c.load(second, right)
    s.a.cmp(second, first).emit("cmovl" if s.op == Op.BINARY_MIN else "cmovg", first, second)
    c.drop(2)
    c.push(("reg", first))


@cached(Op.BINARY_FLOORDIV, Op.BINARY_MOD)
def floor_division(c: OperandCache, s: Site) -> None:
    """By a constant other than 0 and -1 nothing can fail: shifts for powers of two, a
    multiplication for other positive divisors, `idiv` for negative ones. Otherwise the
    template's guarded division, with its operands read where they are."""
    c.spill_registers(keep=2)
    right, left = c.at(1), c.at(2)
    floor, a = s.op == Op.BINARY_FLOORDIV, s.a
    k = right[1] if right[0] == "imm" else None
    if k is not None and 0 < k < 2**31 and k & (k - 1) == 0:
        c.load(rax, left)
        a.sar(rax, k.bit_length() - 1) if floor else a.and_(rax, k - 1)
        result = rax
    elif k is not None and k > 1:
        result = divide_by_constant(c, left, k, floor)
    else:
        guarded = k is None or k in (0, -1)
        c.spill_registers()  # a stub that writes no register: the division may clobber them
        right, left = c.at(1), c.at(2)
        if guarded:
            c.stub(s.pc)
        c.load(rax, left)
        c.load(rcx, right)
        floor_divide(s, floor, guarded)
        result = rax
    c.drop(2)
    c.push(("reg", result))


def magic(k: int) -> tuple[int, int]:
    """(m, shift) with y // k == (y * m) >> (64 + shift) for every 0 <= y < 2**63
    (Granlund and Montgomery: m = ceil(2**(64+shift) / k), its error at most 2**(shift+1))."""
    shift = (k - 1).bit_length() - 1
    m = -(-(1 << (64 + shift)) // k)
    assert m < 2**64 and m * k - (1 << (64 + shift)) <= 1 << (shift + 1), k
    return m, shift


def divide_by_constant(c: OperandCache, left: Entry, k: int, floor: bool) -> Reg:
    """x // k for a constant k > 1: with s = x >> 63 (0 or -1), x ^ s is never negative and
    x // k == ((x ^ s) // k) ^ s (for negative x, ~x == -x - 1); the unsigned division is a
    multiplication by a magic number. x % k is x - (x // k) * k."""
    a = c.a
    m, shift = magic(k)
    c.load(rcx, left)
    a.mov(rsi, rcx).sar(rsi, 63).xor(rcx, rsi)
    a.mov(rax, m).mul(rcx)
    if shift:
        a.shr(rdx, shift)
    a.xor(rdx, rsi)
    if floor:
        return rdx
    a.xor(rcx, rsi)  # x again
    if k in IMM32:
        a.imul(rdx, rdx, k)
    else:
        a.mov(rax, k).imul(rdx, rax)
    a.sub(rcx, rdx)
    return rcx


@cached(Op.CALL)
def call(c: OperandCache, s: Site) -> None:
    """The template's call, leaving the result in rax."""
    c.flush()
    s.a.lea(rdi, c.slot(c.depth - s.arg) if s.arg else c.slot(c.depth))
    s.a.call(f"{s.callee}.entry").test(edx, edx).jnz(s.label("unwind"))
    c.drop(s.arg + 1)
    c.push(("reg", rax))


@cached(Op.RETURN)
def return_(c: OperandCache, s: Site) -> None:
    c.load(rax, c.at(1))
    c.pending.clear()
    s.a.xor(edx, edx).jmp(f"{s.fn}.epilogue")


FUSED: dict[Op, Callable[[OperandCache, Site, Op, int], None]] = {
    **{op: compare_and_branch for op in CONDITION},
    Op.RANGE_TEST: range_test_and_branch,
}
