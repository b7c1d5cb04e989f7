"""What a call costs, from native->native to native->Python, measured in one run (notebook 06).

Takes a repeat count; gives nanoseconds per call for each rung of the ladder: a call between
two pieces of machine code, a Python function call, Python calling machine code through
ctypes, and machine code calling back into Python. The native loops are built with the
kit's assembler and make exactly one call per iteration, so the loop itself is measured too
and subtracted.
"""

from __future__ import annotations

import ctypes
import time
from dataclasses import dataclass

from jitkit.native.memory import NativeFunction
from jitkit.x86 import Assembler, r12, r13, rax, rbx, rdi, rsi

CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int64, ctypes.c_int64)


def call_loop(through_pointer: bool, with_call: bool = True) -> NativeFunction:
    """`int64 loop(int64 n, void *target)`: call `target(i)` n times (or only count, when
    `with_call` is False, to measure the loop alone). With `through_pointer` the target is
    a function pointer (a ctypes callback); otherwise an empty native function placed
    right after the loop."""
    a = Assembler()
    a.push(rbx).push(r12).push(r13)  # 3 pushes + return address: rsp is 16-byte aligned
    a.mov(rbx, rdi).mov(r12, rsi).xor(r13, r13)
    a.label("loop").cmp(r13, rbx).jge("done")
    if with_call:
        a.mov(rdi, r13)
        if through_pointer:
            a.call(r12)
        else:
            a.call("empty")
    a.add(r13, 1).jmp("loop")
    a.label("done").mov(rax, r13).pop(r13).pop(r12).pop(rbx).ret()
    a.label("empty").mov(rax, rdi).ret()
    return NativeFunction(a.assemble(), ctypes.c_int64, (ctypes.c_int64, ctypes.c_void_p))


def identity() -> NativeFunction:
    """`int64 f(int64 x) { return x; }`: the cheapest thing ctypes can call."""
    a = Assembler()
    a.mov(rax, rdi).ret()
    return NativeFunction(a.assemble(), ctypes.c_int64, (ctypes.c_int64,))


@dataclass(frozen=True)
class Rung:
    name: str
    nanoseconds: float


def _best(fn, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter_ns()
        fn()
        best = min(best, time.perf_counter_ns() - start)
    return best


def measure(calls: int = 200_000, repeat: int = 5) -> list[Rung]:
    """Each rung in ns per call: best of `repeat` runs of `calls` calls, minus the bare loop
    around them (a Python `for` for the Python rungs, the native loop for the native ones).
    Callbacks are slow, so that rung makes a tenth as many calls."""
    native_loop, callback_loop = call_loop(False), call_loop(True)
    bare_loop = call_loop(False, with_call=False)
    cfunc = identity().cfunc

    def py_identity(x):
        return x

    callback = CALLBACK(py_identity)
    address = ctypes.cast(callback, ctypes.c_void_p).value
    few = max(1, calls // 10)

    def per_call(run, n: int) -> float:
        return _best(run, repeat) / n

    def python_calls(f):
        return lambda: [f(i) for i in range(calls)]

    bare_python = per_call(lambda: [i for i in range(calls)], calls)  # noqa: C416
    bare_native = per_call(lambda: bare_loop(calls, None), calls)
    return [
        Rung("native -> native", per_call(lambda: native_loop(calls, None), calls) - bare_native),
        Rung("Python -> Python", per_call(python_calls(py_identity), calls) - bare_python),
        Rung("Python -> native (ctypes)", per_call(python_calls(cfunc), calls) - bare_python),
        Rung("native -> Python (callback)", per_call(lambda: callback_loop(few, address), few)),
    ]


def table(rungs: list[Rung]) -> str:
    base = rungs[0].nanoseconds or 1e-9
    lines = [f"{'call':<30}{'ns per call':>14}{'x native':>12}"]
    lines += [f"{r.name:<30}{r.nanoseconds:>14.1f}{r.nanoseconds / base:>12.0f}" for r in rungs]
    return "\n".join(lines)
