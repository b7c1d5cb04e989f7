"""`eliminate_dead_code`: delete instructions whose results nothing needs (notebook 07).

Takes a `Function`; marks from the roots (terminators, prints, calls, guards, checked
arithmetic, divisions that might fault) back through operands and deopt state, then
sweeps everything unmarked. Unreachable blocks are `simplify_cfg`'s job, not this pass's.
"""

from __future__ import annotations

from jitkit.ssa.analysis import definitions
from jitkit.ssa.ir import Const, Function, Instr, Temp
from jitkit.ssa.ops import OPS


def eliminate_dead_code(fn: Function) -> bool:
    """Mark and sweep over SSA def-use edges; returns whether anything was deleted.

    requires: definitions (computed here); invalidates: uses, liveness."""
    # 1. roots: whatever does something besides computing a value
    defs = definitions(fn)
    live: set[int] = set()
    work = [i for _, i in fn.instrs() if not _removable(i)]
    # 2. mark: an instruction is live when a live one uses its result
    while work:
        i = work.pop()
        if id(i) in live:
            continue
        live.add(id(i))
        for v in i.uses():
            if isinstance(v, Temp) and defs[v][1] is not None:
                work.append(defs[v][1])  # type: ignore[arg-type]
    # 3. sweep
    changed = False
    for b in fn.blocks:
        for group in (b.phis, b.body):
            kept = [i for i in group if id(i) in live]
            changed |= len(kept) != len(group)
            group[:] = kept
    return changed


def _removable(i: Instr) -> bool:
    """Pure, or a division by a constant that can neither be zero nor overflow (not -1)."""
    if OPS[i.op].pure:
        return True
    if i.op in ("div", "mod"):
        d = i.args[1]
        return isinstance(d, Const) and d.value not in (0, -1)
    return False
