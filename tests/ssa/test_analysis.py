"""Analyses as data: orders, predecessors, dominators, loops and liveness of a small loop."""

from __future__ import annotations

from jitkit.ssa.analysis import (
    definitions,
    dominators,
    liveness,
    loops,
    predecessors,
    rpo,
    uses,
)
from jitkit.ssa.ir import Temp
from jitkit.ssa.text import parse
from tests.ssa.test_verify import GOOD

T = Temp


def test_orders_and_dominators():
    fn = parse(GOOD)
    assert rpo(fn) == ["entry", "loop", "done", "body"] or rpo(fn) == [
        "entry",
        "loop",
        "body",
        "done",
    ]
    assert predecessors(fn) == {
        "entry": [],
        "loop": ["entry", "body"],
        "body": ["loop"],
        "done": ["loop"],
    }
    assert dominators(fn) == {"entry": None, "loop": "entry", "body": "loop", "done": "loop"}


def test_loops_from_back_edges():
    [loop] = loops(parse(GOOD))
    assert (loop.header, loop.blocks, loop.latches) == ("loop", {"loop", "body"}, ["body"])


def test_liveness_and_uses():
    fn = parse(GOOD)
    live = liveness(fn)
    assert live.live_in["loop"] == {T("n")}
    assert live.live_out["body"] == {T("n"), T("i2"), T("s2")}
    assert live.live_in["body"] == {T("n"), T("i"), T("s")}
    assert live.live_in["done"] == {T("s")}
    assert [str(i) for i in uses(fn)[T("i")]] == [
        "%c =bool lt %i, %n",
        "%s2 =i64 add %s, %i",
        "%i2 =i64 add %i, 1",
    ]
    assert definitions(fn)[T("n")][1] is None
