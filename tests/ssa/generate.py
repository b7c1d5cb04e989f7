"""Random well-formed SSA functions, the inputs of the property tests of every pass.

`random_function(r)` builds a forward CFG (a DAG of blocks; optionally the body of a counted
loop), fills each block with random instructions whose operands come from the blocks that
dominate it, and joins values with phis. Divisions are guarded by construction (a constant
divisor or one forced odd and small), every other hazard (overflow) is left to `_ovf` opcodes.
"""

from __future__ import annotations

import random

from jitkit.ssa.analysis import dominators, predecessors
from jitkit.ssa.ir import Block, Const, Deopt, Function, Instr, Temp, Value
from jitkit.ssa.verify import verify

BINARY = ["add", "sub", "mul", "and", "or", "xor", "shl", "sar", "shr", "umulh"]
CHECKED = ["add_ovf", "sub_ovf", "mul_ovf", "div_ovf", "mod_ovf"]
COMPARE = ["eq", "ne", "lt", "le", "gt", "ge"]
INTERESTING = [0, 1, -1, 2, 3, 5, 7, 10, 63, 64, 100, 2**31, 2**62, -(2**63), 2**63 - 1]


class _Builder:
    def __init__(self, r: random.Random, effects: bool) -> None:
        self.r, self.n, self.effects = r, 0, effects

    def temp(self) -> Temp:
        self.n += 1
        return Temp(f"v{self.n}")

    def const(self) -> Const:
        if self.r.random() < 0.7:
            return Const(self.r.choice(INTERESTING))
        return Const(self.r.randint(-1000, 1000))

    def operand(self, pool: list[Value]) -> Value:
        return self.r.choice(pool) if pool and self.r.random() < 0.8 else self.const()

    def fill(self, block: Block, ints: list[Value], bools: list[Value], size: int) -> None:
        """Append `size` random instructions, growing the pools with their results."""
        r = self.r
        for _ in range(size):
            kind, t = r.random(), self.temp()
            if kind < 0.45:
                i = Instr(r.choice(BINARY), [self.operand(ints), self.operand(ints)], t, "i64")
            elif kind < 0.55:
                i = Instr(r.choice(["neg", "copy"]), [self.operand(ints)], t, "i64")
            elif kind < 0.7 and self.effects:
                op = r.choice(CHECKED + ["neg_ovf"])
                args = [self.operand(ints)] + ([self.operand(ints)] if op != "neg_ovf" else [])
                locals_ = r.sample(ints, min(len(ints), 2))
                i = Instr(op, args, t, "i64", deopt=Deopt(r.randint(0, 99), locals_, args))
            elif kind < 0.8:
                self.division(block, ints, t)
                ints.append(t)
                continue
            elif kind < 0.92 or not bools:
                i = Instr(r.choice(COMPARE), [self.operand(ints), self.operand(ints)], t, "bool")
                bools.append(t)
                block.body.append(i)
                continue
            elif not self.effects:
                continue
            elif kind < 0.96:
                block.body.append(Instr("print", [self.operand(ints)]))
                continue
            else:
                d = Deopt(r.randint(0, 99), r.sample(ints, min(len(ints), 2)), [])
                block.body.append(Instr("guard", [r.choice(bools)], deopt=d))
                continue
            block.body.append(i)
            ints.append(t)

    def division(self, block: Block, ints: list[Value], t: Temp) -> None:
        """`div`/`mod` by a constant, or by a value forced into the odd numbers 1..255."""
        op = self.r.choice(["div", "mod"])
        if self.r.random() < 0.5 or not ints:
            divisor: Value = Const(self.r.choice([1, 2, 3, 5, 7, 8, 10, 16, 641, 2**40 + 1, -3]))
        else:
            small, odd = self.temp(), self.temp()
            block.body.append(Instr("and", [self.r.choice(ints), Const(255)], small, "i64"))
            block.body.append(Instr("or", [small, Const(1)], odd, "i64"))
            divisor = odd
        block.body.append(Instr(op, [self.operand(ints), divisor], t, "i64"))


def random_function(r: random.Random, loop: bool = False, effects: bool = True) -> Function:
    """A verified random function of `(i64 %a, i64 %b)`; with `loop`, its DAG runs 0..4 times;
    without `effects`, no prints, guards or checked arithmetic (what code generation takes)."""
    g, nblocks = _Builder(r, effects), r.randint(1, 6)
    labels = [f"b{k}" for k in range(nblocks)]
    succs: list[list[str]] = [[] for _ in labels]
    for k in range(1, nblocks):  # 1. a forward CFG in which every block is reachable
        succs[r.choice([p for p in range(k) if len(succs[p]) < 2])].append(labels[k])
    for k in range(nblocks - 1):
        if not succs[k] or (len(succs[k]) == 1 and r.random() < 0.3):
            later = [lab for lab in labels[k + 1 :] if lab not in succs[k]]
            if later:
                succs[k].append(r.choice(later))
    fn = Function("rand", [("i64", Temp("a")), ("i64", Temp("b"))], "i64")
    blocks = [Block(lab) for lab in labels]
    for b, out in zip(blocks, succs, strict=True):
        b.term = Instr("jmp" if len(out) == 1 else "br", [], labels=out)
    ints: list[Value] = [Temp("a"), Temp("b")]
    if loop:  # 2. optionally: entry -> head (counter, one carried value) -> DAG -> head | exit
        head, i, acc = Block("head"), Temp("i"), Temp("acc")
        c = Temp("c")
        fn.blocks = [Block("entry", term=Instr("jmp", labels=["head"])), head]
        head.body = [Instr("lt", [i, Const(r.randint(0, 4))], c, "bool")]
        head.term = Instr("br", [c], labels=[labels[0], "exit"])
        ints += [acc, i]
    fn.blocks += blocks
    if loop:
        fn.blocks.append(Block("exit", term=Instr("ret", [acc])))
    for b in blocks:
        if not b.term.labels:
            b.term = Instr("jmp", labels=["head"]) if loop else Instr("ret", [Const(0)])
    # 3. instructions and phis, block by block in (topological) order
    idom, preds = dominators(fn), predecessors(fn)
    avail: dict[str, tuple[list[Value], list[Value]]] = {}
    for b in blocks:
        up = idom[b.label]
        base_i, base_b = (list(ints), []) if up in (None, "head") else avail[up]
        base_i, base_b = list(base_i), list(base_b)
        if len(preds[b.label]) > 1:
            t = g.temp()
            vals = [g.operand(avail[p][0]) for p in preds[b.label]]
            b.phis.append(Instr("phi", vals, t, "i64", labels=list(preds[b.label])))
            base_i.append(t)
        g.fill(b, base_i, base_b, r.randint(0, 6))
        if b.term.op == "br":
            cond = g.temp()
            b.body.append(Instr("lt", [g.operand(base_i), g.operand(base_i)], cond, "bool"))
            b.term.args = [cond]
        elif b.term.op == "ret":
            b.term.args = [g.operand(base_i)]
        avail[b.label] = (base_i, base_b)
    if loop:  # 4. close the loop: phis in the head for the counter and the carried value
        latches = [p for p in preds["head"] if p != "entry"]
        carried = [g.operand(avail[p][0]) for p in latches]
        for p in latches:
            fn.block(p).body.append(Instr("add", [i, Const(1)], Temp(f"i2_{p}"), "i64"))
        head.phis = [
            Instr(
                "phi",
                [Const(0)] + [Temp(f"i2_{p}") for p in latches],
                i,
                "i64",
                labels=["entry", *latches],
            ),
            Instr("phi", [Temp("a"), *carried], acc, "i64", labels=["entry", *latches]),
        ]
    verify(fn)
    return fn
