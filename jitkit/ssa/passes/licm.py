"""`hoist_invariants`: loop-invariant code motion into a preheader (notebook 07).

Takes a `Function`; for each natural loop, innermost first, gives the header a preheader
(a block every entry into the loop passes through) and moves there each pure instruction
whose operands are all computed outside the loop. Only pure opcodes move: they cannot fault,
deopt or print, so running them once before the loop, even when the loop body would not
have, changes nothing. A division or a guard never moves above the test that protects it.
"""

from __future__ import annotations

from jitkit.ssa.analysis import Loop, loops, predecessors, rpo
from jitkit.ssa.ir import Block, Function, Instr, Temp
from jitkit.ssa.ops import OPS


def hoist_invariants(fn: Function) -> bool:
    """Hoist loop-invariant pure instructions; returns whether the IR changed.

    requires: loops, predecessors, rpo (each computed once: a preheader joins the loops
    around its header, and the tables are updated as it is added, so the pass stays linear
    in loops x blocks rather than recomputing dominators per loop); invalidates:
    dominators, loops, liveness (it may add preheader blocks)."""
    found = sorted(loops(fn), key=lambda lp: len(lp.blocks))  # innermost first
    preds, blocks = predecessors(fn), fn.blockmap()
    position = {label: float(n) for n, label in enumerate(rpo(fn))}
    changed = False
    for k, loop in enumerate(found):
        # 1. a preheader: the one block outside the loop that jumps to the header
        pre, added = _preheader(fn, loop, preds, blocks)
        if added:
            position[pre.label] = position[loop.header] - 0.5
            for outer in found[k + 1 :]:
                if loop.header in outer.blocks:
                    outer.blocks.add(pre.label)
        # 2. move invariant instructions there, in an order where operands come first
        moved = _hoist(loop, pre, blocks, position)
        changed |= added or moved
    return changed


def _preheader(
    fn: Function, loop: Loop, preds: dict[str, list[str]], blocks: dict[str, Block]
) -> tuple[Block, bool]:
    """The existing preheader, or a new block on the edges into the header from outside
    (`preds` and `blocks` are kept up to date)."""
    header = blocks[loop.header]
    outside = [p for p in preds[loop.header] if p not in loop.blocks]
    if len(outside) == 1:
        only = blocks[outside[0]]
        if only.successors() == [loop.header]:
            return only, False
    pre = Block(fn.fresh_label(f"{loop.header}.pre"), term=Instr("jmp", labels=[header.label]))
    for p in outside:
        term = blocks[p].term
        term.labels = [pre.label if s == header.label else s for s in term.labels]  # type: ignore[union-attr]
    for phi in header.phis:
        ins = [(lab, v) for lab, v in zip(phi.labels, phi.args, strict=True) if lab in outside]
        inside = [
            (lab, v) for lab, v in zip(phi.labels, phi.args, strict=True) if lab not in outside
        ]
        if len(ins) == 1:
            value = ins[0][1]
        else:
            value = fn.fresh(phi.result.name + ".pre")  # type: ignore[union-attr]
            pre.phis.append(
                Instr("phi", [v for _, v in ins], value, phi.type, labels=[lab for lab, _ in ins])
            )
        phi.labels = [pre.label] + [lab for lab, _ in inside]
        phi.args = [value] + [v for _, v in inside]
    fn.blocks.insert(fn.blocks.index(header), pre)
    blocks[pre.label] = pre
    preds[pre.label] = outside
    preds[loop.header] = [pre.label] + [p for p in preds[loop.header] if p not in outside]
    return pre, True


def _hoist(loop: Loop, pre: Block, blocks: dict[str, Block], position: dict[str, float]) -> bool:
    defined = {
        i.result for label in loop.blocks for i in blocks[label].instrs() if i.result is not None
    }
    moved = False
    for label in sorted(loop.blocks, key=position.__getitem__):  # reverse postorder
        block = blocks[label]
        keep = []
        for i in block.body:
            if OPS[i.op].pure and not any(isinstance(v, Temp) and v in defined for v in i.args):
                pre.body.append(i)
                defined.discard(i.result)
                moved = True
            else:
                keep.append(i)
        block.body = keep
    return moved
