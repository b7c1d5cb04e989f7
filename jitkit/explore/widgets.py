"""What the explorers share: widgets that also render as static HTML (the explorers' base).

A `Live` holds its ipywidgets tree in `.widget` and gives Jupyter both: the live view, and
`text/html` of its current state for places without a widget manager (nbconvert, exported
HTML, a viewer), so those show content instead of `Widget(...)`.
"""

from __future__ import annotations

import html
import inspect
import textwrap
from typing import Any

from jitkit.explore.views import PRE


class Live:
    """Base of the explorers: a widget tree plus a static picture of its state."""

    widget: Any
    title = ""

    def static_html(self) -> str:
        raise NotImplementedError

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        bundle = self.widget._repr_mimebundle_(include=include, exclude=exclude) or {}
        if isinstance(bundle, tuple):  # (data, metadata)
            bundle = bundle[0]
        return {
            **bundle,
            "text/html": self.static_html(),
            "text/plain": f"<{self.title}: run in Jupyter with widgets to interact>",
        }

    def _repr_html_(self) -> str:
        return self.static_html()


def source_of(fn_or_source: Any) -> tuple[str, str | None]:
    """(source text, function name): from a source string, a function, or `@jit` function."""
    if isinstance(fn_or_source, str):
        return textwrap.dedent(fn_or_source).strip("\n") + "\n", None
    fn = getattr(fn_or_source, "jit", fn_or_source)  # the default tier's face
    fn = getattr(fn, "__wrapped__", fn)
    lines = inspect.getsource(fn).splitlines(keepends=True)
    body = [line for line in lines if not line.lstrip().startswith("@")]  # drop decorators
    return textwrap.dedent("".join(body)), fn.__name__


def pre(text: str, colour: str = "") -> str:
    style = f"{PRE}; color: {colour}" if colour else PRE
    return f"<pre style='{style}'>{html.escape(text)}</pre>"


def source_html(source: str, line: int | None) -> str:
    """The source with line numbers, the chosen line highlighted."""
    from jitkit.explore.views import MARK

    rows = []
    for i, text in enumerate(source.splitlines(), 1):
        row = html.escape(f"{i:>3}  {text}")
        rows.append(f"<span style='{MARK}'>{row}</span>" if i == line else row)
    return f"<pre style='{PRE}'>{chr(10).join(rows)}</pre>"
