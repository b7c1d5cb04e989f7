"""What calling machine code from Python costs (notebook 01's Measure section).

Prints, from one run: making code executable (mmap + copy + mprotect + ctypes callable, and
freeing it again), per function in µs; and one call through ctypes next to a plain Python
call, in ns. The timed loops take turns, and each figure is the median over the rounds, so a
noisy neighbour on the machine slows all of them alike.

    .venv/bin/python benchmarks/native_call.py
"""

from __future__ import annotations

import ctypes
import gc
import statistics
import time
from collections.abc import Callable

from jitkit.native import ExecutableMemory, NativeFunction

I64 = ctypes.c_int64
ADD = b"\x48\x8d\x04\x37\xc3"  # lea rax, [rdi + rsi]; ret
ROUNDS = 9
Loop = Callable[[int], None]


def make_pages(n: int) -> None:
    for _ in range(n):
        ExecutableMemory.from_code(ADD).free()


def make_functions(n: int) -> None:
    for _ in range(n):
        NativeFunction(ADD, I64, (I64, I64))  # freed at once: nothing keeps it


def python_add(a: int, b: int) -> int:
    return a + b


def calling(fn: Callable[[int, int], int]) -> Loop:
    def loop(n: int) -> None:
        for i in range(n):
            fn(i, 1)

    return loop


def empty(n: int) -> None:
    for _ in range(n):
        pass


def measure(loops: dict[str, tuple[Loop, int]], rounds: int = ROUNDS) -> dict[str, float]:
    """Median ns per iteration of each loop, the loops taking turns round after round."""
    times: dict[str, list[float]] = {name: [] for name in loops}
    for _ in range(rounds):
        for name, (loop, n) in loops.items():
            gc.collect()
            start = time.perf_counter_ns()
            loop(n)
            times[name].append((time.perf_counter_ns() - start) / n)
    return {name: statistics.median(values) for name, values in times.items()}


def main() -> None:
    native = NativeFunction(ADD, I64, (I64, I64))
    assert native(2, 3) == python_add(2, 3) == 5
    ns = measure(
        {
            "pages": (make_pages, 1_000),
            "function": (make_functions, 1_000),
            "empty": (empty, 100_000),
            "python": (calling(python_add), 100_000),
            "cfunc": (calling(native.cfunc), 100_000),
            "native": (calling(native), 100_000),
        }
    )
    rows = [
        ("make executable: mmap+copy+mprotect+munmap", ns["pages"] / 1000, "µs"),
        ("  ... plus the ctypes callable (NativeFunction)", ns["function"] / 1000, "µs"),
        ("one call: plain Python function (a + b)", ns["python"] - ns["empty"], "ns"),
        ("one call: ctypes function pointer (fn.cfunc)", ns["cfunc"] - ns["empty"], "ns"),
        ("one call: NativeFunction (ctypes + a wrapper)", ns["native"] - ns["empty"], "ns"),
    ]
    print(f"{'cost of':<48} {'median':>11}")
    print("-" * 60)
    for name, value, unit in rows:
        print(f"{name:<48} {value:>8.2f} {unit}")
    print(
        f"(calls: the empty loop's {ns['empty']:.1f} ns per iteration subtracted; {ROUNDS} rounds)"
    )


if __name__ == "__main__":
    main()
