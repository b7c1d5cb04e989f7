"""The frames a recursion turned into a loop stands for, in machine code (notebook 07).

Part of `jitkit.ssa.deopt.TierEmitter`: the code of `enter`, `leave` and `fits` (made by
`jitkit.ssa.passes.recursion`) and of the exits of a function that has them. A trip of the
loop is a frame the interpreter would have had, pending until it adds its share to what the
next returns: it counts against the recursion limit like a call (the frame counter goes up
one per trip), and a deopt writes one record for each, after this frame's own, resuming
after its CALL with its share of the running sum on its stack (the first all of it, the rest
0; int `+` is associative) and its locals, dead there, as 0. Two words of the frame keep
what the exits need: the frame count with this frame in it (the frames pending are the count
less that), and the running sum.
"""

from __future__ import annotations

from jitkit.bytecode.opcodes import Op
from jitkit.errors import UnsupportedError
from jitkit.jitrt.layout import (
    CTX_DEOPT_PTR,
    CTX_MAX_DEPTH,
    DEOPT,
    RECORD_WORD,
    frame_word,
    record_words,
)
from jitkit.ssa.ir import Function, Instr, Temp
from jitkit.x86 import REGISTERS, Mem, edx, qword, r11, r15, rax, rcx, rsp


class PendingFrames:
    """`TierEmitter`'s code for pending frames (it provides the assembler, locations,
    stubs and the frame)."""

    def find_pending(self, fn: Function) -> None:
        """What the function has: its `enter` (one tail call per function), the `fits`
        left in the flags for the branch right after them, the `leave`s left in rax for
        the `ret` right after them."""
        self.enter = next((i for _, i in fn.instrs() if i.op == "enter"), None)
        if self.enter is not None:
            self.check_pending(self.enter)
        last = [(b.body[-1], b.term) for b in fn.blocks if b.body and b.term is not None]
        self.fused_fits: set[Temp] = {
            i.result for i, t in last if i.op == "fits" and t.op == "br"
            and t.args[0] == i.result and self.uses.get(i.result) == 1  # type: ignore[attr-defined]
        }  # fmt: skip
        self.leave_in_rax: set[Temp] = {
            i.result for i, t in last if i.op == "leave" and t.op == "ret" and t.args[0] == i.result
        }  # type: ignore[misc]

    def check_pending(self, i: Instr) -> None:
        """A pending frame's record is the state at the CALL `enter` stands for, resuming
        after it with one int, its share of the sum, on its stack."""
        from jitkit.ssa.deopt import NUMBERS  # the types a record holds (deopt imports this)

        code = self.code  # type: ignore[attr-defined]
        pc = i.deopt.offset if i.deopt is not None else -1
        state = self.types.states[pc] if 0 <= pc < len(code.ops) else None  # type: ignore[attr-defined]
        if state is None or code.ops[pc] != Op.CALL or list(state.stack[:1]) != [NUMBERS[0]]:
            raise UnsupportedError(f"{code.name}: {i}: pending frames need an int at a CALL")

    def pending_word(self, k: int) -> Mem:
        """0: the frame count with this frame in it (stored after the increment: measured,
        storing it before runs fib 10% slower); 1: the running sum. Above the outgoing
        values, or at the bottom of a frame without rbp."""
        if self.frameless:  # type: ignore[attr-defined]
            return qword(rsp, 8 * k)
        return self.slot(self.alloc.slots + k)  # type: ignore[attr-defined]

    def emit_enter(self, i: Instr) -> None:
        """One frame more, checked as a call's entry would be (past the limit: deopt at the
        CALL, the count as it was), then the new sum."""
        a, depth = self.a, self.depth_counter()  # type: ignore[attr-defined]
        a.add(depth, 1)
        if isinstance(depth, Mem):
            a.mov(rax, depth)
            depth_now = rax
        else:
            depth_now = depth
        a.cmp(depth_now, qword(r15, CTX_MAX_DEPTH))
        a.ja(self.stub(i, undo=("sub", depth, 1)))  # type: ignore[attr-defined]
        self.move(self.pending_word(1), self.loc(i.args[0]))  # type: ignore[attr-defined]

    def emit_fits(self, i: Instr) -> None:
        """Would a call's entry check pass (count + 1 <= limit)? Left in the flags ("b")
        for the branch right after, its only use; else 0 or 1 in its location."""
        a, depth = self.a, self.depth_counter()  # type: ignore[attr-defined]
        if isinstance(depth, Mem):
            a.mov(rax, depth)
            depth = rax
        a.cmp(depth, qword(r15, CTX_MAX_DEPTH))
        if i.result in self.fused_fits:
            self.fused = "b"
            return
        a.setb(REGISTERS["al"]).movzx(rax, REGISTERS["al"])
        self.move(self.loc(i.result), rax)  # type: ignore[attr-defined]

    def emit_leave(self, i: Instr) -> None:
        """The sum plus the returned value; on overflow the innermost pending frame is the
        deopt's own record (at its add), so one frame fewer is pending and it owes nothing."""
        a = self.a  # type: ignore[attr-defined]
        self.move(rax, self.loc(i.args[0]))  # type: ignore[attr-defined]
        a.add(rax, self.source(i.args[1], r11))  # type: ignore[attr-defined]
        undo = [("mov", self.pending_word(1), 0), ("sub", self.depth_counter(), 1)]  # type: ignore[attr-defined]
        a.jo(self.stub(i, undo=undo))  # type: ignore[attr-defined]
        if i.result not in self.leave_in_rax:
            self.move(self.loc(i.result), rax)  # type: ignore[attr-defined]

    def emit_pending_exit(self, labelled: bool) -> None:
        """The pending frames leave before this one (the count back to its value with it);
        after a deopt (status DEOPT, this frame's record written) each writes its record,
        outermost last."""
        from jitkit.ssa.deopt import NUMBERS

        a, code = self.a, self.code  # type: ignore[attr-defined]
        depth = self.depth_counter()  # type: ignore[attr-defined]
        if labelled:
            done, again = self.label("pending"), self.label("pending")  # type: ignore[attr-defined]
            a.cmp(edx, DEOPT).jne(done)
            a.mov(rax, depth).sub(rax, self.pending_word(0)).jz(done)
            a.mov(rcx, qword(r15, CTX_DEOPT_PTR)).mov(r11, self.pending_word(1))
            call_pc = self.enter.deopt.offset  # type: ignore[union-attr]
            header = {"function": self.index, "resume": call_pc + 1, "depth": 1}  # type: ignore[attr-defined]
            a.label(again)
            for field, value in {**header, "state_pc": call_pc}.items():
                a.mov(qword(rcx, 8 * RECORD_WORD[field]), value)
            for k, t in enumerate(self.types.states[call_pc].locals):  # type: ignore[attr-defined]
                if t in NUMBERS:
                    a.mov(qword(rcx, 8 * frame_word(k)), 0)
            a.mov(qword(rcx, 8 * frame_word(len(code.varnames))), r11)
            a.add(rcx, 8 * record_words(code)).xor(REGISTERS["r11d"], REGISTERS["r11d"])
            a.sub(rax, 1).jnz(again)
            a.mov(qword(r15, CTX_DEOPT_PTR), rcx)
            a.label(done)
        if isinstance(depth, Mem):
            a.mov(rcx, self.pending_word(0)).mov(depth, rcx)
        else:
            a.mov(depth, self.pending_word(0))
