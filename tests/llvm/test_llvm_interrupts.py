"""Ctrl-C in LLVM-compiled code (contract 5: the kernel never dies), in child processes."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

from jitkit.lang.parse import parse_module
from jitkit.llvm.codegen import compile_module
from tests.conftest import sigint_as_a_terminal_gives_it

SPIN = """
import traceback
import jitkit

@jitkit.jit(tier="llvm")
def spin():
    while True:
        pass

@jitkit.jit(tier="llvm")
def count(n):
    total = 0
    for i in range(n):
        for j in range(n):
            if i == j:
                print("at", i)
            total += 1
    return total

@jitkit.jit(tier="llvm")
def fib(n):
    if n < 2:
        return n
    return fib(n - 1) + fib(n - 2)

spin.engine  # compiled now, so the signal lands in the loop, not in LLVM
print("ready", flush=True)
try:
    spin()
except KeyboardInterrupt:
    traceback.print_exc()
    print("interrupted", flush=True)
print(count(3), flush=True)
print("ready", flush=True)
try:
    count(10**9)
except KeyboardInterrupt:
    print("interrupted", flush=True)
fib.engine
print("ready", flush=True)
try:
    fib(90)  # no loop: the poll at function entry hears Ctrl-C
except KeyboardInterrupt:
    print("interrupted", flush=True)
print(fib(20), flush=True)
"""


def interrupt_when_ready(child: subprocess.Popen) -> tuple[float, list[str]]:
    """Wait for the child's "ready", send SIGINT as Ctrl-C would; return the seconds until
    it reports "interrupted" and the lines it printed before."""
    assert child.stdout.readline() == "ready\n"
    time.sleep(0.3)
    sent = time.monotonic()
    child.send_signal(signal.SIGINT)
    lines = []
    while (line := child.stdout.readline()) not in ("interrupted\n", ""):
        lines.append(line)
    assert line == "interrupted\n", lines
    return time.monotonic() - sent, lines


def test_sigint_stops_a_compiled_while_true_within_a_second(tmp_path: Path):
    script = tmp_path / "spin.py"
    script.write_text(SPIN)
    child = subprocess.Popen(
        [sys.executable, str(script)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=sigint_as_a_terminal_gives_it,
    )
    watchdog = threading.Timer(60, child.kill)  # a loop that never stops fails, not hangs
    watchdog.start()
    try:
        seconds, printed = interrupt_when_ready(child)
        assert seconds < 1.0 and printed == []
        # the module still runs compiled code
        assert [child.stdout.readline() for _ in range(4)] == ["at 0\n", "at 1\n", "at 2\n", "9\n"]
        seconds, printed = interrupt_when_ready(child)  # a nested for loop that prints
        assert seconds < 1.0 and printed[:1] == ["at 0\n"]  # what it printed is shown
        seconds, printed = interrupt_when_ready(child)  # deep recursion, no loop
        assert seconds < 1.0 and printed == []
        assert child.stdout.readline() == "6765\n"
        out, err = child.communicate(timeout=30)
    finally:
        watchdog.cancel()
    assert child.returncode == 0, err
    assert "Traceback (most recent call last)" in err and "KeyboardInterrupt" in err


def test_only_in_process_code_polls():
    source = textwrap.dedent("""
        def f(n):
            t = 0
            while n > 0:
                n -= 1
                for i in range(n):
                    t += i
            return t
        print(f(5))
    """)
    kit = parse_module(source)
    # one per loop, one in each function's entry check (f and the module's code)
    assert str(compile_module(kit, "inprocess")).count("load volatile") == 4
    assert "volatile" not in str(compile_module(kit, "inprocess", interrupt_poll=False))
    for target in ("libc", "nolibc"):
        assert "volatile" not in str(compile_module(kit, target))
