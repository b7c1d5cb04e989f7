"""The current thread's machine stack: where it ends, so compiled code can stop short of it.

Takes nothing; gives `stack_floor()`, the lowest address compiled code on this thread may push
to, keeping `MARGIN` bytes free for signal handlers and for callbacks into Python, and the
limits every native tier (stack, SSA, hostc, LLVM) takes from here, defined once: at most
`NATIVE_DEPTH_CAP` compiled frames, within `STACK_BUDGET` bytes below a call's entry. Compiled
recursion deeper than the stack allows deoptimizes instead of faulting, which matters for
threads made with a small `threading.stack_size`. glibc's `pthread_getattr_np` knows every
thread's stack, the main thread's included; elsewhere the floor is 0 (no limit but the budget).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import threading

MARGIN = 256 << 10  # bytes left below the floor: a signal frame, print's trip into Python
NATIVE_DEPTH_CAP = 10_000  # deeper recursion continues in the VM (heap frames)
# Bytes of native stack one call from Python may use below its entry. On a smaller stack the
# thread's floor (`stack_floor`; glibc sizes the main thread's from RLIMIT_STACK) stops it first.
STACK_BUDGET = 4 << 20
_THREAD = threading.local()  # .floor: a thread's stack does not move, so it is asked once


@functools.cache
def _libc() -> ctypes.CDLL | None:
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    except OSError:
        return None


def stack_bounds() -> tuple[int, int] | None:
    """(lowest, highest) address of this thread's stack, or None if the platform won't say."""
    libc = _libc()
    if libc is None or not hasattr(libc, "pthread_getattr_np"):
        return None
    attr = ctypes.create_string_buffer(128)  # pthread_attr_t is 56 bytes on x86-64 glibc
    libc.pthread_self.restype = ctypes.c_ulong
    if libc.pthread_getattr_np(ctypes.c_ulong(libc.pthread_self()), attr) != 0:
        return None
    try:
        low, size = ctypes.c_void_p(), ctypes.c_size_t()
        if libc.pthread_attr_getstack(attr, ctypes.byref(low), ctypes.byref(size)) != 0:
            return None
        return low.value or 0, (low.value or 0) + size.value
    finally:
        libc.pthread_attr_destroy(attr)


def stack_floor() -> int:
    """The lowest address compiled code may use on this thread (0 when unknown). Asked of
    glibc once per thread (for the main thread it reads /proc/self/maps), then remembered."""
    floor = getattr(_THREAD, "floor", None)
    if floor is None:
        bounds = stack_bounds()
        floor = _THREAD.floor = 0 if bounds is None else bounds[0] + MARGIN
    return floor
