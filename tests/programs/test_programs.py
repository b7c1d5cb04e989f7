"""Black-box suite: every program in this folder, every engine, against CPython and `# expect:`.

A program's `# expect: TEXT` lines are its stdout lines, `# expect error: TYPE: MESSAGE` the
exception it ends with. CPython must agree with the expectations (so they cannot be wrong
silently), and every engine must agree with CPython. The dis front end also runs on
Python 3.12 and 3.13 when installed.
"""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import subprocess

import pytest

from tests.programs.engines import ENGINES, run

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
@pytest.mark.parametrize("engine", ENGINES)
def test_program(path: pathlib.Path, engine: str):
    source = path.read_text()
    expected = expectations(source)
    cpython = run("cpython", source, path.name)
    assert cpython == expected, "the # expect: lines disagree with CPython"
    assert run(engine, source, path.name) == cpython


@pytest.mark.parametrize("version", sorted(OTHER_PYTHONS))
def test_dis_front_end_on_other_pythons(version: str):
    python = find_python(version)
    if python is None:
        pytest.skip(f"Python {version} is not installed")
    result = subprocess.run(
        [python, "-m", "tests.programs.engines", *map(str, PROGRAMS)],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(rows) == len(PROGRAMS)
    for row in rows:
        assert row["vm-dis"] == row["cpython"], row["path"]
        assert tuple(row["cpython"]) == expectations(pathlib.Path(row["path"]).read_text())


def test_the_suite_runs_every_tier():
    """One program suite: every tier of jitkit.tiers (interp is vm-ast) and the dis front end."""
    from jitkit.tiers import TIERS

    assert set(TIERS) - {"interp"} <= set(ENGINES) and "vm-dis" in ENGINES
