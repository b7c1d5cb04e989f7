"""x86-64 code from allocated SSA (notebook 07).

Takes a `Function` and its `Allocation`; gives machine code. `Emitter` lays the blocks out
so a loop's body falls through, emits each instruction through `jitkit.ssa.select` (on the
allocated locations, comparisons fused into the branch after them), and makes each edge's
phi moves one parallel copy (cycles broken through a scratch register).

`generate` is the System V flavour on its own: arguments in rdi, rsi, rdx, rcx, r8, r9 (doubles
in xmm0 to xmm7), the result in rax (a double in xmm0), callee-saved registers preserved,
and no runtime, so it refuses deopt, `print` and calls to other functions, and a division
that ranges cannot prove safe (a zero divisor would kill the kernel with SIGFPE).
`jitkit.ssa.deopt` adds the runtime of notebook 05: deopt stubs, calls between compiled
functions, printing, recursion and interrupt checks.
"""

from __future__ import annotations

from jitkit.errors import UnsupportedError
from jitkit.ssa.analysis import Dominance, dominators
from jitkit.ssa.ir import Function, Global, Instr, Value
from jitkit.ssa.ops import I64_MIN
from jitkit.ssa.ranges import ranges
from jitkit.ssa.regalloc import Allocation
from jitkit.ssa.select import NEGATED, Operand, Selector
from jitkit.x86 import REGISTERS, Assembler, Code, qword, rax, rbp, rsp, xmm0

ARGUMENTS = ("rdi", "rsi", "rdx", "rcx", "r8", "r9")
XMM_ARGUMENTS = tuple(f"xmm{k}" for k in range(8))


def argument_registers(fn: Function, types: list[str]) -> list[str]:
    """System V: the k-th integer argument in ARGUMENTS[k], the k-th double in xmm k."""
    ints, doubles = iter(ARGUMENTS), iter(XMM_ARGUMENTS)
    try:
        return [next(doubles if t == "f64" else ints) for t in types]
    except StopIteration:
        raise UnsupportedError(f"${fn.name}: arguments past the registers") from None


class Emitter(Selector):
    """One function: instruction selection (`Selector`), blocks in `layout` order, branches,
    the phi moves of each edge, and a System V frame (the tier's subclass has its own)."""

    def __init__(self, fn: Function, alloc: Allocation, a: Assembler, prefix: str) -> None:
        super().__init__(fn, alloc, a, prefix)
        self.dominates = Dominance(dominators(fn))
        self.order = layout(fn)  # any order will do for the allocation: none overlap
        self.blocks = fn.blockmap()

    # --- the function ---------------------------------------------------------------------

    def emit_blocks(self) -> None:
        for n, label in enumerate(self.order):
            self.a.label(self.block_label(label))
            block = self.blocks[label]
            body = [*block.body, block.term]
            k = 0
            while k < len(body) - 1:
                i, following = body[k], body[k + 1]
                after = body[k + 2] if k + 2 < len(body) else None
                if self.fuse_test(i, following, after):
                    k += 2
                    continue
                self.emit_instr(i, following)
                k += 1
            nxt = self.order[n + 1] if n + 1 < len(self.order) else None
            self.emit_term(label, block.term, nxt)  # type: ignore[arg-type]

    def emit_effect(self, i: Instr) -> None:
        if i.op == "call":
            self.emit_call(i)
        else:
            super().emit_effect(i)

    def emit_call(self, i: Instr) -> None:
        """System V, to this function only (there is nothing else to link against)."""
        callee = i.args[0]
        assert isinstance(callee, Global)
        if callee.name != self.fn.name:
            raise UnsupportedError(f"${self.fn.name}: {i}: only calls to itself are linked")
        args = i.args[1:]
        where = argument_registers(self.fn, [t for t, _ in self.fn.params])
        self.parallel_move([(REGISTERS[r], self.loc(v)) for r, v in zip(where, args, strict=True)])
        self.a.call(self.entry_label())
        if i.result is not None:
            self.move(self.loc(i.result), xmm0 if i.type == "f64" else rax)

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
        return self.dominates(dst, src)

    def direct(self, src: str, dst: str) -> bool:
        """Can a conditional jump go straight to `dst` (no moves, no poll on the way)?"""
        moves = [(d, s) for d, s in self.phi_moves(src, dst) if d != s]
        return not moves and not self.is_back_edge(src, dst)

    def edge(self, src: str, dst: str, nxt: str | None) -> None:
        """The phi moves of the edge, the back edge's poll, then the jump (unless next)."""
        self.parallel_move(self.phi_moves(src, dst))
        if self.is_back_edge(src, dst):
            self.emit_poll(src, dst)
            if self.rotate(dst, nxt):
                return
        if dst != nxt:
            self.a.jmp(self.block_label(dst))

    def rotate(self, header: str, nxt: str | None) -> bool:
        """A loop header that only tests (phis, at most one comparison, a branch whose edges
        move nothing) is copied onto its back edge: one conditional jump per trip instead of
        a jump back and then the test."""
        block = self.blocks[header]
        t = block.term
        if t is None or t.op != "br" or len(block.body) > 1:
            return False
        if block.body and not self.fusable(block.body[0], t):
            return False
        yes, no = t.labels
        if not (self.direct(header, yes) and self.direct(header, no)):
            return False
        if block.body:
            self.emit_instr(block.body[0], t)
        cc = self.condition(t.args[0])
        self.a.emit(f"j{cc}", self.block_label(yes))
        if no != nxt:
            self.a.jmp(self.block_label(no))
        return True

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
        where = argument_registers(self.fn, [t for t, _ in self.fn.params])
        moves = [(self.loc(p), REGISTERS[r]) for r, p in zip(where, params, strict=True)]
        self.parallel_move(moves)

    def emit_return(self, v: Value) -> None:
        a = self.a
        self.move(xmm0 if self.fn.ret == "f64" else rax, self.loc(v))
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
    """Refuse a division whose divisor may be 0 (or -1 with a dividend of INT64_MIN). A 32-bit
    one whose operands these ranges cannot show to fit (strength proved it from an operation
    it has since lowered, e.g. `b % 3` as a magic multiply) becomes the 64-bit one, which
    gives the same result on operands that fit."""
    known = ranges(fn)
    for b in fn.blocks:
        for n, i in enumerate(b.body):
            if i.op in ("div", "mod", "udiv32", "umod32"):
                (lo, hi), (c, d) = (known.at(v, b.label, n) for v in i.args)
                if not (c > 0 or d < 0) or (lo == I64_MIN and c <= -1 <= d):
                    raise UnsupportedError(f"${fn.name}: {i}: the divisor may be 0 or -1")
                if i.op.endswith("32") and not (lo >= 0 and hi < 2**32 and c > 0 and d < 2**32):
                    i.op = i.op.removeprefix("u").removesuffix("32")


def generate(fn: Function, alloc: Allocation) -> Code:
    """Machine code for `fn` with the registers of `alloc`; entry at offset 0."""
    check_divisions(fn)
    emitter = Emitter(fn, alloc, Assembler(), f"${fn.name}")
    emitter.emit_prologue()
    emitter.emit_blocks()
    emitter.emit_constants()
    return emitter.a.assemble()
