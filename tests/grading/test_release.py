"""`python -m jitkit release`: stubs keep their indentation, hidden tests go, output is stable."""

from __future__ import annotations

import ast

import nbformat
import pytest

from jitkit.grading import release, release_notebook
from jitkit.grading.cells import CODE_STUB, clear_hidden_tests, replace_regions
from tests.grading.notebooks import FIXTURE, SOLUTIONS, cell, read


def test_solution_region_becomes_indented_stub():
    source = (
        "def f(x):\n    y = 1\n    ### BEGIN SOLUTION\n    return x + y\n    ### END SOLUTION\n"
    )
    text, found = replace_regions(source, "### BEGIN SOLUTION", "### END SOLUTION", CODE_STUB)
    assert found
    assert text == "def f(x):\n    y = 1\n    # YOUR CODE HERE\n    raise NotImplementedError()"
    ast.parse(text)


def test_code_after_the_region_is_kept():
    source = "### BEGIN SOLUTION\nx = 1\n### END SOLUTION\nprint(x)"
    text, _ = replace_regions(source, "### BEGIN SOLUTION", "### END SOLUTION", "STUB")
    assert text == "STUB\nprint(x)"


def test_unclosed_region_is_an_error():
    with pytest.raises(ValueError, match="without a matching"):
        replace_regions("### BEGIN SOLUTION\nx = 1\n", "### BEGIN SOLUTION", "### END SOLUTION", "")


def test_hidden_tests_are_removed():
    source = "assert f(1)\n### BEGIN HIDDEN TESTS\nassert f(2)\n### END HIDDEN TESTS\nassert f(3)"
    assert clear_hidden_tests(source) == "assert f(1)\nassert f(3)"


def test_released_fixture():
    solution = read(FIXTURE)
    exercise = release_notebook(solution, FIXTURE.stem)
    add = cell(exercise, "ex1_add_solution").source
    assert add.startswith('def add(a, b):\n    """The sum of a and b."""\n')
    assert "    raise NotImplementedError()" in add and "return a + b" not in add
    assert cell(exercise, "ex2_square").source == "assert square(3) == 9"
    assert cell(exercise, "ex2_square").metadata["editable"] is False
    assert "square(-4)" in cell(solution, "ex2_square").source, "input must stay untouched"
    for c in exercise.cells:
        ast.parse(c.source) if c.cell_type == "code" else None


def test_solution_cell_without_markers_becomes_a_stub():
    nb = read(FIXTURE)
    cell(nb, "ex1_add_solution").source = "def add(a, b):\n    return a + b"
    assert cell(release_notebook(nb), "ex1_add_solution").source == CODE_STUB


def test_outputs_and_counts_are_dropped(tmp_path):
    nb = read(FIXTURE)
    target = cell(nb, "ex1_add")
    target.execution_count = 7
    target.outputs = [nbformat.v4.new_output("stream", text="hi\n")]
    source = tmp_path / "solutions"
    source.mkdir()
    nbformat.write(nb, source / FIXTURE.name)
    release(source, tmp_path / "exercises")
    released = cell(read(tmp_path / "exercises" / FIXTURE.name), "ex1_add")
    assert released.outputs == [] and released.execution_count is None


def test_check_exit_codes(tmp_path, jitkit_cli):
    args = ("--solutions", SOLUTIONS, "--exercises", tmp_path)
    missing = jitkit_cli("release", "--check", *args)
    assert missing.returncode == 1 and "missing" in missing.stdout
    assert not list(tmp_path.iterdir()), "--check must not write"
    assert jitkit_cli("release", *args).returncode == 0
    assert jitkit_cli("release", "--check", *args).returncode == 0


def test_release_is_deterministic_and_check_finds_drift(tmp_path):
    dest = tmp_path / "exercises"
    assert release(SOLUTIONS, dest) != []
    first = (dest / FIXTURE.name).read_bytes()
    assert release(SOLUTIONS, dest, check=True) == []
    (dest / FIXTURE.name).unlink()
    release(SOLUTIONS, dest)
    assert (dest / FIXTURE.name).read_bytes() == first

    (dest / FIXTURE.name).write_text(first.decode().replace("square", "cube"))
    (dest / "stale.ipynb").write_text("{}")
    drift = "\n".join(release(SOLUTIONS, dest, check=True))
    assert "99_fixture.ipynb: differs" in drift and "stale.ipynb: has no solution" in drift
    assert (dest / "stale.ipynb").exists(), "--check must not write"
    release(SOLUTIONS, dest)
    assert not (dest / "stale.ipynb").exists()
    assert (dest / FIXTURE.name).read_bytes() == first
    assert release(SOLUTIONS, dest, check=True) == []


def test_kit_exercises_are_in_sync(jitkit_cli):
    result = jitkit_cli("release", "--check")
    assert result.returncode == 0, result.stdout + result.stderr
