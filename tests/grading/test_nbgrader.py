"""Real nbgrader on the kit's notebooks: generate_assignment, then autograde a solved and an
unsolved submission; full and zero scores come out of nbgrader's own gradebook (contract 4).
nbgrader runs through the kit's wrapper (`python -m jitkit.grading.nbgrader`) with the
virtual environment's bin/ *off* PATH, as an instructor who never activated it would.

Needs the `instructor` extra (nbgrader), which `python3 dev.py test` installs.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.grading.notebooks import FIXTURE

pytest.importorskip("nbgrader")

ASSIGNMENT = "jitkit"


def _nbgrader(course: Path, env: dict, *args: str) -> None:
    command = [sys.executable, "-m", "jitkit.grading.nbgrader", *args]
    run = subprocess.run(command, cwd=course, env=env, capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, f"{' '.join(args)} failed:\n{run.stdout}\n{run.stderr}"


def _course(tmp: Path) -> tuple[Path, dict]:
    """A course folder with every solution notebook as its assignment's source."""
    course = tmp / "course"
    source = course / "source" / ASSIGNMENT
    source.mkdir(parents=True)
    for notebook in [*sorted((ROOT / "solutions").glob("*.ipynb")), FIXTURE]:
        shutil.copy(notebook, source)
    (course / "nbgrader_config.py").write_text(
        "c = get_config()\n"
        f"c.CourseDirectory.root = {str(course)!r}\n"
        f"c.CourseDirectory.db_url = 'sqlite:///{course / 'gradebook.db'}'\n"
        "c.ExecutePreprocessor.timeout = 120\n"
    )
    # nbgrader starts the notebooks' "python3" kernel: make that this very Python.
    kernel = tmp / "jupyter" / "kernels" / "python3"
    kernel.mkdir(parents=True)
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3",
        "language": "python",
    }
    (kernel / "kernel.json").write_text(json.dumps(spec))
    scripts = Path(sys.executable).parent
    path = [p for p in os.environ.get("PATH", "").split(os.pathsep) if p and Path(p) != scripts]
    env = {
        **os.environ,
        "PATH": os.pathsep.join(path),
        "JUPYTER_PATH": str(tmp / "jupyter"),
        "JUPYTER_CONFIG_DIR": str(tmp / "config"),
    }
    return course, env


@pytest.mark.once_per_ci(python="3.12")
def test_nbgrader_generates_and_autogrades(tmp_path):
    from nbgrader.api import Gradebook

    course, env = _course(tmp_path)
    # nbgrader runs the `alembic` script by name; it is not on this PATH, the wrapper adds it.
    assert shutil.which("alembic", path=env["PATH"]) is None
    _nbgrader(course, env, "generate_assignment", ASSIGNMENT, "--force")
    released = sorted((course / "release" / ASSIGNMENT).glob("*.ipynb"))
    assert [p.name for p in released] == sorted(
        p.name for p in (course / "source" / ASSIGNMENT).glob("*.ipynb")
    )
    for student, notebooks in {
        "solved": sorted((course / "source" / ASSIGNMENT).glob("*.ipynb")),
        "unsolved": released,
    }.items():
        submitted = course / "submitted" / student / ASSIGNMENT
        submitted.mkdir(parents=True)
        for notebook in notebooks:
            shutil.copy(notebook, submitted)
        _nbgrader(course, env, "db", "student", "add", student)
    _nbgrader(course, env, "autograde", ASSIGNMENT, "--force")

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        solved = gradebook.find_submission(ASSIGNMENT, "solved")
        unsolved = gradebook.find_submission(ASSIGNMENT, "unsolved")
        assert solved.max_score >= 3  # the fixture alone is worth 3
        assert solved.score == solved.max_score
        assert unsolved.score == 0
        assert len(unsolved.notebooks) == len(released)
        for notebook in unsolved.notebooks:
            for grade in notebook.grades:
                assert grade.score == 0, f"{notebook.name}/{grade.name} passes unsolved"

    graded = (course / "autograded" / "unsolved" / ASSIGNMENT / FIXTURE.name).read_text()
    assert "NotImplementedError" in graded, "nbgrader must really have run the unsolved code"
