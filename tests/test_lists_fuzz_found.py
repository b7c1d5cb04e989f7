"""Defects the function-local list fuzzing (tests/test_differential.py) found, shrunk.

Each runs in a child process: the defect kills the interpreter, which no assertion in
this process could report."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT

RECURSION = """
def rec(xs, n):
    if n <= 0:
        return 0
    xs.append(n * 2**61)
    return xs[-1] + rec(xs, n - 1)


def f(n):
    a = [0]
    return rec(a, n) + len(a)
"""

WANTS = {n: (n * (n + 1) // 2) * 2**61 + n + 1 for n in (2, 3)}


def run_in_child(tier: str, n: int) -> subprocess.CompletedProcess:
    script = f"from jitkit.tiers import load\nprint(load({RECURSION!r}, {tier!r}).call('f', {n}))"
    return subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("tier", ["stack", "ssa"])
def test_a_list_passed_down_a_recursion_without_overflow(tier: str):
    result = run_in_child(tier, 2)  # 3 * 2**61 fits int64: no deopt
    assert (result.returncode, result.stdout) == (0, f"{WANTS[2]}\n"), result.stderr


def test_the_stack_tier_deopts_a_recursion_holding_a_list():
    result = run_in_child("stack", 3)
    assert (result.returncode, result.stdout) == (0, f"{WANTS[3]}\n"), result.stderr


# The SSA tier's recursion pass (`passes/recursion.py`) writes a record per pending frame
# with its dead locals zeroed; the runtime read a zero list word as a header at address 0
# (SIGSEGV). A zero list word is no list now (`jitrt.runtime.to_python`).
@pytest.mark.parametrize("tier", ["ssa", "auto"])
def test_the_ssa_tier_deopts_a_recursion_holding_a_list(tier: str):
    result = run_in_child(tier, 3)
    assert (result.returncode, result.stdout) == (0, f"{WANTS[3]}\n"), result.stderr
