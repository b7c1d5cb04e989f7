"""The tiering playground: thresholds in, a timeline of promotions and deopts out (notebook 05).

`playground(source)` runs one function of `source` many times under `jitkit.tiering.AutoTier`
with the thresholds the sliders set, and shows, call by call, the tier that ran it, every
promotion (`AutoTier.events`) and every deopt (the compiled tiers' `last_deopt`), each with
the counters that stood when it happened: VM calls, the hottest loop's trips, and the
stack-tier code's own entry-and-trip count that decides the move to the SSA tier.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any

from jitkit.explore.widgets import Live, pre, source_of
from jitkit.tiering import AutoTier, Thresholds

LEVELS = {"interp": 0, "stack": 1, "ssa": 2}


@dataclass
class Event:
    call: int  # which call (0 is the first) it happened in
    kind: str  # "promote", "stay" or "deopt"
    function: str
    what: str
    vm_calls: int
    hottest_loop: int
    stack_count: int  # entries + loop trips in the function's stack-tier code


@dataclass
class Run:
    tiers: list[str]  # the tier each call ended in
    events: list[Event]
    last: str  # the last call's result (or its error)


def counters(auto: AutoTier, name: str) -> tuple[int, int, int]:
    stack = auto._native.calls_of(name) if auto._native and name in auto._native.entries else 0
    return auto.vm.profile.calls[name], auto.vm.hottest_loop[name], stack


def run(codes, name: str, thresholds: Thresholds, arguments: list[tuple]) -> Run:
    """Call `name` once per argument tuple under a fresh AutoTier; record what happened."""
    auto = AutoTier(codes, thresholds)
    tiers, events, last = [], [], ""
    for i, args in enumerate(arguments):
        seen = len(auto.events)
        for tier in (auto._native, auto._ssa):
            if tier is not None:
                tier.last_deopt = []
        try:
            last = repr(auto.call(name, *args))
        except Exception as error:  # the program's error is a result like any other
            last = f"{type(error).__name__}: {error}"
        for text in auto.events[seen:]:
            function = text.split(":", 1)[0]
            kind = "promote" if "promoted" in text else "stay"
            events.append(Event(i, kind, function, text, *counters(auto, function)))
        for tier_name, tier in (("stack", auto._native), ("ssa", auto._ssa)):
            for frame in getattr(tier, "last_deopt", None) or []:
                line = codes[frame.function].lines[frame.pc]
                what = (f"{frame.function}: {tier_name}-tier code deopted to the VM at pc "
                        f"{frame.pc} (line {line}), locals {frame.locals}")  # fmt: skip
                events.append(Event(i, "deopt", frame.function, what,
                                    *counters(auto, frame.function)))  # fmt: skip
        tiers.append(auto.tier_of(name))
    return Run(tiers, events, last)


def timeline_svg(result: Run, title: str) -> str:
    """The tier of each call as a step line, events as marks on it (about 800 px wide)."""
    from matplotlib.figure import Figure

    from jitkit.pictures.svg import figure_svg

    fig = Figure(figsize=(8.2, 2.3))
    ax = fig.subplots()
    xs = list(range(len(result.tiers)))
    ax.step(xs, [LEVELS[t] for t in result.tiers], where="post", color="0.3")
    marks = {"promote": ("^", "tab:green"), "stay": ("s", "tab:orange"), "deopt": ("v", "tab:red")}
    for kind, (marker, colour) in marks.items():
        at = [e.call for e in result.events if e.kind == kind]
        if at:
            y = [LEVELS[result.tiers[c]] for c in at]
            ax.scatter(at, y, marker=marker, color=colour, s=60, zorder=3, label=kind)
    ax.set_yticks(list(LEVELS.values()), list(LEVELS), fontsize=10)
    ax.set_ylim(-0.4, 2.4)
    ax.set_xlabel("call", fontsize=10)
    if result.events:
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=9, frameon=False)
    ax.set_title(title, fontsize=10)
    return figure_svg(fig)


class Playground(Live):
    title = "tiering playground"

    def __init__(self, source: str, name: str | None, args: str, calls: int) -> None:
        import ipywidgets as w

        from jitkit.bytecode.compiler import compile_module
        from jitkit.lang.parse import parse_module

        self.source = source
        self.codes = compile_module(parse_module(source, "<playground>"))
        self.name = name if name in self.codes else list(self.codes)[-1]
        t = Thresholds()
        style = {"description_width": "11em"}
        wide = w.Layout(width="30em")
        self.calls = w.IntSlider(t.calls, 1, 200, description="promote after calls",
                                 style=style, layout=wide)  # fmt: skip
        self.loops = w.IntSlider(t.loops, 10, 5000, step=10, description="or loop trips",
                                 style=style, layout=wide)  # fmt: skip
        self.ssa = w.IntSlider(t.ssa, 1, 2000, description="SSA after stack count",
                               style=style, layout=wide)  # fmt: skip
        self.count = w.IntSlider(calls, 1, 500, description="calls to make",
                                 style=style, layout=wide)  # fmt: skip
        self.args = w.Text(args, description="args of call i", style=style, layout=wide)
        self.run_button = w.Button(description="run", icon="play")
        self.view = w.HTML()
        self.run_button.on_click(lambda _: self.run())
        controls = [self.calls, self.loops, self.ssa, self.count, self.args, self.run_button]
        self.widget = w.VBox([*controls, self.view], layout=w.Layout(max_width="900px"))
        self.result: Run | None = None
        self.run()

    @property
    def thresholds(self) -> Thresholds:
        return Thresholds(self.calls.value, self.loops.value, self.ssa.value)

    def arguments(self) -> list[tuple]:
        """Each call's arguments: the args box evaluated with `i` the call's number."""
        out = []
        for i in range(self.count.value):
            value = eval(self.args.value, {"__builtins__": {}}, {"i": i})  # the user's own box
            out.append(value if isinstance(value, tuple) else (value,))
        return out

    def run(self) -> Run | None:
        try:
            self.result = run(self.codes, self.name, self.thresholds, self.arguments())
        except Exception as error:  # a typo in the args box: say so, keep the last run
            self.view.value = pre(f"cannot run: {type(error).__name__}: {error}", "#a40000")
            return None
        self.view.value = self.static_html(header=False)
        return self.result

    def static_html(self, header: bool = True) -> str:
        r = self.result
        t = self.thresholds
        head = f"<p><b>tiering playground</b>: {html.escape(self.name)}()</p>" if header else ""
        if r is None:
            return head + "<p>not run yet</p>"
        settings = (f"thresholds: {t.calls} calls or {t.loops} loop trips to the stack tier, "
                    f"{t.ssa} stack-tier entries and trips to the SSA tier; "
                    f"{len(r.tiers)} calls, the last returned {r.last}")  # fmt: skip
        title = f"{self.name}: tier after each call"
        rows = "".join(
            "<tr>" + "".join(f"<td style='padding: 0 0.6em'>{html.escape(str(v))}</td>" for v in (
                e.call, e.kind, e.what, e.vm_calls, e.hottest_loop, e.stack_count)) + "</tr>"
            for e in r.events
        )  # fmt: skip
        heads = ("call", "event", "what happened", "VM calls", "hottest loop", "stack count")
        th = "".join(f"<th style='padding: 0 0.6em; text-align: left'>{h}</th>" for h in heads)
        table = "<p>no promotions, no deopts</p>"
        if rows:
            table = (f"<table style='font-size: 12px'><thead><tr>{th}</tr></thead>"
                     f"<tbody>{rows}</tbody></table>")  # fmt: skip
        return (f"<div style='max-width: 900px'>{head}<p>{html.escape(settings)}</p>"
                f"{timeline_svg(r, title)}{table}</div>")  # fmt: skip

    def __str__(self) -> str:
        if self.result is None:
            return "tiering playground (not run)"
        return "\n".join(f"call {e.call}: {e.what}" for e in self.result.events)


def playground(fn_or_source: Any, args: str = "i + 1", calls: int = 120, name: str | None = None):
    """Why: see how thresholds decide when code moves up a tier, and what sends it back."""
    source, found = source_of(fn_or_source)
    return Playground(source, name or found, args, calls)
