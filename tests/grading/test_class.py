"""Grading a class: `python -m jitkit grade submitted/` on honest, broken, stuck and cheating
submissions, every score checked in the CSV.

The default suite grades a class of 9 (the fixture chapter and chapter 01); the whole class
of 30 with the issue's budget (60 s a notebook, 2 at a time) is `slow`. The cheats are shown
to fool a naive grader (the submission's own kernel running the restored tests) first, so a
zero here is the isolation's doing, not a broken cheat.
"""

from __future__ import annotations

import csv
import time
from pathlib import Path

import nbformat
import pytest

from jitkit.grading.cells import grade_cells, nbgrader
from jitkit.grading.execute import run_notebook
from tests.grading import classroom

SMALL = [
    ("99_fixture", "solved"),
    ("99_fixture", "unsolved"),
    ("99_fixture", "partial_add"),
    ("99_fixture", "segfault"),
    ("99_fixture", "native_loop"),
    ("99_fixture", "transformer_cheat"),
    ("99_fixture", "fake_report_cheat"),
    ("01_machine_code", "lying_helpers_cheat"),
    ("01_machine_code", "monkeypatch_cheat"),
]

WHOLE = [
    *[("99_fixture", v) for v in classroom.variants_99()],  # 13
    *[("01_machine_code", v) for v in classroom.variants_01()],  # 9
    ("99_fixture", "solved"),
    ("99_fixture", "unsolved"),
    ("99_fixture", "partial_square"),
    ("99_fixture", "partial_add"),
    ("99_fixture", "fake_report_cheat"),
    ("01_machine_code", "solved"),
    ("01_machine_code", "unsolved"),
    ("01_machine_code", "lying_helpers_cheat"),
]

CHEATS = (
    "edited_tests",
    "transformer_cheat",
    "fake_report_cheat",
    "lying_helpers_cheat",
    "monkeypatch_cheat",
)


def _grade_class(tmp: Path, picks, jitkit_cli, *options: str):
    solutions = classroom.course(tmp)
    expected = classroom.submit(tmp, picks)
    started = time.monotonic()
    run = jitkit_cli(
        "grade", tmp / "submitted", "--solutions", solutions, "--jobs", "2",
        "--csv", tmp / "grades.csv", "--feedback", tmp / "feedback", *options,
        timeout=900,
    )  # fmt: skip
    seconds = time.monotonic() - started
    assert run.returncode == 1, run.stdout + run.stderr  # graded, and some points lost
    with (tmp / "grades.csv").open() as out:
        rows = list(csv.DictReader(out))
        got = {(r["student"], r["chapter"], r["exercise"]): float(r["points"]) for r in rows}
    return expected, got, seconds


def _check(expected: dict, got: dict, tmp: Path) -> None:
    assert got == expected
    unsolved = {}  # what each chapter's released exercise scores, as the variants say
    for path, variants in classroom.chapters().values():
        solution = nbformat.read(path, as_version=4)
        _, points = variants["unsolved"](solution, classroom.release_notebook(solution))
        unsolved |= {(path.name, exercise): p for exercise, p in points.items()}
    for (student, chapter, exercise), points in got.items():
        if student.endswith(CHEATS):
            assert points == unsolved[(chapter, exercise)], (student, exercise)
    for student in {student for student, _, _ in expected}:
        pages = list((tmp / "feedback" / student).glob("*.html"))
        assert len(pages) == 1, student
        text = pages[0].read_text()
        assert "<table>" in text and student in text


def test_a_small_class(tmp_path, jitkit_cli, monkeypatch):
    monkeypatch.delenv("JITKIT_NOTEBOOKS", raising=False)  # found beside --solutions
    expected, got, _ = _grade_class(
        tmp_path, SMALL, jitkit_cli, "--timeout", "5", "--notebook-timeout", "60"
    )
    _check(expected, got, tmp_path)
    page = (tmp_path / "feedback" / "01_99_unsolved" / "99_fixture.ipynb").with_suffix(".html")
    assert "NotImplementedError (at: assert add(1, 2) == 3)" in page.read_text()
    looped = next((tmp_path / "feedback" / "04_99_native_loop").glob("*.html")).read_text()
    assert "did not stop when interrupted" in looped
    crashed = next((tmp_path / "feedback" / "03_99_segfault").glob("*.html")).read_text()
    assert "the kernel died in an earlier cell (killed by SIGSEGV)" in crashed


@pytest.mark.slow
def test_the_whole_class(tmp_path, jitkit_cli, monkeypatch):
    """30 submissions, 2 at a time, 60 s per notebook: the issue's acceptance test."""
    monkeypatch.delenv("JITKIT_NOTEBOOKS", raising=False)
    assert len(WHOLE) == 30
    expected, got, seconds = _grade_class(
        tmp_path, WHOLE, jitkit_cli, "--timeout", "20", "--notebook-timeout", "60"
    )
    _check(expected, got, tmp_path)
    print(f"30 notebooks graded in {seconds:.0f} s")
    assert seconds < 240, f"the class took {seconds:.0f} s"


def _naive_grade(nb, solution, cwd: Path) -> dict[str, bool]:
    """What a grader that trusts the kernel gives: tests restored, run in the submission."""
    tests = {nbgrader(c)["grade_id"]: c.source for _, c in grade_cells(solution)}
    where = {}
    for index, cell in enumerate(nb.cells):
        grade_id = nbgrader(cell).get("grade_id")
        if grade_id in tests:
            cell.cell_type, cell.source = "code", tests[grade_id]
            cell.setdefault("outputs", [])
            cell.setdefault("execution_count", None)
            where[grade_id] = index
    results = {r.index: r for r in run_notebook(nb, cwd, timeout=60)}
    return {grade_id: results[index].ok for grade_id, index in where.items()}


@pytest.mark.parametrize(
    ("chapter", "variant"),
    [
        ("99_fixture", "transformer_cheat"),
        ("01_machine_code", "transformer_cheat"),
        ("01_machine_code", "lying_helpers_cheat"),
        ("01_machine_code", "monkeypatch_cheat"),
    ],
)
def test_the_cheats_fool_a_naive_grader(tmp_path, chapter, variant):
    path, variants = classroom.chapters()[chapter]
    solution = nbformat.read(path, as_version=4)
    exercise = classroom.release_notebook(solution, path.stem)
    nb, _ = variants[variant](solution, exercise)
    passed = _naive_grade(nb, solution, tmp_path)
    assert passed and all(passed.values()), passed
