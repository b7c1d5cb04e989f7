"""`python -m jitkit release`: exercises/ is generated from solutions/, never edited by hand.

Takes the instructor's solution notebooks; gives the learner's notebooks: solution regions
become `raise NotImplementedError()` stubs, hidden tests disappear, outputs and execution counts
go, and tests and solutions are locked against deletion as nbgrader does. The text written is a
pure function of the input, so `--check` can compare it byte for byte.
"""

from __future__ import annotations

import copy
import hashlib
from pathlib import Path
from typing import Any

import nbformat

from jitkit.grading.cells import (
    clear_hidden_tests,
    clear_solution,
    is_grade_cell,
    is_solution_cell,
    nbgrader,
)


def release_notebook(solution: Any, name: str = "") -> Any:
    """The learner's notebook made from one solution notebook (a new node; input untouched)."""
    nb = copy.deepcopy(solution)
    for index, cell in enumerate(nb.cells):
        if nb.nbformat_minor >= 5 and "id" not in cell:
            cell["id"] = hashlib.sha1(f"{name}:{index}".encode()).hexdigest()[:8]
        if is_solution_cell(cell):
            cell.source = clear_solution(cell)
        cell.source = clear_hidden_tests(cell.source)
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
        _lock(cell)
    return nb


def _lock(cell: Any) -> None:
    """Tests and read-only cells can be neither edited nor deleted; solutions not deleted."""
    meta = nbgrader(cell)
    if not meta:
        return
    if meta.get("solution") or meta.get("grade") or meta.get("locked"):
        cell.metadata["deletable"] = False
    if (is_grade_cell(cell) or meta.get("locked")) and not meta.get("solution"):
        cell.metadata["editable"] = False


def render(nb: Any) -> str:
    """The notebook's canonical text: sorted keys, one-space indent, final newline."""
    text = nbformat.writes(nb)
    return text if text.endswith("\n") else text + "\n"


def release(source: Path, dest: Path, check: bool = False) -> list[str]:
    """Write dest/NAME.ipynb for every source/NAME.ipynb; with `check`, only report drift.

    Returns the problems found (check mode) or the files written: empty means in sync.
    """
    wanted = {}
    for path in sorted(source.glob("*.ipynb")):
        solution = nbformat.read(path, as_version=4)
        wanted[path.name] = render(release_notebook(solution, path.stem))
    changes: list[str] = []
    for name, text in wanted.items():
        target = dest / name
        if not target.exists():
            changes.append(f"{target}: missing (run `python -m jitkit release`)")
        elif target.read_text(encoding="utf-8") != text:
            changes.append(f"{target}: differs from {source / name}")
        else:
            continue
        if not check:
            dest.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
    for stale in sorted(dest.glob("*.ipynb")):
        if stale.name not in wanted:
            changes.append(f"{stale}: has no solution notebook in {source}")
            if not check:
                stale.unlink()
    return changes
