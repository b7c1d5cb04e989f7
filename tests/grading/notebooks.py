"""Small notebook-editing helpers for the grading tests."""

from __future__ import annotations

from pathlib import Path

import nbformat

from jitkit.grading.cells import nbgrader

FIXTURES = Path(__file__).parent / "fixtures"
SOLUTIONS = FIXTURES / "solutions"
FIXTURE = SOLUTIONS / "99_fixture.ipynb"


def read(path: Path):
    return nbformat.read(path, as_version=4)


def cell(nb, grade_id: str):
    """The cell with this nbgrader grade_id."""
    return next(c for c in nb.cells if nbgrader(c).get("grade_id") == grade_id)


def write(nb, folder: Path, name: str = FIXTURE.name) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, folder / name)
    return folder / name
