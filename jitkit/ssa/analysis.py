"""Analyses of an SSA function: nouns that return data, never change the IR (notebook 07).

Takes a `Function`; gives block orders (`rpo`), `predecessors`, `dominators` (immediate
dominators by Cooper, Harvey and Kennedy's "A Simple, Fast Dominance Algorithm"),
`Dominance` (O(1) dominance queries), `uses`, `definitions`, `liveness` (live-in/live-out
sets per block) and natural `loops` found from back edges. Passes recompute what they need;
each pass's docstring says which it relies on.
"""

from __future__ import annotations

from dataclasses import dataclass

from jitkit.ssa.ir import Block, Function, Instr, Temp


def rpo(fn: Function) -> list[str]:
    """Reverse postorder of the blocks reachable from the entry: defs before uses, mostly."""
    blocks, seen, order = fn.blockmap(), set(), []

    def visit(label: str) -> None:  # iterative, so deep CFGs do not hit the recursion limit
        stack = [(label, iter(blocks[label].successors()))]
        seen.add(label)
        while stack:
            lab, succs = stack[-1]
            for s in succs:
                if s not in seen:
                    seen.add(s)
                    stack.append((s, iter(blocks[s].successors())))
                    break
            else:
                order.append(lab)
                stack.pop()

    if fn.blocks:
        visit(fn.blocks[0].label)
    return order[::-1]


def predecessors(fn: Function) -> dict[str, list[str]]:
    """Each block's predecessors, in block order, each listed once (unreachable ones too)."""
    preds: dict[str, list[str]] = {b.label: [] for b in fn.blocks}
    for b in fn.blocks:
        for s in dict.fromkeys(b.successors()):
            if s in preds:
                preds[s].append(b.label)
    return preds


def dominators(fn: Function) -> dict[str, str | None]:
    """Immediate dominator of each reachable block (None for the entry), by CHK's iteration."""
    order = rpo(fn)
    index = {label: n for n, label in enumerate(order)}
    preds = predecessors(fn)
    idom: dict[str, str | None] = {order[0]: order[0]} if order else {}

    def intersect(a: str, b: str) -> str:
        while a != b:
            while index[a] > index[b]:
                a = idom[a]  # type: ignore[assignment]
            while index[b] > index[a]:
                b = idom[b]  # type: ignore[assignment]
        return a

    changed = True
    while changed:
        changed = False
        for label in order[1:]:
            done = [p for p in preds[label] if p in idom]
            new = done[0]
            for p in done[1:]:
                new = intersect(p, new)
            if idom.get(label) != new:
                idom[label], changed = new, True
    if order:
        idom[order[0]] = None
    return idom


def dominates(idom: dict[str, str | None], a: str, b: str) -> bool:
    """Does block `a` dominate block `b` (every block dominates itself)?"""
    node: str | None = b
    while node is not None:
        if node == a:
            return True
        node = idom.get(node)
    return False


class Dominance:
    """O(1) dominance queries: each block's interval in a depth-first walk of the dominator
    tree (a dominates b when b's interval nests inside a's), so passes that ask often stay
    linear where `dominates` walks the tree up once per question."""

    def __init__(self, idom: dict[str, str | None]) -> None:
        self.idom = idom
        children = dominator_tree(idom)
        self.enter: dict[str, int] = {}
        self.exit: dict[str, int] = {}
        self.depth: dict[str, int] = {}
        clock = 0
        for root in [label for label, parent in idom.items() if parent is None]:
            self.depth[root] = 0
            stack = [(root, iter(children[root]))]
            self.enter[root] = clock
            while stack:
                label, kids = stack[-1]
                kid = next(kids, None)
                clock += 1
                if kid is None:
                    self.exit[label] = clock
                    stack.pop()
                else:
                    self.enter[kid], self.depth[kid] = clock, self.depth[label] + 1
                    stack.append((kid, iter(children[kid])))

    def __call__(self, a: str, b: str) -> bool:
        """Does block `a` dominate block `b` (both reachable; every block dominates itself)?"""
        return (
            a in self.enter
            and b in self.enter
            and (self.enter[a] <= self.enter[b] and self.exit[b] <= self.exit[a])
        )


def dominator_tree(idom: dict[str, str | None]) -> dict[str, list[str]]:
    """Children of each block in the dominator tree."""
    children: dict[str, list[str]] = {label: [] for label in idom}
    for label, parent in idom.items():
        if parent is not None:
            children[parent].append(label)
    return children


def definitions(fn: Function) -> dict[Temp, tuple[Block, Instr | None]]:
    """Where each temporary is defined: its block and instruction (None for a parameter)."""
    defs: dict[Temp, tuple[Block, Instr | None]] = {}
    if fn.blocks:
        defs = {p: (fn.blocks[0], None) for _, p in fn.params}
    for b, i in fn.instrs():
        if i.result is not None:
            defs[i.result] = (b, i)
    return defs


def uses(fn: Function) -> dict[Temp, list[Instr]]:
    """The instructions using each temporary (one entry per use)."""
    out: dict[Temp, list[Instr]] = {}
    for _, i in fn.instrs():
        for v in i.uses():
            if isinstance(v, Temp):
                out.setdefault(v, []).append(i)
    return out


@dataclass
class Liveness:
    """Temporaries live on entry to and exit from each block (phi operands count as live
    out of the predecessor they come from, not live into the phi's block)."""

    live_in: dict[str, set[Temp]]
    live_out: dict[str, set[Temp]]


def liveness(fn: Function) -> Liveness:
    """Backward dataflow to a fixed point over the reachable blocks."""
    blocks, order = fn.blockmap(), rpo(fn)
    live_in = {label: set() for label in order}
    live_out = {label: set() for label in order}
    changed = True
    while changed:
        changed = False
        for label in reversed(order):
            b = blocks[label]
            out: set[Temp] = set()
            for s in b.successors():
                out |= live_in[s]
                for phi in blocks[s].phis:
                    v = phi.phi_value(label)
                    if isinstance(v, Temp):
                        out.add(v)
            live = set(out)
            for i in reversed(list(b.instrs())):
                if i.result is not None:
                    live.discard(i.result)
                if i.op != "phi":
                    live |= {v for v in i.uses() if isinstance(v, Temp)}
            if live != live_in[label] or out != live_out[label]:
                live_in[label], live_out[label], changed = live, out, True
    return Liveness(live_in, live_out)


@dataclass
class Loop:
    """A natural loop: its header, the blocks in it (header included), its back-edge sources."""

    header: str
    blocks: set[str]
    latches: list[str]


def loops(fn: Function) -> list[Loop]:
    """Natural loops from back edges (an edge to a dominator), outermost first, one per header."""
    idom, preds, blocks = dominators(fn), predecessors(fn), fn.blockmap()
    dom = Dominance(idom)
    found: dict[str, Loop] = {}
    for label in rpo(fn):
        for s in blocks[label].successors():
            if dom(s, label):
                loop = found.setdefault(s, Loop(s, {s}, []))
                loop.latches.append(label)
                work = [label]
                while work:
                    n = work.pop()
                    if n not in loop.blocks:
                        loop.blocks.add(n)
                        work += [p for p in preds[n] if p in idom]
    return sorted(found.values(), key=lambda lp: -len(lp.blocks))
