"""`eliminate_bounds_checks`: drop the `check_index` that cannot fail (notebook 07).

Takes a `Function`; replaces `%k = check_index %xs, %i` by `%k = copy %i` where the index is
provably in `[0, len(xs))`: its interval (`jitkit.ssa.ranges`) starts at 0 or above, and
either a branch or guard that dominates the check says `%i < %w` (or `%i <= %w - 1`) for a
*length witness* `%w` of the list, or `%i`'s interval ends below a constant witness. A
witness is a value the list's length is at least, wherever the witness is defined:
- `%w = len %xs`, read anywhere before (`for i in range(len(xs))`, `for x in xs`);
- `%n` of `%xs = new %n, ...` (a list literal, `[]`);
- `%m` of `%xs = repeat %ys, %m` when `%ys` was made with a constant length of at least 1
  (`[v] * m`: sieve's `[True] * (n + 1)` with `range(i * i, n + 1, i)`).
A length read once stays a lower bound for good because lists never shrink in the subset
(no `pop`, `del` or slice assignment): an `append` in the loop, on this list or an alias,
only makes it longer, so it does not stop the proof.

Range loops whose step is a variable test the step's sign each round (`lower_range_test`);
when ranges prove the sign (sieve's step `i` starts at 2 and grows), that comparison is
decided first and `simplify_cfg` removes the other arm, so the loop's own `lt` guards the
body. Comparisons ranges decide elsewhere go the same way.
"""

from __future__ import annotations

from jitkit.ssa.ir import Const, Function, Instr, Temp, Value
from jitkit.ssa.ops import SWAPPED
from jitkit.ssa.passes.cfg import simplify_cfg
from jitkit.ssa.ranges import NEGATE, Ranges, ranges

DECIDE = {
    "lt": lambda a, b: (a[1] < b[0], a[0] >= b[1]),  # (always true, always false)
    "le": lambda a, b: (a[1] <= b[0], a[0] > b[1]),
    "gt": lambda a, b: (a[0] > b[1], a[1] <= b[0]),
    "ge": lambda a, b: (a[0] >= b[1], a[1] < b[0]),
    "eq": lambda a, b: (a[0] == a[1] == b[0] == b[1], a[1] < b[0] or a[0] > b[1]),
    "ne": lambda a, b: (a[1] < b[0] or a[0] > b[1], a[0] == a[1] == b[0] == b[1]),
}


def eliminate_bounds_checks(fn: Function) -> bool:
    """Decide the comparisons ranges can, then remove the bounds checks proven to pass;
    returns whether the IR changed.

    requires: ranges (dominators, rpo); invalidates: the CFG when a comparison was decided
    (rpo, dominators, loops, liveness)."""
    if not any(i.op == "check_index" for _, i in fn.instrs()):
        return False
    # 1. comparisons whose answer ranges know become constants; the dead arms go
    changed = _decide_comparisons(fn, ranges(fn))
    if changed:
        simplify_cfg(fn)
    # 2. each check whose index is below a witness of its list's length goes
    known = ranges(fn)
    witnesses = _witnesses(fn)
    for b in fn.blocks:
        for n, i in enumerate(b.body):
            if i.op == "check_index" and _proven(i, b.label, n, known, witnesses):
                i.op, i.args, i.deopt, changed = "copy", [i.args[1]], None, True
        kept = [i for i in b.body if not (i.op == "guard" and i.args[0] == Const(1))]
        changed |= len(kept) != len(b.body)
        b.body = kept  # a guard of a decided comparison (a range step that is not 0)
    return changed


def _decide_comparisons(fn: Function, known: Ranges) -> bool:
    decided: dict[Temp, Value] = {}
    for b in fn.blocks:
        for n, i in enumerate(b.body):
            if i.op in DECIDE and i.result is not None:
                x, y = (known.at(v, b.label, n) for v in i.args)
                always, never = DECIDE[i.op](x, y)
                if always or never:
                    decided[i.result] = Const(int(always))
    if decided:
        fn.replace_uses(decided)
    return bool(decided)


Witness = tuple[Value, str | None, int]  # (value, defining block or None for a constant, index)


def _witnesses(fn: Function) -> dict[Value, list[Witness]]:
    """List -> the values its length is at least, with where each becomes known."""
    defs: dict[Temp, Instr] = {i.result: i for _, i in fn.instrs() if i.result is not None}
    out: dict[Value, list[Witness]] = {}
    for b in fn.blocks:
        for n, i in enumerate(b.body):
            if i.result is None:
                continue
            if i.op == "len":
                out.setdefault(i.args[0], []).append((i.result, b.label, n))
            elif i.op[:-1] == "new":
                out.setdefault(i.result, []).append((i.args[0], b.label, n))
            elif i.op[:-1] == "repeat":
                source = defs.get(i.args[0]) if isinstance(i.args[0], Temp) else None
                made = source is not None and source.op[:-1] == "new"
                if made and isinstance(source.args[0], Const) and source.args[0].value >= 1:  # type: ignore[union-attr]
                    out.setdefault(i.result, []).append((i.args[1], b.label, n))
    return out


def _proven(i: Instr, label: str, n: int, known: Ranges, witnesses: dict) -> bool:
    """Is `check_index %xs, %i` (the `n`-th instruction of `label`) sure to pass?"""
    xs, index = i.args
    lo, hi = known.at(index, label, n)
    if lo < 0:
        return False
    valid = [w for w, where, k in witnesses.get(xs, ()) if _before(known, where, k, label, n)]
    if any(known.at(w, label, n)[0] > hi for w in valid):
        return True
    if not isinstance(index, Temp):
        return False
    for node, k, cond, taken in known.facts.get(index, ()):
        if not _before(known, node, k, label, n, edge=k is None):
            continue
        cmp = known.defs.get(cond) if isinstance(cond, Temp) else None
        if cmp is None or cmp.op not in NEGATE or index not in cmp.args:
            continue
        op = cmp.op if taken else NEGATE[cmp.op]
        other = cmp.args[1] if cmp.args[0] == index else cmp.args[0]
        if cmp.args[0] != index:
            op = SWAPPED[op]
        if op == "lt" and other in valid:
            return True
        if op == "le" and _minus_one(other, known, valid):
            return True
    return False


def _minus_one(v: Value, known: Ranges, valid: list[Value]) -> bool:
    """Is `v` a witness minus one (`i <= len(xs) - 1`)?"""
    d = known.defs.get(v) if isinstance(v, Temp) else None
    if d is None:
        return False
    if d.op in ("sub", "sub_ovf") and d.args[1] == Const(1):
        return d.args[0] in valid
    return d.op in ("add", "add_ovf") and d.args[1] == Const(-1) and d.args[0] in valid


def _before(
    known: Ranges, where: str | None, k: int | None, label: str, n: int, edge: bool = False
) -> bool:
    """Does the point (`where`, `k`) come before instruction `n` of `label` on every path?
    (`edge`: a fact on the edge into `where`, true from its start.)"""
    if where is None:
        return True
    if where == label:
        return edge or (k is not None and k < n)
    return label in known.dom.enter and known.dom(where, label)
