"""nbgrader cell conventions: which cells are solutions or tests, and their marked regions.

Takes notebook cells (nbformat nodes) or their source text; gives their nbgrader role and the
source with solution or hidden-test regions replaced, as nbgrader's own preprocessors do.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

BEGIN_SOLUTION, END_SOLUTION = "### BEGIN SOLUTION", "### END SOLUTION"
BEGIN_HIDDEN, END_HIDDEN = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
CODE_STUB = "# YOUR CODE HERE\nraise NotImplementedError()"
TEXT_STUB = "YOUR ANSWER HERE"


def nbgrader(cell: Any) -> dict:
    """The cell's nbgrader metadata, or {} for an ordinary cell."""
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def is_grade_cell(cell: Any) -> bool:
    """An autograded test cell: it carries points and counts in the score."""
    meta = nbgrader(cell)
    return cell.get("cell_type") == "code" and bool(meta.get("grade")) and "grade_id" in meta


def is_solution_cell(cell: Any) -> bool:
    """A cell whose answer the learner writes."""
    return bool(nbgrader(cell).get("solution"))


def grade_cells(nb: Any) -> Iterator[tuple[int, Any]]:
    """(index, cell) of every autograded test cell, in notebook order."""
    for index, cell in enumerate(nb.cells):
        if is_grade_cell(cell):
            yield index, cell


def points(cell: Any) -> float:
    """The cell's max points (nbgrader `points`, 0 when absent)."""
    return float(nbgrader(cell).get("points", 0) or 0)


def replace_regions(source: str, begin: str, end: str, stub: str | None) -> tuple[str, bool]:
    """`source` with each begin..end region (marker lines included) replaced by `stub`.

    The stub takes the indentation of the begin marker, so code before the region (say a `def`
    line) still parses. A None stub deletes the region. Returns the text and whether any
    region was found.
    """
    out: list[str] = []
    inside, found = False, False
    for line in source.splitlines():
        marker = line.strip()
        if not inside and marker.startswith(begin):
            inside, found = True, True
            if stub is not None:
                indent = line[: len(line) - len(line.lstrip())]
                out.extend(indent + stub_line for stub_line in stub.splitlines())
        elif inside and marker.startswith(end):
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise ValueError(f"{begin!r} without a matching {end!r}")
    return "\n".join(out), found


def clear_solution(cell: Any) -> str:
    """The learner's version of a solution cell: regions, or the whole cell, become a stub."""
    stub = CODE_STUB if cell.cell_type == "code" else TEXT_STUB
    source, found = replace_regions(cell.source, BEGIN_SOLUTION, END_SOLUTION, stub)
    return source if found else stub


def clear_hidden_tests(source: str) -> str:
    """`source` without its hidden-test regions."""
    return replace_regions(source, BEGIN_HIDDEN, END_HIDDEN, None)[0]
