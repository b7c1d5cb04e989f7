"""SVG pictures that fit a notebook column: the size rules and the object Jupyter renders.

Every picture of `jitkit.pictures` is at most WIDTH inches wide with text at FONT points;
figures are made without pyplot, so drawing never changes a notebook's plotting backend.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass

WIDTH = 9.0  # inches: 864 px in a browser (96 px an inch), inside a ~900 px notebook column
FONT = 10  # points, at the size the picture is shown
CHAR, LINE = FONT * 0.602 / 72, FONT * 1.3 / 72  # inches per monospace character and line


@dataclass
class Svg:
    """SVG text that Jupyter shows as a picture and `print` shows as its size."""

    text: str
    renderer: str  # "dot" or "matplotlib"

    def _repr_svg_(self) -> str:
        return self.text

    def __str__(self) -> str:
        return f"<svg picture, {len(self.text)} characters, drawn by {self.renderer}>"

    def fitted(self) -> Svg:
        """Scaled down (text and all) to WIDTH when wider: the last resort, after wrapping."""
        scale = WIDTH * 96 / self.width_px
        if scale >= 1:
            return self

        def smaller(match: re.Match) -> str:
            return f'{match.group(1)}="{_length_px(match.group(2)) * scale:.2f}px"'

        head, rest = self.text.split("<svg", 1)
        tag, body = rest.split(">", 1)
        tag = re.sub(r'\b(width|height)="([^"]+)"', smaller, tag)
        return Svg(f"{head}<svg{tag}>{body}", self.renderer)

    @property
    def width_px(self) -> float:
        """How wide a browser shows it (the root's width, in pt or px)."""
        return _length_px(re.search(r'<svg[^>]*?width="([^"]+)"', self.text).group(1))


def _length_px(value: str) -> float:
    number = float(re.match(r"[\d.]+", value).group())
    return number * 96 / 72 if value.endswith("pt") else number


def figure_svg(fig, tight: bool = True) -> str:
    """The figure as SVG with real text (searchable, smaller). Figures are made without
    pyplot, so drawing here never changes the notebook's plotting backend."""
    import matplotlib

    out = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none"}):
        fig.savefig(out, format="svg", bbox_inches="tight" if tight else None)
    return out.getvalue()
