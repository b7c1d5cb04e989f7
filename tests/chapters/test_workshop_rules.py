"""The workshop rule, checked on every chapter that builds a layer (issue #13): the Build
section defines the chapter's own version in `#| export` cells (60 lines of code at least),
then "The kit's version" shows the kit's real source with `source(...)` and runs both on the
same inputs with `agree(...)`; exercises load the chapter with `load_chapter`."""

from __future__ import annotations

import nbformat
import pytest

from jitkit.workshop import EXPORT, find_chapter
from tests.conftest import ROOT

BUILDERS = ["01", "02", "03", "05", "07", "08", "09", "10"]


def code_lines(source: str) -> int:
    """Lines that are neither blank nor comments."""
    return sum(
        1 for line in source.splitlines() if line.strip() and not line.lstrip().startswith("#")
    )


@pytest.mark.parametrize("chapter", BUILDERS)
def test_build_section_writes_the_chapters_own_version(chapter: str):
    nb = nbformat.read(find_chapter(chapter), as_version=4)
    headings = [
        (i, c.source.splitlines()[0]) for i, c in enumerate(nb.cells) if c.cell_type == "markdown"
    ]
    build = next(
        i for i, h in headings if h.startswith("## Build") or "## Build" in nb.cells[i].source
    )
    after = [i for i, h in headings if i > build and nb.cells[i].source.lstrip().startswith("## ")]
    end = after[0] if after else len(nb.cells)
    cells = nb.cells[build:end]
    exported = [
        c.source for c in cells if c.cell_type == "code" and c.source.lstrip().startswith(EXPORT)
    ]
    assert sum(code_lines(s) for s in exported) >= 60, f"{chapter}: too little of its own code"
    text = "\n".join(c.source for c in cells)
    assert "The kit's version" in text, f"{chapter}: no 'The kit's version' step in Build"
    assert "source(" in text and "agree(" in text, f"{chapter}: kit source or agreement missing"


@pytest.mark.parametrize("chapter", BUILDERS)
def test_exercises_build_on_the_chapter(chapter: str):
    solution = next((ROOT / "solutions").glob(f"{chapter}_*.ipynb"))
    setup = "\n".join(c.source for c in nbformat.read(solution, as_version=4).cells)
    assert "load_chapter(" in setup, f"{solution.name} does not load the chapter's own code"
