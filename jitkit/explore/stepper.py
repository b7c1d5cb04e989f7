"""The VM stepper: the kit VM one instruction at a time (notebook 03 onwards).

`step(fn, *args)` shows the pc, the operand stack, the locals, the call stack and the profile
counters before each instruction, with step, run-to-line and reset buttons. No stepping API
is added to the VM: a run with `trace=True` calls `trace_instruction` before every
instruction, and `Snapshotting` (a VM subclass) counts them and stops the run at the wanted
one by raising `Paused`. State k is reached by running the call again from the start up to
instruction k: kit programs are deterministic (no input, clock or randomness), so the same
run passes the same states; its prints are captured, not repeated on screen.
"""

from __future__ import annotations

import contextlib
import html
import io
from dataclasses import dataclass, field
from typing import Any

from jitkit.explore.widgets import Live, pre, source_of
from jitkit.vm.machine import VM

SMALL = "margin: 0; font-size: 12px; line-height: 1.3"
LIMIT = 1_000_000  # instructions a stepping run may execute before it gives up


class Paused(BaseException):  # noqa: N818 -- a BaseException, so the VM's error notes skip it
    """Raised from the trace hook to stop a run at the chosen instruction."""


@dataclass
class FrameState:
    function: str
    pc: int
    line: int
    locals: dict[str, str]
    stack: list[str]


@dataclass
class State:
    """The VM before instruction `count` of the run (0 is the first), or after the end."""

    count: int
    frames: list[FrameState] = field(default_factory=list)  # outermost first
    calls: dict[str, int] = field(default_factory=dict)
    loops: dict[str, int] = field(default_factory=dict)
    output: str = ""
    finished: bool = False
    result: str = ""  # repr of the return value, or the exception

    @property
    def top(self) -> FrameState | None:
        return self.frames[-1] if self.frames else None


class Snapshotting(VM):
    """The VM with a hook before each instruction: stop when `stop(count, frame, pc)` says."""

    def __init__(self, codes, stop) -> None:
        super().__init__(codes, trace=True)
        self.stop, self.count, self.paused = stop, 0, None

    def trace_instruction(self, frame, pc: int) -> None:
        if self.count >= LIMIT or self.stop(self.count, frame, pc):
            self.paused = self.snapshot(frame, pc)
            raise Paused
        self.count += 1

    def snapshot(self, top, pc: int) -> State:
        frames = []
        for frame in self.frames:
            at = pc if frame is top else max(frame.pc - 1, 0)  # a caller sits at its CALL
            names = frame.code.varnames
            frames.append(FrameState(
                frame.code.name, at, frame.code.lines[at],
                {n: _show(v) for n, v in zip(names, frame.locals, strict=True)},
                [_show(v) for v in frame.stack],
            ))  # fmt: skip
        loops = {f"{fn} line {line} @{h}": c for (fn, h, line), c in self.profile.loops.items()}
        return State(self.count, frames, dict(self.profile.calls), loops)


def _show(value: Any) -> str:
    from jitkit.lang.runtime import UNBOUND

    if value is UNBOUND:
        return "(unbound)"
    if hasattr(value, "argcount"):  # a Code on the stack, pushed by LOAD_FUNC
        return f"<function {value.name}>"
    text = repr(value)
    return text if len(text) <= 30 else text[:29] + "…"


def run_to(codes, name: str, args: tuple, stop) -> State:
    """Run `name(*args)` from the start until `stop(count, frame, pc)`, or to its end."""
    vm = Snapshotting(codes, stop)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        try:
            value = vm.call(name, *args)
        except Paused:
            vm.paused.output = out.getvalue()
            return vm.paused
        except Exception as error:  # the program's own error is its outcome
            return State(vm.count, [], dict(vm.profile.calls), {}, out.getvalue(), True,
                         f"{type(error).__name__}: {error}")  # fmt: skip
    loops = {f"{fn} line {line} @{h}": c for (fn, h, line), c in vm.profile.loops.items()}
    return State(vm.count, [], dict(vm.profile.calls), loops, out.getvalue(), True, repr(value))


class Stepper(Live):
    """Buttons over `run_to`; `.state` is what the panes show."""

    title = "VM stepper"

    def __init__(self, source: str, name: str | None, args: tuple) -> None:
        import ipywidgets as w

        from jitkit.bytecode.compiler import compile_module
        from jitkit.bytecode.disasm import instructions
        from jitkit.lang.parse import parse_module

        self.source, self.args = source, args
        self.codes = compile_module(parse_module(source, "<step>"))
        self.name = name if name in self.codes else next(iter(self.codes))
        self.listings = {n: instructions(c) for n, c in self.codes.items()}
        self.state = run_to(self.codes, self.name, args, lambda count, frame, pc: True)
        self.step_button = w.Button(description="step", icon="step-forward")
        self.run_button = w.Button(description="run to line", icon="forward")
        self.reset_button = w.Button(description="reset", icon="undo")
        lines = sorted({line for c in self.codes.values() for line in c.lines})
        text = source.splitlines()
        self.line = w.Dropdown(
            options=[
                (f"{n}: {text[n - 1].strip()[:40]}" if n <= len(text) else str(n), n) for n in lines
            ],  # fmt: skip
            layout=w.Layout(width="22em"),
        )
        self.view = w.HTML()
        self.step_button.on_click(lambda _: self.step())
        self.run_button.on_click(lambda _: self.run_to_line(self.line.value))
        self.reset_button.on_click(lambda _: self.reset())
        buttons = w.HBox([self.step_button, self.run_button, self.line, self.reset_button])
        self.widget = w.VBox([buttons, self.view], layout=w.Layout(max_width="900px"))
        self.render()

    def step(self, n: int = 1) -> State:
        if not self.state.finished:
            target = self.state.count + n
            self.state = run_to(self.codes, self.name, self.args, lambda c, f, pc: c >= target)
        self.render()
        return self.state

    def run_to_line(self, line: int) -> State:
        """Run until an instruction of `line` is about to run, entering the line anew."""
        if not self.state.finished:
            start = self.state.count
            last = {"line": None}

            def stop(count: int, frame, pc: int) -> bool:
                now, before = frame.code.lines[pc], last["line"]
                last["line"] = now
                return count > start and now == line and before != line

            self.state = run_to(self.codes, self.name, self.args, stop)
        self.render()
        return self.state

    def reset(self) -> State:
        self.state = run_to(self.codes, self.name, self.args, lambda c, f, pc: True)
        self.render()
        return self.state

    def render(self) -> None:
        self.view.value = self.static_html(header=False)

    def static_html(self, header: bool = True) -> str:
        s = self.state
        call = f"{self.name}({', '.join(map(repr, self.args))})"
        head = f"<p><b>VM stepper</b>: {html.escape(call)}</p>" if header else ""
        if s.finished:
            status = f"finished after {s.count} instructions: {s.result}"
        else:
            top = s.top
            status = f"before instruction {s.count}: {top.function} pc {top.pc}, line {top.line}"
        cells = [self._listing_html(), self._state_html()]
        table = "".join(
            f"<td style='vertical-align: top; padding-right: 1em'>{c}</td>" for c in cells
        )
        return (f"<div style='max-width: 900px'>{head}<p>{html.escape(status)}</p>"
                f"<table><tr>{table}</tr></table></div>")  # fmt: skip

    def _listing_html(self) -> str:
        from jitkit.bytecode.disasm import format_instruction

        top = self.state.top
        function = top.function if top else self.name
        rows = []
        for ins in self.listings[function]:
            text = html.escape(("→ " if top and ins.offset == top.pc else "  ")
                               + format_instruction(ins, show_offset=True))  # fmt: skip
            rows.append(f"<span style='background: #ffe58f'>{text}</span>"
                        if top and ins.offset == top.pc else text)  # fmt: skip
        listing = "\n".join(rows)
        return f"<b>{html.escape(function)}</b><pre style='{SMALL}'>{listing}</pre>"

    def _state_html(self) -> str:
        s = self.state
        parts = []
        if s.top:
            stack = ", ".join(s.top.stack)
            parts.append(f"<b>operand stack</b> (top last)<br><code>[{html.escape(stack)}]</code>")
            local_rows = "".join(
                f"<tr><td><code>{html.escape(k)}</code></td><td><code>{html.escape(v)}</code></td></tr>"
                for k, v in s.top.locals.items()
            )
            parts.append(f"<b>locals</b><table>{local_rows}</table>")
            frames = " → ".join(f"{f.function}@{f.pc}" for f in s.frames)
            parts.append(f"<b>call stack</b><br><code>{html.escape(frames)}</code>")
        counters = [f"calls {k}: {v}" for k, v in s.calls.items()]
        counters += [f"loop {k}: {v}" for k, v in s.loops.items()]
        parts.append("<b>profile</b>" + pre("\n".join(counters) or "(nothing counted yet)"))
        if s.output:
            parts.append("<b>printed</b>" + pre(s.output[-400:]))
        return "<br>".join(parts)

    def __str__(self) -> str:
        return f"VM stepper on {self.name}{self.args}: {self.state.count} instructions"


def step(fn: Any, *args: object) -> Stepper:
    """Why: watch the VM run `fn(*args)` one instruction at a time."""
    source, name = source_of(fn)
    return Stepper(source, name, args)
