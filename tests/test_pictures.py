"""CFG and live-interval pictures: dot when installed, matplotlib otherwise, never a crash."""

from __future__ import annotations

import shutil
import xml.etree.ElementTree as ET

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


def test_dot_source_has_every_block_and_edge():
    fn = parse(LOOP)
    dot = pictures.cfg_dot(pictures.blocks_of(fn), "sum")
    for edge in ('"entry" -> "head"', '"head" -> "body" [label="T"]', '"head" -> "done"',
                 '"body" -> "head"'):  # fmt: skip
        assert edge in dot
    assert "%s1 =i64 add %s, %i" in dot


def test_without_dot_matplotlib_draws_it(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    svg = pictures.cfg(parse(LOOP))
    assert svg.renderer == "matplotlib"
    ET.fromstring(svg.text)  # well-formed SVG
    for label in ("@entry", "@head", "@body", "@done", "not installed"):
        assert label in svg.text


@pytest.mark.skipif(shutil.which("dot") is None, reason="graphviz is not installed")
def test_with_dot_graphviz_draws_it():
    svg = pictures.cfg(parse(LOOP))
    assert svg.renderer == "dot" and "@head" in svg.text


def test_layers_put_loop_body_below_its_header():
    depth = pictures._layers(pictures.blocks_of(parse(LOOP)))
    assert depth["entry"] < depth["head"] < depth["body"]
    assert depth["done"] == depth["body"]


def test_intervals_draw_one_bar_per_temporary():
    alloc = allocate_registers(parse(LOOP))
    svg = pictures.intervals(alloc)
    ET.fromstring(svg.text)
    for iv in alloc.intervals:
        assert f">{iv.temp}<" in svg.text


def test_drawing_leaves_the_plotting_backend_alone(monkeypatch):
    import matplotlib

    before = matplotlib.get_backend()
    matplotlib.use("pdf")  # stands in for a notebook's inline backend: anything but Agg
    try:
        monkeypatch.setattr(shutil, "which", lambda name: None)
        pictures.cfg(parse(LOOP))
        pictures.intervals(allocate_registers(parse(LOOP)))
        assert matplotlib.get_backend() == "pdf"
    finally:
        matplotlib.use(before)


def test_speed_draws_a_bar_per_kernel_and_column():
    from jitkit.bench import Row

    rows = [Row("fib", 25, 0, {"cpython": 1.0, "stack": 0.1, "ssa": 0.05}),
            Row("gcd", 9, 0, {"cpython": 2.0, "stack": 0.4, "ssa": 0.2})]  # fmt: skip
    svg = pictures.speed(rows, ["stack", "ssa"], title="kernels", labels={"ssa": "SSA tier"})
    ET.fromstring(svg.text)
    for text in (">fib<", ">gcd<", ">stack<", ">SSA tier<", ">kernels<", "time / cpython time"):
        assert text in svg.text
    one = pictures.speed(rows, ["stack"])
    # a second column adds a bar per kernel and a legend entry
    assert svg.text.count('id="patch_') - one.text.count('id="patch_') == len(rows) + 1
