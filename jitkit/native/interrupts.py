"""Kernel -> Interrupt for machine code: a SIGINT flag that compiled loops can poll (notebook 05).

CPython runs its Python-level SIGINT handler only between bytecodes, so a JIT-compiled
`while True:` would never notice Ctrl-C. `InterruptFlag.install()` puts a six-instruction
handler, written with the kit's own assembler, in front of CPython's C handler: it sets one
byte and jumps on to CPython's handler, which still does its own bookkeeping. Compiled code
polls the byte on loop back-edges (`cmp byte [flag], 0; jne interrupted`) and returns; the
caller then lets CPython raise KeyboardInterrupt with `raise_pending()`. `arm()` before each
entry from Python clears the byte and reinstalls the handler if Python code replaced it.
"""

from __future__ import annotations

import ctypes
import functools
import signal
import sys
import threading

from jitkit.native.memory import ExecutableMemory, libc
from jitkit.x86 import Assembler, byte, rax

SIG_DFL, SIG_IGN = 0, 1
SIGNALLED, STOP = 1, 2  # the flag byte: our handler saw SIGINT; a callback asked to stop


class _SigAction(ctypes.Structure):
    """glibc's `struct sigaction` on x86-64 Linux (handler, 1024-bit mask, flags, restorer)."""

    _fields_ = [
        ("handler", ctypes.c_void_p),
        ("mask", ctypes.c_ulong * 16),
        ("flags", ctypes.c_int),
        ("restorer", ctypes.c_void_p),
    ]


@functools.cache
def _libc_sigaction():
    """libc's sigaction with its C types, set up once (arm() asks on every native entry)."""
    sigaction = libc().sigaction
    sigaction.argtypes = (ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p)
    return sigaction


def _sigaction(signum: int, new: _SigAction | None) -> _SigAction:
    """Install `new` (if given) and return what was there; errors are OSErrors."""
    old = _SigAction()
    new_ptr = ctypes.byref(new) if new is not None else None
    if _libc_sigaction()(signum, new_ptr, ctypes.byref(old)) != 0:
        raise OSError(ctypes.get_errno(), f"sigaction({signum}) failed")
    return old


def handler_code(flag_address: int, chained: int) -> bytes:
    """`void handler(int sig)`: set the flag byte, then tail-jump to CPython's handler with
    the same arguments (rdi, rsi, rdx untouched), so nothing of CPython's behaviour is lost."""
    a = Assembler()
    a.mov(rax, flag_address)
    a.mov(byte(rax), SIGNALLED)
    a.mov(rax, chained)
    a.jmp(rax)
    return a.assemble().bytes


class InterruptFlag:
    """One byte that becomes 1 when SIGINT arrives while our handler is installed."""

    def __init__(self) -> None:
        self._byte = ctypes.c_uint8(0)
        self.address = ctypes.addressof(self._byte)
        self._handler: ExecutableMemory | None = None
        self._retired: list[ExecutableMemory] = []  # a signal may still be running in one
        self._lock = threading.Lock()
        # The SIGINT handler `install` left in place (ours, or SIG_DFL / SIG_IGN): a builtin
        # entry's stub compares the kernel's with it and takes the general path if they differ.
        self._expected = ctypes.c_uint64(0)
        self.expected_address = ctypes.addressof(self._expected)

    @property
    def is_set(self) -> bool:
        return bool(self._byte.value)

    def clear(self) -> None:
        self._byte.value = 0

    def stop(self) -> None:
        """Make compiled code stop at its next poll without a SIGINT (a callback failed:
        `jitkit.exact.rerun.Output`); `raise_pending` then raises no KeyboardInterrupt."""
        if not self._byte.value:
            self._byte.value = STOP

    def arm(self) -> bool:
        """Call before entering compiled code: clears the flag (CPython's own pending-signal
        state, not this byte, decides whether KeyboardInterrupt is raised, and CPython may
        already have raised it) and makes sure our handler is installed."""
        self.clear()
        return self.install()

    def install(self) -> bool:
        """Make sure our handler is in front of CPython's SIGINT handler (Python code may
        have called `signal.signal` since, which reinstalls CPython's). Cheap when already
        installed: one sigaction query. False when SIGINT is ignored or left to the default
        action: then there is no KeyboardInterrupt to deliver and nothing to chain to."""
        if threading.current_thread() is not threading.main_thread():
            return self._handler is not None
        with self._lock:
            current = _sigaction(signal.SIGINT, None)
            ours = self._handler.address if self._handler is not None else None
            if current.handler == ours and ours is not None:
                return True
            if current.handler in (None, SIG_DFL, SIG_IGN):
                self._expected.value = current.handler or 0
                return False
            if self._handler is not None:
                self._retired.append(self._handler)
            self._handler = ExecutableMemory.from_code(handler_code(self.address, current.handler))
            new = _SigAction()
            ctypes.memmove(ctypes.byref(new), ctypes.byref(current), ctypes.sizeof(new))
            new.handler = self._handler.address
            _sigaction(signal.SIGINT, new)
            self._expected.value = self._handler.address
            if not getattr(sys.unraisablehook, "keeps_interrupts", False):
                sys.unraisablehook = self._interrupt_hook(sys.unraisablehook)
            return True

    def _interrupt_hook(self, previous):
        """`sys.unraisablehook` minus one case: CPython ran its SIGINT handler on a ctypes
        callback's first instruction, before the callback's own `try`, so ctypes reports the
        KeyboardInterrupt as ignored. Our handler set the flag first: the code stops at its
        next poll and `raise_pending` raises the KeyboardInterrupt at the entry."""

        def hook(unraisable) -> None:
            if (
                issubclass(unraisable.exc_type, KeyboardInterrupt)
                and "on calling ctypes callback function" in (unraisable.err_msg or "")
                and self._byte.value == SIGNALLED
            ):
                return
            previous(unraisable)

        hook.keeps_interrupts = True
        return hook

    def raise_pending(self) -> None:
        """After compiled code returned because the flag was set: clear it and let CPython run
        its Python-level handler now (KeyboardInterrupt, or whatever the user installed).
        CPython may already have run it inside a print callback, even on the callback's first
        instruction, where ctypes reports the KeyboardInterrupt as unraisable and drops it:
        with the default handler in place, the main thread then raises it here. A flag set
        by `stop`, not by the handler, raises nothing."""
        signalled = self._byte.value != STOP
        self.clear()
        ctypes.pythonapi.PyErr_CheckSignals()
        main = threading.current_thread() is threading.main_thread()
        if signalled and main and signal.getsignal(signal.SIGINT) is signal.default_int_handler:
            raise KeyboardInterrupt


@functools.cache
def interrupt_flag() -> InterruptFlag:
    """The process-wide flag every compiled function polls."""
    return InterruptFlag()
