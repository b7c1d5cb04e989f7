"""Black-box suite: every program in this folder, every engine, against CPython and `# expect:`.

A program's `# expect: TEXT` lines are its stdout lines, `# expect error: TYPE: MESSAGE` the
exception it ends with (`TYPE: *` where CPython versions word the message differently: the
engines are still compared with the running CPython's message). CPython must agree with the
expectations (so they cannot be wrong silently), and every engine must agree with CPython.
An engine `features.SUPPORT` marks REFUSED for a feature the program declares may instead
refuse it with UnsupportedError at load time. The dis front end also runs on Python 3.12 and
3.13 when installed.
"""

from __future__ import annotations

import ast
import json
import os
import pathlib
import shutil
import subprocess

import pytest

from jitkit.errors import UnsupportedError
from jitkit.lang import nodes
from jitkit.lang.parse import parse_module
from tests.programs import FEATURES, features, refused
from tests.programs.engines import ENGINES, capture, prepare, run

HERE = pathlib.Path(__file__).parent
REPO = HERE.parent.parent
PROGRAMS = sorted(
    p for p in HERE.glob("*.py") if not p.name.startswith(("test_", "_")) and p.name != "engines.py"
)
OTHER_PYTHONS = {
    "3.12": "/root/.pyenv/versions/3.12.1/bin/python",
    "3.13": "/root/.pyenv/versions/3.13.0/bin/python",
}


def expectations(source: str) -> tuple[str, str | None]:
    out, error = [], None
    for line in source.splitlines():
        if line.startswith("# expect error: "):
            error = line.removeprefix("# expect error: ").strip()
        elif line.startswith("# expect:"):
            out.append(line.removeprefix("# expect:").removeprefix(" ") + "\n")
    return "".join(out), error


def agrees(cpython: tuple[str, str | None], expected: tuple[str, str | None]) -> bool:
    """Does CPython's (stdout, error) match the expectations (`TYPE: *` matches any message)?"""
    out, error = expected
    if error is not None and error.endswith(": *") and cpython[1] is not None:
        return cpython[0] == out and cpython[1].startswith(error[:-1])
    return cpython == expected


def used_features(source: str) -> set[str]:
    """What the program's syntax shows it uses: float literals or `/`, list displays."""
    used = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Constant) and type(node.value) is float:
            used.add("floats")
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
            used.add("floats")
        if isinstance(node, ast.List | ast.Subscript):
            used.add("lists")
    return used


def find_python(version: str) -> str | None:
    """An interpreter for `version`, or None (the test is then skipped)."""
    for candidate in (shutil.which(f"python{version}"), OTHER_PYTHONS.get(version)):
        if candidate and os.path.exists(candidate):
            probe = subprocess.run(
                [candidate, "-c", "import sys; print(sys.version[:4])"],
                capture_output=True,
                text=True,
            )
            if probe.returncode == 0 and probe.stdout.startswith(version):
                return candidate
    return None


def test_programs_exist():
    assert len(PROGRAMS) >= 10


@pytest.mark.parametrize("path", PROGRAMS, ids=lambda p: p.stem)
def test_program_declares_its_features(path: pathlib.Path):
    source = path.read_text()
    assert used_features(source) <= features(source), "add them to its '# features:' line"
    assert nodes.features(parse_module(source)) == features(source)  # what tiers can refuse


@pytest.mark.parametrize("path", PROGRAMS, ids=lambda p: p.stem)
@pytest.mark.parametrize("engine", ENGINES)
def test_program(path: pathlib.Path, engine: str):
    source = path.read_text()
    cpython = run("cpython", source, path.name)
    assert agrees(cpython, expectations(source)), "the # expect: lines disagree with CPython"
    if refused(engine, features(source)):
        try:
            runner = prepare(engine, source, path.name)
        except UnsupportedError:
            return  # refused clearly, at load time
        assert capture(runner) == cpython  # or runs it exactly
        return
    assert run(engine, source, path.name) == cpython


@pytest.mark.parametrize("version", sorted(OTHER_PYTHONS))
def test_dis_front_end_on_other_pythons(version: str):
    python = find_python(version)
    if python is None:
        pytest.skip(f"Python {version} is not installed")
    readable = [p for p in PROGRAMS if not refused("vm-dis", features(p.read_text()))]
    result = subprocess.run(
        [python, "-m", "tests.programs.engines", *map(str, readable)],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(rows) == len(readable)
    for row in rows:
        assert row["vm-dis"] == row["cpython"], row["path"]
        expected = expectations(pathlib.Path(row["path"]).read_text())
        assert agrees(tuple(row["cpython"]), expected), row["path"]


def test_every_engine_has_a_row_for_every_feature():
    from tests.programs import SUPPORT

    assert set(SUPPORT) == set(ENGINES)
    assert all(set(row) == set(FEATURES) for row in SUPPORT.values())


def test_the_suite_runs_every_tier():
    """One program suite: every tier of jitkit.tiers (interp is vm-ast) and the dis front end."""
    from jitkit.tiers import TIERS

    assert set(TIERS) - {"interp"} <= set(ENGINES) and "vm-dis" in ENGINES
