"""x86-64 code from allocated SSA, for functions without guards (notebook 07).

Takes a `Function` and its `Allocation`; gives an assembled `jitkit.x86.Code` following
System V: integer arguments in rdi, rsi, rdx, rcx, r8, r9, the result in rax, callee-saved
registers preserved. Each instruction loads its operands into the scratch registers rax and
r11 (rcx and rdx where x86 insists), computes, and stores to its result's location; the
allocator keeps the values themselves in registers. Phi moves are parallel copies made
through the stack (push every source, then pop every destination).

Deopt (guards, `_ovf` opcodes) and `print` need the runtime of notebook 05: functions with
them raise `UnsupportedError`, as does a division that ranges cannot prove safe, since a
zero divisor would kill the kernel with SIGFPE.
"""

from __future__ import annotations

from jitkit.errors import UnsupportedError
from jitkit.ssa.ir import Const, Function, Global, Instr, Temp, Value
from jitkit.ssa.ops import I64_MIN, OPS
from jitkit.ssa.ranges import ranges
from jitkit.ssa.regalloc import Allocation, Slot
from jitkit.x86 import (
    REGISTERS,
    Assembler,
    Code,
    al,
    eax,
    qword,
    r11,
    rax,
    rbp,
    rcx,
    rdx,
    rsp,
)

ARGUMENTS = ("rdi", "rsi", "rdx", "rcx", "r8", "r9")
ALU = {"add": "add", "sub": "sub", "and": "and", "or": "or", "xor": "xor", "mul": "imul"}
SHIFTS = {"shl": "shl", "sar": "sar", "shr": "shr"}
SETCC = {"eq": "sete", "ne": "setne", "lt": "setl", "le": "setle", "gt": "setg", "ge": "setge"}


class _Emitter:
    def __init__(self, fn: Function, alloc: Allocation) -> None:
        self.fn, self.alloc, self.a = fn, alloc, Assembler()
        self.saved = alloc.used_callee_saved()
        self.frame = 8 * alloc.slots + (8 if (len(self.saved) + alloc.slots) % 2 else 0)

    def where(self, v: Value):
        """A value's operand: a register, a stack slot below the saved registers, or an int."""
        if isinstance(v, Const):
            return v.value
        loc = self.alloc.location[v]  # type: ignore[index]
        if isinstance(loc, Slot):
            return qword(rbp, -8 * (len(self.saved) + 1 + loc.index))
        return REGISTERS[loc]

    def load(self, reg, v: Value) -> None:
        self.a.mov(reg, self.where(v))

    def store(self, t: Temp, reg) -> None:
        self.a.mov(self.where(t), reg)

    def moves(self, pairs: list[tuple[Value, Temp]]) -> None:
        """Parallel copy: read every source before writing any destination."""
        for src, _ in pairs:
            self.load(rax, src)
            self.a.push(rax)
        for _, dst in reversed(pairs):
            self.a.pop(rax)
            self.store(dst, rax)

    # function ::= prologue, blocks in allocation order, epilogue at each ret
    def emit_function(self) -> Code:
        a = self.a
        a.label(f"${self.fn.name}")
        a.push(rbp)
        a.mov(rbp, rsp)
        for r in self.saved:
            a.push(REGISTERS[r])
        if self.frame:
            a.sub(rsp, self.frame)
        params = [p for _, p in self.fn.params]
        if len(params) > len(ARGUMENTS):
            raise UnsupportedError(f"${self.fn.name}: more than 6 arguments")
        for reg in ARGUMENTS[: len(params)]:
            a.push(REGISTERS[reg])
        for p in reversed(params):
            a.pop(rax)
            self.store(p, rax)
        blocks = self.fn.blockmap()
        for label, _ in self.alloc.order:
            a.label(f".{label}")
            for i in blocks[label].body:
                self.emit_instr(i)
            self.emit_term(label, blocks[label].term)  # type: ignore[arg-type]
        return a.assemble()

    def emit_instr(self, i: Instr) -> None:
        a, op = self.a, i.op
        if OPS[op].deopt or op == "print":
            raise UnsupportedError(f"${self.fn.name}: {i}: needs a runtime (deopt, print)")
        if op == "call":
            self.emit_call(i)
            return
        self.load(rax, i.args[0])
        if len(i.args) > 1:
            self.load(r11, i.args[1])
        if op in ALU:
            a.emit(ALU[op], rax, r11)
        elif op == "neg":
            a.neg(rax)
        elif op in SHIFTS:
            a.mov(rcx, r11)
            a.emit(SHIFTS[op], rax, REGISTERS["cl"])
        elif op in SETCC:
            a.cmp(rax, r11)
            a.emit(SETCC[op], al)
            a.movzx(eax, al)
        elif op == "umulh":
            a.mul(r11)
            a.mov(rax, rdx)
        elif op in ("div", "mod"):
            self.emit_division(i)
        elif op in ("udiv32", "umod32"):  # both in [0, 2**32): div r32 is several times faster
            a.xor(REGISTERS["edx"], REGISTERS["edx"])
            a.div(REGISTERS["r11d"])
            a.mov(eax, REGISTERS["edx"] if op == "umod32" else eax)
        elif op != "copy":
            raise UnsupportedError(f"${self.fn.name}: {i}: no x86 code for {op}")
        self.store(i.result, rax)  # type: ignore[arg-type]

    def emit_division(self, i: Instr) -> None:
        """idiv truncates; floor it: if the remainder is nonzero with the divisor's opposite
        sign, the quotient drops by one and the remainder gains the divisor."""
        a, n = self.a, len(self.a.items)
        a.cqo()
        a.idiv(r11)
        a.test(rdx, rdx)
        a.je(f"/floor{n}")
        a.mov(rcx, rdx)
        a.xor(rcx, r11)
        a.jns(f"/floor{n}")
        a.sub(rax, 1)
        a.add(rdx, r11)
        a.label(f"/floor{n}")
        if i.op == "mod":
            a.mov(rax, rdx)

    def emit_call(self, i: Instr) -> None:
        callee = i.args[0]
        assert isinstance(callee, Global)
        if callee.name != self.fn.name:
            raise UnsupportedError(f"${self.fn.name}: {i}: only calls to itself are linked")
        for v in i.args[1:]:
            self.load(rax, v)
            self.a.push(rax)
        for reg in reversed(ARGUMENTS[: len(i.args) - 1]):
            self.a.pop(REGISTERS[reg])
        self.a.call(f"${self.fn.name}")
        if i.result is not None:
            self.store(i.result, rax)

    def emit_term(self, label: str, t: Instr) -> None:
        a = self.a
        if t.op == "ret":
            self.load(rax, t.args[0])
            a.lea(rsp, qword(rbp, -8 * len(self.saved)))
            for r in reversed(self.saved):
                a.pop(REGISTERS[r])
            a.pop(rbp)
            a.ret()
            return
        if t.op == "br":
            self.load(rax, t.args[0])
            a.test(rax, rax)
            a.je(f".{label}/else")
            self.edge(label, t.labels[0])
            a.label(f".{label}/else")
            self.edge(label, t.labels[1])
        else:
            self.edge(label, t.labels[0])

    def edge(self, src: str, dst: str) -> None:
        """The phi moves of the edge, then the jump."""
        phis = self.fn.block(dst).phis
        self.moves([(phi.phi_value(src), phi.result) for phi in phis])  # type: ignore[misc]
        self.a.jmp(f".{dst}")


def check_divisions(fn: Function) -> None:
    """Refuse a division whose divisor may be 0 (or -1 with a dividend of INT64_MIN), or a
    32-bit one whose operands may not fit."""
    known = ranges(fn)
    for b in fn.blocks:
        for n, i in enumerate(b.body):
            if i.op in ("div", "mod", "udiv32", "umod32"):
                (lo, hi), (c, d) = (known.at(v, b.label, n) for v in i.args)
                if not (c > 0 or d < 0) or (lo == I64_MIN and c <= -1 <= d):
                    raise UnsupportedError(f"${fn.name}: {i}: the divisor may be 0 or -1")
                if i.op.endswith("32") and not (lo >= 0 and hi < 2**32 and c > 0 and d < 2**32):
                    raise UnsupportedError(f"${fn.name}: {i}: operands may not fit 32 bits")


def generate(fn: Function, alloc: Allocation) -> Code:
    """Machine code for `fn` with the registers of `alloc`; entry at offset 0."""
    check_divisions(fn)
    return _Emitter(fn, alloc).emit_function()
