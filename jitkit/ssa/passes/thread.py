"""`thread_jumps`: a branch on a bool that each predecessor already knows goes straight on
(notebook 07).

Takes a `Function`. Python's `a and b` leaves a bool that the `while` or `if` then tests: in
SSA a block holding only `%p =bool phi @x %a, @y %b` and `br %p, @t, @f`. A predecessor that
jumps there branches on its own value instead, and one that came by `br %a, ..., @here` on
the edge where `%a` is false (or with a constant) goes to `@f` (or `@t`) directly: one test
per condition, no bool made and tested again. The block goes once no edge reaches it.
"""

from __future__ import annotations

from jitkit.ssa.analysis import Dominance, dominators
from jitkit.ssa.edit import remove_unreachable
from jitkit.ssa.ir import Block, Const, Function, Instr, Temp


def thread_jumps(fn: Function) -> bool:
    """Thread every edge into a phi-and-branch block; returns whether the IR changed.

    requires: dominators (computed here); invalidates: rpo, dominators, loops, liveness."""
    uses: dict[Temp, int] = {}
    for _, i in fn.instrs():
        for v in i.uses():
            if isinstance(v, Temp):
                uses[v] = uses.get(v, 0) + 1
    dominates = Dominance(dominators(fn))
    blocks, changed = fn.blockmap(), False
    for b in fn.blocks:
        t = b.term
        if b.body or len(b.phis) != 1 or t is None or t.op != "br":
            continue
        phi = b.phis[0]
        if t.args[0] != phi.result or uses.get(phi.result) != 1:  # type: ignore[arg-type]
            continue
        if b.label in t.labels or t.labels[0] == t.labels[1]:
            continue
        if any(dominates(b.label, p) for p in phi.labels):
            continue  # a loop header: its back edges stay
        for pred in list(phi.labels):
            changed |= _thread(blocks[pred], b, phi, blocks)
    return remove_unreachable(fn) or changed


def _thread(pred: Block, b: Block, phi: Instr, blocks: dict[str, Block]) -> bool:
    """Send the edge `pred -> b` on to where `b`'s branch would take it, if known there."""
    value, term = phi.phi_value(pred.label), pred.term
    yes, no = b.term.labels  # type: ignore[union-attr]
    assert term is not None
    if term.op == "jmp":
        pred.term = Instr("br", [value], labels=[yes, no])
        targets = [yes, no]
    else:
        if isinstance(value, Const):
            target = yes if value.value else no
        elif term.op == "br" and value == term.args[0] and term.labels[0] != term.labels[1]:
            target = yes if term.labels[0] == b.label else no  # `value` is what the edge says
        else:
            return False
        if pred.label in _preds_of(blocks[target], blocks):
            return False  # a second edge from pred into target: phis could not tell them apart
        term.labels = [target if lab == b.label else lab for lab in term.labels]
        targets = [target]
    for label in targets:  # the new edge brings what the edge through b brought
        for p in blocks[label].phis:
            p.labels.append(pred.label)
            p.args.append(p.phi_value(b.label))
    k = phi.labels.index(pred.label)
    del phi.labels[k], phi.args[k]
    return True


def _preds_of(block: Block, blocks: dict[str, Block]) -> set[str]:
    return {label for label, other in blocks.items() if block.label in other.successors()}
