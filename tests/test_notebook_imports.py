"""Everything a notebook imports is a runtime dependency: `dev.py lab` and a wheel install only
the `dependencies` of pyproject.toml, not the test extra (chapter 08 once stopped half-way on
`import elftools`). The test venv has every extra, so running the notebooks cannot tell; this
reads each code cell's imports (ast) and checks them against what the runtime set provides.
tests/test_wheel.py runs notebooks in a venv that has the runtime set only."""

from __future__ import annotations

import ast
import json
import re
import sys
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.conftest import ROOT

NOTEBOOKS = sorted(
    p for f in ("notebooks", "solutions", "exercises") for p in (ROOT / f).glob("*.ipynb")
)
MAGIC = re.compile(r"^\s*[%!]")  # IPython magics and shell lines are not Python


def runtime_distributions() -> set[str]:
    """pyproject's `dependencies` and, transitively, what they require (markers evaluated for
    this machine and the extras asked for), as canonical distribution names."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    todo = [Requirement(r) for r in project["dependencies"]]
    seen: set[str] = set()
    while todo:
        req = todo.pop()
        name = canonicalize_name(req.name)
        if req.marker and not req.marker.evaluate({"extra": ""}):
            continue
        if name in seen:
            continue
        seen.add(name)
        for text in metadata.requires(req.name) or []:
            sub = Requirement(text)
            extras = [""] + sorted(req.extras)
            if sub.marker is None or any(sub.marker.evaluate({"extra": e}) for e in extras):
                sub.marker = None
                todo.append(sub)
    return seen


def runtime_modules() -> set[str]:
    """Top-level modules a runtime-only install can import: stdlib, jitkit, and the modules of
    the runtime distributions."""
    dists = runtime_distributions()
    provided = {
        module
        for module, names in metadata.packages_distributions().items()
        if any(canonicalize_name(n) in dists for n in names)
    }
    return set(sys.stdlib_module_names) | {"jitkit"} | provided


def imported_modules(source: str) -> set[str]:
    """The top-level module of every absolute import in `source` (at any depth)."""
    tree = ast.parse("\n".join("" if MAGIC.match(line) else line for line in source.splitlines()))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


def notebook_imports(path: Path) -> set[str]:
    cells = json.loads(path.read_text())["cells"]
    return set().union(*(imported_modules("".join(c["source"])) for c in cells
                         if c["cell_type"] == "code"))  # fmt: skip


@pytest.fixture(scope="module")
def runtime() -> set[str]:
    return runtime_modules()


def test_the_runtime_set_is_what_pyproject_says(runtime):
    """Not vacuous: the runtime set has the notebook stack but not the test extra's tools."""
    assert {"llvmlite", "capstone", "matplotlib", "ipykernel", "numpy", "elftools"} <= runtime
    assert not {"pytest", "hypothesis", "nbgrader", "ruff"} & runtime


def test_the_scanner_sees_imports_inside_functions_and_past_magics():
    source = "%time x = 1\nimport os.path\ndef f():\n    from elftools.elf import x\n"
    assert imported_modules(source) == {"os", "elftools"}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_a_notebook_imports_only_runtime_dependencies(runtime, path):
    missing = sorted(notebook_imports(path) - runtime)
    assert not missing, f"{path.name} imports {missing}: add them to pyproject's dependencies"


def test_the_package_imports_only_runtime_dependencies(runtime):
    """What the notebooks run is jitkit too: its modules import nothing outside the set."""
    missing = {
        f"{path.relative_to(ROOT)}: {module}"
        for path in (ROOT / "jitkit").rglob("*.py")
        for module in imported_modules(path.read_text())
        if module not in runtime
    }
    assert not missing, sorted(missing)
