"""`convert_ifs`: small diamonds and triangles become straight code and `select`s (notebook 07).

Takes a `Function`; where a block ends in `br %c, @t, @f` and each arm is either the join
itself or a short block that only the branch enters, that computes (pure opcodes, or checked
`add`/`sub`/`mul`) and jumps to the join, both arms move up into the branching block and the
join's phis become `select %c, ...` (a `cmov`): no branch left to mispredict. A checked op
from an arm becomes its `_ovf_if` form, predicated on the arm's condition: it deopts with its
own state only where the arm would have run, so the code stays exact; elsewhere its wrapped
value is dropped by the select. Nothing that faults, calls, prints or polls moves, and no
arithmetic on doubles (nor a join of doubles: there is no cmov for xmm registers).
"""

from __future__ import annotations

from jitkit.ssa.analysis import predecessors
from jitkit.ssa.ir import Block, Const, Function, Instr, Temp, Value
from jitkit.ssa.ops import OPS
from jitkit.ssa.ranges import NEGATE

SPECULATED = {"add_ovf": "add_ovf_if", "sub_ovf": "sub_ovf_if", "mul_ovf": "mul_ovf_if"}
ARM_LIMIT = 4  # instructions an arm may hold: both arms run every time once converted


def convert_ifs(fn: Function) -> bool:
    """If-convert every small diamond and triangle; returns whether the IR changed.

    requires: predecessors (computed here, kept up to date); invalidates: rpo, dominators,
    loops, liveness (the arms' blocks are deleted)."""
    preds, blocks = predecessors(fn), fn.blockmap()
    taken = {p.name for _, p in fn.params} | {
        i.result.name for _, i in fn.instrs() if i.result is not None
    }
    changed = False
    for head in list(fn.blocks):
        if head.label not in blocks:
            continue  # an arm already moved up
        shape = _shape(head, preds, blocks)
        if shape is not None:
            _convert(fn, head, *shape, preds, blocks, taken)
            changed = True
    return changed


def _arm(
    head: Block, label: str, preds: dict[str, list[str]], blocks: dict[str, Block]
) -> tuple[Block | None, str]:
    """(the arm block or None when the branch goes straight to the join, the join)."""
    block = blocks[label]
    if preds[label] == [head.label] and not block.phis and block.term.op == "jmp":
        if len(block.body) <= ARM_LIMIT and all(_movable(i) for i in block.body):
            return block, block.term.labels[0]
    return None, label


def _movable(i: Instr) -> bool:
    """Pure or speculable, and not on doubles: an SSE2 operation has a latency of several
    cycles, more than the branch it would save (`while i < 50 and x * x <= 4.0`)."""
    if i.type == "f64" or OPS[i.op].operand == "f64":
        return False
    return OPS[i.op].pure and i.op != "phi" or i.op in SPECULATED


def _shape(
    head: Block, preds: dict[str, list[str]], blocks: dict[str, Block]
) -> tuple[Block | None, Block | None, Block] | None:
    """The two arms and the join of an if-convertible branch at the end of `head`."""
    t = head.term
    if t is None or t.op != "br" or t.labels[0] == t.labels[1]:
        return None
    (yes, join_yes), (no, join_no) = (_arm(head, lab, preds, blocks) for lab in t.labels)  # type: ignore[misc]
    if join_yes != join_no or (yes is None and no is None) or join_yes == head.label:
        return None
    join = blocks[join_yes]
    if any(phi.type == "f64" for phi in join.phis):
        return None  # no cmov for xmm registers: a double's branch stays a branch
    return (yes, no, join) if join.phis else None


def _convert(
    fn: Function,
    head: Block,
    yes: Block | None,
    no: Block | None,
    join: Block,
    preds: dict[str, list[str]],
    blocks: dict[str, Block],
    taken: set[str],
) -> None:
    """Move both arms into `head`, predicate their checks, and select at the join."""
    cond = head.term.args[0]

    def fresh(hint: str) -> Temp:
        n = 0
        while f"{hint}.{n}" in taken:
            n += 1
        taken.add(f"{hint}.{n}")
        return Temp(f"{hint}.{n}")

    negated: list[Value] = []

    def hint_of(value: Value) -> str:
        """A temporary's name, or "cond" for a constant condition (`%0.not` is no name)."""
        return value.name if isinstance(value, Temp) else "cond"

    def not_cond() -> Value:
        """The arm `no`'s predicate: the comparison negated, or `xor %c, 1`."""
        if not negated:
            t = fresh(hint_of(cond) + ".not")
            defs = {i.result: i for i in head.body if i.result is not None}
            cmp = defs.get(cond)
            if cmp is not None and cmp.op in NEGATE:
                head.body.append(Instr(NEGATE[cmp.op], list(cmp.args), t, "bool"))
            else:
                head.body.append(Instr("xor", [cond, Const(1)], t, "bool"))
            negated.append(t)
        return negated[0]

    for arm, predicate in ((yes, lambda: cond), (no, not_cond)):
        if arm is None:
            continue
        for i in arm.body:
            if i.op in SPECULATED:
                i.op, i.args = SPECULATED[i.op], [predicate(), *i.args]
            head.body.append(i)
        arm.body = []
    # the comparison again right before the selects: its flags feed the cmov directly
    cmp = next((i for i in head.body if i.result == cond), None)
    if cmp is not None and cmp.op in NEGATE:
        cond = fresh(hint_of(cond) + ".sel")
        head.body.append(Instr(cmp.op, list(cmp.args), cond, "bool"))
    sources = [arm.label if arm is not None else head.label for arm in (yes, no)]
    only_these = sorted(preds[join.label]) == sorted(dict.fromkeys(sources))
    for phi in list(join.phis):
        picked = [phi.phi_value(src) for src in sources]
        result = phi.result if only_these else fresh(phi.result.name + ".sel")  # type: ignore[union-attr]
        head.body.append(Instr("select", [cond, *picked], result, phi.type))
        if only_these:
            join.phis.remove(phi)
        else:
            keep = [(lab, v) for lab, v in zip(phi.labels, phi.args, strict=True)]
            keep = [(lab, v) for lab, v in keep if lab not in sources]
            phi.labels = [head.label] + [lab for lab, _ in keep]
            phi.args = [result] + [v for _, v in keep]
    # the branch becomes a jump to the join; the emptied arms go
    head.term = Instr("jmp", labels=[join.label])
    arms = {arm.label for arm in (yes, no) if arm is not None}
    fn.blocks = [b for b in fn.blocks if b.label not in arms]
    for label in arms:
        del blocks[label], preds[label]
    others = [p for p in preds[join.label] if p not in arms and p != head.label]
    preds[join.label] = [head.label, *others]
