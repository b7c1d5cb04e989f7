"""Every exercise in the kit: its tests fail on exercises/ and pass on solutions/ (contract 4).

One row per grade cell of every solutions/*.ipynb, found at collection time, plus the fixture
pair. Each notebook is graded once per session (and its rows stay on one xdist worker).
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from jitkit.grading import grade_notebook, release
from jitkit.grading.cells import grade_cells, nbgrader
from tests.conftest import ROOT
from tests.grading.notebooks import SOLUTIONS as FIXTURE_SOLUTIONS

SUITES = {"kit": ROOT / "solutions", "fixture": FIXTURE_SOLUTIONS}


def _rows():
    for suite, folder in SUITES.items():
        for path in sorted(folder.glob("*.ipynb")):
            group = pytest.mark.xdist_group(f"{suite}-{path.stem}")
            yield pytest.param(suite, path, id=f"{suite}/{path.stem}", marks=group)


def _cells():
    for row in _rows():
        suite, path = row.values
        nb = nbformat.read(path, as_version=4)
        for _, cell in grade_cells(nb):
            grade_id = nbgrader(cell)["grade_id"]
            yield pytest.param(suite, path, grade_id, id=f"{row.id}/{grade_id}", marks=row.marks)


class Graded:
    """Reports cached per (suite, side, notebook): every notebook runs once per session."""

    def __init__(self, tmp: Path):
        self.tmp, self.reports = tmp, {}

    def exercises_dir(self, suite: str) -> Path:
        if suite == "kit":
            return ROOT / "exercises"
        dest = self.tmp / suite
        if not dest.exists():
            release(SUITES[suite], dest)
        return dest

    def report(self, suite: str, side: str, solution: Path):
        key = (suite, side, solution.name)
        if key not in self.reports:
            path = solution if side == "solutions" else self.exercises_dir(suite) / solution.name
            assert path.exists(), f"{path} missing: run `python -m jitkit release`"
            self.reports[key] = grade_notebook(path, SUITES[suite])
        return self.reports[key]

    def result(self, suite: str, side: str, solution: Path, grade_id: str):
        report = self.report(suite, side, solution)
        return next(e for e in report.exercises if e.id == grade_id)


@pytest.fixture(scope="session")
def graded(tmp_path_factory) -> Graded:
    return Graded(tmp_path_factory.mktemp("graded"))


@pytest.mark.parametrize(("suite", "solution"), list(_rows()))
def test_solution_runs_top_to_bottom(graded, suite, solution):
    report = graded.report(suite, "solutions", solution)
    failures = [r for cells in report.cells.values() for r in cells if not r.ok]
    assert not failures, "\n".join(f"cell {r.index}: {r.status}: {r.message}" for r in failures)


@pytest.mark.parametrize(("suite", "solution", "grade_id"), list(_cells()))
def test_passes_on_solution(graded, suite, solution, grade_id):
    result = graded.result(suite, "solutions", solution, grade_id)
    assert result.passed, result.message
    assert result.max_points > 0, "a grade cell must be worth points"


@pytest.mark.parametrize(("suite", "solution", "grade_id"), list(_cells()))
def test_fails_on_exercise(graded, suite, solution, grade_id):
    result = graded.result(suite, "exercises", solution, grade_id)
    assert not result.passed and result.points == 0, f"{grade_id} passes without a solution"
