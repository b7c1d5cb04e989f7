"""`number_values`: global value numbering over the dominator tree (notebook 07).

Takes a `Function`; an instruction that computes what a dominating one already computed
(same opcode, type and operands, commutative operands in either order, `lt a, b` as
`gt b, a`) is deleted and its uses read the earlier result. Checked arithmetic and divisions
count too: the second copy cannot deopt or fault where the first did not. A guard dominated
by the same guard goes; so does a phi equal to another phi of its block.
"""

from __future__ import annotations

from jitkit.ssa.analysis import dominator_tree, dominators
from jitkit.ssa.ir import Function, Instr, Temp, Value
from jitkit.ssa.ops import COMPARISONS, OPS, SWAPPED

Key = tuple


def number_values(fn: Function) -> bool:
    """Replace redundant computations by the dominating one; returns whether any went.

    requires: dominators; invalidates: uses, liveness."""
    idom = dominators(fn)
    children, blocks = dominator_tree(idom), fn.blockmap()
    same: dict[Temp, Value] = {}
    doomed: set[int] = set()

    def resolve(v: Value) -> Value:
        while isinstance(v, Temp) and v in same:
            v = same[v]
        return v

    # 1. walk the dominator tree (iteratively: a long function nests thousands of blocks
    # deep) with one table of known keys; leaving a block forgets the keys it added, so no
    # block copies its dominators' keys (that made the pass quadratic)
    scope: dict[Key, Instr] = {}
    added: dict[str, list[Key]] = {}
    pending: list[tuple[str, bool]] = [(fn.blocks[0].label, False)]
    while pending:
        label, leaving = pending.pop()
        if leaving:
            for key in added.pop(label):
                del scope[key]
            continue
        b = blocks[label]
        phis: dict[Key, Instr] = {}
        for phi in b.phis:
            pairs = zip(phi.labels, phi.args, strict=True)
            key = tuple(sorted((lab, str(resolve(a))) for lab, a in pairs))
            _merge(phi, phis.setdefault((phi.type, key), phi), same, doomed)
        mine = added[label] = []
        for i in b.body:
            key = _key(i, resolve)
            if key is not None:
                if key not in scope:
                    scope[key] = i
                    mine.append(key)
                _merge(i, scope[key], same, doomed)
        pending.append((label, True))
        pending.extend((child, False) for child in reversed(children[label]))
    # 2. delete the duplicates, rewrite their uses
    for b in fn.blocks:
        b.phis = [i for i in b.phis if id(i) not in doomed]
        b.body = [i for i in b.body if id(i) not in doomed]
    fn.replace_uses(same)
    return bool(doomed)


def _merge(i: Instr, first: Instr, same: dict[Temp, Value], doomed: set[int]) -> None:
    if first is not i:
        doomed.add(id(i))
        if i.result is not None:
            same[i.result] = first.result  # type: ignore[assignment]


def _key(i: Instr, resolve) -> Key | None:
    """What the instruction computes, as a hashable key; None if it must not be merged."""
    op = OPS[i.op]
    if i.op == "guard":
        return ("guard", str(resolve(i.args[0])))
    if not (op.pure or op.deopt or op.faults) or i.result is None:
        return None
    args = [str(resolve(a)) for a in i.args]
    name = i.op
    if op.commutative:
        start = 1 if op.operand == "cond" else 0  # the predicate stays first
        args[start:] = sorted(args[start:])
    elif name in COMPARISONS and args[0] > args[1]:
        name, args = SWAPPED[name], args[::-1]
    return (name, i.type, *args)
