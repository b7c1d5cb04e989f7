"""`simplify_cfg`: fold constant branches, skip empty blocks, merge straight lines
(notebook 07).

Takes a `Function`; rewrites branches whose condition is a constant (or whose targets agree)
into jumps, deletes blocks the entry cannot reach, sends jumps to an empty block straight to
its target, and merges a block into its only predecessor when that predecessor only jumps.
"""

from __future__ import annotations

from jitkit.ssa.analysis import predecessors
from jitkit.ssa.edit import jump, remove_unreachable, rename_phi_inputs
from jitkit.ssa.ir import Const, Function, Temp, Value


def simplify_cfg(fn: Function) -> bool:
    """Repeat the four rewrites until none applies; returns whether the IR changed.

    requires: predecessors (computed here); invalidates: rpo, dominators, loops, liveness."""
    changed = False
    while True:
        step = _fold_branches(fn)
        step |= remove_unreachable(fn)
        step = step or _skip_empty(fn) or _merge(fn)
        if not step:
            return changed
        changed = True


# 1. `br 1, @t, @f` -> `jmp @t`; `br %c, @t, @t` -> `jmp @t`
def _fold_branches(fn: Function) -> bool:
    changed = False
    for b in fn.blocks:
        t = b.term
        if t is not None and t.op == "br":
            if isinstance(t.args[0], Const):
                jump(fn, b, t.labels[1 - t.args[0].value])
                changed = True
            elif t.labels[0] == t.labels[1]:
                jump(fn, b, t.labels[0])
                changed = True
    return changed


# 2. predecessors of an empty `@e: jmp @t` jump to @t directly (when @t's phis allow it)
def _skip_empty(fn: Function) -> bool:
    preds = predecessors(fn)
    for e in fn.blocks[1:]:
        if e.phis or e.body or e.term is None or e.term.op != "jmp":
            continue
        target = fn.block(e.term.labels[0])
        if target is e:
            continue
        movable = [p for p in preds[e.label] if not (target.phis and p in preds[target.label])]
        if not movable:
            continue
        for p in movable:
            pred = fn.block(p)
            pred.term.labels = [target.label if s == e.label else s for s in pred.term.labels]
            for phi in target.phis:
                phi.labels.append(p)
                phi.args.append(phi.phi_value(e.label))
        if len(movable) == len(preds[e.label]):
            for phi in target.phis:
                n = phi.labels.index(e.label)
                del phi.labels[n], phi.args[n]
        return True
    return False


# 3. `@a ... jmp @b` where @b's only predecessor is @a: one block
def _merge(fn: Function) -> bool:
    preds = predecessors(fn)
    for a in fn.blocks:
        if a.term is None or a.term.op != "jmp":
            continue
        b = fn.block(a.term.labels[0])
        if b is a or b is fn.blocks[0] or preds[b.label] != [a.label]:
            continue
        mapping: dict[Temp, Value] = {phi.result: phi.args[0] for phi in b.phis}  # type: ignore[misc]
        a.body += b.body
        a.term = b.term
        for s in set(b.successors()):
            rename_phi_inputs(fn.block(s), b.label, a.label)
        fn.blocks.remove(b)
        fn.replace_uses(mapping)
        return True
    return False
