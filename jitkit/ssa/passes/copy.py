"""`propagate_copies`: uses of a copy read the original instead (notebook 07).

Takes a `Function`; removes `%x =i64 copy %y` and phis whose inputs are all one value (or
the phi itself, around a loop), rewriting every use, deopt state included, to that value.
"""

from __future__ import annotations

from jitkit.ssa.ir import Function, Instr, Temp, Value


def propagate_copies(fn: Function) -> bool:
    """Replace copies and trivial phis by their source; returns whether the IR changed.

    requires: nothing; invalidates: uses, liveness."""
    changed = False
    while True:
        # 1. find copies and phis that only ever see one value
        mapping: dict[Temp, Value] = {}
        for _, i in fn.instrs():
            source = _source(i)
            if source is not None and i.result is not None:
                mapping[i.result] = source
        if not mapping:
            return changed
        # 2. delete them and rewrite the uses; repeat, as a phi may become trivial
        for b in fn.blocks:
            b.phis = [i for i in b.phis if i.result not in mapping]
            b.body = [i for i in b.body if i.result not in mapping]
        fn.replace_uses(mapping)
        changed = True


def _source(i: Instr) -> Value | None:
    """The one value a copy or trivial phi stands for, else None."""
    if i.op == "copy":
        return i.args[0]
    if i.op == "phi":
        others = {a for a in i.args if a != i.result}
        if len(others) == 1:
            return others.pop()
    return None
