"""The code style README asks for: ruff's lint and format are clean on the package, the tests
and the benchmarks (a long line once slipped into a commit because nothing ran ruff)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import ROOT

PATHS = ["jitkit", "tests", "benchmarks"]


@pytest.mark.parametrize("command", [["check"], ["format", "--check"]], ids=" ".join)
def test_ruff_is_clean(command):
    result = subprocess.run(
        [sys.executable, "-m", "ruff", *command, *PATHS],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
