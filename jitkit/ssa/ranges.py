"""Value ranges: an interval [lo, hi] for every i64 and bool temporary (notebook 07).

Takes a `Function`; gives `Ranges`, whose `at(value, block, index)` is the interval of a
value where the block's `index`-th instruction runs. Intervals come from the operations (a
fixed point over the CFG, widening a phi that keeps growing to the int64 bounds), then are
narrowed by the branches and guards that come before: below the true edge of
`br (lt %i, %n)`, or past `guard (lt %i, %n)`, `%i <= max(%n) - 1`. That is what lets
`remove_guards` prove that `%i + 1` in a counted loop cannot overflow. A bound on an exact
square narrows its root too: past `d * d <= c`, `|d| <= isqrt(max(c))` (trial division's
`d + 1`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from jitkit.ssa.analysis import Dominance, dominators, predecessors, rpo
from jitkit.ssa.ir import Const, Function, Instr, Temp, Value
from jitkit.ssa.ops import I64_MAX, I64_MIN, SWAPPED, fits

Range = tuple[int, int]
FULL: Range = (I64_MIN, I64_MAX)
WIDEN_AFTER = 3  # rounds a phi may grow before it is widened to the bounds


def _clamp(lo: int, hi: int) -> Range:
    """The exact interval if it fits in int64, else everything (plain arithmetic wraps)."""
    return (lo, hi) if fits(lo) and fits(hi) else FULL


def transfer(op: str, args: list[Range], consts: list[int | None]) -> Range:
    """The interval of `op`'s result from its operands' intervals (sound, not tight)."""
    if op in ("eq", "ne", "lt", "le", "gt", "ge"):
        return (0, 1)
    if op == "len":
        return (0, I64_MAX)
    if op == "check_index":  # an index from the front, below a length
        return (0, I64_MAX - 1)
    if op in ("copy", "zext"):  # a bool's interval is already within [0, 1]
        return args[0]
    if op == "select":
        return (min(args[1][0], args[2][0]), max(args[1][1], args[2][1]))
    if op.endswith("_ovf_if"):  # checked where the arm runs, wrapping where it does not
        plain = op.removesuffix("_ovf_if")
        return transfer(plain + "_ovf" if args[0] == (1, 1) else plain, args[1:], consts[1:])
    if op == "neg" or op == "neg_ovf":
        lo, hi = -args[0][1], -args[0][0]
        return _clamp(lo, hi) if op == "neg" else (max(lo, I64_MIN), min(hi, I64_MAX))
    base = op.removesuffix("_ovf")
    if base in ("add", "sub", "mul"):
        (a, b), (c, d) = args
        if base == "add":
            lo, hi = a + c, b + d
        elif base == "sub":
            lo, hi = a - d, b - c
        else:
            products = [a * c, a * d, b * c, b * d]
            lo, hi = min(products), max(products)
        if op.endswith("_ovf"):  # past int64 it deopts, so the result stays inside
            return (max(lo, I64_MIN), min(hi, I64_MAX)) if lo <= I64_MAX and hi >= I64_MIN else FULL
        return _clamp(lo, hi)
    k = consts[1] if len(consts) > 1 else None
    if base == "div" and args[1][0] > 0:  # floor division is monotone in both: try corners
        corners = [a // c for a in args[0] for c in args[1]]
        return (min(corners), max(corners))
    if base == "mod" and k is not None and k > 0:
        return (0, k - 1)
    if op == "udiv32":  # defined only for a in [0, 2**32), b in [1, 2**32)
        return (0, max(0, min(args[0][1], 2**32 - 1)))
    if op == "umod32":
        return (0, max(0, min(args[1][1], 2**32) - 1))
    if op == "and" and (args[0][0] >= 0 or args[1][0] >= 0):
        return (0, min(hi for lo, hi in args if lo >= 0))
    if op in ("or", "xor") and args[0][0] >= 0 and args[1][0] >= 0:
        lo = max(args[0][0], args[1][0]) if op == "or" else 0
        return (lo, (1 << max(args[0][1], args[1][1]).bit_length()) - 1)
    if op == "sar" and k is not None:
        return (args[0][0] >> (k & 63), args[0][1] >> (k & 63))
    if op == "shr" and k is not None and k & 63:  # logical: a negative input becomes large
        lo, hi = args[0] if args[0][0] >= 0 else (0, 2**64 - 1)
        return (lo >> (k & 63), hi >> (k & 63))
    if op == "umulh" and k is not None and args[0][0] >= 0:  # strength's magic division
        magic = k % 2**64
        return ((args[0][0] * magic) >> 64, (args[0][1] * magic) >> 64)
    return FULL


@dataclass
class Ranges:
    """Intervals of every temporary, and the branch and guard facts that narrow them."""

    fn: Function
    base: dict[Temp, Range]

    def __post_init__(self) -> None:
        self.idom = dominators(self.fn)
        self.dom = Dominance(self.idom)
        preds, blocks = predecessors(self.fn), self.fn.blockmap()
        self.defs = {i.result: i for _, i in self.fn.instrs() if i.result is not None}
        # Each fact (a guard's condition held past it; a branch went one way into a block
        # with a single predecessor), filed under every temporary it may narrow, so `at`
        # looks only at the few facts about its value: (block, guard index or None for the
        # edge, condition, which way).
        self.facts: dict[Temp, list[tuple[str, int | None, Value, bool]]] = {}
        for label, ps in preds.items():
            term = blocks[ps[0]].term if len(ps) == 1 else None
            if term is not None and term.op == "br" and term.labels[0] != term.labels[1]:
                self._file((label, None, term.args[0], term.labels[0] == label))
        for b in self.fn.blocks:
            for n, i in enumerate(b.body):
                if i.op == "guard":
                    self._file((b.label, n, i.args[0], True))

    def _file(self, fact: tuple[str, int | None, Value, bool]) -> None:
        cond = fact[2]
        if not isinstance(cond, Temp):
            return
        about = [cond]
        cmp = self.defs.get(cond)
        if cmp is not None and cmp.op in NEGATE:
            about += [v for v in cmp.args if isinstance(v, Temp) and v != cond]
            about += [x for v in cmp.args if (x := self._root(v)) is not None]
        for v in dict.fromkeys(about):
            self.facts.setdefault(v, []).append(fact)

    def of(self, v: Value) -> Range:
        if isinstance(v, Const):
            return (v.value, v.value)
        return self.base.get(v, FULL) if isinstance(v, Temp) else FULL

    def at(self, v: Value, label: str, index: int | None = None) -> Range:
        """`v`'s interval in block `label` before its `index`-th body instruction (None: at
        the end): its base range, narrowed by each dominating branch or guard on `v`
        (innermost first: this block's guards, the edge into it, then up the tree)."""
        lo, hi = self.of(v)
        if not isinstance(v, Temp):
            return (lo, hi)
        reachable = label in self.dom.enter
        held = []
        for node, n, cond, taken in self.facts.get(v, ()):
            if not (self.dom(node, label) if reachable else node == label):
                continue
            if n is not None and node == label and index is not None and n >= index:
                continue  # a guard at or after this instruction
            order = (-self.dom.depth.get(node, 0), 0 if n is not None else 1, n or 0)
            held.append((order, cond, taken))
        held.sort(key=lambda fact: fact[0])
        for _, cond, taken in held:
            lo, hi = self._narrow(v, cond, taken, lo, hi)
        return (lo, hi) if lo <= hi else (hi, hi)  # empty: the code cannot run; any answer

    def _root(self, v: Value) -> Temp | None:
        """x where `v` is x * x computed exactly (checked, or plain within +-isqrt(INT64_MAX))."""
        sq = self.defs.get(v) if isinstance(v, Temp) else None
        if sq is None or sq.op not in ("mul", "mul_ovf") or sq.args[0] != sq.args[1]:
            return None
        x = sq.args[0]
        if not isinstance(x, Temp):
            return None
        if sq.op == "mul" and not -ROOT_MAX <= self.of(x)[0] <= self.of(x)[1] <= ROOT_MAX:
            return None  # may have wrapped
        return x

    def _narrow(self, v: Temp, cond: Value, taken: bool, lo: int, hi: int) -> Range:
        if cond == v:
            return (max(lo, 1), hi) if taken else (lo, min(hi, 0))
        cmp = self.defs.get(cond) if isinstance(cond, Temp) else None
        if cmp is None or cmp.op not in NEGATE:
            return (lo, hi)
        op = cmp.op if taken else NEGATE[cmp.op]
        if v not in cmp.args:  # `v * v <= c`: |v| <= isqrt(max(c))
            square = [self._root(a) == v for a in cmp.args]
            if not any(square):
                return (lo, hi)
            op, other = (SWAPPED[op], cmp.args[0]) if square[1] else (op, cmp.args[1])
            bound = self.of(other)[1] - (op == "lt")
            if op in ("lt", "le") and bound >= 0:
                root = math.isqrt(bound)
                return (max(lo, -root), min(hi, root))
            return (lo, hi)
        if cmp.args[0] != v:  # put v on the left: `lt n, v` is `gt v, n`
            op = SWAPPED[op]
            other = cmp.args[0]
        else:
            other = cmp.args[1]
        olo, ohi = self.of(other)
        if op == "lt":
            hi = min(hi, ohi - 1)
        elif op == "le":
            hi = min(hi, ohi)
        elif op == "gt":
            lo = max(lo, olo + 1)
        elif op == "ge":
            lo = max(lo, olo)
        elif op == "eq":
            lo, hi = max(lo, olo), min(hi, ohi)
        elif op == "ne" and olo == ohi:  # an interval has no holes, but may lose an end
            lo, hi = lo + (lo == olo), hi - (hi == olo)
        return (lo, hi)


ROOT_MAX = math.isqrt(I64_MAX)  # the largest |x| whose square fits int64
NEGATE = {"eq": "ne", "ne": "eq", "lt": "ge", "ge": "lt", "le": "gt", "gt": "le"}


def ranges(fn: Function) -> Ranges:
    """Intervals by a fixed point in reverse postorder. Operands are read narrowed where
    they are used (a phi's at the end of its predecessor), and a phi that keeps growing is
    widened to the bounds."""
    known = Ranges(fn, {})
    types = {p: t for t, p in fn.params} | {
        i.result: i.type for _, i in fn.instrs() if i.result is not None
    }
    known.base = {p: FULL if t == "i64" else (0, 1) for t, p in fn.params}
    order, blocks = rpo(fn), fn.blockmap()
    growth: dict[Temp, int] = {}
    changed = True
    while changed:
        changed = False
        for label in order:
            block = blocks[label]
            for n, i in enumerate([*block.phis, *block.body]):
                if i.result is None or types[i.result] not in ("i64", "bool"):
                    continue
                index = max(0, n - len(block.phis))
                r, old = _instr_range(i, label, index, known), known.base.get(i.result)
                if old is not None and r != old:
                    r = (min(r[0], old[0]), max(r[1], old[1]))
                    growth[i.result] = growth.get(i.result, 0) + 1
                    if growth[i.result] > WIDEN_AFTER:
                        r = (I64_MIN if r[0] < old[0] else r[0], I64_MAX if r[1] > old[1] else r[1])
                if r != old:
                    known.base[i.result], changed = r, True
    for t, ty in types.items():
        known.base.setdefault(t, FULL if ty == "i64" else (0, 1))  # unreachable code
    return known


def _instr_range(i: Instr, label: str, index: int, known: Ranges) -> Range:
    """One instruction's interval from what is known so far; a phi ignores inputs not yet
    computed (they come round a loop and are met on a later round)."""

    def of(v: Value, where: str, before: int | None = None) -> Range | None:
        if isinstance(v, Temp) and v not in known.base:
            return None
        return known.at(v, where, before)

    if i.op == "phi":
        ins = [of(v, pred) for v, pred in zip(i.args, i.labels, strict=True)]
        known_ins = [r for r in ins if r is not None]
        if not known_ins:
            return FULL
        return (min(r[0] for r in known_ins), max(r[1] for r in known_ins))
    if i.op == "call":
        return FULL if i.type == "i64" else (0, 1)
    args = [of(a, label, index) or FULL for a in i.args]
    consts = [a.value if isinstance(a, Const) else None for a in i.args]
    r = transfer(i.op, args, consts)
    return (max(r[0], 0), min(r[1], 1)) if i.type == "bool" else r
