"""`remove_guards`: drop overflow checks and guards that value ranges prove never fail
(notebook 07).

Takes a `Function`; with the intervals of `jitkit.ssa.ranges`, narrowed by the branches
that dominate each instruction, turns `add_ovf` (sub, mul, neg) whose exact result always
fits int64 into plain `add`, `div_ovf`/`mod_ovf` whose divisor is never 0 (nor -1 with
INT64_MIN) into plain `div`/`mod`, and deletes `guard %c` where `%c` is always true. A
speculated `add_ovf_if %p, ...` (if-conversion) becomes plain `add` when it cannot overflow
or `%p` is always false, and `add_ovf` when `%p` is always true.
"""

from __future__ import annotations

from jitkit.ssa.ir import Function, Instr
from jitkit.ssa.ops import I64_MIN, fits
from jitkit.ssa.ranges import Range, ranges


def remove_guards(fn: Function) -> bool:
    """Replace checks that cannot fail; returns whether any was removed.

    requires: ranges (dominators, rpo); invalidates: nothing structural (the CFG stays)."""
    # 1. intervals of every value, narrowed per block by dominating branches
    known = ranges(fn)
    changed = False
    # 2. each check whose operands' intervals rule its failure out goes
    for b in fn.blocks:
        body: list[Instr] = []
        for n, i in enumerate(b.body):
            args = [known.at(a, b.label, n) for a in i.args]
            if i.op == "guard" and args[0] == (1, 1):
                changed = True
                continue
            if i.op.endswith("_ovf") and _safe(i.op, args):
                i.op, i.deopt, changed = i.op.removesuffix("_ovf"), None, True
            elif i.op.endswith("_ovf_if"):  # the arm never runs, or it cannot overflow
                plain = i.op.removesuffix("_ovf_if")
                if args[0] == (0, 0) or _safe(plain + "_ovf", args[1:]):
                    i.op, i.args, i.deopt, changed = plain, i.args[1:], None, True
                elif args[0] == (1, 1):
                    i.op, i.args, changed = plain + "_ovf", i.args[1:], True
            body.append(i)
        b.body = body
    return changed


def _safe(op: str, args: list[Range]) -> bool:
    """Can this checked operation never deopt, given its operands' intervals?"""
    if op in ("div_ovf", "mod_ovf"):
        (a, _), (c, d) = args
        nonzero = c > 0 or d < 0
        return nonzero and (a > I64_MIN or not c <= -1 <= d)
    lo, hi = _exact(op, args)
    return fits(lo) and fits(hi)


def _exact(op: str, args: list[Range]) -> Range:
    if op == "neg_ovf":
        return (-args[0][1], -args[0][0])
    (a, b), (c, d) = args
    if op == "add_ovf":
        return (a + c, b + d)
    if op == "sub_ovf":
        return (a - d, b - c)
    products = [a * c, a * d, b * c, b * d]
    return (min(products), max(products))
