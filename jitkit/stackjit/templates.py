"""One machine-code template per kit opcode (notebook 05).

Takes one instruction and where its operands live; emits x86-64 with the kit's assembler.
The operand stack is not the machine stack: the verifier knows the stack depth before every
instruction, so stack slot j is a fixed frame slot and `BINARY_ADD` at depth d reads slots
d-2 and d-1 and writes d-2. Every int64 operation that could differ from Python (overflow,
division by zero, INT64_MIN // -1) jumps to the instruction's deopt stub *before* it changes
anything, so the interpreter can redo the instruction with exact Python ints.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from jitkit.bytecode.opcodes import OPCODES, Op
from jitkit.jitrt.layout import CTX_PRINT
from jitkit.jitrt.types import word
from jitkit.x86 import Assembler, Mem, al, eax, edx, qword, r14, r15, rax, rbp, rcx, rdi, rdx, rsi
from jitkit.x86 import byte as byte_ptr


@dataclass
class Site:
    """Everything a template needs about its instruction."""

    a: Assembler
    fn: str  # label prefix of the function
    pc: int
    op: Op
    arg: int
    depth: int  # stack depth before the instruction
    nlocals: int
    consts: list
    constant: int | None = None  # the top of the stack, when a LOAD_CONST just pushed it
    kinds: tuple = ()  # float templates: "int", "bool" or "float" per operand, deepest first
    callee: str | None = None  # CALL: the function called (known from the types)
    print_site: int = 0  # PRINT: index of this print in the runtime's table
    element: str | None = None  # a list opcode: its list's element kind (`lists.py`)

    def local(self, i: int) -> Mem:
        """Local i lives at [rbp - 8(i+1)]."""
        return qword(rbp, -8 * (i + 1))

    def slot(self, j: int) -> Mem:
        """Stack slot j (0 = bottom) lives below the locals; negative j counts from the top."""
        j = self.depth + j if j < 0 else j
        return qword(rbp, -8 * (self.nlocals + j + 1))

    def label(self, what: str) -> str:
        return f"{self.fn}.{self.pc}.{what}"

    @property
    def deopt(self) -> str:
        """Label of this instruction's deopt stub: hands the frame, as it is before this
        instruction, to the interpreter."""
        return f"{self.fn}.deopt.{self.pc}"

    def target(self, pc: int) -> str:
        return f"{self.fn}.pc{pc}"


Template = Callable[[Site], None]
TEMPLATES: dict[Op, Template] = {}
# opcodes whose template may jump to the deopt stub: the table's `deopt` column, the one truth
GUARDED: frozenset[Op] = frozenset(op for op, info in OPCODES.items() if info.deopt)


def template(*ops: Op, guarded: bool = False) -> Callable[[Template], Template]:
    def register(fn: Template) -> Template:
        for op in ops:
            if guarded != (op in GUARDED):  # a template's claim must agree with the table
                raise AssertionError(f"{op.name}: guarded={guarded}, the opcode table says not")
            TEMPLATES[op] = fn
        return fn

    return register


# --- data movement ----------------------------------------------------------------------------


@template(Op.LOAD_CONST)
def emit_load_const(s: Site) -> None:
    value = s.consts[s.arg]
    if isinstance(value, float):  # a float is its IEEE 754 bits
        value = word(value)
    if isinstance(value, int):  # bools are 0 and 1; strings and None live in the types only
        s.a.mov(rax, int(value)).mov(s.slot(s.depth), rax)


@template(Op.LOAD_LOCAL)
def emit_load_local(s: Site) -> None:
    s.a.mov(rax, s.local(s.arg)).mov(s.slot(s.depth), rax)


@template(Op.STORE_LOCAL)
def emit_store_local(s: Site) -> None:
    s.a.mov(rax, s.slot(-1)).mov(s.local(s.arg), rax)


@template(Op.LOAD_FUNC, Op.POP, Op.UNARY_POS)
def emit_nothing(s: Site) -> None:
    """The callee is known statically; POP and +x only change the depth or the type."""


@template(Op.DUP, Op.COPY)
def emit_copy(s: Site) -> None:
    source = -1 if s.arg == 0 else -s.arg  # DUP has no operand: it copies the top
    s.a.mov(rax, s.slot(source)).mov(s.slot(s.depth), rax)


@template(Op.SWAP)
def emit_swap(s: Site) -> None:
    s.a.mov(rax, s.slot(-1)).mov(rcx, s.slot(-s.arg))
    s.a.mov(s.slot(-1), rcx).mov(s.slot(-s.arg), rax)


# --- arithmetic: guarded ------------------------------------------------------------------------


@template(Op.BINARY_ADD, Op.BINARY_SUB, Op.BINARY_MUL, guarded=True)
def emit_checked_arithmetic(s: Site) -> None:
    op = {Op.BINARY_ADD: "add", Op.BINARY_SUB: "sub", Op.BINARY_MUL: "imul"}[s.op]
    s.a.mov(rax, s.slot(-2)).emit(op, rax, s.slot(-1)).jo(s.deopt).mov(s.slot(-2), rax)


@template(Op.BINARY_FLOORDIV, Op.BINARY_MOD, guarded=True)
def emit_floor_division(s: Site) -> None:
    """idiv truncates toward zero; Python floors, so adjust when the remainder's sign differs
    from the divisor's. x // 0 and INT64_MIN // -1 (which traps in idiv) deopt."""
    a, floor = s.a, s.op == Op.BINARY_FLOORDIV
    k = s.constant
    if k is not None and 0 < k < 2**31 and k & (k - 1) == 0:  # a power of two
        # Python floors, and so do shifts: x // 2**n == x >> n, x % 2**n == x & (2**n - 1),
        # for negative x too. No idiv, nothing that can fail.
        a.mov(rax, s.slot(-2))
        a.sar(rax, k.bit_length() - 1) if floor else a.and_(rax, k - 1)
        a.mov(s.slot(-2), rax)
        return
    a.mov(rax, s.slot(-2)).mov(rcx, s.slot(-1))
    floor_divide(s, floor, guarded=True)
    a.mov(s.slot(-2), rax)


def floor_divide(s: Site, floor: bool, guarded: bool) -> None:
    """rax // rcx (or rax % rcx) into rax, floored as Python does: idiv truncates, so adjust
    when the remainder's sign differs from the divisor's. `guarded`: rcx may be 0 (deopt) or
    -1 (INT64_MIN // -1 traps in idiv: negate with an overflow check instead). Ends at the
    label "store"; the stack template and the operand-cache template both use it."""
    a = s.a
    if guarded:
        a.test(rcx, rcx).jz(s.deopt)
        a.cmp(rcx, -1).jne(s.label("divide"))
        if floor:
            a.neg(rax).jo(s.deopt).jmp(s.label("store"))  # x // -1 == -x
        else:
            a.xor(eax, eax).jmp(s.label("store"))  # x % -1 == 0
    a.label(s.label("divide")).cqo().idiv(rcx)
    if not floor:
        a.mov(rax, rdx)
    a.test(rdx, rdx).jz(s.label("store"))
    a.xor(rdx, rcx).jns(s.label("store"))  # same signs: truncation already floored
    a.dec(rax) if floor else a.add(rax, rcx)
    a.label(s.label("store"))


@template(Op.BINARY_POW, guarded=True)
def emit_power(s: Site) -> None:
    """Square-and-multiply; a negative exponent or any overflow deopts."""
    a = s.a
    a.mov(rcx, s.slot(-2)).mov(rdx, s.slot(-1)).mov(eax, 1)
    a.test(rdx, rdx).js(s.deopt)
    a.label(s.label("loop")).test(rdx, rdx).jz(s.label("done"))
    a.test(rdx, 1).jz(s.label("square"))
    a.imul(rax, rcx).jo(s.deopt)
    a.label(s.label("square")).shr(rdx, 1).jz(s.label("done"))
    a.imul(rcx, rcx).jo(s.deopt).jmp(s.label("loop"))
    a.label(s.label("done")).mov(s.slot(-2), rax)


@template(Op.UNARY_NEG, guarded=True)
def emit_negate(s: Site) -> None:
    s.a.mov(rax, s.slot(-1)).neg(rax).jo(s.deopt).mov(s.slot(-1), rax)


@template(Op.UNARY_ABS, guarded=True)
def emit_absolute(s: Site) -> None:
    s.a.mov(rax, s.slot(-1)).test(rax, rax).jns(s.label("done"))
    s.a.neg(rax).jo(s.deopt)
    s.a.label(s.label("done")).mov(s.slot(-1), rax)


@template(Op.BINARY_MIN, Op.BINARY_MAX)
def emit_min_max(s: Site) -> None:
    """min(a, b) is b only if b < a; max(a, b) is b only if b > a (ties keep a, as Python)."""
    s.a.mov(rax, s.slot(-2)).mov(rcx, s.slot(-1)).cmp(rcx, rax)
    s.a.emit("cmovl" if s.op == Op.BINARY_MIN else "cmovg", rax, rcx).mov(s.slot(-2), rax)


# --- comparisons and branches ----------------------------------------------------------------

CONDITION = {Op.COMPARE_LT: "l", Op.COMPARE_LE: "le", Op.COMPARE_EQ: "e", Op.COMPARE_NE: "ne",
             Op.COMPARE_GT: "g", Op.COMPARE_GE: "ge"}  # fmt: skip


@template(*CONDITION)
def emit_compare(s: Site) -> None:
    s.a.mov(rax, s.slot(-2)).cmp(rax, s.slot(-1)).emit(f"set{CONDITION[s.op]}", al)
    s.a.movzx(eax, al).mov(s.slot(-2), rax)


@template(Op.UNARY_NOT)
def emit_not(s: Site) -> None:
    s.a.cmp(s.slot(-1), 0).sete(al).movzx(eax, al).mov(s.slot(-1), rax)


@template(Op.JUMP_IF_FALSE, Op.JUMP_IF_TRUE)
def emit_conditional_jump(s: Site) -> None:
    s.a.cmp(s.slot(-1), 0).emit("je" if s.op == Op.JUMP_IF_FALSE else "jne", s.target(s.arg))


@template(Op.JUMP)
def emit_jump(s: Site) -> None:
    s.a.jmp(s.target(s.arg))


@template(Op.JUMP_BACKWARD, guarded=True)
def emit_jump_backward(s: Site) -> None:
    """The loop's back-edge polls the interrupt flag (r14 points at it): Ctrl-C deopts here."""
    s.a.cmp(byte_ptr(r14), 0).jne(s.deopt).jmp(s.target(s.arg))


# --- range loops --------------------------------------------------------------------------------


@template(Op.RANGE_CHECK, guarded=True)
def emit_range_check(s: Site) -> None:
    s.a.cmp(s.slot(-1), 0).je(s.deopt)  # range(..., 0): the interpreter raises ValueError


@template(Op.RANGE_TEST)
def emit_range_test(s: Site) -> None:
    a = s.a
    a.mov(rax, s.slot(-3)).cmp(s.slot(-1), 0).jle(s.label("down"))
    a.cmp(rax, s.slot(-2)).setl(al).jmp(s.label("done"))
    a.label(s.label("down")).cmp(rax, s.slot(-2)).setg(al)
    a.label(s.label("done")).movzx(eax, al).mov(s.slot(-3), rax)


# --- calls, printing, returning -------------------------------------------------------------------


@template(Op.CALL, guarded=True)
def emit_call(s: Site) -> None:
    """Arguments are slots depth-argc .. depth-1; the callee reads them through rdi, going
    down. A non-zero status in edx means the callee deopted: this frame unwinds too."""
    callee = s.callee
    s.a.lea(rdi, s.slot(-s.arg) if s.arg else s.slot(s.depth)).call(f"{callee}.entry")
    s.a.test(edx, edx).jnz(s.label("unwind"))
    s.a.mov(s.slot(-s.arg - 1), rax)


@template(Op.PRINT)
def emit_print(s: Site) -> None:
    """Calls back into Python (the context's `print`), which formats with the types and
    writes sys.stdout, so prints land in the notebook in order with Python's own."""
    s.a.mov(rdi, s.print_site).lea(rsi, s.slot(-s.arg - 2)).call(qword(r15, CTX_PRINT))


@template(Op.RETURN)
def emit_return(s: Site) -> None:
    s.a.mov(rax, s.slot(-1)).xor(edx, edx).jmp(f"{s.fn}.epilogue")


def template_code(op: Op, arg: int = 0, depth: int = 2, constant: int | None = None):
    """One opcode's template on its own, for looking at: an instruction at stack depth
    `depth` in a function with no locals. Jumps to code outside it (deopt stubs, jump
    targets) stay unresolved and show as relocations."""
    a = Assembler()
    consts = [constant if constant is not None else 7]
    site = Site(a, "f", 0, op, arg, depth, 0, consts, constant=constant, callee="g")
    TEMPLATES[op](site)
    return a.assemble(externals=True)
