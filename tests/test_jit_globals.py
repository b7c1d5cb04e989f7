"""Module-level names under `@jit` and `python -m jitkit run` (docs/globals.md): read at call
time from the function's module, as CPython reads them; what the kit refuses, refused clearly."""

from __future__ import annotations

import pytest

from jitkit.cpython_first import Policy
from jitkit.jit import BYTECODE_TIERS, DEFAULT, jit
from jitkit.tiers import TIERS

RATE = 3
NAMES = [1, 2]


def cost(n):
    return n * RATE


def total_cost(n):
    s = 0
    for i in range(n):
        s += cost(i)
    return s


def grow(v):
    NAMES.append(v)
    return len(NAMES)


def missing():
    return NOT_BOUND_ANYWHERE  # noqa: F821 - NameError is the point


def shadow(n):
    RATE = n + 1
    return RATE


FRONTENDS = [(t, "ast") for t in TIERS] + [(t, "dis") for t in BYTECODE_TIERS if t != DEFAULT]


@pytest.fixture(autouse=True)
def module_state(monkeypatch):
    """Each test rebinds the module's names as it likes; they are put back after it."""
    monkeypatch.setitem(globals(), "RATE", 3)
    monkeypatch.setitem(globals(), "NAMES", [1, 2])


@pytest.mark.parametrize(("tier", "frontend"), FRONTENDS)
def test_a_rebinding_between_calls_is_seen(tier, frontend):
    f = jit(tier=tier, frontend=frontend)(total_cost)
    assert f(10) == total_cost(10) == 135
    globals()["RATE"] = -7
    assert f(10) == total_cost(10) == -315
    globals()["RATE"] = 2.5
    assert f(4) == total_cost(4) == 15.0


@pytest.mark.parametrize(("tier", "frontend"), FRONTENDS)
def test_a_str_global_runs_the_python_function(tier, frontend):
    f = jit(tier=tier, frontend=frontend)(cost)
    assert f(2) == 6
    globals()["RATE"] = "ab"
    assert f(2) == "abab"  # no tier holds a str: the original function ran
    globals()["RATE"] = 5
    assert f(2) == 10


@pytest.mark.parametrize(("tier", "frontend"), FRONTENDS)
def test_a_global_list_is_the_modules(tier, frontend):
    f = jit(tier=tier, frontend=frontend)(grow)
    assert f(7) == 3 and NAMES == [1, 2, 7]
    globals()["NAMES"] = []
    assert f(8) == 1 and NAMES == [8]


@pytest.mark.parametrize(("tier", "frontend"), FRONTENDS)
def test_a_missing_name_is_cpythons_name_error(tier, frontend):
    f = jit(tier=tier, frontend=frontend)(missing)
    with pytest.raises(NameError) as info:
        f()
    assert info.value.args == ("name 'NOT_BOUND_ANYWHERE' is not defined",)
    globals()["NOT_BOUND_ANYWHERE"] = 4
    try:
        assert f() == 4  # bound since: read at call time
    finally:
        del globals()["NOT_BOUND_ANYWHERE"]


@pytest.mark.parametrize(("tier", "frontend"), FRONTENDS)
def test_a_local_shadows_the_global(tier, frontend):
    f = jit(tier=tier, frontend=frontend)(shadow)
    assert f(5) == 6 and RATE == 3
    if tier != DEFAULT:
        assert f.global_names == []


def test_the_names_read_are_listed_in_first_read_order():
    f = jit(tier="interp")(total_cost)
    assert f.global_names == ["RATE"] and f.module.globals == ["RATE"]
    assert jit(tier="interp", frontend="dis")(total_cost).global_names == ["RATE"]


def test_stack_and_ssa_leave_global_readers_to_their_vm():
    for tier in ("stack", "ssa"):
        f = jit(tier=tier)(total_cost)
        assert f(3) == 9
        assert f.running_tier() == "interp"
        assert "module-level name 'RATE'" in f.engine.compiled.skipped["cost"]


@pytest.mark.parametrize(
    ("fn", "why"), [(cost, "module-level name 'RATE'"), (total_cost, "cost()")]
)
def test_the_default_settles_a_global_reader_in_cpython(fn, why):
    f = jit(fn)
    f.jit.cpython_first.policy = Policy(budget=0.0, long_call=0.0, min_call=0.0, trial=4)
    assert f(10) == fn(10)
    globals()["RATE"] = 1
    assert [f(10) for _ in range(3)] == [fn(10)] * 3
    assert f.running_tier() == "cpython"
    assert any(why in e and "stays interpreted" in e for e in f.events), f.events


# --- clear errors, in a subprocess: one line and an exit status, or CPython's NameError ----

REFUSED = {
    "global statement": (
        "X = 1\ndef g():\n    global X\n    X = 2\ng()\n",
        3,
        "'global' statement",
    ),
    "call of a global": ("X = 1\ndef g():\n    return X(2)\nprint(g())\n", 3, "call of 'X'"),
    "never bound": ("def g():\n    return Y\nprint(g())\n", 2, "'Y' (no top-level statement"),
}


@pytest.mark.parametrize("name", REFUSED)
def test_a_refused_program_is_one_line(jitkit_cli, tmp_path, name):
    text, line, what = REFUSED[name]
    path = tmp_path / "prog.py"
    path.write_text(text)
    run = jitkit_cli("run", path, "--tier", "interp")
    assert run.returncode == 1 and run.stdout == "" and run.stderr.count("\n") == 1, run.stderr
    assert run.stderr.startswith(f"{path}:{line}:") and what in run.stderr


@pytest.mark.parametrize("tier", TIERS)
def test_a_name_read_before_it_is_bound_is_a_name_error_after_the_output(jitkit_cli, tier):
    from tests.conftest import ROOT

    path = ROOT / "tests" / "programs" / "globals_name_error.py"
    run = jitkit_cli("run", path, "--tier", tier)
    assert (run.returncode, run.stdout) == (1, "start\nearly 2\n"), run.stderr
    assert "NameError: name 'OFFSET' is not defined" in run.stderr.splitlines()


def test_jit_refuses_a_global_statement_clearly(tmp_path):
    import subprocess
    import sys

    from tests.conftest import ROOT

    path = tmp_path / "prog.py"
    path.write_text(
        "import jitkit\nX = 1\n@jitkit.jit(tier='interp')\ndef g():\n    global X\n"
        "    X = 2\n    return X\ntry:\n    g()\nexcept jitkit.UnsupportedError as e:\n"
        "    print(e)\n"
    )
    run = subprocess.run(
        [sys.executable, path], capture_output=True, text=True, timeout=120,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("prog.py, line 5, col 4: 'global' statement (only the module")
