"""Pictures for the notebooks: control-flow graphs, live intervals, speed (notebooks 03-10).

Takes an SSA `Function` (or any blocks with labels, lines and successors), an `Allocation`
or benchmark rows (`jitkit.bench.Row`); gives an object a notebook renders as SVG, at most
WIDTH inches wide (a notebook column) with text at FONT points. CFGs go through graphviz's
`dot` when it is installed (Binder's apt.txt has it); without it, through the kit's own layered
layout (Sugiyama style: layers, dummy slots for long edges, barycentre ordering), drawn with
matplotlib. Our own rather than a pip layout engine: the one candidate, grandalf, is
unmaintained, and the ~150 lines here keep the two rules that matter (no edge over a box, T/F
on branches) checkable in tests. Both wrap long IR lines narrower until the picture fits.
"""

from __future__ import annotations

import html
import io
import re
import shutil
import subprocess
from dataclasses import dataclass
from itertools import pairwise

MAX_LINES = 14  # a block with more lines is cut, so a picture stays a picture
WIDTH = 9.0  # inches: 864 px in a browser (96 px an inch), inside a ~900 px notebook column
FONT = 10  # points, at the size the picture is shown
WRAPS = (44, 36, 30, 24, 18)  # block text wrapped at these widths in turn until the picture fits
CHAR, LINE = FONT * 0.602 / 72, FONT * 1.3 / 72  # inches per monospace character and line
Blocks = list[tuple[str, list[str], list[str]]]  # (label, IR lines, successor labels)


@dataclass
class Svg:
    """SVG text that Jupyter shows as a picture and `print` shows as its size."""

    text: str
    renderer: str  # "dot" or "matplotlib"

    def _repr_svg_(self) -> str:
        return self.text

    def __str__(self) -> str:
        return f"<svg picture, {len(self.text)} characters, drawn by {self.renderer}>"

    def fitted(self) -> Svg:
        """Scaled down (text and all) to WIDTH when wider: the last resort, after wrapping."""
        scale = WIDTH * 96 / self.width_px
        if scale >= 1:
            return self

        def smaller(match: re.Match) -> str:
            return f'{match.group(1)}="{_length_px(match.group(2)) * scale:.2f}px"'

        head, rest = self.text.split("<svg", 1)
        tag, body = rest.split(">", 1)
        tag = re.sub(r'\b(width|height)="([^"]+)"', smaller, tag)
        return Svg(f"{head}<svg{tag}>{body}", self.renderer)

    @property
    def width_px(self) -> float:
        """How wide a browser shows it (the root's width, in pt or px)."""
        return _length_px(re.search(r'<svg[^>]*?width="([^"]+)"', self.text).group(1))


def _length_px(value: str) -> float:
    number = float(re.match(r"[\d.]+", value).group())
    return number * 96 / 72 if value.endswith("pt") else number


def blocks_of(fn) -> Blocks:
    """(label, IR lines, successor labels) for every block of an SSA function."""
    from jitkit.ssa.text import format_instr

    return [(b.label, [format_instr(i) for i in b.instrs()], b.successors()) for b in fn.blocks]


def edge_label(successors: list[str], i: int) -> str:
    """`T`/`F` on a two-way branch's edges (`br %c, @true, @false`), nothing on a jump."""
    return ("T", "F")[i] if len(successors) == 2 else ""


def wrap(lines: list[str], width: int) -> list[str]:
    """At most MAX_LINES lines of at most `width` characters; a long line breaks after a
    comma or space and goes on indented, so the box stays narrow and nothing is lost."""
    out: list[str] = []
    for line in lines:
        while len(line) > width:
            cut = max(line.rfind(", ", 0, width - 1) + 2, line.rfind(" ", 0, width) + 1)
            cut = cut if cut > width // 3 else width
            out.append(line[:cut].rstrip())
            line = "    " + line[cut:].lstrip()
        out.append(line)
    if len(out) > MAX_LINES:
        out = [*out[: MAX_LINES - 1], f"... {len(out) - MAX_LINES + 1} more lines"]
    return out


def cfg_dot(blocks: Blocks, title: str = "", width: int = WRAPS[0]) -> str:
    """Graphviz source: one box per block with its lines, one arrow per edge, T/F on branches."""
    out = [
        "digraph cfg {",
        f'  label="{title}"; labelloc=t; fontsize={FONT + 1}; nodesep=0.3; ranksep=0.4;',
        f'  node [shape=box, fontname="monospace", fontsize={FONT}];',
        f'  edge [fontname="sans-serif", fontsize={FONT}];',
    ]
    for label, lines, successors in blocks:
        body = "".join(html.escape(line) + '<br align="left"/>' for line in wrap(lines, width))
        out.append(f'  "{label}" [label=<<b>@{html.escape(label)}</b><br/>{body}>];')
        for i, target in enumerate(successors):
            name = edge_label(successors, i)
            style = f' [label="{name}"]' if name else ""
            out.append(f'  "{label}" -> "{target}"{style};')
    out.append("}")
    return "\n".join(out)


def cfg(fn_or_blocks, title: str | None = None, dot: bool | None = None) -> Svg:
    """A picture of the control-flow graph that fits a notebook column: graphviz's `dot` if
    installed (or `dot=True`), else the kit's own layered layout drawn with matplotlib."""
    if hasattr(fn_or_blocks, "blocks"):
        title = f"${fn_or_blocks.name}" if title is None else title
        blocks = blocks_of(fn_or_blocks)
    else:
        blocks = list(fn_or_blocks)
    title = title or ""
    program = shutil.which("dot") if dot is not False else None
    if program is not None:
        for width in WRAPS:
            svg = _run_dot(program, cfg_dot(blocks, title, width))
            if svg is not None and svg.width_px <= WIDTH * 96:
                return svg
        if svg is not None:  # still too wide at the narrowest wrap
            return svg.fitted()
    for width in WRAPS:
        layout = Layout.of([(b, wrap([f"@{b}", *lines], width), s) for b, lines, s in blocks])
        if layout.width <= WIDTH:
            break
    return Svg(_draw(layout, title), "matplotlib").fitted()


def _run_dot(program: str, source: str) -> Svg | None:
    done = subprocess.run([program, "-Tsvg"], input=source, capture_output=True, text=True)
    return Svg(done.stdout, "dot") if done.returncode == 0 else None


# --- the layered layout (Sugiyama, Tamassia and Toda 1981) ---------------------------------


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


def _draw(layout: Layout, title: str) -> str:
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
    return _svg(fig, tight=False)


def intervals(alloc, title: str = "live intervals") -> Svg:
    """One bar per temporary over the linear instruction order, coloured by its location."""
    from matplotlib import colormaps
    from matplotlib.figure import Figure

    items = sorted(alloc.intervals, key=lambda iv: (iv.start, iv.end))
    places = sorted({str(alloc.location[iv.temp]) for iv in items})
    colours = {p: colormaps["tab20"](i % 20) for i, p in enumerate(places)}
    fig = Figure(figsize=(8, 0.28 * len(items) + 1.2))
    ax = fig.subplots()
    for row, iv in enumerate(items):
        place = str(alloc.location[iv.temp])
        ax.barh(row, iv.end - iv.start + 1, left=iv.start, color=colours[place], edgecolor="0.2")
        ax.text(iv.end + 1.3, row, place, va="center", fontsize=FONT - 1)
    ax.set_yticks(range(len(items)), [str(iv.temp) for iv in items], fontsize=FONT - 1)
    ax.invert_yaxis()
    ax.set_xlabel("position in the linear instruction order")
    ax.set_title(title)
    return Svg(_svg(fig), "matplotlib")


def _svg(fig, tight: bool = True) -> str:
    """The figure as SVG with real text (searchable, smaller). Figures are made without
    pyplot, so drawing here never changes the notebook's plotting backend."""
    import matplotlib

    out = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none"}):
        fig.savefig(out, format="svg", bbox_inches="tight" if tight else None)
    return out.getvalue()


def speed(
    rows,
    columns: list[str],
    base: str = "cpython",
    title: str = "",
    labels: dict[str, str] | None = None,
) -> Svg:
    """Grouped bars, one group per kernel: each column's time divided by `base`'s time, on a
    log scale with a line at 1 (as fast as `base`)."""
    return Svg(_svg(speed_figure(rows, columns, base, title, labels)), "matplotlib")


def speed_figure(rows, columns: list[str], base: str, title: str, labels: dict | None):
    """`speed`'s figure, at most a column wide, its legend above the plot (not on the bars)."""
    from matplotlib.figure import Figure

    labels = labels or {}
    fig = Figure(figsize=(min(WIDTH - 0.6, max(6.0, 0.9 * len(rows) * len(columns) + 1.5)), 3.6))
    ax = fig.subplots()
    width = 0.8 / len(columns)
    for j, column in enumerate(columns):
        ratios = [row.ratio(column, base) for row in rows]
        at = [i + (j - (len(columns) - 1) / 2) * width for i in range(len(rows))]
        ax.bar(at, ratios, width, label=labels.get(column, column))
    ax.axhline(1, color="0.3", linestyle="--", linewidth=1)
    ax.set_xticks(range(len(rows)), [row.kernel for row in rows], fontsize=FONT)
    if len(rows) > 6:
        ax.tick_params(axis="x", labelrotation=30)
    ax.set_yscale("log")
    ax.set_ylabel(f"time / {base} time", fontsize=FONT)
    # the legend goes above the plot, never on the bars; the title above the legend
    ax.legend(ncol=min(len(columns), 4), fontsize=FONT, loc="lower center",
              bbox_to_anchor=(0.5, 1.0), frameon=False)  # fmt: skip
    ax.set_title(title, pad=12 + 18 * ((len(columns) + 3) // 4), fontsize=FONT + 1)
    return fig
