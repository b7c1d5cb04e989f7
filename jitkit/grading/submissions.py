"""A class's submissions: which notebooks, whose they are, and which chapter each one is.

Takes the paths an instructor names (notebooks, a student's folder, a class folder, or
nbgrader's `submitted/STUDENT/ASSIGNMENT/`); gives one `Submission` per notebook. A notebook
is matched to its solution notebook by the nbgrader ids of its cells, not its file name, so a
JupyterLab copy (`01_machine_code-Copy1.ipynb`) grades like the original.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import nbformat

from jitkit.grading.cells import nbgrader


@dataclass(frozen=True)
class Submission:
    """One notebook to grade and whose it is (`student` is a folder name or "")."""

    path: Path
    student: str
    assignment: str = ""


class NotGradable(ValueError):
    """A path that is not a notebook of any chapter the grader knows."""


def find(paths: list[Path]) -> tuple[list[Submission], list[str]]:
    """Every notebook under `paths`, with its student; and the paths that hold none."""
    found: list[Submission] = []
    problems: list[str] = []
    for given in paths:
        if given.is_file():
            found.append(_owner(given, None))
        elif given.is_dir():
            notebooks = sorted(
                p
                for p in given.rglob("*.ipynb")
                if ".ipynb_checkpoints" not in p.parts and p.is_file()
            )
            if not notebooks:
                problems.append(f"{given}: no notebooks in this folder")
            found.extend(_owner(p, given) for p in notebooks)
        else:
            problems.append(f"{given}: no such notebook or folder")
    return list(dict.fromkeys(found)), problems


def _owner(path: Path, root: Path | None) -> Submission:
    """Whose notebook: the folder after `submitted/` (nbgrader), the first folder under a
    class folder, else the folder the notebook is in."""
    parts = path.resolve().parts
    if "submitted" in parts[:-2]:
        at = len(parts) - 1 - parts[::-1].index("submitted")
        student = parts[at + 1]
        assignment = parts[at + 2] if at + 3 < len(parts) else ""
        return Submission(path, student, assignment)
    if root is not None:
        relative = path.relative_to(root).parts
        if len(relative) >= 2:
            return Submission(path, relative[0], relative[1] if len(relative) >= 3 else "")
        return Submission(path, root.resolve().name)
    return Submission(path, path.resolve().parent.name)


def grade_ids(nb) -> set[str]:
    return {nbgrader(c)["grade_id"] for c in nb.cells if "grade_id" in nbgrader(c)}


class Chapters:
    """The solution notebooks of a folder, and which of them a submission answers."""

    def __init__(self, solutions: Path) -> None:
        self.folder = solutions
        self.notebooks = {
            p: nbformat.read(p, as_version=4) for p in sorted(solutions.glob("*.ipynb"))
        }
        if not self.notebooks:
            raise NotGradable(f"{solutions}: no solution notebooks to take the tests from")
        self.ids = {p: grade_ids(nb) for p, nb in self.notebooks.items()}
        shared = Counter(i for ids in self.ids.values() for i in ids)
        self.own = {p: {i for i in ids if shared[i] == 1} for p, ids in self.ids.items()}

    def match(self, path: Path, nb) -> Path:
        """The solution notebook `nb` answers: most ids of its own in common, then name."""
        ids = grade_ids(nb)
        overlap = {p: len(ids & own) for p, own in self.own.items()}
        best = max(overlap.values())
        if best > 0:
            top = [p for p, n in overlap.items() if n == best]
            if len(top) == 1:
                return top[0]
        prefix = path.stem.split("_")[0].split("-")[0]
        named = [p for p in self.notebooks if p.stem.split("_")[0] == prefix]
        if len(named) == 1:
            return named[0]
        raise NotGradable(
            f"{path}: its cells match no chapter in {self.folder} (no nbgrader ids in common"
            " with any solution notebook, and no chapter of that number)"
        )


def read(path: Path):
    """The notebook at `path`, or NotGradable saying why it cannot be read."""
    try:
        return nbformat.read(path, as_version=4)
    except (OSError, ValueError, json.JSONDecodeError, KeyError, AttributeError) as exc:
        raise NotGradable(f"{path}: not a readable notebook ({exc})") from exc
