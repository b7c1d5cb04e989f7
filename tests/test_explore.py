"""The explorers' Python side: set widget values, click buttons, read what the panes show."""

from __future__ import annotations

import re

import pytest

pytest.importorskip("ipywidgets")

from jitkit.explore import explore, playground, step  # noqa: E402
from jitkit.explore.views import compile_views  # noqa: E402

COLLATZ = """\
def collatz(n):
    steps = 0
    while n != 1:
        if n % 2 == 0:
            n = n // 2
        else:
            n = 3 * n + 1
        steps = steps + 1
    return steps
"""


def fib(n):
    if n < 2:
        return n
    return fib(n - 1) + fib(n - 2)


@pytest.fixture(scope="module")
def views():
    return compile_views(COLLATZ)


def test_every_stage_has_rows_and_lines_map_where_kept(views):
    assert views.name == "collatz" and not views.error
    odd = 7  # `n = 3 * n + 1`
    bytecode = [views.bytecode.rows[i][0] for i in views.bytecode.marked(odd)]
    assert any("BINARY_MUL" in row for row in bytecode)
    assert [name.split()[1] for name in views.ssa][:1] == ["input"]
    ssa = views.ssa[list(views.ssa)[0]]
    assert any("mul_ovf 3, %n.1" in ssa.rows[i][0] for i in ssa.marked(odd))
    stack = views.asm["stack"]
    assert stack.marked(odd) and all(stack.rows[i][0].startswith("  ") for i in stack.marked(odd))
    assert any(re.search(r"\bimul\b", stack.rows[i][0]) for i in stack.marked(odd))
    assert views.asm["ssa"].marked(odd)
    assert views.asm["llvm"].rows and not views.asm["llvm"].marked(odd)  # LLVM keeps no lines
    for level, pane in views.llvm.items():
        assert pane.text.startswith("define"), level
    assert len(views.llvm["O0"].rows) > len(views.llvm["O2"].rows)


def test_explorer_panes_follow_the_line_the_pass_and_the_tier():
    e = explore(COLLATZ)
    assert "<span style='background" not in e.panes["bytecode"].value
    e.line.value = 7
    assert e.panes["bytecode"].value.count("<span style='background") >= 3
    first, last = e.passes.options[0], e.passes.options[-1]
    assert e.passes.value == last
    after_all = e.panes["SSA IR"].value
    e.passes.value = first
    assert e.panes["SSA IR"].value != after_all and "input" in first
    stack_asm = e.pane_text("x86-64")
    e.tier.value = "stack"
    assert e.pane_text("x86-64") != stack_asm
    e.level.value = "O0"
    assert e.pane_text("LLVM IR") == e.views.llvm["O0"].text


def test_an_edit_recompiles_and_the_button_does_too():
    e = explore(COLLATZ)
    asm, ir = e.pane_text("x86-64"), e.pane_text("SSA IR")
    e.code.value = COLLATZ.replace("3 * n + 1", "5 * n + 3")
    assert e.pane_text("x86-64") != asm and "mul_ovf 5" in e.views.ssa[e.passes.options[0]].text
    assert e.pane_text("SSA IR") != ir
    e.code.value = COLLATZ  # the Compile button recompiles what the box holds
    e.views = compile_views("def other(x):\n    return x\n")
    e.compile_button.click()
    assert e.views.name == "collatz"


def test_a_compile_error_is_a_message_in_every_pane_not_a_traceback():
    e = explore(COLLATZ)
    e.line.value = 7
    e.code.value = "def broken(n:\n    return n\n"
    assert "SyntaxError" in e.status.value
    for tab in ("bytecode", "SSA IR", "x86-64", "LLVM IR"):
        assert "SyntaxError" in e.panes[tab].value and "Traceback" not in e.panes[tab].value
    e.code.value = "def f(x):\n    return x.y\n"
    assert "not supported" in e.panes["bytecode"].value
    e.code.value = COLLATZ
    assert not e.status.value and "BINARY_MUL" in e.pane_text("bytecode")


def test_explorer_takes_a_function_and_renders_statically():
    e = explore(fib)
    assert e.views.name == "fib" and "CALL" in e.pane_text("bytecode")
    bundle = e._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert "Widget(" not in bundle["text/plain"] and "Widget(" not in bundle["text/html"]
    assert "return fib(n - 1) + fib(n - 2)" in bundle["text/html"]
    assert "<details open><summary>kit bytecode" in bundle["text/html"]


def test_several_functions_pick_one():
    two = "def g(x):\n    return x + 1\n\ndef h(x):\n    return g(x) * 2\n"
    e = explore(two)
    assert e.views.name == "g" and e.function.options == ("g", "h")
    e.function.value = "h"
    assert e.views.name == "h" and "CALL" in e.pane_text("bytecode")


def test_stepper_steps_runs_to_a_line_and_resets():
    s = step(COLLATZ, 6)
    top = s.state.top
    assert (s.state.count, top.pc, top.locals) == (0, 0, {"n": "6", "steps": "(unbound)"})
    s.step_button.click()
    s.step_button.click()
    assert s.state.count == 2 and s.state.top.locals["steps"] == "0"
    s.line.value = 7
    s.run_button.click()
    assert s.state.top.line == 7 and s.state.top.locals["n"] == "3"
    assert s.state.loops == {"collatz line 3 @2": 1}
    assert "→" in s.view.value and "operand stack" in s.view.value
    s.step(10_000)
    assert s.state.finished and s.state.result == "8"
    s.reset_button.click()
    assert s.state.count == 0 and not s.state.finished


def test_stepper_shows_the_call_stack_and_profile_of_a_recursion():
    s = step(fib, 4)
    while len(s.state.frames) < 3:
        s.step()
    assert [f.function for f in s.state.frames] == ["fib"] * 3
    assert [f.locals["n"] for f in s.state.frames] == ["4", "3", "2"]
    assert s.state.calls == {"fib": 3}
    assert "fib@" in s.static_html()


def test_stepper_captures_prints_and_errors():
    s = step("def f(n):\n    print(n)\n    return 10 // n\n", 0)
    s.step(100)
    assert s.state.finished and s.state.output == "0\n"
    assert s.state.result.startswith("ZeroDivisionError")


def test_playground_shows_promotions_and_a_deopt_with_their_counters():
    p = playground(COLLATZ, args="2**62 + 1 if i == 30 else i + 1", calls=40)
    p.calls.value, p.loops.value, p.ssa.value = 5, 1000, 10
    p.run_button.click()
    kinds = [(e.call, e.kind) for e in p.result.events]
    assert kinds[0] == (4, "promote") and kinds[1][1] == "promote"
    assert (30, "deopt") in kinds
    deopt = next(e for e in p.result.events if e.kind == "deopt")
    assert "line 7" in deopt.what and "4611686018427387905" in deopt.what
    assert p.result.tiers[0] == "interp" and p.result.tiers[-1] == "ssa"
    assert "<svg" in p.view.value and "deopt" in p.view.value
    p.calls.value = 200
    p.loops.value = 5000
    p.run_button.click()
    assert {e.kind for e in p.result.events} <= {"deopt"} and set(p.result.tiers) == {"interp"}


def test_playground_reports_a_bad_args_box():
    p = playground(COLLATZ, calls=5)
    p.args.value = "i +"
    assert p.run() is None and "cannot run" in p.view.value
