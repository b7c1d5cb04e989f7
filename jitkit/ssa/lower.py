"""The bytecode instructions that become several blocks in SSA (notebook 07).

Takes nothing by itself: `MultiBlockLowerings` is mixed into the builder of
`jitkit.ssa.build` and uses its state (the current block, the abstract operand stack, the
Braun variables, `emit`, `state`, `i64`). Gives one `lower_*` method per such instruction:
`abs` and `min`/`max` become a branch and a phi, `**` a square-and-multiply loop with
checked products, the `range` opcodes a guard (a step of 0) and a sign-dependent test.
Kept apart from the builder because they are the part a reader can skip on first reading.
"""

from __future__ import annotations

from jitkit.bytecode.opcodes import Op
from jitkit.errors import UnsupportedError
from jitkit.jitrt.types import BOOL, FLOAT, UNDEF
from jitkit.ssa.ir import Block, Const, Deopt, Instr, Value


def ir_type(types: frozenset) -> str:
    """The IR type of a slot: bool when it only ever holds bools, f64 when floats (or nothing
    yet: a local assigned in a loop), list when lists (`("list", kind)`), else i64."""
    if FLOAT in types and types <= {FLOAT, UNDEF}:
        return "f64"
    known = types - {UNDEF}
    if known and all(isinstance(t, tuple) and t[0] == "list" for t in known):
        return "list"
    return "bool" if types == {BOOL} else "i64"


class MultiBlockLowerings:
    """`lower_abs`, `lower_min_max`, `lower_pow`, `lower_range_check`, `lower_range_test`,
    and the two helpers they share: `branch` (split on a condition) and `join` (a phi)."""

    def branch(self, pc: int, cond: Value, yes: str, no: str) -> tuple[Block, Block]:
        """End the current block in `br cond`; both targets are new blocks of `pc`."""
        here = self.current
        assert here is not None
        labels = [f"pc{pc}.{yes}", f"pc{pc}.{no}"]
        here.term = Instr("br", [cond], labels=labels)
        blocks = []
        for label in labels:
            blocks.append(self.new_block(label, pc))
            self.edge(here.label, label)
            self.sealed.add(label)
        return blocks[0], blocks[1]

    def join(self, pc: int, name: str, incoming: list[tuple[Block, Value]], type_: str) -> None:
        """Jump from each incoming block to a new block whose phi picks the value."""
        label = f"pc{pc}.{name}"
        block = self.new_block(label, pc)
        result = self.fresh("t")
        self.types[result] = type_
        phi = Instr("phi", [], result, type_)
        for src, value in incoming:
            if src.term is None:
                src.term = Instr("jmp", labels=[label])
            self.edge(src.label, label)
            phi.labels.append(src.label)
            phi.args.append(value)
        block.phis.append(phi)
        self.sealed.add(label)
        self.current = block
        self.stack.append(result)

    def lower_abs(self, pc: int) -> None:
        """abs(a): a < 0 ? -a (checked: -INT64_MIN deopts) : a."""
        deopt = self.state(pc)
        a = self.i64(self.stack.pop())
        negative = self.emit("lt", [a, Const(0)], "bool")
        neg, done = self.branch(pc, negative, "neg", "pos")
        self.current = neg
        minus = self.emit("neg_ovf", [a], "i64", deopt)
        self.join(pc, "abs", [(neg, minus), (done, a)], "i64")

    def lower_min_max(self, pc: int, op: Op) -> None:
        """min(a, b) is b if b < a else a; max(a, b) is b if b > a else a (Python's order:
        the first of equal values). Two bools give a bool, anything else an int."""
        b, a = self.resolve(self.stack.pop()), self.resolve(self.stack.pop())
        both = ir_type(self.states[pc + 1].stack[-1])  # type: ignore[union-attr]
        if both == "f64" or self.is_f64(a) or self.is_f64(b):  # type: ignore[attr-defined]
            if not (both == "f64" and self.is_f64(a) and self.is_f64(b)):  # type: ignore[attr-defined]
                raise UnsupportedError(f"{self.code.name}: min/max of an int and a float")
            cmp = "flt" if op == Op.BINARY_MIN else "fgt"
            better = self.emit(cmp, [b, a], "bool")
            take_b, take_a = self.branch(pc, better, "second", "first")
            name = "min" if op == Op.BINARY_MIN else "max"
            self.join(pc, name, [(take_b, b), (take_a, a)], both)
            return
        if both == "i64":
            a, b = self.i64(a), self.i64(b)
        elif "i64" in (self.type_of(a), self.type_of(b)):
            raise UnsupportedError(f"{self.code.name}: min/max of an int typed as a bool")
        cmp = "lt" if op == Op.BINARY_MIN else "gt"
        better = self.emit(cmp, [self.i64(b), self.i64(a)], "bool")
        take_b, take_a = self.branch(pc, better, "second", "first")
        self.join(pc, "min" if op == Op.BINARY_MIN else "max", [(take_b, b), (take_a, a)], both)

    def lower_pow(self, pc: int) -> None:
        """a ** b by squaring, every product checked; b < 0 deopts (the VM decides)."""
        deopt = self.state(pc)
        b, a = self.i64(self.stack.pop()), self.i64(self.stack.pop())
        ok = self.emit("ge", [b, Const(0)], "bool")
        self.current.body.append(Instr("guard", [ok], deopt=deopt))  # type: ignore[union-attr]
        before = self.current
        assert before is not None
        head, body, odd, step, square = (
            self.new_block(f"pc{pc}.pow.{name}", pc)
            for name in ("loop", "bit", "odd", "step", "sq")
        )
        for label in (head, body, odd, step, square):
            self.sealed.add(label.label)
        r, x, e = (self.fresh("t") for _ in range(3))
        r1, e1, x1 = self.fresh("t"), self.fresh("t"), self.fresh("t")
        for t in (r, x, e, r1, e1, x1):
            self.types[t] = "i64"
        # the loop header: r = 1, x = a, e = b, then the values from the last round
        before.term = Instr("jmp", labels=[head.label])
        head.phis = [
            Instr("phi", [Const(1), r1], r, "i64", labels=[before.label, square.label]),
            Instr("phi", [a, x1], x, "i64", labels=[before.label, square.label]),
            Instr("phi", [b, e1], e, "i64", labels=[before.label, square.label]),
        ]
        self.current = head
        zero = self.emit("eq", [e, Const(0)], "bool")
        self.current.term = Instr("br", [zero], labels=[f"pc{pc}.pow.done", body.label])
        self.current = body
        bit = self.emit("and", [e, Const(1)], "i64")
        is_odd = self.emit("ne", [bit, Const(0)], "bool")
        body.term = Instr("br", [is_odd], labels=[odd.label, step.label])
        self.current = odd
        product = self.emit("mul_ovf", [r, x], "i64", self.copy(deopt))
        odd.term = Instr("jmp", labels=[step.label])
        step.phis = [Instr("phi", [r, product], r1, "i64", labels=[body.label, odd.label])]
        self.current = step
        step.body.append(Instr("sar", [e, Const(1)], e1, "i64"))
        last = self.emit("eq", [e1, Const(0)], "bool")
        step.term = Instr("br", [last], labels=[f"pc{pc}.pow.done", square.label])
        square.body.append(Instr("mul_ovf", [x, x], x1, "i64", deopt=self.copy(deopt)))
        square.term = Instr("jmp", labels=[head.label])
        for src, dst in [(before, head), (head, body), (body, odd), (body, step), (odd, step),
                         (step, square), (square, head)]:  # fmt: skip
            self.edge(src.label, dst.label)
        self.current = None
        self.join(pc, "pow.done", [(head, r), (step, r1)], "i64")

    def copy(self, d: Deopt) -> Deopt:
        return Deopt(d.offset, list(d.locals), list(d.stack))

    def lower_range_check(self, pc: int) -> None:
        """range(start, stop, step) takes ints (a bool counts as one) and a step that is not 0."""
        deopt = self.state(pc)
        self.stack[-3:] = [self.i64(v) for v in self.stack[-3:]]
        step = self.stack[-1]
        if isinstance(step, Const) and step.value != 0:
            return
        ok = self.emit("ne", [step, Const(0)], "bool")
        self.current.body.append(Instr("guard", [ok], deopt=deopt))  # type: ignore[union-attr]

    def lower_range_test(self, pc: int) -> None:
        """i stop step -- (i < stop if step > 0 else i > stop). The step is usually a
        constant only known once the loop is sealed, so this branches on its sign: `fold`
        then keeps one side, and the loop test is a plain `lt` that `ranges` can read."""
        step, stop, i = (self.i64(self.stack.pop()) for _ in range(3))
        if isinstance(step, Const):
            self.stack.append(self.emit("lt" if step.value > 0 else "gt", [i, stop], "bool"))
            return
        up, down = self.branch(pc, self.emit("gt", [step, Const(0)], "bool"), "up", "down")
        self.current = up
        below = self.emit("lt", [i, stop], "bool")
        self.current = down
        above = self.emit("gt", [i, stop], "bool")
        self.join(pc, "test", [(up, below), (down, above)], "bool")
