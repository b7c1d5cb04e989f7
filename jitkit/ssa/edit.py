"""Small CFG edits that keep phis in step with edges, shared by the passes (notebook 07).

Takes a `Function` and changes it in place: removing an edge also removes the phi inputs
that came along it, and removing unreachable blocks removes their phi inputs everywhere.
"""

from __future__ import annotations

from jitkit.ssa.analysis import rpo
from jitkit.ssa.ir import Block, Function, Instr


def drop_phi_inputs(block: Block, pred: str) -> None:
    """Forget what `block`'s phis receive from `pred` (the edge is gone)."""
    for phi in block.phis:
        keep = [n for n, lab in enumerate(phi.labels) if lab != pred]
        phi.labels = [phi.labels[n] for n in keep]
        phi.args = [phi.args[n] for n in keep]


def jump(fn: Function, block: Block, target: str) -> None:
    """Make `block` end in `jmp @target`, dropping phi inputs on the edges it no longer has."""
    assert block.term is not None
    for old in set(block.term.labels) - {target}:
        drop_phi_inputs(fn.block(old), block.label)
    block.term = Instr("jmp", labels=[target])


def rename_phi_inputs(block: Block, old: str, new: str) -> None:
    """Phis of `block` now receive from `new` what they used to receive from `old`."""
    for phi in block.phis:
        phi.labels = [new if lab == old else lab for lab in phi.labels]


def remove_unreachable(fn: Function) -> bool:
    """Delete blocks the entry cannot reach; returns whether any went."""
    live = set(rpo(fn))
    dead = [b for b in fn.blocks if b.label not in live]
    for b in dead:
        for s in set(b.successors()):
            if s in live:
                drop_phi_inputs(fn.block(s), b.label)
    fn.blocks = [b for b in fn.blocks if b.label in live]
    return bool(dead)
