"""A chapter's own code as a module, so exercises and tests build on what the chapter built.

Every chapter writes its small version of its layer in its Build section; the cells that
define it start with the line `#| export` (nbdev's convention). `load_chapter("05")` runs
those cells, and only those, in a fresh module and returns it: `ch.TemplateJIT`,
`ch.encode_add`, ... Exercise notebooks, solution notebooks and the chapter tests import the
learner-level code this way instead of reaching into the kit's internals.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
import types
from pathlib import Path

import nbformat

from jitkit.errors import JitkitError

EXPORT = "#| export"


class ChapterNotFoundError(JitkitError):
    """No chapter notebook of that name where the kit looks for notebooks."""


def notebook_folders() -> list[Path]:
    """Where chapters are looked for, in order: $JITKIT_NOTEBOOKS, `notebooks/` in the
    current folder or any folder above it (or beside it: exercises/ and solutions/ are
    siblings of notebooks/), then the checkout this package was installed from."""
    folders = []
    if os.environ.get("JITKIT_NOTEBOOKS"):
        folders.append(Path(os.environ["JITKIT_NOTEBOOKS"]))
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        folders.append(folder / "notebooks")
    folders.append(Path(__file__).resolve().parent.parent / "notebooks")
    return [f for f in dict.fromkeys(folders) if f.is_dir()]


def find_chapter(name: str | int) -> Path:
    """The notebook of chapter `name`: `5`, `"05"`, `"05_stack_jit"` or a path to it."""
    if isinstance(name, str) and name.endswith(".ipynb") and Path(name).is_file():
        return Path(name).resolve()
    stem = f"{name:02d}" if isinstance(name, int) else str(name).removesuffix(".ipynb")
    for folder in notebook_folders():
        exact = folder / f"{stem}.ipynb"
        if exact.is_file():
            return exact
        matches = sorted(folder.glob(f"{stem}_*.ipynb"))
        if matches:
            return matches[0]
    looked = ", ".join(str(f) for f in notebook_folders()) or "no notebooks/ folder found"
    raise ChapterNotFoundError(
        f"no chapter {name!r} (looked in: {looked}); run from the repository or set "
        "JITKIT_NOTEBOOKS to its notebooks/ folder"
    )


def exported_cells(notebook: nbformat.NotebookNode) -> list[str]:
    """The sources of the code cells whose first line is `#| export`, in order."""
    return [
        cell.source
        for cell in notebook.cells
        if cell.cell_type == "code" and cell.source.lstrip().startswith(EXPORT)
    ]


_loaded: dict[tuple[Path, float], types.ModuleType] = {}


def load_chapter(name: str | int, *, fresh: bool = False) -> types.ModuleType:
    """Run chapter `name`'s `#| export` cells in a new module and return it.

    The module is cached per notebook file and modification time (`fresh=True` runs the
    cells again). What the cells print is discarded: an exported cell defines, it does not
    show. A failing cell raises with the chapter's name and the cell's number."""
    path = find_chapter(name)
    key = (path, path.stat().st_mtime)
    if key in _loaded and not fresh:
        return _loaded[key]
    module_name = "chapter_" + path.stem.split("_")[0]
    module = types.ModuleType(module_name, f"The `#| export` cells of {path.name}.")
    module.__file__ = str(path)
    sys.modules[module_name] = module  # so classes and dataclasses defined there resolve
    for number, source in enumerate(exported_cells(nbformat.read(path, as_version=4)), 1):
        code = compile(source, f"<{path.name}: export cell {number}>", "exec")
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                exec(code, module.__dict__)
        except Exception as error:
            raise JitkitError(
                f"{path.name}, export cell {number}: {type(error).__name__}: {error}"
            ) from error
    _loaded[key] = module
    return module
