"""CFG, live-interval and speed pictures: fit a notebook column, T/F on branches, with graphviz's
`dot` and without it (the kit's own layered layout), never a crash."""

from __future__ import annotations

import re
import shutil
import xml.etree.ElementTree as ET
from itertools import pairwise

import pytest

from jitkit import pictures
from jitkit.ssa.regalloc import allocate_registers
from jitkit.ssa.text import parse

LOOP = """
function i64 $sum(i64 %n) {
@entry
    jmp @head
@head
    %i =i64 phi @entry 0, @body %i1
    %s =i64 phi @entry 0, @body %s1
    %c =bool lt %i, %n
    br %c, @body, @done
@body
    %s1 =i64 add %s, %i
    %i1 =i64 add %i, 1
    jmp @head
@done
    ret %s
}
"""

# collatz as the SSA tier builds it (chapter 07): nested branches, a loop, long deopt lines
COLLATZ = """
function i64 $collatz(i64 %n) {
@entry
    jmp @pc2
@pc2
    %n.1 =i64 phi @entry %n, @pc23 %n.2
    %steps.1 =i64 phi @entry 0, @pc23 %t.7
    %t.1 =bool ne %n.1, 1
    br %t.1, @pc6, @pc28
@pc6
    %t.2 =i64 mod_ovf %n.1, 2 deopt 8 locals(%n.1, %steps.1) stack(%n.1, 2)
    %t.3 =bool eq %t.2, 0
    br %t.3, @pc12, @pc17
@pc12
    %t.4 =i64 div_ovf %n.1, 2 deopt 14 locals(%n.1, %steps.1) stack(%n.1, 2)
    jmp @pc23
@pc17
    %t.5 =i64 mul_ovf 3, %n.1 deopt 19 locals(%n.1, %steps.1) stack(3, %n.1)
    %t.6 =i64 add_ovf %t.5, 1 deopt 21 locals(%n.1, %steps.1) stack(%t.5, 1)
    jmp @pc23
@pc23
    %n.2 =i64 phi @pc12 %t.4, @pc17 %t.6
    %t.7 =i64 add_ovf %steps.1, 1 deopt 25 locals(%n.2, %steps.1) stack(%steps.1, 1)
    jmp @pc2
@pc28
    ret %steps.1
}
"""

COLUMN_PX = 900


@pytest.fixture
def no_dot(monkeypatch):
    """Hide graphviz, as on a machine without it: the fallback layout must do the work."""
    real = shutil.which
    monkeypatch.setattr(shutil, "which", lambda name: None if name == "dot" else real(name))


def font_sizes_px(svg: pictures.Svg) -> list[float]:
    """Every text's size as shown: its font size times the root's width/viewBox scale."""
    root = ET.fromstring(svg.text)
    view = [float(v) for v in root.get("viewBox").split()]
    scale = svg.width_px / view[2]
    sizes = [float(m) for m in re.findall(r'font-size[=:]\s*"?([\d.]+)', svg.text)]
    return [s * scale for s in sizes]


def test_dot_source_labels_both_branch_edges():
    dot = pictures.cfg_dot(pictures.blocks_of(parse(LOOP)), "sum")
    for edge in ('"entry" -> "head";', '"head" -> "body" [label="T"]',
                 '"head" -> "done" [label="F"]', '"body" -> "head";'):  # fmt: skip
        assert edge in dot
    assert "%s1 =i64 add %s, %i" in dot


def test_wrap_keeps_every_character_and_the_width():
    line = "%t.2 =i64 mod_ovf %n.1, 2 deopt 8 locals(%n.1, %steps.1) stack(%n.1, 2)"
    wrapped = pictures.wrap([line], 30)
    assert all(len(w) <= 30 for w in wrapped) and len(wrapped) > 1
    assert "".join(w.strip() for w in wrapped).replace(" ", "") == line.replace(" ", "")
    assert len(pictures.wrap(["x"] * 40, 30)) == pictures.MAX_LINES


@pytest.mark.parametrize("text", [LOOP, COLLATZ])
def test_without_dot_the_layered_layout_draws_it(no_dot, text):
    fn = parse(text)
    svg = pictures.cfg(fn)
    assert svg.renderer == "matplotlib"
    ET.fromstring(svg.text)  # well-formed SVG
    assert "without graphviz" in svg.text
    for block in fn.blocks:
        assert f"@{block.label}" in svg.text
    branches = sum(len(b.successors()) == 2 for b in fn.blocks)
    assert svg.text.count(">T<") == svg.text.count(">F<") == branches
    assert svg.width_px <= COLUMN_PX
    assert min(font_sizes_px(svg)) >= 10 * 96 / 72 - 0.01  # 10 pt, shown at 1:1


def boxes_and_segments(layout):
    for edge in layout.edges:
        for (x0, y0), (x1, y1) in pairwise(edge.points):
            yield edge, (x0, y0, x1, y1)


def crosses(box, segment) -> bool:
    """Does the segment pass through the box's inside (touching its border is fine)?"""
    cx, top, w, h = box
    left, right, bottom = cx - w / 2 + 1e-6, cx + w / 2 - 1e-6, top + h - 1e-6
    top += 1e-6
    x0, y0, x1, y1 = segment
    for t in (i / 200 for i in range(201)):
        x, y = x0 + (x1 - x0) * t, y0 + (y1 - y0) * t
        if left < x < right and top < y < bottom:
            return True
    return False


@pytest.mark.parametrize("text", [LOOP, COLLATZ])
def test_no_edge_passes_over_a_block(text):
    blocks = pictures.blocks_of(parse(text))
    layout = pictures.Layout.of([(b, [f"@{b}", *lines], s) for b, lines, s in blocks])
    for edge, segment in boxes_and_segments(layout):
        for name, box in layout.boxes.items():
            assert not crosses(box, segment), f"{edge.source}->{edge.target} over @{name}"
    ends = {(e.source, e.target) for e in layout.edges}
    assert ends == {(b, t) for b, _, s in blocks for t in s}


def test_back_edges_go_up_and_forward_edges_down():
    blocks = pictures.blocks_of(parse(LOOP))
    layout = pictures.Layout.of([(b, [f"@{b}", *lines], s) for b, lines, s in blocks])
    top = {name: box[1] for name, box in layout.boxes.items()}
    assert top["entry"] < top["head"] < top["body"]
    for edge in layout.edges:
        assert edge.back == ((edge.source, edge.target) == ("body", "head"))
        assert (edge.points[-1][1] < edge.points[0][1]) == edge.back


def test_a_wide_graph_is_wrapped_to_fit(no_dot):
    # six long blocks side by side: the layout must wrap their text to fit the column
    arms = [f"@b{i}\n    %v{i} =i64 add_ovf %n, {i} deopt 8 locals(%n, %m, %k) stack(%n, {i})"
            f"\n    ret %v{i}" for i in range(4)]  # fmt: skip
    text = (
        "function i64 $wide(i64 %n) {\n@entry\n    %c =bool lt %n, 1\n    br %c, @l, @r\n"
        "@l\n    %d =bool lt %n, 2\n    br %d, @b0, @b1\n"
        "@r\n    %e =bool lt %n, 3\n    br %e, @b2, @b3\n" + "\n".join(arms) + "\n}\n"
    )
    svg = pictures.cfg(parse(text))
    assert svg.width_px <= COLUMN_PX
    assert svg.text.count(">T<") == 3


@pytest.mark.skipif(shutil.which("dot") is None, reason="graphviz is not installed")
@pytest.mark.parametrize("text", [LOOP, COLLATZ])
def test_with_dot_graphviz_draws_it_labelled_and_fitting(text):
    svg = pictures.cfg(parse(text))
    assert svg.renderer == "dot" and "@pc2" in svg.text or "@head" in svg.text
    branches = sum(len(b.successors()) == 2 for b in parse(text).blocks)
    assert svg.text.count(">T<") == svg.text.count(">F<") == branches
    assert svg.width_px <= COLUMN_PX
    assert min(font_sizes_px(svg)) >= 10 * 96 / 72 - 0.01


def test_dot_is_required_in_ci():
    """CI installs graphviz (.ci/install-browser), so the with-dot tests above must run there."""
    import os

    if os.environ.get("CI") and shutil.which("dot") is None:
        pytest.fail("CI must install graphviz: run .ci/install-browser before the tests")


def test_intervals_draw_one_bar_per_temporary():
    alloc = allocate_registers(parse(LOOP))
    svg = pictures.intervals(alloc)
    ET.fromstring(svg.text)
    for iv in alloc.intervals:
        assert f">{iv.temp}<" in svg.text
    assert svg.width_px <= COLUMN_PX


def test_drawing_leaves_the_plotting_backend_alone(no_dot):
    import matplotlib

    before = matplotlib.get_backend()
    matplotlib.use("pdf")  # stands in for a notebook's inline backend: anything but Agg
    try:
        pictures.cfg(parse(LOOP))
        pictures.intervals(allocate_registers(parse(LOOP)))
        assert matplotlib.get_backend() == "pdf"
    finally:
        matplotlib.use(before)


def rows_of(n: int):
    from jitkit.bench import Row

    return [Row(f"kernel{i}", 25, 0, {"cpython": 1.0 + i, "stack": 0.1, "ssa": 0.05,
                                      "llvm": 0.02, "hostc": 0.02}) for i in range(n)]  # fmt: skip


def test_speed_draws_a_bar_per_kernel_and_column():
    rows = rows_of(2)
    svg = pictures.speed(rows, ["stack", "ssa"], title="kernels", labels={"ssa": "SSA tier"})
    ET.fromstring(svg.text)
    for text in (">kernel0<", ">kernel1<", ">stack<", ">SSA tier<", ">kernels<", "time / cpython"):
        assert text in svg.text
    one = pictures.speed(rows, ["stack"])
    # a second column adds a bar per kernel and a legend entry
    assert svg.text.count('id="patch_') - one.text.count('id="patch_') == len(rows) + 1


def test_speed_fits_the_column_with_the_legend_above_the_bars():
    svg = pictures.speed(rows_of(8), ["stack", "ssa", "llvm", "hostc"], title="eight kernels")
    assert svg.width_px <= COLUMN_PX
    fig = pictures.speed_figure(rows_of(8), ["stack", "ssa", "llvm", "hostc"], "cpython", "", {})
    fig.draw_without_rendering()
    (ax,) = fig.axes
    legend, plot = ax.get_legend().get_window_extent(), ax.get_window_extent()
    assert legend.y0 >= plot.y1 - 1  # above the plot area, so never on a bar
