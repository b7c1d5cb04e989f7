"""The exercise machinery: `release` makes exercises/ from solutions/, `grade` scores a notebook.

Follows nbgrader's cell metadata and markers (docs/CONTRACTS-dev.md), so an instructor can use
either this grader or real nbgrader on the same notebooks. Sits on top of every other layer.
"""

from jitkit.grading.execute import CellResult, run_notebook
from jitkit.grading.grade import ExerciseResult, Report, grade_notebook, grade_notebooks
from jitkit.grading.release import release, release_notebook

__all__ = [
    "CellResult",
    "ExerciseResult",
    "Report",
    "grade_notebook",
    "grade_notebooks",
    "release",
    "release_notebook",
    "run_notebook",
]
