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


# 2. predecessors of an empty `@e: jmp @t` jump to @t directly (when @t's phis allow it);
#    one sweep, the predecessor lists kept up to date as edges move
def _skip_empty(fn: Function) -> bool:
    preds, blocks = predecessors(fn), fn.blockmap()
    changed = False
    for e in fn.blocks[1:]:
        if e.phis or e.body or e.term is None or e.term.op != "jmp":
            continue
        target = blocks[e.term.labels[0]]
        if target is e:
            continue
        movable = [p for p in preds[e.label] if not (target.phis and p in preds[target.label])]
        if not movable:
            continue
        for p in movable:
            pred = blocks[p]
            pred.term.labels = [target.label if s == e.label else s for s in pred.term.labels]  # type: ignore[union-attr]
            for phi in target.phis:
                phi.labels.append(p)
                phi.args.append(phi.phi_value(e.label))
            if p not in preds[target.label]:
                preds[target.label].append(p)
        if len(movable) == len(preds[e.label]):
            for phi in target.phis:
                n = phi.labels.index(e.label)
                del phi.labels[n], phi.args[n]
            preds[target.label].remove(e.label)
        preds[e.label] = [p for p in preds[e.label] if p not in movable]
        changed = True
    return changed


# 3. `@a ... jmp @b` where @b's only predecessor is @a: one block (all such pairs in one
#    sweep, and one substitution for the phis that go, so long functions stay linear)
def _merge(fn: Function) -> bool:
    preds, blocks = predecessors(fn), fn.blockmap()
    mapping: dict[Temp, Value] = {}
    gone: set[str] = set()
    for a in fn.blocks:
        if a.label in gone:
            continue
        while a.term is not None and a.term.op == "jmp":
            b = blocks[a.term.labels[0]]
            if b is a or b is fn.blocks[0] or preds[b.label] != [a.label]:
                break
            mapping.update({phi.result: phi.args[0] for phi in b.phis})  # type: ignore[misc]
            a.body += b.body
            a.term = b.term
            for s in dict.fromkeys(b.successors()):
                rename_phi_inputs(blocks[s], b.label, a.label)
                preds[s] = [a.label if p == b.label else p for p in preds[s]]
            gone.add(b.label)
    if not gone:
        return False
    fn.blocks = [b for b in fn.blocks if b.label not in gone]
    if mapping:
        fn.replace_uses(mapping)
    return True
