"""The kit's own layered CFG layout (Sugiyama, Tamassia and Toda 1981), for machines without
graphviz: layers, dummy slots for long edges, barycentre ordering, drawn with matplotlib.

Our own rather than a pip layout engine: the one candidate, grandalf, is unmaintained, and the
~200 lines here keep the two rules that matter (no edge over a box, T/F on branches)
checkable in tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

from jitkit.pictures.svg import CHAR, FONT, LINE, figure_svg

Blocks = list[tuple[str, list[str], list[str]]]  # (label, IR lines, successor labels)


def edge_label(successors: list[str], i: int) -> str:
    """`T`/`F` on a two-way branch's edges (`br %c, @true, @false`), nothing on a jump."""
    return ("T", "F")[i] if len(successors) == 2 else ""


@dataclass
class Edge:
    source: str
    target: str
    label: str  # "T", "F" or ""
    back: bool  # reversed to layer the graph: drawn upwards, from the source's top
    points: list[tuple[float, float]]  # the drawn polyline, source to target, in inches


@dataclass
class Layout:
    """Boxes (centre x, top y, width, height; inches, y grows downwards) and edge polylines.
    Rules kept: every edge runs between adjacent layers only (a long edge goes through
    dummy slots that the ordering treats like boxes), so no edge crosses a box; a back edge
    is a forward edge reversed, leaving its source's top and entering its target's bottom."""

    boxes: dict[str, tuple[float, float, float, float]]
    text: dict[str, str]
    edges: list[Edge]
    width: float
    height: float

    @staticmethod
    def of(blocks: Blocks) -> Layout:
        names = [label for label, _, _ in blocks]
        known = set(names)
        succ = {b: [t for t in s if t in known] for b, _, s in blocks}
        labels = {(b, t): edge_label(s, i) for b, _, s in blocks for i, t in enumerate(s)}
        back = _back_edges(names, succ)
        layer = _longest_path(names, succ, back)
        size = {b: (CHAR * max(map(len, lines)) + 0.2, LINE * len(lines) + 0.14)
                for b, lines, _ in blocks}  # fmt: skip
        # each edge as a chain of slots, top layer to bottom layer
        chains: list[tuple[str, str, list[str]]] = []
        rows: dict[int, list[str]] = {}
        for b in names:
            rows.setdefault(layer[b], []).append(b)
        for b in names:
            for t in succ[b]:
                if t == b:
                    continue  # a self-loop is drawn beside its box
                top, bottom = (t, b) if (b, t) in back else (b, t)
                dummies = [f"\0{b}->{t}#{k}" for k in range(layer[top] + 1, layer[bottom])]
                for k, d in zip(range(layer[top] + 1, layer[bottom]), dummies, strict=True):
                    rows[k].append(d)
                    size[d] = (0.25, 0.0)
                chains.append((b, t, [top, *dummies, bottom]))
        depth = max(rows) + 1 if rows else 0
        order = _order([rows.get(k, []) for k in range(depth)], chains)
        x = _place(order, chains, size)
        tops, y = [], 0.0
        for row in order:
            tops.append(y)
            y += max((size[v][1] for v in row), default=0) + 0.6
        at = {v: k for k, row in enumerate(order) for v in row}
        left = min((x[v] - size[v][0] / 2 for v in x), default=0)
        x = {v: c - left + 0.05 for v, c in x.items()}
        loops = {b for b in names if b in succ[b]}
        width = max((x[v] + size[v][0] / 2 + (0.45 if v in loops else 0) for v in x), default=0)
        boxes = {b: (x[b], tops[at[b]], *size[b]) for b in names}
        band = {k: max((size[v][1] for v in row), default=0) for k, row in enumerate(order)}
        edges = _route(chains, boxes, x, at, tops, band, back, labels)
        for b in loops:
            cx, top, w, h = boxes[b]
            right = cx + w / 2
            points = [(right, top + 0.3 * h), (right + 0.3, top + 0.3 * h),
                      (right + 0.3, top + 0.7 * h), (right, top + 0.7 * h)]  # fmt: skip
            edges.append(Edge(b, b, labels[(b, b)], True, points))
        # no-break spaces: SVG viewers collapse ordinary leading spaces
        text = {b: "\n".join(lines).replace(" ", "\u00a0") for b, lines, _ in blocks}
        return Layout(boxes, text, edges, width + 0.05, y - 0.6 + 0.05)


def _back_edges(names: list[str], succ: dict[str, list[str]]) -> set[tuple[str, str]]:
    """Edges to a block still on the depth-first path from the entry: the loops' back edges
    (then blocks no path reaches, in order)."""
    back: set[tuple[str, str]] = set()
    state: dict[str, int] = {}  # 1 on the path, 2 finished
    for root in names:
        if root in state:
            continue
        state[root] = 1
        stack = [(root, iter(succ[root]))]
        while stack:
            node, targets = stack[-1]
            target = next(targets, None)
            if target is None:
                state[node] = 2
                stack.pop()
            elif state.get(target) == 1:
                back.add((node, target))
            elif target not in state:
                state[target] = 1
                stack.append((target, iter(succ[target])))
    return back


def _longest_path(names, succ, back) -> dict[str, int]:
    """Each block one layer below its lowest forward predecessor (the entry on top)."""
    preds: dict[str, list[str]] = {b: [] for b in names}
    for b in names:
        for t in succ[b]:
            if t != b:
                top, bottom = (t, b) if (b, t) in back else (b, t)
                preds[bottom].append(top)
    layer: dict[str, int] = {}

    def visit(b: str) -> int:
        if b not in layer:
            layer[b] = -1  # the graph is acyclic once back edges turn round: never read
            layer[b] = max((visit(p) + 1 for p in preds[b]), default=0)
        return layer[b]

    for b in names:
        visit(b)
    return layer


def _order(rows: list[list[str]], chains) -> list[list[str]]:
    """Barycentre sweeps down and up; keeps the order with the fewest crossings."""
    up: dict[str, list[str]] = {}
    down: dict[str, list[str]] = {}
    for _, _, chain in chains:
        for a, b in pairwise(chain):
            down.setdefault(a, []).append(b)
            up.setdefault(b, []).append(a)

    def crossings(order):
        total = 0
        for k in range(len(order) - 1):
            pos = {v: i for i, v in enumerate(order[k + 1])}
            ends = [(i, pos[w]) for i, v in enumerate(order[k]) for w in down.get(v, [])]
            total += sum(1 for a, b in ends for c, d in ends if a < c and b > d)
        return total

    best, best_count = [list(r) for r in rows], crossings(rows)
    order = [list(r) for r in rows]
    for sweep in range(8):
        ks = range(1, len(order)) if sweep % 2 == 0 else range(len(order) - 2, -1, -1)
        for k in ks:
            near = order[k - 1] if sweep % 2 == 0 else order[k + 1]
            links = up if sweep % 2 == 0 else down
            pos = {v: i for i, v in enumerate(near)}

            def centre(v, k=k, pos=pos, links=links):
                linked = [pos[w] for w in links.get(v, []) if w in pos]
                return sum(linked) / len(linked) if linked else order[k].index(v)

            order[k] = sorted(order[k], key=centre)
        count = crossings(order)
        if count < best_count:
            best, best_count = [list(r) for r in order], count
    return best


def _place(order, chains, size) -> dict[str, float]:
    """x of each slot: pulled towards its neighbours' mean, then the least move that keeps
    the layer's order and gaps (isotonic regression by pooling adjacent violators)."""
    gap = 0.35
    linked: dict[str, list[str]] = {}
    for _, _, chain in chains:
        for a, b in pairwise(chain):
            linked.setdefault(a, []).append(b)
            linked.setdefault(b, []).append(a)
    x: dict[str, float] = {}
    for row in order:
        at = 0.0
        for v in row:
            x[v] = at + size[v][0] / 2
            at += size[v][0] + gap
    for _ in range(12):
        for row in order:
            offsets, at = [], 0.0
            for i, v in enumerate(row):
                if i:
                    at += (size[row[i - 1]][0] + size[v][0]) / 2 + gap
                offsets.append(at)
            want = [sum(x[w] for w in linked[v]) / len(linked[v]) if linked.get(v) else x[v]
                    for v in row]  # fmt: skip
            pools: list[list[float]] = []  # [sum, count]
            for target in (w - o for w, o in zip(want, offsets, strict=True)):
                pools.append([target, 1])
                while len(pools) > 1 and pools[-2][0] / pools[-2][1] > pools[-1][0] / pools[-1][1]:
                    total, count = pools.pop()
                    pools[-1][0] += total
                    pools[-1][1] += count
            shifts = [s / n for s, n in pools for _ in range(n)]
            for v, o, s in zip(row, offsets, shifts, strict=True):
                x[v] = o + s
    return x


def _route(chains, boxes, x, at, tops, band, back, labels) -> list[Edge]:
    """Polylines through each chain's slots: out of the bottom of the upper end, straight
    down through its layer's band, across the gap, into the top of the lower end. Ports
    spread along a box's side in the order of where their edges go, so no two coincide."""
    ports: dict[tuple[str, str], list[tuple[float, int]]] = {}  # (box, side) -> (x, chain)
    for n, (_, _, chain) in enumerate(chains):
        ports.setdefault((chain[0], "bottom"), []).append((x[chain[1]], n))
        ports.setdefault((chain[-1], "top"), []).append((x[chain[-2]], n))
    where: dict[tuple[int, str], float] = {}
    for (box, side), items in ports.items():
        cx, _, w, _ = boxes[box]
        for i, (_, n) in enumerate(sorted(items)):
            where[(n, side)] = cx - w / 2 + w * (i + 1) / (len(items) + 1)
    edges = []
    for n, (source, target, chain) in enumerate(chains):
        k = at[chain[0]]
        top_box = boxes[chain[0]]
        points = [(where[(n, "bottom")], top_box[1] + top_box[3])]
        points.append((points[-1][0], tops[k] + band[k]))
        for d in chain[1:-1]:
            k = at[d]
            points += [(x[d], tops[k]), (x[d], tops[k] + band[k])]
        points.append((where[(n, "top")], tops[at[chain[-1]]]))
        is_back = (source, target) in back
        if is_back:
            points.reverse()
        edges.append(Edge(source, target, labels[(source, target)], is_back, points))
    return edges


def draw(layout: Layout, title: str) -> str:
    """The layout at its own size: one inch of layout is one inch of figure, text at FONT."""
    from matplotlib.figure import Figure
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch
    from matplotlib.path import Path

    fig = Figure(figsize=(max(layout.width, 1.0), layout.height + 0.45))
    ax = fig.add_axes((0, 0, 1, layout.height / (layout.height + 0.45)))
    ax.set_xlim(0, max(layout.width, 1.0))
    ax.set_ylim(layout.height, 0)
    ax.axis("off")
    for b, (cx, top, w, h) in layout.boxes.items():
        rounded = "round,pad=0,rounding_size=0.05"
        ax.add_patch(
            FancyBboxPatch((cx - w / 2, top), w, h, boxstyle=rounded, fc="white", ec="0.3")
        )
        ax.text(cx - w / 2 + 0.1, top + 0.07, layout.text[b], family="monospace", fontsize=FONT,
                va="top", ha="left", linespacing=1.3)  # fmt: skip
    for e in layout.edges:
        path = Path(e.points, [Path.MOVETO] + [Path.LINETO] * (len(e.points) - 1))
        colour = "tab:red" if e.back else "0.25"
        ax.add_patch(FancyArrowPatch(path=path, arrowstyle="-|>", mutation_scale=12,
                                     color=colour, lw=1.1, shrinkA=0, shrinkB=0))  # fmt: skip
        if e.label:
            x0, y0 = e.points[0]  # beside the edge, just out of its source's box
            ax.text(x0 + 0.06, y0 + (-0.04 if e.back else 0.04), e.label, fontsize=FONT,
                    weight="bold", color=colour, va="bottom" if e.back else "top")  # fmt: skip
    fig.suptitle(f"{title}   (drawn without graphviz: kit layered layout)", fontsize=FONT + 1,
                 y=1 - 0.1 / (layout.height + 0.45), va="top")  # fmt: skip
    return figure_svg(fig, tight=False)
