"""The thread's stack bounds, checked against where the stack pointer really is."""

from __future__ import annotations

import ctypes
import threading

from jitkit.native import NativeFunction
from jitkit.native.stack import MARGIN, stack_bounds, stack_floor
from jitkit.x86 import Assembler, rax, rsp


def rsp_now() -> NativeFunction:
    a = Assembler()
    a.mov(rax, rsp).ret()
    return NativeFunction(a.assemble().bytes, ctypes.c_uint64, ())


def test_bounds_contain_the_stack_pointer_on_main_and_small_threads():
    probe = rsp_now()
    low, high = stack_bounds()
    assert low + MARGIN == stack_floor() and low < probe() < high
    seen = []

    def in_thread():
        low, high = stack_bounds()
        seen.append((high - low, low < probe() < high))

    old = threading.stack_size(512 * 1024)
    try:
        t = threading.Thread(target=in_thread)
        t.start()
        t.join()
    finally:
        threading.stack_size(old)
    assert seen == [(512 * 1024, True)]
