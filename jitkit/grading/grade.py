"""`python -m jitkit grade`: score a submitted notebook against the instructor's tests.

Takes a submission and the solutions/ notebook of the same file name; gives a `Report` with
one row per grade cell. Every grade cell's source comes from the solution (hidden tests
included), so editing a test away changes nothing. A cell passes only if it ran without error:
a missing test cell, a timeout or a dead kernel score zero.
"""

from __future__ import annotations

import copy
import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

import nbformat

from jitkit.grading.cells import grade_cells, nbgrader, points
from jitkit.grading.execute import CELL_TIMEOUT, CellResult, run_notebook


@dataclass(frozen=True)
class ExerciseResult:
    """One grade cell's outcome."""

    notebook: str
    id: str
    points: float
    max_points: float
    passed: bool
    message: str = ""


@dataclass
class Report:
    """All grade cells of one or more notebooks, with totals."""

    exercises: list[ExerciseResult] = field(default_factory=list)
    cells: dict[str, list[CellResult]] = field(default_factory=dict)  # every cell, by notebook

    @property
    def points(self) -> float:
        return sum(e.points for e in self.exercises)

    @property
    def max_points(self) -> float:
        return sum(e.max_points for e in self.exercises)

    @property
    def full_marks(self) -> bool:
        return all(e.passed for e in self.exercises)

    def to_json(self) -> str:
        """The `--json` document: exercises, points, max_points."""
        doc = {
            "exercises": [asdict(e) for e in self.exercises],
            "points": self.points,
            "max_points": self.max_points,
        }
        return json.dumps(doc, indent=2)

    def table(self) -> str:
        """A fixed-column table a learner can read, one row per exercise, then the total."""
        nb_w = max([len("notebook"), *(len(e.notebook) for e in self.exercises)])
        id_w = max([len("exercise"), *(len(e.id) for e in self.exercises)])
        rows = [f"{'notebook':<{nb_w}}  {'exercise':<{id_w}}  {'points':>7}  why"]
        for e in self.exercises:
            score = f"{e.points:g}/{e.max_points:g}"
            why = "passed" if e.passed else e.message
            rows.append(f"{e.notebook:<{nb_w}}  {e.id:<{id_w}}  {score:>7}  {why}")
        total = f"{self.points:g}/{self.max_points:g}"
        rows.append(f"{'total':<{nb_w + id_w + 2}}  {total:>7}")
        return "\n".join(rows)


def grade_notebook(path: Path, solutions: Path, timeout: int = CELL_TIMEOUT) -> Report:
    """Run `path` with its tests restored from solutions/<same name> and score each test."""
    solution_path = solutions / path.name
    if not solution_path.exists():
        raise FileNotFoundError(f"no solution notebook {solution_path} to take the tests from")
    submission = nbformat.read(path, as_version=4)
    solution = nbformat.read(solution_path, as_version=4)
    tests = {nbgrader(cell)["grade_id"]: cell for _, cell in grade_cells(solution)}
    where = _restore_tests(submission, tests)
    cells = run_notebook(submission, path.parent.resolve(), timeout)
    results = {r.index: r for r in cells}
    report = Report(cells={str(path): cells})
    for grade_id, test in tests.items():
        worth = points(test)
        if grade_id not in where:
            message = "the test cell is missing from the submission"
            report.exercises.append(ExerciseResult(str(path), grade_id, 0.0, worth, False, message))
            continue
        result = results[where[grade_id]]
        score = worth if result.ok else 0.0
        report.exercises.append(
            ExerciseResult(str(path), grade_id, score, worth, result.ok, result.message)
        )
    return report


def _restore_tests(submission, tests: dict) -> dict[str, int]:
    """Overwrite each submitted test cell with the solution's; return grade_id -> index."""
    where: dict[str, int] = {}
    for index, cell in enumerate(submission.cells):
        grade_id = nbgrader(cell).get("grade_id")
        if grade_id in tests and grade_id not in where:
            test = tests[grade_id]
            cell.cell_type, cell.source = "code", test.source
            cell.metadata = copy.deepcopy(test.metadata)
            cell.setdefault("outputs", [])
            cell.setdefault("execution_count", None)
            where[grade_id] = index
    return where


def grade_notebooks(
    paths: list[Path], solutions: Path, timeout: int = CELL_TIMEOUT, jobs: int | None = None
) -> Report:
    """Grade several notebooks in parallel (one kernel each); one combined report."""
    with ThreadPoolExecutor(max_workers=jobs or min(len(paths), 4) or 1) as pool:
        reports = list(pool.map(lambda p: grade_notebook(p, solutions, timeout), paths))
    exercises = [e for report in reports for e in report.exercises]
    return Report(exercises, {k: v for report in reports for k, v in report.cells.items()})
