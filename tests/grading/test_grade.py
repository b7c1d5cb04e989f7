"""`python -m jitkit grade`: tests come from the solution, failures score zero, runs continue,
notebooks are found by their cells' ids, and what a submission does to its own process is
undone before a test runs."""

from __future__ import annotations

import json

import nbformat
import pytest

from jitkit.grading import grade_notebook, grade_notebooks, release
from jitkit.grading.execute import failure_message
from tests.grading.notebooks import FIXTURE, SOLUTIONS, cell, read, write


@pytest.fixture
def exercise(tmp_path):
    """The fixture's released (unsolved) exercise notebook."""
    release(SOLUTIONS, tmp_path / "exercises")
    return tmp_path / "exercises" / FIXTURE.name


def scores(report) -> dict[str, float]:
    return {e.id: e.points for e in report.exercises}


def messages(report) -> dict[str, str]:
    return {e.id: e.message for e in report.exercises}


def test_solution_gets_full_marks():
    report = grade_notebook(FIXTURE, SOLUTIONS)
    assert scores(report) == {"ex1_add": 1, "ex2_square": 2}
    assert report.full_marks and report.points == report.max_points == 3


def test_unsolved_exercise_scores_zero(exercise):
    report = grade_notebook(exercise, SOLUTIONS)
    assert scores(report) == {"ex1_add": 0, "ex2_square": 0} and not report.full_marks
    assert messages(report)["ex1_add"] == "NotImplementedError (at: assert add(1, 2) == 3)"


def test_hidden_tests_are_restored_and_edited_tests_ignored(exercise, tmp_path):
    nb = read(exercise)
    cell(nb, "ex1_add").source = "pass  # tests deleted by the student"
    cell(nb, "ex2_square_solution").source = "def square(x):\n    return x * abs(x)"
    report = grade_notebook(write(nb, tmp_path / "sub"), SOLUTIONS)
    assert scores(report) == {"ex1_add": 0, "ex2_square": 0}
    assert "square of a negative number" in messages(report)["ex2_square"]
    assert "assert square(-4) == 16" in messages(report)["ex2_square"]


def test_missing_grade_cell_scores_zero(tmp_path):
    nb = read(FIXTURE)
    nb.cells.remove(cell(nb, "ex1_add"))
    report = grade_notebook(write(nb, tmp_path / "sub"), SOLUTIONS)
    assert scores(report) == {"ex1_add": 0, "ex2_square": 2}
    assert "missing" in messages(report)["ex1_add"]


def test_a_failing_cell_does_not_stop_later_exercises(tmp_path):
    nb = read(FIXTURE)
    nb.cells.insert(1, nbformat.v4.new_code_cell("1 / 0"))
    cell(nb, "ex1_add_solution").source = "def add(a, b):\n    return a - b"
    report = grade_notebook(write(nb, tmp_path / "sub"), SOLUTIONS)
    assert scores(report) == {"ex1_add": 0, "ex2_square": 2}
    assert messages(report)["ex1_add"] == "AssertionError (at: assert add(1, 2) == 3)"


def test_dead_kernel_scores_zero_for_the_rest(tmp_path):
    nb = read(FIXTURE)
    index = nb.cells.index(cell(nb, "ex1_add"))
    nb.cells.insert(index + 1, nbformat.v4.new_code_cell("import os\nos._exit(1)"))
    report = grade_notebook(write(nb, tmp_path / "sub"), SOLUTIONS, timeout=30)
    assert scores(report) == {"ex1_add": 1, "ex2_square": 0}
    assert "kernel died in an earlier cell" in messages(report)["ex2_square"]
    cells = report.cells[str(tmp_path / "sub" / FIXTURE.name)]
    assert [c.status for c in cells][-4:] == ["ok", "not run", "not run", "not run"]
    assert "died in this cell (exit status 1)" in cells[-3].message


def test_timeout_interrupts_and_grading_goes_on(tmp_path):
    nb = read(FIXTURE)
    cell(nb, "ex1_add_solution").source = "while True:\n    pass"
    report = grade_notebook(write(nb, tmp_path / "sub"), SOLUTIONS, timeout=3)
    assert scores(report) == {"ex1_add": 0, "ex2_square": 2}
    statuses = {r.status for r in report.cells[str(tmp_path / "sub" / FIXTURE.name)]}
    assert "timeout" in statuses
    assert "NameError" in messages(report)["ex1_add"]


def test_several_notebooks_graded_together(exercise):
    report = grade_notebooks([FIXTURE, exercise], SOLUTIONS)
    assert [(e.notebook, e.id, e.passed) for e in report.exercises] == [
        (str(FIXTURE), "ex1_add", True),
        (str(FIXTURE), "ex2_square", True),
        (str(exercise), "ex1_add", False),
        (str(exercise), "ex2_square", False),
    ]
    assert (report.points, report.max_points) == (3, 6)


def test_cli_json_and_exit_codes(exercise, jitkit_cli):
    full = jitkit_cli("grade", FIXTURE, "--solutions", SOLUTIONS, "--json")
    assert full.returncode == 0, full.stderr
    doc = json.loads(full.stdout)
    assert (doc["points"], doc["max_points"]) == (3, 3)
    assert set(doc["exercises"][0]) >= {"id", "points", "max_points", "passed", "message"}

    zero = jitkit_cli("grade", exercise, "--solutions", SOLUTIONS)
    assert zero.returncode == 1
    assert "ex2_square" in zero.stdout and "NotImplementedError" in zero.stdout
    assert zero.stdout.splitlines()[-1].split()[-1] == "0/3"


def test_cli_refuses_notebooks_it_cannot_grade(tmp_path, jitkit_cli):
    missing = jitkit_cli("grade", tmp_path / "nope.ipynb", "--solutions", SOLUTIONS)
    assert missing.returncode == 2 and "no such notebook" in missing.stderr
    stray = read(FIXTURE)
    for c in stray.cells:
        c.metadata.pop("nbgrader", None)
    path = write(stray, tmp_path, "homework.ipynb")
    result = jitkit_cli("grade", path, "--solutions", SOLUTIONS)
    assert result.returncode == 2 and "match no chapter" in result.stderr
    (tmp_path / "broken.ipynb").write_text("{not json")
    result = jitkit_cli("grade", tmp_path / "broken.ipynb", "--solutions", SOLUTIONS)
    assert result.returncode == 2 and "not a readable notebook" in result.stderr


def test_notebooks_are_matched_by_their_cells_not_their_names(tmp_path, jitkit_cli):
    copy = write(read(FIXTURE), tmp_path / "alice", "01_machine_code-Copy1.ipynb")
    result = jitkit_cli("grade", copy, "--solutions", SOLUTIONS, "--json")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert {(e["student"], e["chapter"]) for e in doc["exercises"]} == {("alice", FIXTURE.name)}


def test_students_come_from_the_folders(tmp_path):
    from jitkit.grading.submissions import find

    write(read(FIXTURE), tmp_path / "submitted" / "bob" / "week1")
    write(read(FIXTURE), tmp_path / "class" / "carol")
    write(read(FIXTURE), tmp_path / "class" / "carol" / ".ipynb_checkpoints")
    found, problems = find([tmp_path / "submitted", tmp_path / "class", tmp_path / "nothing"])
    assert [(s.student, s.assignment) for s in found] == [("bob", "week1"), ("carol", "")]
    assert problems == [f"{tmp_path / 'nothing'}: no such notebook or folder"]


def test_failure_message_names_the_failing_line():
    traceback = ["\x1b[0;31mAssertionError\x1b[0m", "Cell In[3], line 2\n----> 2 assert f(1) == 2"]
    assert failure_message("AssertionError", "", traceback) == (
        "AssertionError (at: assert f(1) == 2)"
    )
    assert failure_message("ValueError", "bad", []) == "ValueError: bad"


def test_threads_left_running_are_noted(tmp_path):
    nb = read(FIXTURE)
    start = (
        "import threading, time\n"
        "threading.Thread(target=time.sleep, args=(60,), daemon=True).start()"
    )
    nb.cells.insert(2, nbformat.v4.new_code_cell(start))
    report = grade_notebook(write(nb, tmp_path / "sub"), SOLUTIONS)
    assert report.full_marks
    assert report.notebooks[0].notes == [
        "1 thread(s) the submission started were still running during the tests"
    ]
