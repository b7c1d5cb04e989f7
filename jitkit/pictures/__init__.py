"""Pictures for the notebooks: control-flow graphs, live intervals, speed (notebooks 03-10).

Takes an SSA `Function` (or any blocks with labels, lines and successors), an `Allocation`
or benchmark rows (`jitkit.bench.Row`); gives an object a notebook renders as SVG, at most
WIDTH inches wide (a notebook column) with text at FONT points. CFGs go through graphviz's
`dot` when it is installed (Binder's apt.txt has it); without it, through the kit's own layered
layout (`layered`), drawn with matplotlib. Both wrap long IR lines narrower until the picture
fits. `svg` holds the size rules and the `Svg` object every picture is.
"""

from __future__ import annotations

import html
import shutil
import subprocess

from jitkit.pictures.layered import Blocks, Layout, draw, edge_label
from jitkit.pictures.svg import FONT, WIDTH, Svg, figure_svg

__all__ = ["FONT", "WIDTH", "Layout", "Svg", "cfg", "cfg_dot", "intervals", "speed"]
MAX_LINES = 14  # a block with more lines is cut, so a picture stays a picture
WRAPS = (44, 36, 30, 24, 18)  # block text wrapped at these widths in turn until the picture fits


def blocks_of(fn) -> Blocks:
    """(label, IR lines, successor labels) for every block of an SSA function."""
    from jitkit.ssa.text import format_instr

    return [(b.label, [format_instr(i) for i in b.instrs()], b.successors()) for b in fn.blocks]


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
    return Svg(draw(layout, title), "matplotlib").fitted()


def _run_dot(program: str, source: str) -> Svg | None:
    done = subprocess.run([program, "-Tsvg"], input=source, capture_output=True, text=True)
    return Svg(done.stdout, "dot") if done.returncode == 0 else None


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
    return Svg(figure_svg(fig), "matplotlib")


def speed(
    rows,
    columns: list[str],
    base: str = "cpython",
    title: str = "",
    labels: dict[str, str] | None = None,
) -> Svg:
    """Grouped bars, one group per kernel: each column's time divided by `base`'s time, on a
    log scale with a line at 1 (as fast as `base`)."""
    return Svg(figure_svg(speed_figure(rows, columns, base, title, labels)), "matplotlib")


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
