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

    requires: loops, predecessors, rpo; invalidates: dominators, loops, liveness (it may add
    preheader blocks)."""
    changed = False
    done: set[str] = set()
    while True:
        todo = [
            lp for lp in sorted(loops(fn), key=lambda lp: len(lp.blocks)) if lp.header not in done
        ]
        if not todo:
            return changed
        loop = todo[0]
        done.add(loop.header)
        # 1. a preheader: the one block outside the loop that jumps to the header
        pre, added = _preheader(fn, loop)
        # 2. move invariant instructions there, in an order where operands come first
        moved = _hoist(fn, loop, pre)
        changed |= added or moved


def _preheader(fn: Function, loop: Loop) -> tuple[Block, bool]:
    """The existing preheader, or a new block on the edges into the header from outside."""
    header = fn.block(loop.header)
    outside = [p for p in predecessors(fn)[loop.header] if p not in loop.blocks]
    if len(outside) == 1:
        only = fn.block(outside[0])
        if only.successors() == [loop.header]:
            return only, False
    pre = Block(fn.fresh_label(f"{loop.header}.pre"), term=Instr("jmp", labels=[header.label]))
    for p in outside:
        term = fn.block(p).term
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
    return pre, True


def _hoist(fn: Function, loop: Loop, pre: Block) -> bool:
    defined = {
        i.result for label in loop.blocks for i in fn.block(label).instrs() if i.result is not None
    }
    moved = False
    for label in rpo(fn):
        if label not in loop.blocks:
            continue
        block = fn.block(label)
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
