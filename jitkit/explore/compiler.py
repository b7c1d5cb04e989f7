"""The compiler explorer: source on the left, what it became on the right (any chapter).

`explore(fn_or_source)` shows kit bytecode, SSA IR after each pass, x86-64 per tier (stack,
SSA, LLVM) and LLVM IR at O0..O3 in tabs; choosing a source line highlights the rows it
became where the stage keeps lines (`jitkit.explore.views`); editing the source and leaving
the box (or pressing Compile) recompiles; a compile error is shown as its message.
"""

from __future__ import annotations

from typing import Any

from jitkit.explore.views import LEVELS, TIERS, Views, compile_views
from jitkit.explore.widgets import Live, pre, source_html, source_of

TABS = ("bytecode", "SSA IR", "x86-64", "LLVM IR")


class Explorer(Live):
    """Linked panes over `Views`; `.views` is the current compilation, for tests and code."""

    title = "compiler explorer"

    def __init__(self, source: str, name: str | None = None) -> None:
        import ipywidgets as w

        self.views: Views = compile_views(source, name)
        self.code = w.Textarea(value=source, continuous_update=False,
                               layout=w.Layout(width="100%", height="22em"))  # fmt: skip
        self.compile_button = w.Button(description="Compile", icon="play",
                                       layout=w.Layout(width="8em"))  # fmt: skip
        self.function = w.Dropdown(description="function", layout=w.Layout(width="auto"))
        self.line = w.Dropdown(description="line", layout=w.Layout(width="100%"))
        self.passes = w.Dropdown(description="after pass", layout=w.Layout(width="auto"))
        self.tier = w.ToggleButtons(options=TIERS, value="ssa", style={"button_width": "5em"})
        self.level = w.ToggleButtons(options=LEVELS, value="O2", style={"button_width": "4em"})
        self.status = w.HTML()
        self.panes = {tab: w.HTML() for tab in TABS}
        self.source_view = w.HTML()
        self.tabs = w.Tab(
            children=[
                self.panes["bytecode"],
                w.VBox([self.passes, self.panes["SSA IR"]]),
                w.VBox([self.tier, self.panes["x86-64"]]),
                w.VBox([self.level, self.panes["LLVM IR"]]),
            ],
            titles=TABS,
            layout=w.Layout(width="60%"),
        )
        left = w.VBox([self.code, w.HBox([self.compile_button, self.function]), self.line,
                       self.source_view], layout=w.Layout(width="40%"))  # fmt: skip
        self.widget = w.VBox([self.status, w.HBox([left, self.tabs])],
                             layout=w.Layout(width="100%", max_width="900px"))  # fmt: skip
        self._options()
        self.render()
        self.code.observe(lambda _: self.recompile(), "value")
        self.compile_button.on_click(lambda _: self.recompile())
        self.function.observe(lambda _: self._pick_function(), "value")
        for control in (self.line, self.passes, self.tier, self.level):
            control.observe(lambda _: self.render(), "value")

    # --- reacting --------------------------------------------------------------------------

    def recompile(self) -> None:
        """Compile the box's text again, keeping the chosen function, line and pass."""
        self.views = compile_views(self.code.value, self.function.value or self.views.name)
        self._options()
        self.render()

    def _pick_function(self) -> None:
        if self.function.value and self.function.value != self.views.name:
            self.recompile()

    def _options(self) -> None:
        """The dropdowns' choices for the current compilation (the old choice if it stays)."""
        views = self.views
        with self.widget.hold_trait_notifications(), self._quiet():
            self.function.options = views.functions or [""]
            self.function.value = views.name if views.functions else ""
            self.function.layout.display = "" if len(views.functions) > 1 else "none"
            lines = [("(choose a line to highlight)", 0)] + [
                (f"{n}: {text.strip()[:40]}", n) for n, text in views.lines()
            ]
            keep = self.line.value if self.line.value in dict(lines).values() else 0
            self.line.options, self.line.value = lines, keep
            names = list(views.ssa)
            old = (self.passes.value or "").split(" ", 1)[-1]
            same = [n for n in names if n.split(" ", 1)[-1] == old]
            self.passes.options = names
            self.passes.value = same[-1] if same else names[-1]

    def _quiet(self):
        """While the options change, `render` runs once at the end instead of per change."""
        explorer = self

        class Quiet:
            def __enter__(self):
                explorer._rendering = False

            def __exit__(self, *exc):
                explorer._rendering = True

        return Quiet()

    _rendering = True

    def render(self) -> None:
        if not self._rendering:
            return
        views, line = self.views, self.line.value or None
        self.status.value = pre(views.error, "#a40000") if views.error else ""
        self.source_view.value = source_html(views.source, line) if line else ""
        self.panes["bytecode"].value = views.bytecode.html(line)
        self.panes["SSA IR"].value = views.ssa[self.passes.value].html(line)
        self.panes["x86-64"].value = views.asm[self.tier.value].html(line)
        self.panes["LLVM IR"].value = views.llvm[self.level.value].html(line)

    # --- static ----------------------------------------------------------------------------

    def pane_text(self, tab: str) -> str:
        """The text a tab shows now (for tests and `print`)."""
        views = self.views
        return {
            "bytecode": views.bytecode,
            "SSA IR": views.ssa[self.passes.value],
            "x86-64": views.asm[self.tier.value],
            "LLVM IR": views.llvm[self.level.value],
        }[tab].text

    def static_html(self) -> str:
        line = self.line.value or None
        parts = [f"<p><b>compiler explorer</b>: {self.views.name}()</p>",
                 source_html(self.views.source, line)]  # fmt: skip
        titles = {
            "bytecode": "kit bytecode",
            "SSA IR": f"SSA IR after pass {self.passes.value}",
            "x86-64": f"x86-64, {self.tier.value} tier",
            "LLVM IR": f"LLVM IR at {self.level.value}",
        }
        for tab in TABS:
            opened = " open" if tab == TABS[self.tabs.selected_index or 0] else ""
            parts.append(f"<details{opened}><summary>{titles[tab]}</summary>"
                         f"{self.panes[tab].value}</details>")  # fmt: skip
        return "<div style='max-width: 900px'>" + "".join(parts) + "</div>"

    def __str__(self) -> str:
        return f"compiler explorer on {self.views.name}()\n{self.pane_text('bytecode')}"


def explore(fn_or_source: Any, name: str | None = None) -> Explorer:
    """Why: see what each line becomes at every stage, and change it and see again."""
    source, found = source_of(fn_or_source)
    return Explorer(source, name or found)
