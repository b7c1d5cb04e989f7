"""`python -m jitkit grade`: score submitted notebooks against the instructor's tests.

Takes submissions and the solutions/ folder; gives a `Report` with one `ExerciseResult` per
grade cell of each notebook. Each notebook is matched to its chapter by its cells' nbgrader
ids, then runs in a grading process of its own (`sandbox.py`, in a fresh temporary folder):
the submission's cells as written, every test and locked cell as the instructor wrote it
(hidden tests included). The grader owns the clock: a cell over its time is interrupted and,
if it does not stop (a native loop ignores interrupts), the process is killed; the notebook
as a whole has a budget too. A test scores its points only on a verdict that came back with
the token the grader sent for it; anything that did not run scores 0.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

from jitkit.grading.cells import grade_cells, is_solution_cell, nbgrader, points
from jitkit.grading.execute import CellResult
from jitkit.grading.submissions import Chapters, NotGradable, Submission, find, read
from jitkit.grading.watch import Run

CELL_TIMEOUT = 120  # seconds a cell may run before it is interrupted
NOTEBOOK_BUDGET = 600  # seconds a whole notebook may take, whatever its cells do
PACKAGE_ROOT = Path(__file__).resolve().parent.parent.parent


@dataclass(frozen=True)
class ExerciseResult:
    """One grade cell's outcome in one notebook."""

    notebook: str
    id: str
    points: float
    max_points: float
    passed: bool
    message: str = ""
    student: str = ""
    chapter: str = ""


@dataclass
class Graded:
    """One notebook's grading: its exercises, every code cell's status, and what happened."""

    submission: Submission
    chapter: str
    exercises: list[ExerciseResult]
    cells: list[CellResult]
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def points(self) -> float:
        return sum(e.points for e in self.exercises)

    @property
    def max_points(self) -> float:
        return sum(e.max_points for e in self.exercises)


@dataclass
class Report:
    """All grade cells of one or more notebooks, with totals and what could not be graded."""

    exercises: list[ExerciseResult] = field(default_factory=list)
    cells: dict[str, list[CellResult]] = field(default_factory=dict)  # every cell, by notebook
    notebooks: list[Graded] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, graded: list[Graded], problems: list[str] | None = None) -> Report:
        return cls(
            [e for g in graded for e in g.exercises],
            {str(g.submission.path): g.cells for g in graded},
            list(graded),
            list(problems or []),
        )

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
        """The `--json` document: exercises, points, max_points, problems."""
        doc = {
            "exercises": [asdict(e) for e in self.exercises],
            "points": self.points,
            "max_points": self.max_points,
            "problems": self.problems,
        }
        return json.dumps(doc, indent=2)

    def table(self) -> str:
        """A fixed-column table a learner can read, one row per exercise, then the total."""
        heads = ("student", "notebook", "exercise")
        cols = [[e.student, e.notebook, e.id] for e in self.exercises]
        widths = [max([len(h), *(len(c[i]) for c in cols)]) for i, h in enumerate(heads)]
        line = "  ".join(f"{h:<{w}}" for h, w in zip(heads, widths, strict=True))
        rows = [f"{line}  {'points':>7}  why"]
        for e, row in zip(self.exercises, cols, strict=True):
            left = "  ".join(f"{c:<{w}}" for c, w in zip(row, widths, strict=True))
            why = "passed" if e.passed else e.message
            rows.append(f"{left}  {f'{e.points:g}/{e.max_points:g}':>7}  {why}")
        total = f"{self.points:g}/{self.max_points:g}"
        rows.append(f"{'total':<{sum(widths) + 4}}  {total:>7}")
        return "\n".join(rows)


def grade_notebook(
    path: Path,
    solutions: Path,
    timeout: float = CELL_TIMEOUT,
    budget: float = NOTEBOOK_BUDGET,
) -> Report:
    """Grade one notebook (matched to its chapter in `solutions/` by its cells' ids)."""
    (submission,), _ = find([path])
    return Report.of([grade_submission(submission, Chapters(solutions), timeout, budget)])


def grade_notebooks(
    paths: list[Path],
    solutions: Path,
    timeout: float = CELL_TIMEOUT,
    jobs: int | None = None,
    budget: float = NOTEBOOK_BUDGET,
) -> Report:
    """Grade every notebook under `paths` in parallel, `jobs` at a time (one process each).

    Notebooks that cannot be graded (unreadable, of no known chapter) are listed in
    `Report.problems`; the others are graded anyway.
    """
    chapters = Chapters(solutions)
    submissions, problems = find(paths)
    workers = max(1, jobs or os.cpu_count() or 1)

    def one(submission: Submission) -> Graded | str:
        try:
            return grade_submission(submission, chapters, timeout, budget)
        except NotGradable as exc:
            return str(exc)

    with ThreadPoolExecutor(max_workers=workers) as pool:
        outcomes = list(pool.map(one, submissions))
    graded = [o for o in outcomes if isinstance(o, Graded)]
    problems += [o for o in outcomes if isinstance(o, str)]
    return Report.of(graded, problems)


def grade_submission(
    submission: Submission, chapters: Chapters, timeout: float, budget: float
) -> Graded:
    """Run one submission in its own grading process and score its tests."""
    started = time.monotonic()
    nb = read(submission.path)
    solution_path = chapters.match(submission.path, nb)
    solution = chapters.notebooks[solution_path]
    plan, cell_of, tests = _plan(nb, solution)
    env = _environment(chapters.folder)
    with tempfile.TemporaryDirectory(prefix="jitkit-grade-") as work:
        outcome = Run(plan, Path(work), env, timeout, budget).run()
    graded = Graded(submission, solution_path.name, [], [], outcome.notes)
    graded.cells = [
        CellResult(cell_of[k], *outcome.status(k, plan["steps"][k]["kind"]))
        for k in range(len(plan["steps"]))
    ]
    step_of = {s["grade_id"]: k for k, s in enumerate(plan["steps"]) if s["kind"] == "test"}
    for grade_id, worth in tests.items():
        passed, message = False, "the test cell is missing from the submission"
        if grade_id in step_of:
            passed, message = outcome.verdict(step_of[grade_id])
        graded.exercises.append(
            ExerciseResult(
                str(submission.path),
                grade_id,
                worth if passed else 0.0,
                worth,
                passed,
                "" if passed else message,
                submission.student,
                solution_path.name,
            )
        )
    graded.seconds = time.monotonic() - started
    return graded


def _plan(nb, solution) -> tuple[dict, list[int], dict[str, float]]:
    """The steps to run: the submission's code cells in its order, each test and locked cell
    replaced by the instructor's; and the prelude, the instructor's locked cells before the
    first solution cell, which build the tests' own namespace before any submitted code."""
    tests = {nbgrader(c)["grade_id"]: c for _, c in grade_cells(solution)}
    locked = {
        nbgrader(c)["grade_id"]: c
        for c in solution.cells
        if c.cell_type == "code"
        and nbgrader(c).get("locked")
        and not is_solution_cell(c)
        and "grade_id" in nbgrader(c)
        and nbgrader(c)["grade_id"] not in tests
    }
    prelude_ids: list[str] = []
    for c in solution.cells:
        if is_solution_cell(c):
            break
        if nbgrader(c).get("grade_id") in locked:
            prelude_ids.append(nbgrader(c)["grade_id"])
    steps: list[dict] = []
    cell_of: list[int] = []
    used: set[str] = set()
    for index, c in enumerate(nb.cells):
        grade_id = nbgrader(c).get("grade_id")
        if grade_id in tests and grade_id not in used:
            step = {"kind": "test", "source": tests[grade_id].source, "grade_id": grade_id}
        elif grade_id in locked and grade_id not in used:
            kind = "setup" if grade_id in prelude_ids else "locked"
            step = {"kind": kind, "source": locked[grade_id].source, "grade_id": grade_id}
        elif c.cell_type == "code":
            step = {"kind": "student", "source": c.source}
        else:
            continue
        if step["kind"] != "student":
            used.add(grade_id)
            step["filename"] = f"<{step['kind']} cell {grade_id}>"
        steps.append(step)
        cell_of.append(index)
    prelude = [
        {"kind": "setup", "source": locked[i].source, "filename": f"<setup cell {i}>"}
        for i in prelude_ids
    ]
    worth = {grade_id: points(c) for grade_id, c in tests.items()}
    return {"prelude": prelude, "steps": steps}, cell_of, worth


def _environment(solutions: Path) -> dict[str, str]:
    """The grading process's environment: this kit first on its path, the chapters found
    beside solutions/ (unless the caller set JITKIT_NOTEBOOKS), no plotting window."""
    env = dict(os.environ)
    notebooks = solutions.resolve().parent / "notebooks"
    if not env.get("JITKIT_NOTEBOOKS") and notebooks.is_dir():
        env["JITKIT_NOTEBOOKS"] = str(notebooks)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(PACKAGE_ROOT), env.get("PYTHONPATH", "")) if p
    )
    env["MPLBACKEND"] = "Agg"
    return env
