"""Statements and control flow (notebook 08 LLVM mini compiler).

In: kit AST statement nodes. Out: IR blocks: assignments into the function's tag/payload
slots, `if`, `while` and `for ... in range(...)` loops with `break`/`continue`, and `return`.
In process, each loop's back-edge first goes through a poll of the interrupt flag
(`Lowering.poll_interrupt`), so Ctrl-C stops a compiled `while True: pass`.
"""

from __future__ import annotations

from llvmlite import ir

from jitkit.lang import nodes as n
from jitkit.llvm.expressions import ExpressionLowering
from jitkit.llvm.lowering import Loop
from jitkit.llvm.runtime import I8, I64
from jitkit.llvm.values import INT, VALUE, Val, const

POLL_EVERY = 1 << 12  # rounds of a counted loop between two polls of the interrupt flag


def is_one(step: ir.Value) -> bool:
    return isinstance(step, ir.Constant) and step.constant == 1


class StatementLowering(ExpressionLowering):
    """`lower_<Stmt>` for every statement but `print` (in `printing`)."""

    def lower_Assign(self, s: n.Assign) -> None:
        self.store(self.f.slots[s.target.slot], self.expr(s.value))

    def lower_TupleAssign(self, s: n.TupleAssign) -> None:
        values = [self.expr(v) for v in s.values]
        for target, value in zip(s.targets, values, strict=True):
            self.store(self.f.slots[target.slot], value)

    def lower_AugAssign(self, s: n.AugAssign) -> None:
        old = self.lower_Local(s.target)
        right = self.expr(s.value)
        first = len(self.sites)
        value = self.binary(s.op, old, right, s)
        for site in self.sites[first:]:  # CPython names the in-place form: "for +=:"
            site.message = site.message.replace(f"for {s.op}", f"for {s.op}=", 1)
        if s.op == "*" and self.lists:  # xs *= n repeats xs itself
            value = self.repeat_in_place(old, value)
        self.store(self.f.slots[s.target.slot], value)

    def lower_If(self, s: n.If) -> None:
        then, orelse, done = self.block("then"), self.block("else"), self.block("endif")
        self.b.cbranch(self.truth(self.expr(s.test)), then, orelse)
        for block, body in ((then, s.body), (orelse, s.orelse)):
            self.b.position_at_end(block)
            self.lower_block(body)
            if not self.b.block.is_terminated:
                self.b.branch(done)
        self.b.position_at_end(done)

    def lower_While(self, s: n.While) -> None:
        test, body, done = self.block("while.test"), self.block("while.body"), self.block("wend")
        self.b.branch(test)
        self.b.position_at_end(test)
        self.b.cbranch(self.truth(self.expr(s.test)), body, done)
        self.loop_body(s.body, body, Loop(self.back_edge(test, s), done))

    def back_edge(self, head: ir.Block, node: n.Node) -> ir.Block:
        """Where a loop body goes next: `head`, or in process a new block that polls the
        interrupt flag and then goes to `head`."""
        if self.interrupt_address is None:
            return head
        poll, here = self.block("loop.poll"), self.b.block
        self.b.position_at_end(poll)
        self.poll_interrupt(node)
        self.b.branch(head)
        self.b.position_at_end(here)
        return poll

    def loop_body(self, stmts: list[n.Node], body: ir.Block, loop: Loop) -> None:
        self.b.position_at_end(body)
        self.f.loops.append(loop)
        self.lower_block(stmts)
        self.f.loops.pop()
        if not self.b.block.is_terminated:
            self.b.branch(loop.next)
        self.b.position_at_end(loop.exit)

    # for ::= counter = start; while (step > 0 ? counter < stop : counter > stop): ...
    def lower_ForRange(self, s: n.ForRange) -> None:
        b = self.b
        bounds = [self.expr(e) for e in (s.start, s.stop, s.step)]
        start, stop, step = (self.number(v, "range()", s) for v in bounds)
        self.guard(
            b.icmp_signed("!=", step, const(I64, 0)), "value", "range() arg 3 must not be zero", s
        )
        counter = self.temp()[1]
        b.store(start, counter)
        test, body = self.block("for.test"), self.block("for.body")
        step_block, done = self.block("for.next"), self.block("for.end")
        b.branch(test)
        b.position_at_end(test)
        c = b.load(counter)
        more = b.select(
            b.icmp_signed(">", step, const(I64, 0)),
            b.icmp_signed("<", c, stop),
            b.icmp_signed(">", c, stop),
        )
        if self.interrupt_address is not None and is_one(step):
            # polled once per POLL_EVERY rounds, not on every back-edge: the rounds run in
            # chunks up to `limit`, and only the way from one chunk to the next polls
            chunk, limit = self.block("for.chunk"), self.temp()[1]
            b.cbranch(more, chunk, done)
            b.position_at_end(chunk)
            c = b.load(counter)
            room = b.icmp_unsigned(">", b.sub(stop, c), const(I64, POLL_EVERY))
            b.store(b.select(room, b.add(c, const(I64, POLL_EVERY)), stop), limit)
            b.branch(body)
            b.position_at_end(step_block)
            following = b.add(b.load(counter), step, flags=["nsw"])  # < stop: no overflow
            b.store(following, counter)
            b.cbranch(b.icmp_signed("<", following, b.load(limit)), body, self.back_edge(test, s))
            b.position_at_end(body)
            self.store(self.f.slots[s.target.slot], Val(const(I8, INT), b.load(counter)))
            self.loop_body(s.body, body, Loop(step_block, done))
            return
        b.cbranch(more, body, done)
        b.position_at_end(step_block)
        self.step_counter(counter, stop, step, test, body, done)
        b.position_at_end(body)
        self.store(self.f.slots[s.target.slot], Val(const(I8, INT), b.load(counter)))
        self.loop_body(s.body, body, Loop(self.back_edge(step_block, s), done))

    def step_counter(
        self, counter: ir.Value, stop: ir.Value, step: ir.Value, test: ir.Block,
        body: ir.Block, done: ir.Block,
    ) -> None:  # fmt: skip
        """The counter's next value, with no overflow check LLVM must keep: the body ran, so
        the counter is inside the range. A step of 1 (or -1) cannot pass INT64_MAX (MIN)
        before `stop`; any other step ends the loop when the distance left to `stop` (exact
        as an unsigned number) is no more than the step's size, else the next value is
        inside the range too and the body runs again without a second test."""
        b = self.b
        c = b.load(counter)
        if isinstance(step, ir.Constant) and step.constant in (1, -1):
            b.store(b.add(c, step, flags=["nsw"]), counter)
            b.branch(test)
            return
        positive = b.icmp_signed(">", step, const(I64, 0))
        distance = b.select(positive, b.sub(stop, c), b.sub(c, stop))
        size = b.select(positive, step, b.sub(const(I64, 0), step))
        past = b.icmp_unsigned("<=", distance, size)
        b.store(b.add(c, step, flags=["nsw"]), counter)  # poison only when past: never read
        b.cbranch(past, done, body)

    def lower_Break(self, s: n.Break) -> None:
        self.b.branch(self.f.loops[-1].exit)
        self.b.position_at_end(self.block("after.break"))

    def lower_Continue(self, s: n.Continue) -> None:
        self.b.branch(self.f.loops[-1].next)
        self.b.position_at_end(self.block("after.continue"))

    def lower_Pass(self, s: n.Pass) -> None:
        pass

    def lower_Return(self, s: n.Return) -> None:
        v = self.expr(s.value)
        pair = self.b.insert_value(ir.Constant(VALUE, ir.Undefined), v.tag, 0)
        self.ret(self.b.insert_value(pair, v.payload, 1))
        self.b.position_at_end(self.block("after.return"))

    def lower_ExprStmt(self, s: n.ExprStmt) -> None:
        self.expr(s.value)
