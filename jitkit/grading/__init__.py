"""The exercise machinery: `release` makes exercises/ from solutions/, `grade` scores notebooks.

Follows nbgrader's cell metadata and markers (docs/CONTRACTS-dev.md), so an instructor can use
either this grader or real nbgrader on the same notebooks. Sits on top of every other layer.
The grader's names are imported on first use, so the grading process (`sandbox`) starts
without nbclient.
"""

from __future__ import annotations

import importlib
from typing import Any

from jitkit.grading.release import release as release  # the function, not the module
from jitkit.grading.release import release_notebook as release_notebook

_HOMES = {
    "CellResult": "execute",
    "run_notebook": "execute",
    "ExerciseResult": "grade",
    "Graded": "grade",
    "Report": "grade",
    "grade_notebook": "grade",
    "grade_notebooks": "grade",
    "passed": "pass_line",
}

__all__ = sorted([*_HOMES, "release", "release_notebook"])


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_HOMES[name]}"), name)
