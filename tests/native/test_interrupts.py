"""Ctrl-C reaches machine code: a compiled infinite loop that polls the interrupt flag stops
with KeyboardInterrupt within a second. Each case runs in a subprocess, so a failure can only
kill that process, never the test run."""

import subprocess
import sys
import textwrap
import time

LOOP = """
import ctypes, os, signal, threading, time
from jitkit.native import NativeFunction
from jitkit.native.interrupts import interrupt_flag
from jitkit.x86 import Assembler, byte, rdi, eax

a = Assembler()
a.label("loop").cmp(byte(rdi), 0).je("loop")   # while not interrupted: spin
a.mov(eax, 1).ret()
spin = NativeFunction(a.assemble(), ctypes.c_int64, (ctypes.c_void_p,))
flag = interrupt_flag()
{setup}
assert flag.arm()
threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT)).start()
start = time.perf_counter()
try:
    assert spin(flag.address) == 1
    flag.raise_pending()
    print("no exception")
except KeyboardInterrupt:
    print(f"KeyboardInterrupt after {{time.perf_counter() - start:.2f}} s")
{after}
"""


def run(setup: str = "", after: str = "") -> subprocess.CompletedProcess:
    code = textwrap.dedent(LOOP).format(setup=setup, after=after)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=20)


def test_sigint_stops_a_native_infinite_loop_with_keyboard_interrupt():
    start = time.perf_counter()
    result = run()
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("KeyboardInterrupt after 0.")
    assert time.perf_counter() - start < 10


def test_a_python_handler_installed_later_is_chained_after_reinstall():
    setup = "signal.signal(signal.SIGINT, lambda *a: print('python handler ran'))"
    result = run(setup=setup)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["python handler ran", "no exception"]


def test_reinstall_after_signal_signal_replaced_our_handler():
    after = """
signal.signal(signal.SIGINT, signal.default_int_handler)  # CPython's C handler again
assert flag.arm()
threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT)).start()
try:
    spin(flag.address); flag.raise_pending()
except KeyboardInterrupt:
    print("second interrupt")
"""
    result = run(after=after)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[1] == "second interrupt"


def test_ignored_sigint_is_left_alone():
    code = (
        "import signal; from jitkit.native.interrupts import interrupt_flag;"
        "signal.signal(signal.SIGINT, signal.SIG_IGN); print(interrupt_flag().install())"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "False", result.stderr


def test_a_keyboard_interrupt_ctypes_drops_is_not_reported_when_our_handler_saw_it():
    """CPython may run its SIGINT handler on a callback's first instruction; ctypes then
    reports the KeyboardInterrupt as ignored. With our flag set the entry raises it, so the
    report is noise and the hook drops it; anything else goes to the previous hook."""
    import types

    from jitkit.native.interrupts import SIGNALLED, InterruptFlag

    flag, reported = InterruptFlag(), []
    hook = flag._interrupt_hook(reported.append)
    ctypes_msg = "Exception ignored on calling ctypes callback function"

    def unraisable(exc_type, msg):
        return types.SimpleNamespace(exc_type=exc_type, err_msg=msg)

    flag._byte.value = SIGNALLED
    hook(unraisable(KeyboardInterrupt, ctypes_msg))
    hook(unraisable(KeyboardInterrupt, ctypes_msg + " <function cb at 0x1>"))  # 3.13's form
    assert reported == []
    hook(unraisable(ValueError, ctypes_msg))
    hook(unraisable(KeyboardInterrupt, "Exception ignored in: <generator>"))
    flag._byte.value = 0
    hook(unraisable(KeyboardInterrupt, ctypes_msg))  # not our signal: reported
    assert [u.exc_type for u in reported] == [ValueError, KeyboardInterrupt, KeyboardInterrupt]
