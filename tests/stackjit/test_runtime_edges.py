"""The machine-code runtime (shared by the stack and SSA tiers) at its edges: compiled code
entered again from inside its own print, and deep recursion on a thread with a small stack."""

from __future__ import annotations

import ctypes
import io
import subprocess
import sys
import textwrap

import pytest

from jitkit.tiers import load
from tests.conftest import ROOT

SOURCE = """
def g(a, b):
    return a * b + 1

def f(n, k):
    a = n + 1
    print(a)
    return a * k + a
"""


class Reentrant(io.StringIO):
    """A stdout whose write runs compiled code that deopts (2**40 * 2**40 overflows)."""

    def __init__(self, program) -> None:
        super().__init__()
        self.program, self.inner = program, []

    def write(self, text: str) -> int:
        self.inner.append(self.program.call("g", 2**40, 2**40))
        return super().write(text)


@pytest.mark.parametrize("tier", ["stack", "ssa"])
def test_compiled_code_called_from_inside_its_own_print(tier, monkeypatch):
    program = load(SOURCE, tier)
    out = Reentrant(program)
    monkeypatch.setattr(sys, "stdout", out)
    n, k = 2**40, 2**40  # the outer call deopts too, after its print
    result = program.call("f", n, k)
    monkeypatch.undo()
    assert result == (n + 1) * k + (n + 1)
    assert out.getvalue() == f"{n + 1}\n"
    assert out.inner and set(out.inner) == {2**80 + 1}


@pytest.mark.parametrize("tier", ["stack", "ssa"])
def test_deep_recursion_on_a_small_thread_stack_deopts_instead_of_crashing(tier):
    script = textwrap.dedent(f"""
        import sys, threading
        from jitkit.tiers import load
        sys.setrecursionlimit(100000)
        program = load('''
        def f(n, a, b, c):
            if n == 0:
                return a + b + c
            return f(n - 1, a + 1, b + 2, c + 3) + n
        ''', {tier!r})
        out = []
        threading.stack_size(256 * 1024)
        t = threading.Thread(target=lambda: out.append(program.call("f", 9000, 1, 2, 3)))
        t.start(); t.join()
        print(out)
    """)
    run = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    expected = 9000 * 9001 // 2 + (1 + 9000) + (2 + 2 * 9000) + (3 + 3 * 9000)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout == f"[{expected}]\n"


def test_frames_that_skip_the_stack_check_fit_the_budget_at_the_depth_cap():
    from jitkit.jitrt.layout import NATIVE_DEPTH_CAP, SMALL_FRAME, STACK_BUDGET

    assert SMALL_FRAME * NATIVE_DEPTH_CAP <= STACK_BUDGET


class DroppedByCtypes(io.StringIO):
    """A stdout that loses a KeyboardInterrupt the way ctypes does when CPython runs the
    SIGINT handler on the print callback's first instruction: the kit's C-level handler has
    set the flag byte, and the exception went to sys.unraisablehook and was dropped."""

    def __init__(self) -> None:
        super().__init__()
        self.dropped = False

    def write(self, text: str) -> int:
        if not self.dropped:
            self.dropped = True
            from jitkit.native.interrupts import interrupt_flag

            ctypes.c_uint8.from_address(interrupt_flag().address).value = 1  # SIGINT came
        return super().write(text)


@pytest.mark.parametrize("tier", ["stack", "ssa"])
def test_an_interrupt_ctypes_dropped_still_stops_the_call(tier, monkeypatch):
    """The flag says SIGINT came, CPython has no signal pending (its handler already ran, and
    ctypes dropped the KeyboardInterrupt): with the default handler, the call raises it."""
    import signal

    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    program = load(
        "def spin():\n    n = 0\n    while True:\n        print(n)\n        n = n + 1\n", tier
    )
    monkeypatch.setattr(sys, "stdout", DroppedByCtypes())
    with pytest.raises(KeyboardInterrupt):
        program.call("spin")
    assert sys.stdout.getvalue().startswith("0\n")
