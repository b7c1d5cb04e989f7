"""docs/architecture.md and README.md stay true to the tree."""

from __future__ import annotations

import re

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
