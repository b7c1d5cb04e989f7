"""docs/architecture.md and README.md stay true to the tree."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from tests.conftest import ROOT


def test_architecture_names_only_existing_modules():
    text = (ROOT / "docs" / "architecture.md").read_text()
    described = text.split("## Planned")[0]
    paths = set(re.findall(r"`((?:jitkit|tests|docs|binder)/[\w./]*)`", described))
    assert paths, "no paths found: has the format changed?"
    missing = sorted(p for p in paths if not (ROOT / p).exists())
    assert not missing, f"architecture.md describes what does not exist: {missing}"


def test_architecture_lists_every_package():
    text = (ROOT / "docs" / "architecture.md").read_text()
    packages = {p.name for p in (ROOT / "jitkit").iterdir() if any(p.glob("*.py"))}
    described = text.split("## Planned")[0]
    unlisted = sorted(name for name in packages if f"jitkit/{name}/" not in described)
    assert not unlisted, f"add these packages to docs/architecture.md: {unlisted}"


def test_readme_roadmap_marks_what_exists():
    rows = re.findall(
        r"^\| (\d\d) \| (.*) \| (available|planned) \|$", (ROOT / "README.md").read_text(), re.M
    )
    assert [number for number, _, _ in rows] == [f"{n:02d}" for n in range(11)]
    for number, _, status in rows:
        exists = any((ROOT / "notebooks").glob(f"{number}_*.ipynb"))
        assert exists == (status == "available"), f"README: notebook {number} is {status}"


def test_architecture_lists_every_top_level_module():
    described = (ROOT / "docs" / "architecture.md").read_text().split("## Planned")[0]
    modules = {p.name for p in (ROOT / "jitkit").glob("*.py") if p.name != "__init__.py"}
    unlisted = sorted(name for name in modules if f"jitkit/{name}" not in described)
    assert not unlisted, f"add these modules to docs/architecture.md: {unlisted}"


def test_every_layer_keeps_to_its_line_budget():
    text = (ROOT / "docs" / "architecture.md").read_text().split("### Size budget")[1]
    rows = re.findall(r"^\| `jitkit/([\w*.]*)/?` \| ([\d,]+) \|", text, re.M)
    assert len(rows) >= 10, "no budget table found: has the format changed?"
    layers = {p.name for p in (ROOT / "jitkit").iterdir() if p.is_dir() and any(p.glob("*.py"))}
    assert layers <= {name for name, _ in rows}, "a layer has no budget"
    for name, budget in rows:
        files = (
            (ROOT / "jitkit").glob("*.py")
            if name == "*.py"
            else (ROOT / "jitkit" / name).rglob("*.py")
        )
        lines = sum(len(f.read_text().splitlines()) for f in files)
        assert lines <= int(budget.replace(",", "")), (
            f"jitkit/{name}: {lines} lines, budget {budget}"
        )


def layer_rows() -> list[tuple[str, list[str]]]:
    """The Layers table, bottom to top: (layer name, the module names of its paths)."""
    text = (ROOT / "docs" / "architecture.md").read_text()
    table = text.split("## Layers (bottom to top)")[1].split("### Size budget")[0]
    rows = re.findall(r"^\| ([^|]+) \| ([^|]+) \|", table, re.M)[2:]  # past the header rows
    layers = []
    for name, cell in rows:
        paths = re.findall(r"`(jitkit/[\w./]*)`", cell)
        layers.append((name, [p.rstrip("/").removesuffix(".py").replace("/", ".") for p in paths]))
    return layers


def imports_of(path) -> set[str]:
    """Every `jitkit` module `path` imports, at the top or inside a function."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {name for name in found if name.startswith("jitkit.")}


def test_layers_import_only_downward():
    rank = {}
    for i, (_, modules) in enumerate(layer_rows()):
        for module in modules:
            rank.setdefault(module, i)
    assert len(rank) >= 20, "no layer table found: has the format changed?"

    def layer(module: str) -> str | None:  # the longest listed prefix
        parts = module.split(".")
        return next(
            (m for k in range(len(parts), 0, -1) if (m := ".".join(parts[:k])) in rank), None
        )

    upward = []
    for path in (ROOT / "jitkit").rglob("*.py"):
        module = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        mine = layer(module)
        if mine is None:
            continue  # jitkit/__init__.py and errors.py sit under everything
        for imported in imports_of(path):
            theirs = layer(imported)
            if theirs is not None and rank[theirs] > rank[mine]:
                upward.append(f"{module} ({mine}) imports {imported} ({theirs})")
    assert not upward, "a layer imports a higher one:\n" + "\n".join(sorted(upward))


def test_the_longest_module_column_names_the_longest_module():
    """The size table's third column names each layer's longest module first; its line count
    is a guide (within 10%), the name must be right."""
    text = (ROOT / "docs" / "architecture.md").read_text().split("### Size budget")[1]
    rows = re.findall(r"^\| `jitkit/([\w*.]*)/?` \| [\d,]+ \| `([\w/.]+)` \((\d+)", text, re.M)
    assert len(rows) >= 10, "no budget table found: has the format changed?"
    for layer, named, said in rows:
        files = (
            (ROOT / "jitkit").glob("*.py")
            if layer == "*.py"
            else (ROOT / "jitkit" / layer).rglob("*.py")
        )
        sizes = {f: len(f.read_text().splitlines()) for f in files}
        longest = max(sizes, key=sizes.get)
        assert longest.name == Path(named).name, (
            f"jitkit/{layer}: the longest module is {longest.name} ({sizes[longest]} lines), "
            f"not {named}"
        )
        assert abs(sizes[longest] - int(said)) <= 0.1 * sizes[longest], (
            f"jitkit/{layer}: {longest.name} has {sizes[longest]} lines, the table says {said}"
        )
