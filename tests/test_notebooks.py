"""Every chapter notebook runs top to bottom in a fresh kernel, its text outputs fit a notebook
column (no line over 100 characters), and no notebook keeps outputs.

Solution notebooks run too, once, in tests/grading/test_exercises.py, which grades them; here
they run again only for the width of what they print.
"""

from __future__ import annotations

import subprocess
import sys

import nbformat
import pytest

from jitkit.grading import run_notebook
from tests.conftest import ROOT

CHAPTERS = sorted((ROOT / "notebooks").glob("*.ipynb"))
SOLUTIONS = sorted((ROOT / "solutions").glob("*.ipynb"))
MAX_CHARS = 100  # a longer text line wraps in a ~900 px column (tests/test_browser.py's limit)
RICH = ("text/html", "image/svg+xml", "image/png")  # shown rendered, not as their text/plain
STORED = [
    path
    for folder in ("notebooks", "solutions", "exercises", "tests/grading/fixtures")
    for path in sorted((ROOT / folder).rglob("*.ipynb"))
    if ".ipynb_checkpoints" not in path.parts
]


def _id(path) -> str:
    return str(path.relative_to(ROOT))


@pytest.mark.parametrize("path", CHAPTERS, ids=_id)
def test_runs_top_to_bottom(path):
    nb = nbformat.read(path, as_version=4)
    failures = [r for r in run_notebook(nb, path.parent) if not r.ok]
    assert not failures, "\n".join(f"cell {r.index}: {r.status}: {r.message}" for r in failures)
    assert not long_lines(nb), "\n".join(long_lines(nb))


@pytest.mark.parametrize("path", SOLUTIONS, ids=_id)
def test_solution_outputs_fit_the_column(path):
    nb = nbformat.read(path, as_version=4)
    run_notebook(nb, path.parent)  # failures are test_exercises.py's to report
    assert not long_lines(nb), "\n".join(long_lines(nb))


def long_lines(nb) -> list[str]:
    """Text output lines longer than MAX_CHARS, as `cell N: K characters: start...`."""
    found = []
    for index, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []) if cell.cell_type == "code" else []:
            data = output.get("data", {})
            if any(mime in data for mime in RICH):
                continue
            text = output.get("text") or data.get("text/plain") or ""
            text = "".join(text) if isinstance(text, list) else text
            found += [
                f"cell {index}: {len(line)} characters: {line[:60]}..."
                for line in text.split("\n")
                if len(line) > MAX_CHARS
            ]
    return found


def test_a_long_output_line_is_found():
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("print('x' * 100)"),
        nbformat.v4.new_code_cell("print('ok')\nprint('y' * 101)"),
        nbformat.v4.new_code_cell("from IPython.display import HTML\nHTML('<b>' + 'z' * 300)"),
        nbformat.v4.new_code_cell("'w' * 200"),
    ]
    run_notebook(nb, ROOT)
    assert [line.split(":")[0] for line in long_lines(nb)] == ["cell 1", "cell 3"]


@pytest.mark.parametrize("path", STORED, ids=_id)
def test_stored_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    dirty = [
        i
        for i, cell in enumerate(nb.cells)
        if cell.cell_type == "code" and (cell.outputs or cell.execution_count is not None)
    ]
    assert not dirty, f"cells {dirty} keep outputs: clear them (Edit > Clear Outputs of All Cells)"


def test_chapters_exist():
    assert {"00_tour.ipynb", "Template.ipynb"} <= {path.name for path in CHAPTERS}


def test_kernel_is_this_python():
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(f"import sys\nassert sys.executable == {sys.executable!r}"),
        nbformat.v4.new_code_cell("1 / 0"),
        nbformat.v4.new_code_cell("print('still running')"),
    ]
    results = run_notebook(nb, ROOT)
    assert [r.status for r in results] == ["ok", "error", "ok"], results
    assert results[1].message.startswith("ZeroDivisionError: division by zero")
    assert nb.cells[2].outputs[0]["text"] == "still running\n"


def test_a_kernel_that_cannot_start_fails_every_cell(tmp_path):
    """In a child process: nbclient's own atexit hook complains after a failed start."""
    script = f"""
import sys
import subprocess
import sys

import nbformat
from jupyter_client.kernelspec import KernelSpec
from jitkit.grading import execute

class Broken(execute._ThisPythonSpecs):
    def get_kernel_spec(self, name):
        return KernelSpec(argv=[sys.executable, "-c", "raise SystemExit(3)", "{{connection_file}}"])

execute._ThisPythonKernel._kernel_spec_manager_default = lambda self: Broken()
nb = nbformat.v4.new_notebook()
nb.cells = [nbformat.v4.new_code_cell("1"), nbformat.v4.new_code_cell("2")]
for result in execute.run_notebook(nb, {str(tmp_path)!r}, timeout=5):
    print(result.status, "|", result.message)
"""
    run = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    lines = run.stdout.splitlines()
    assert len(lines) == 2 and all(line.startswith("not run | the kernel failed") for line in lines)
