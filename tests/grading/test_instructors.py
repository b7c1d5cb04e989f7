"""The README's instructor commands, run as written from a folder laid out like a checkout.

The folder links the repository's `.venv`, `solutions/`, `exercises/` and `notebooks/` and
holds a `submitted/` class of two; PATH has no `.venv/bin`. `release --check` runs before
`release`, so the second only rewrites exercises/ when the first has already failed the test.
"""

from __future__ import annotations

import csv
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

SECTION = re.compile(r"## Exercises and grading\n(.*?)\n## ", re.S)


def readme_commands() -> list[str]:
    section = SECTION.search((ROOT / "README.md").read_text()).group(1)
    block = re.search(r"```sh\n(.*?)```", section, re.S).group(1)
    return [line.split("  #")[0].strip() for line in block.splitlines() if line.strip()]


def test_readme_block_is_the_instructors_round():
    commands = readme_commands()
    assert commands[0].endswith("release --check")
    assert any(" grade submitted/ " in c and "--csv grades.csv" in c for c in commands)


def test_readme_instructor_commands_work_as_written(tmp_path):
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    for name in (".venv", "solutions", "exercises", "notebooks"):
        (checkout / name).symlink_to(ROOT / name)
    for student, side in (("alice", "solutions"), ("bob", "exercises")):
        folder = checkout / "submitted" / student / "week1"
        folder.mkdir(parents=True)
        shutil.copy(ROOT / side / "01_machine_code.ipynb", folder)
    scripts = Path(sys.executable).parent
    path = [p for p in os.environ.get("PATH", "").split(os.pathsep) if p and Path(p) != scripts]
    env = {**os.environ, "PATH": os.pathsep.join(path)}
    env.pop("JITKIT_NOTEBOOKS", None)
    for command in readme_commands():
        run = subprocess.run(
            ["bash", "-c", command],
            cwd=checkout,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        allowed = (0, 1) if " grade " in command else (0,)
        assert run.returncode in allowed, f"{command}\n{run.stdout}\n{run.stderr}"
    with (checkout / "grades.csv").open() as out:
        rows = list(csv.DictReader(out))
    totals: dict[str, float] = {}
    for row in rows:
        totals[row["student"]] = totals.get(row["student"], 0) + float(row["points"])
    assert totals == {"alice": 13, "bob": 0}  # chapter 01: 3 + 3 + 4 + 3 points
    assert (checkout / "feedback" / "bob" / "01_machine_code.html").exists()
