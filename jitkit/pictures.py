"""Pictures for the notebooks: control-flow graphs, live intervals, speed (notebooks 03-10).

Takes an SSA `Function` (or any blocks with labels, lines and successors), an `Allocation`
or benchmark rows (`jitkit.bench.Row`); gives an object a notebook renders as SVG. CFGs go
through graphviz's `dot` when it is installed (Binder's apt.txt has it), since dot draws
graphs best; without it, a layered drawing made with matplotlib says so in its title
instead of failing.
"""

from __future__ import annotations

import html
import io
import shutil
import subprocess
from dataclasses import dataclass

MAX_LINES = 14  # a block with more lines is cut, so a picture stays a picture


@dataclass
class Svg:
    """SVG text that Jupyter shows as a picture and `print` shows as its size."""

    text: str
    renderer: str  # "dot" or "matplotlib"

    def _repr_svg_(self) -> str:
        return self.text

    def __str__(self) -> str:
        return f"<svg picture, {len(self.text)} characters, drawn by {self.renderer}>"


def blocks_of(fn) -> list[tuple[str, list[str], list[str]]]:
    """(label, IR lines, successor labels) for every block of an SSA function."""
    from jitkit.ssa.text import format_instr

    return [(b.label, [format_instr(i) for i in b.instrs()], b.successors()) for b in fn.blocks]


def cfg_dot(blocks: list[tuple[str, list[str], list[str]]], title: str = "") -> str:
    """Graphviz source: one box per block with its lines, one arrow per edge."""

    def cut(lines: list[str]) -> list[str]:
        if len(lines) <= MAX_LINES:
            return lines
        return [*lines[: MAX_LINES - 1], f"... {len(lines) - MAX_LINES + 1} more"]

    out = [
        "digraph cfg {",
        f'  label="{title}"; labelloc=t; node [shape=box, fontname="monospace", fontsize=10];',
    ]
    for label, lines, successors in blocks:
        body = "".join(html.escape(line) + '<br align="left"/>' for line in cut(lines))
        out.append(f'  "{label}" [label=<<b>@{html.escape(label)}</b><br/>{body}>];')
        for i, target in enumerate(successors):
            style = ' [label="T"]' if len(successors) == 2 and i == 0 else ""
            out.append(f'  "{label}" -> "{target}"{style};')
    out.append("}")
    return "\n".join(out)


def cfg(fn_or_blocks, title: str | None = None) -> Svg:
    """A picture of the control-flow graph: dot if installed, else matplotlib."""
    if hasattr(fn_or_blocks, "blocks"):
        title = f"${fn_or_blocks.name}" if title is None else title
        blocks = blocks_of(fn_or_blocks)
    else:
        blocks = list(fn_or_blocks)
    title = title or ""
    dot = shutil.which("dot")
    if dot is not None:
        source = cfg_dot(blocks, title)
        svg = subprocess.run([dot, "-Tsvg"], input=source, capture_output=True, text=True)
        if svg.returncode == 0:
            return Svg(svg.stdout, "dot")
    return Svg(_cfg_matplotlib(blocks, title), "matplotlib")


def _layers(blocks: list[tuple[str, list[str], list[str]]]) -> dict[str, int]:
    """Depth of each block along forward edges (an edge to a block already placed on the
    current path is a back edge and does not push its target down)."""
    succ = {label: s for label, _, s in blocks}
    depth: dict[str, int] = {}
    if not blocks:
        return depth
    stack = [(blocks[0][0], 0, frozenset())]
    while stack:
        label, d, path = stack.pop()
        if label in path or depth.get(label, -1) >= d:
            continue
        depth[label] = d
        stack += [(t, d + 1, path | {label}) for t in succ.get(label, []) if t in succ]
    for label, _, _ in blocks:  # unreachable blocks go below the rest
        depth.setdefault(label, max(depth.values(), default=0) + 1)
    return depth


def _cfg_matplotlib(blocks: list[tuple[str, list[str], list[str]]], title: str) -> str:
    """Blocks in rows by depth, arrows between their boxes; back edges red, on the right.
    Sizes are in inches (one data unit is one inch), estimated from 7 pt monospace text."""
    from matplotlib.figure import Figure

    line, char = 0.125, 0.06  # inches per line and per character at 7 pt
    depth = _layers(blocks)
    rows: dict[int, list[str]] = {}
    for label, _, _ in blocks:
        rows.setdefault(depth[label], []).append(label)
    text = {label: "\n".join([f"@{label}", *lines[:MAX_LINES]]) for label, lines, _ in blocks}
    height = {label: line * (t.count("\n") + 1) + 0.15 for label, t in text.items()}
    width = {label: char * max(map(len, t.split("\n"))) + 0.2 for label, t in text.items()}
    position, y, widest = {}, -0.4, 0.0
    for d in sorted(rows):
        total = sum(width[label] + 0.5 for label in rows[d])
        widest, x = max(widest, total), -total / 2
        for label in rows[d]:
            position[label] = (x + width[label] / 2 + 0.25, y)
            x += width[label] + 0.5
        y -= max(height[label] for label in rows[d]) + 0.5
    fig = Figure(figsize=(widest + 1.5, -y + 0.2))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(-(widest + 1.5) / 2, (widest + 1.5) / 2)
    ax.set_ylim(y - 0.2, 0)
    ax.axis("off")
    box = {}
    for label, _, _ in blocks:
        x, top = position[label]
        box[label] = ax.text(x, top, text[label], family="monospace", fontsize=7, ha="center",
                             va="top", multialignment="left",
                             bbox={"boxstyle": "round", "fc": "white", "ec": "0.3"})  # fmt: skip
    for label, _, successors in blocks:
        for target in successors:
            if target not in box:
                continue
            back = depth[target] <= depth[label]
            side = 0.0 if position[label][0] <= position[target][0] else 1.0  # outer side
            ax.annotate(
                "",
                xy=(side, 0.6) if back else (0.5, 1.0),
                xycoords=box[target],
                xytext=(side, 0.4) if back else (0.5, 0.0),
                textcoords=box[label],
                arrowprops={
                    "arrowstyle": "->",
                    "color": "tab:red" if back else "0.2",
                    "connectionstyle": f"arc3,rad={0.6 if side else -0.6}" if back else "arc3",
                },
            )
    ax.set_title(f"{title}  (graphviz `dot` not installed: matplotlib layout)", fontsize=9)
    return _svg(fig)


def intervals(alloc, title: str = "live intervals") -> Svg:
    """One bar per temporary over the linear instruction order, coloured by its location."""
    from matplotlib import colormaps
    from matplotlib.figure import Figure

    items = sorted(alloc.intervals, key=lambda iv: (iv.start, iv.end))
    places = sorted({str(alloc.location[iv.temp]) for iv in items})
    colours = {p: colormaps["tab20"](i % 20) for i, p in enumerate(places)}
    fig = Figure(figsize=(8, 0.25 * len(items) + 1.2))
    ax = fig.subplots()
    for row, iv in enumerate(items):
        place = str(alloc.location[iv.temp])
        ax.barh(row, iv.end - iv.start + 1, left=iv.start, color=colours[place], edgecolor="0.2")
        ax.text(iv.end + 1.3, row, place, va="center", fontsize=7)
    ax.set_yticks(range(len(items)), [str(iv.temp) for iv in items], fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("position in the linear instruction order")
    ax.set_title(title)
    return Svg(_svg(fig), "matplotlib")


def _svg(fig) -> str:
    """The figure as SVG with real text (searchable, smaller). Figures are made without
    pyplot, so drawing here never changes the notebook's plotting backend."""
    import matplotlib

    out = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none"}):
        fig.savefig(out, format="svg", bbox_inches="tight")
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
    from matplotlib.figure import Figure

    labels = labels or {}
    fig = Figure(figsize=(max(6, 1.6 * len(rows) + 1.2 * len(columns)), 3.4))
    ax = fig.subplots()
    width = 0.8 / len(columns)
    for j, column in enumerate(columns):
        ratios = [row.ratio(column, base) for row in rows]
        at = [i + (j - (len(columns) - 1) / 2) * width for i in range(len(rows))]
        ax.bar(at, ratios, width, label=labels.get(column, column))
    ax.axhline(1, color="0.3", linestyle="--", linewidth=1)
    ax.set_xticks(range(len(rows)), [row.kernel for row in rows])
    ax.set_yscale("log")
    ax.set_ylabel(f"time / {base} time")
    ax.legend(ncol=min(len(columns), 4), fontsize=8)
    ax.set_title(title)
    return Svg(_svg(fig), "matplotlib")
