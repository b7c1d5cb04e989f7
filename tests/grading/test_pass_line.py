"""`passed(test)`: the visible line an autograded test cell ends with."""

from __future__ import annotations

import contextlib
import io

import nbformat

from jitkit.grading import passed, run_notebook
from tests.conftest import ROOT


def test_a_passing_cell_says_so_and_counts_its_asserts_in_a_kernel():
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("from jitkit.grading import passed"),
        nbformat.v4.new_code_cell(
            "def check(x):\n    assert x > 0\n\nassert 1 + 1 == 2\nfor i in range(3):\n"
            "    assert i < 3, i\ncheck(5)\npassed('ex1_sums')"
        ),
        nbformat.v4.new_code_cell("assert 1 == 2, 'wrong'\npassed('ex2_wrong')"),
        nbformat.v4.new_code_cell("x = 1\npassed('ex3_nothing')"),
    ]
    results = run_notebook(nb, ROOT)
    assert [r.status for r in results] == ["ok", "ok", "error", "ok"], results
    assert nb.cells[1].outputs[0]["text"] == "ex1_sums: 3 asserts passed\n"
    assert all(o.get("name") != "stdout" for o in nb.cells[2].outputs)  # failed: no pass line
    assert nb.cells[3].outputs[0]["text"] == "ex3_nothing: passed\n"


def test_a_cell_run_by_exec_counts_from_its_compiled_code():
    """The grader runs the instructor's test cells with `exec`: no source in linecache."""
    source = "x = 1\nassert x\n\ndef f(y):\n    assert y\n\nf(x)\npassed('ex1_exec')\n"
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(source, "<grader: ex1_exec>", "exec"), {"passed": passed})
    assert out.getvalue() == "ex1_exec: 2 asserts passed\n"


def test_every_solution_test_cell_ends_with_its_pass_line():
    from jitkit.grading.cells import grade_cells, nbgrader

    for path in sorted((ROOT / "solutions").glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        for _, cell in grade_cells(nb):
            grade_id = nbgrader(cell)["grade_id"]
            last = cell.source.rstrip().splitlines()[-1]
            assert last == f'passed("{grade_id}")', f"{path.name} {grade_id}: ends with {last!r}"
