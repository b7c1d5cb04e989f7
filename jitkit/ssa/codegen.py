"""x86-64 code from allocated SSA (notebook 07).

Takes a `Function` and its `Allocation`; gives machine code. `Emitter` selects instructions
for every opcode straight on the allocated locations (`add rbx, r12`, `cmp rsi, 10`), fuses
a comparison into the branch or guard that is its only use, and makes each edge's phi moves
one parallel copy (cycles broken through a scratch register). rax, rcx, rdx and r11 are never
allocated: they are the scratch registers of division, shifts and moves.

`generate` is the System V flavour on its own: arguments in rdi, rsi, rdx, rcx, r8, r9, the
result in rax, callee-saved registers preserved, and no runtime, so it refuses deopt, `print`
and calls to other functions, and a division that ranges cannot prove safe (a zero divisor
would kill the kernel with SIGFPE). `jitkit.ssa.deopt` adds the runtime of notebook 05:
deopt stubs, calls between compiled functions, printing, recursion and interrupt checks.
"""

from __future__ import annotations

from jitkit.errors import UnsupportedError
from jitkit.ssa.analysis import dominates, dominators
from jitkit.ssa.ir import Const, Function, Global, Instr, Temp, Value
from jitkit.ssa.ops import I64_MIN, OPS
from jitkit.ssa.ranges import ranges
from jitkit.ssa.regalloc import Allocation, Slot
from jitkit.x86 import REGISTERS, Assembler, Code, Mem, gpr, qword, r11, rax, rbp, rcx, rdx, rsp
from jitkit.x86.operands import Reg

ARGUMENTS = ("rdi", "rsi", "rdx", "rcx", "r8", "r9")
ALU = {"add": "add", "sub": "sub", "and": "and", "or": "or", "xor": "xor", "mul": "imul"}
ALU.update({"add_ovf": "add", "sub_ovf": "sub", "mul_ovf": "imul"})
UNDO = {"add_ovf": "sub", "sub_ovf": "add"}  # the inverse of a checked op that overflowed
SHIFTS = {"shl": "shl", "sar": "sar", "shr": "shr"}
CONDITION = {"eq": "e", "ne": "ne", "lt": "l", "le": "le", "gt": "g", "ge": "ge"}
NEGATED = {"e": "ne", "ne": "e", "l": "ge", "ge": "l", "le": "g", "g": "le"}
SWAPPED = {"e": "e", "ne": "ne", "l": "g", "g": "l", "le": "ge", "ge": "le"}
Operand = Reg | Mem | int


def imm32(x: object) -> bool:
    return isinstance(x, int) and -(2**31) <= x < 2**31


class Emitter:
    """One function's code; `prefix` makes its labels unique in a shared assembler."""

    def __init__(self, fn: Function, alloc: Allocation, a: Assembler, prefix: str) -> None:
        self.fn, self.alloc, self.a, self.prefix = fn, alloc, a, prefix
        self.saved = alloc.used_callee_saved()
        self.uses: dict[Temp, int] = {}
        for _, i in fn.instrs():
            for v in i.uses():
                if isinstance(v, Temp):
                    self.uses[v] = self.uses.get(v, 0) + 1
        self.idom = dominators(fn)
        self.order = layout(fn)  # any order will do for the allocation: none overlap
        self.blocks = fn.blockmap()
        self.fused: str | None = None  # condition code of a comparison left in the flags
        self.count = 0

    # --- locations ----------------------------------------------------------------------------

    def slot(self, index: int) -> Mem:
        """Spill slot `index`, below the saved registers."""
        return qword(rbp, -8 * (len(self.saved) + 1 + index))

    def loc(self, v: Value) -> Operand:
        """A value's operand: a register, a stack slot, or an int."""
        if isinstance(v, Const):
            return v.value
        if isinstance(v, Global):
            raise UnsupportedError(f"${self.fn.name}: {v} used as a value")
        where = self.alloc.location[v]
        return self.slot(where.index) if isinstance(where, Slot) else REGISTERS[where]

    def source(self, v: Value, scratch: Reg) -> Operand:
        """An ALU source operand: a register, memory, or an imm32 (else loaded to `scratch`)."""
        x = self.loc(v)
        if isinstance(x, int) and not imm32(x):
            self.a.mov(scratch, x)
            return scratch
        return x

    def move(self, dst: Operand, src: Operand) -> None:
        a = self.a
        if dst == src:
            return
        if isinstance(dst, Reg) and src == 0:
            a.xor(gpr(dst.code, 32), gpr(dst.code, 32))
        elif isinstance(dst, Mem) and (
            isinstance(src, Mem) or not (imm32(src) or isinstance(src, Reg))
        ):
            a.mov(r11, src).mov(dst, r11)
        else:
            a.mov(dst, src)

    def label(self, what: str) -> str:
        self.count += 1
        return f"{self.prefix}/{what}{self.count}"

    def block_label(self, label: str) -> str:
        return f"{self.prefix}@{label}"

    # --- the function -------------------------------------------------------------------------

    def emit_blocks(self) -> None:
        for n, label in enumerate(self.order):
            self.a.label(self.block_label(label))
            block = self.blocks[label]
            body = block.body
            for k, i in enumerate(body):
                following = body[k + 1] if k + 1 < len(body) else block.term
                self.emit_instr(i, following)
            nxt = self.order[n + 1] if n + 1 < len(self.order) else None
            self.emit_term(label, block.term, nxt)  # type: ignore[arg-type]

    def fusable(self, i: Instr, following: Instr | None) -> bool:
        """A comparison whose only use is the branch or guard right after it."""
        return (
            i.op in CONDITION
            and following is not None
            and following.op in ("br", "guard")
            and following.args[0] == i.result
            and self.uses.get(i.result, 0) == 1  # type: ignore[arg-type]
        )

    # instr ::= one case per opcode family
    def emit_instr(self, i: Instr, following: Instr | None) -> None:
        op = i.op
        if op in CONDITION:
            self.emit_compare(i, fuse=self.fusable(i, following))
        elif op in ALU:
            self.emit_alu(i)
        elif op in ("neg", "neg_ovf"):
            dst = self.target(i)
            self.move(dst, self.loc(i.args[0]))
            self.a.neg(dst)
            if op == "neg_ovf":
                self.a.jo(self.stub(i))
            self.move(self.loc(i.result), dst)  # type: ignore[arg-type]
        elif op in SHIFTS:
            self.emit_shift(i)
        elif op in ("copy", "zext"):  # a bool is 0 or 1 in all 64 bits already
            self.move(self.loc(i.result), self.loc(i.args[0]))  # type: ignore[arg-type]
        elif op == "umulh":
            self.a.mov(rax, self.loc(i.args[0]))
            b = self.loc(i.args[1])
            if isinstance(b, int):
                self.a.mov(r11, b)
                b = r11
            self.a.mul(b)
            self.move(self.loc(i.result), rdx)  # type: ignore[arg-type]
        elif op in ("div", "mod", "div_ovf", "mod_ovf"):
            self.emit_division(i)
        elif op in ("udiv32", "umod32"):  # both in [0, 2**32): div r32 is several times faster
            self.a.mov(rax, self.loc(i.args[0])).mov(r11, self.loc(i.args[1]))
            self.a.xor(REGISTERS["edx"], REGISTERS["edx"]).div(REGISTERS["r11d"])
            self.move(self.loc(i.result), rdx if op == "umod32" else rax)  # type: ignore[arg-type]
        elif op == "guard":
            self.emit_guard(i)
        else:
            self.emit_effect(i)

    def emit_effect(self, i: Instr) -> None:
        """`call`, `print` and anything else that needs a runtime: the tier's business."""
        if i.op == "call":
            self.emit_call(i)
            return
        raise UnsupportedError(f"${self.fn.name}: {i}: needs the tier's runtime (deopt, print)")

    def stub(self, i: Instr, undo: tuple | None = None) -> str:
        """The label of the code that deoptimizes at `i` (after the instruction `undo`)."""
        raise UnsupportedError(f"${self.fn.name}: {i}: deopt needs the tier's runtime")

    def target(self, i: Instr) -> Reg:
        """Where to compute `i`: its own register, unless that is one of its other operands
        or (for a checked op) a value the deopt stub still reads; else rax."""
        dst = self.loc(i.result)  # type: ignore[arg-type]
        if not isinstance(dst, Reg):
            return rax
        others = [self.loc(v) for v in i.args[1:]]
        if i.deopt is not None:
            others += [self.loc(v) for v in (*i.deopt.locals, *i.deopt.stack)]
        return rax if dst in others else dst

    def emit_alu(self, i: Instr) -> None:
        a, (x, y) = self.a, i.args
        if OPS[i.op].commutative and (
            isinstance(x, Const) or self.loc(y) == self.loc(i.result) != self.loc(x)  # type: ignore[arg-type]
        ):
            x, y = y, x  # the constant second (an immediate), or compute in y's register
        here, there = self.loc(i.result), self.loc(y)  # type: ignore[arg-type]
        if i.op in UNDO and isinstance(here, Reg) and here == self.loc(x) != there:
            # x ends here, in the result's register, but the deopt state still names it: add
            # in place and let the stub subtract again (two's complement undoes exactly)
            src = self.source(y, r11)
            a.emit(ALU[i.op], here, src).jo(self.stub(i, undo=(UNDO[i.op], here, src)))
            return
        if i.op in ("add", "sub") and isinstance(here, Reg) and isinstance(there, int):
            left = self.loc(x)
            if isinstance(left, Reg) and left != here and imm32(-there):
                a.lea(here, qword(left, there if i.op == "add" else -there))  # no flags needed
                return
        dst = self.target(Instr(i.op, [x, y], i.result, i.type, deopt=i.deopt))
        self.move(dst, self.loc(x))
        src = self.source(y, r11)
        if ALU[i.op] == "imul" and isinstance(src, int):
            a.imul(dst, dst, src)
        else:
            a.emit(ALU[i.op], dst, src)
        if i.op.endswith("_ovf"):
            a.jo(self.stub(i))
        self.move(self.loc(i.result), dst)  # type: ignore[arg-type]

    def emit_shift(self, i: Instr) -> None:
        x, y = i.args
        count = self.loc(y)
        if not isinstance(count, int):
            self.a.mov(rcx, count)
        dst = self.target(i)
        self.move(dst, self.loc(x))
        self.a.emit(SHIFTS[i.op], dst, count & 63 if isinstance(count, int) else REGISTERS["cl"])
        self.move(self.loc(i.result), dst)  # type: ignore[arg-type]

    def compare(self, x: Value, y: Value, cc: str) -> str:
        """`cmp` the two operands (the constant on the right); gives the condition code."""
        left, right = self.loc(x), self.loc(y)
        if isinstance(left, int):
            left, right, cc = right, left, SWAPPED[cc]
        if isinstance(left, int):
            self.a.mov(rax, left)
            left = rax
        if (
            isinstance(right, int)
            and not imm32(right)
            or isinstance(left, Mem)
            and isinstance(right, Mem)
        ):
            self.a.mov(r11, right)
            right = r11
        self.a.cmp(left, right)
        return cc

    def emit_compare(self, i: Instr, fuse: bool) -> None:
        cc = self.compare(i.args[0], i.args[1], CONDITION[i.op])
        if fuse:
            self.fused = cc
            return
        dst = self.loc(i.result)  # type: ignore[arg-type]
        reg = dst if isinstance(dst, Reg) else rax
        self.a.emit(f"set{cc}", gpr(reg.code, 8)).movzx(gpr(reg.code, 32), gpr(reg.code, 8))
        self.move(dst, reg)

    def condition(self, v: Value) -> str:
        """The condition code under which bool `v` is true (flags set here unless fused)."""
        if self.fused is not None:
            cc, self.fused = self.fused, None
            return cc
        x = self.loc(v)
        if isinstance(x, int):
            self.a.mov(rax, x)
            x = rax
        if isinstance(x, Reg):
            self.a.test(x, x)
        else:
            self.a.cmp(x, 0)
        return "ne"

    def emit_guard(self, i: Instr) -> None:
        cc = self.condition(i.args[0])
        self.a.emit(f"j{NEGATED[cc]}", self.stub(i))

    def emit_division(self, i: Instr) -> None:
        """idiv truncates; Python floors: when the remainder is nonzero and its sign differs
        from the divisor's, the quotient drops by one and the remainder gains the divisor.
        The checked forms deopt on a zero divisor and on INT64_MIN // -1 (idiv traps)."""
        a, floor = self.a, i.op.startswith("div")
        x, y = i.args
        d = self.loc(y)
        done = self.label("floor")
        a.mov(rax, self.loc(x)).mov(r11, d)
        if i.op.endswith("_ovf") and not (isinstance(d, int) and d not in (0, -1)):
            divide = self.label("divide")
            a.test(r11, r11).jz(self.stub(i))
            a.cmp(r11, -1).jne(divide)
            if floor:
                a.neg(rax).jo(self.stub(i))  # x // -1 == -x
            else:
                a.xor(REGISTERS["edx"], REGISTERS["edx"])  # x % -1 == 0
            a.jmp(done)
            a.label(divide)
        a.cqo().idiv(r11)
        a.test(rdx, rdx).je(done)
        a.mov(rcx, rdx).xor(rcx, r11).jns(done)
        if floor:
            a.sub(rax, 1)
        else:
            a.add(rdx, r11)
        a.label(done)
        self.move(self.loc(i.result), rax if floor else rdx)  # type: ignore[arg-type]

    def emit_call(self, i: Instr) -> None:
        """System V, to this function only (there is nothing else to link against)."""
        callee = i.args[0]
        assert isinstance(callee, Global)
        if callee.name != self.fn.name:
            raise UnsupportedError(f"${self.fn.name}: {i}: only calls to itself are linked")
        args = i.args[1:]
        if len(args) > len(ARGUMENTS):
            raise UnsupportedError(f"${self.fn.name}: more than 6 arguments")
        self.parallel_move(
            [(REGISTERS[r], self.loc(v)) for r, v in zip(ARGUMENTS, args, strict=False)]
        )
        self.a.call(self.entry_label())
        if i.result is not None:
            self.move(self.loc(i.result), rax)

    # --- control flow -------------------------------------------------------------------------

    def emit_term(self, label: str, t: Instr, nxt: str | None) -> None:
        a = self.a
        if t.op == "ret":
            self.emit_return(t.args[0])
            return
        if t.op == "jmp":
            self.edge(label, t.labels[0], nxt)
            return
        cc = self.condition(t.args[0])
        yes, no = t.labels
        if no == nxt and self.direct(label, yes):  # fall through into the else block
            a.emit(f"j{cc}", self.block_label(yes))
            self.edge(label, no, nxt)
        elif self.direct(label, no):
            a.emit(f"j{NEGATED[cc]}", self.block_label(no))
            self.edge(label, yes, nxt)
        elif self.direct(label, yes):
            a.emit(f"j{cc}", self.block_label(yes))
            self.edge(label, no, nxt)
        else:
            other = self.label("else")
            a.emit(f"j{NEGATED[cc]}", other)
            self.edge(label, yes, None)
            a.label(other)
            self.edge(label, no, nxt)

    def phi_moves(self, src: str, dst: str) -> list[tuple[Operand, Operand]]:
        phis = self.blocks[dst].phis
        return [(self.loc(p.result), self.loc(p.phi_value(src))) for p in phis]  # type: ignore[arg-type]

    def is_back_edge(self, src: str, dst: str) -> bool:
        return dominates(self.idom, dst, src)

    def direct(self, src: str, dst: str) -> bool:
        """Can a conditional jump go straight to `dst` (no moves, no poll on the way)?"""
        moves = [(d, s) for d, s in self.phi_moves(src, dst) if d != s]
        return not moves and not self.is_back_edge(src, dst)

    def edge(self, src: str, dst: str, nxt: str | None) -> None:
        """The phi moves of the edge, the back edge's poll, then the jump (unless next)."""
        self.parallel_move(self.phi_moves(src, dst))
        if self.is_back_edge(src, dst):
            self.emit_poll(src, dst)
        if dst != nxt:
            self.a.jmp(self.block_label(dst))

    def emit_poll(self, src: str, dst: str) -> None:
        """Interrupt check on a loop's back edge: only the tier has an interrupt flag."""

    def parallel_move(self, moves: list[tuple[Operand, Operand]]) -> None:
        """Make every destination hold its source's old value: emit a move whose destination
        no other pending move reads; when only cycles remain, park one source in rax."""
        pending = [(d, s) for d, s in moves if d != s]
        while pending:
            for k, (d, s) in enumerate(pending):
                if all(d != s2 for j, (_, s2) in enumerate(pending) if j != k):
                    self.move(d, s)
                    del pending[k]
                    break
            else:
                d, s = pending[0]
                self.move(rax, s)
                pending = [(d2, rax if s2 == s else s2) for d2, s2 in pending]

    # --- System V frame -----------------------------------------------------------------------

    def entry_label(self) -> str:
        return f"${self.fn.name}"

    def frame_size(self, extra: int = 0) -> int:
        """Bytes below the saved registers: spill slots and `extra`, keeping calls aligned."""
        words = self.alloc.slots + extra
        return 8 * (words + (len(self.saved) + words) % 2)

    def emit_prologue(self) -> None:
        a = self.a
        a.label(self.entry_label()).push(rbp).mov(rbp, rsp)
        for r in self.saved:
            a.push(REGISTERS[r])
        if frame := self.frame_size():
            a.sub(rsp, frame)
        params = [p for _, p in self.fn.params]
        if len(params) > len(ARGUMENTS):
            raise UnsupportedError(f"${self.fn.name}: more than 6 arguments")
        self.parallel_move(
            [(self.loc(p), REGISTERS[r]) for r, p in zip(ARGUMENTS, params, strict=False)]
        )

    def emit_return(self, v: Value) -> None:
        a = self.a
        self.move(rax, self.loc(v))
        a.lea(rsp, qword(rbp, -8 * len(self.saved)))
        for r in reversed(self.saved):
            a.pop(REGISTERS[r])
        a.pop(rbp).ret()


def layout(fn: Function) -> list[str]:
    """The blocks in a reverse postorder that visits a branch's second target first, so its
    first target (a loop's body, a `then`) comes right after it: the straight path falls
    through and each loop's blocks sit together."""
    blocks, seen, order = fn.blockmap(), set(), []
    if not fn.blocks:
        return []
    stack = [(fn.blocks[0].label, iter(blocks[fn.blocks[0].label].successors()[::-1]))]
    seen.add(fn.blocks[0].label)
    while stack:
        label, succs = stack[-1]
        for s in succs:
            if s not in seen:
                seen.add(s)
                stack.append((s, iter(blocks[s].successors()[::-1])))
                break
        else:
            order.append(label)
            stack.pop()
    return order[::-1]


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
    emitter = Emitter(fn, alloc, Assembler(), f"${fn.name}")
    emitter.emit_prologue()
    emitter.emit_blocks()
    return emitter.a.assemble()
