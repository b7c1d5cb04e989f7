"""Random programs with floats and lists (the generator of tests/test_differential.py) on the
LLVM tier, CPython as the oracle: in process every program must print and raise exactly what
CPython does (what compiled code cannot do exactly re-runs in the interpreter); an executable
has no interpreter, so it either gives CPython's stdout, exit status and exception type, or
stops early, after a prefix of CPython's output, with an UnsupportedError (a mixed list, a
power without libm) or an int64 overflow."""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

import pytest

from jitkit.llvm.compiler import build
from tests.programs.engines import run
from tests.test_differential import Choices, generate


def program(seed: int) -> str:
    return generate(Choices(rng=random.Random(seed)), floats=True, lists=seed % 2 == 0)


@pytest.mark.parametrize("seed", range(40))
def test_in_process_agrees_with_cpython(seed: int):
    source = program(5000 + seed)
    assert run("llvm", source) == run("cpython", source), source


def stopped_early(status: int, last_line: str) -> bool:
    """An executable's own stop: outside what it can run exactly, not a CPython error."""
    honest = last_line.startswith("UnsupportedError") or "64 bits" in last_line
    return status == 1 and (honest or "int64" in last_line)


def check_executable(seed: int, tmp_path: Path, libc: bool) -> None:
    path = tmp_path / "prog.py"
    path.write_text(program(seed))
    cpython = subprocess.run(
        [sys.executable, "-W", "ignore", str(path)], capture_output=True, text=True
    )
    mine = subprocess.run(
        [build(path, tmp_path / "prog", libc=libc)], capture_output=True, text=True, timeout=60
    )
    last = mine.stderr.splitlines()[-1] if mine.stderr else ""
    if stopped_early(mine.returncode, last):
        assert cpython.stdout.startswith(mine.stdout)
        return
    expected_last = cpython.stderr.splitlines()[-1] if cpython.stderr else ""
    assert (mine.stdout, mine.returncode) == (cpython.stdout, cpython.returncode)
    assert last.split(":")[0] == expected_last.split(":")[0]


@pytest.mark.parametrize("libc", [True, False], ids=["libc", "nolibc"])
@pytest.mark.parametrize("seed", range(4))
def test_executables_agree_or_stop_honestly(seed: int, libc: bool, tmp_path: Path):
    check_executable(9000 + seed, tmp_path, libc)


@pytest.mark.slow
@pytest.mark.parametrize("libc", [True, False], ids=["libc", "nolibc"])
@pytest.mark.parametrize("seed", range(4, 100))
def test_more_executables_agree_or_stop_honestly(seed: int, libc: bool, tmp_path: Path):
    check_executable(9000 + seed, tmp_path, libc)
