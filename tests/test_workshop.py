"""The chapter loader (`jitkit.workshop`) and the display helpers chapters use to meet the kit."""

from __future__ import annotations

import nbformat
import pytest

from jitkit.display import agree, source
from jitkit.errors import JitkitError
from jitkit.workshop import ChapterNotFoundError, load_chapter


def _chapter(folder, name, *sources):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# a chapter")]
    nb.cells += [nbformat.v4.new_code_cell(s) for s in sources]
    (folder / "notebooks").mkdir(exist_ok=True)
    nbformat.write(nb, folder / "notebooks" / f"{name}.ipynb")


def test_loads_only_exported_cells(tmp_path, monkeypatch):
    _chapter(
        tmp_path,
        "42_answers",
        "#| export\nfrom dataclasses import dataclass\n\n@dataclass\nclass P:\n    x: int\n",
        "raise RuntimeError('not exported, never run')",
        "#| export\ndef double(p):\n    print('quiet')\n    return P(2 * p.x)\nprint('x')",
    )
    monkeypatch.chdir(tmp_path / "notebooks")
    ch = load_chapter(42)
    assert ch.double(ch.P(21)) == ch.P(42)
    assert load_chapter("42_answers") is ch
    assert load_chapter("42", fresh=True) is not ch


def test_a_failing_export_cell_names_the_chapter_and_cell(tmp_path, monkeypatch):
    _chapter(tmp_path, "43_broken", "#| export\nx = 1", "#| export\n1 / 0")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(JitkitError, match=r"43_broken.ipynb, export cell 2: ZeroDivisionError"):
        load_chapter(43)


def test_a_missing_chapter_says_where_it_looked(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("JITKIT_NOTEBOOKS", str(tmp_path))
    with pytest.raises(ChapterNotFoundError, match="JITKIT_NOTEBOOKS"):
        load_chapter("77_nowhere")


def test_source_is_the_real_source():
    from jitkit.workshop import find_chapter

    shown = source(find_chapter)
    assert shown.path == "jitkit/workshop.py"
    assert shown.text.startswith("def find_chapter(")
    assert "<details" in shown._repr_html_()
    assert str(shown).splitlines()[0].startswith("# find_chapter  (jitkit/workshop.py, lines ")


def test_agree_tabulates_results_and_exceptions():
    same = agree([(1, 2), (3, 0)], mine=lambda a, b: a // b, python=lambda a, b: a // b)
    assert same.ok and "ZeroDivisionError: integer division or …" in str(same)
    assert "ZeroDivisionError: integer division or modulo by zero" in same._repr_html_()
    differ = agree([4, 5], mine=lambda n: n * 2, python=lambda n: n + n + (n == 5))
    assert not differ.ok and "they DIFFER" in str(differ) and "✗" in differ._repr_html_()
