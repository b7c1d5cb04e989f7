"""The whole pipeline: verified after every pass, meaning kept on every golden input and on
random functions, and `dump` prints the IR under a banner after the passes it names."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jitkit.ssa.interp import run
from jitkit.ssa.pipeline import DEFAULT, PASSES, compile
from jitkit.ssa.text import format, parse
from tests.ssa import golden
from tests.ssa.test_interp import FIB

ALL_CASES = [golden.load(p) for p in sorted(golden.CASES.glob("*.ir"))]


def test_every_pass_has_golden_cases():
    assert {name for name, _ in DEFAULT} == {c.pass_name for c in ALL_CASES}
    assert set(PASSES) == {c.pass_name for c in ALL_CASES}


@pytest.mark.parametrize("case", ALL_CASES, ids=lambda c: c.path.name)
def test_golden_inputs_keep_their_results(case):
    fn = compile(parse(case.source), verify=True)
    for args, want in case.runs:
        assert want.met_by(run(fn, args)), (args, format(fn))


def test_fib_optimizes_and_still_runs():
    fn = compile(parse(FIB), verify=True)
    assert [run(fn, [n]).value for n in range(12)] == [0, 1, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89]


def test_dump_prints_after_the_named_passes(capsys):
    compile(parse(FIB), dump={"input", "dce"})
    out = capsys.readouterr().out
    assert out.startswith("--- input ---\nfunction i64 $fib(i64 %n) {\n")
    assert out.count("--- after dce ---\n") == 1
    assert out.endswith("}\n")


@settings(max_examples=150, deadline=None)
@given(st.integers(0, 10**6), st.lists(golden.ARGS, min_size=2, max_size=2))
def test_keeps_meaning(seed, args):
    golden.check_random(lambda fn: bool(compile(fn, verify=True)), seed, args)
