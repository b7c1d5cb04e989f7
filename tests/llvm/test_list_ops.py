"""jitkit.llvm.lists and jitkit.llvm.heap: compiled lists against CPython running the same
code (results, output, exception type and message), in process and in executables."""

from __future__ import annotations

import contextlib
import ctypes
import gc
import io
import subprocess
import sys
from pathlib import Path

import pytest

from jitkit.llvm.compiler import build, compile_source
from tests.programs import kernel_function

SOURCE = (
    kernel_function("sieve")
    + """
def halves(n):
    xs = []
    for i in range(n):
        xs.append(i / 2)
    return xs

def alias(k):
    a = [1, 2, 3]
    b = a
    b[k] = 10
    last = -1
    b[last] += 5
    fill(a, 7)
    return a

def fill(xs, v):
    for i in range(len(xs)):
        xs[i] = v if i % 2 else xs[i]

def grow_while_iterating():
    xs = [1, 2, 3]
    for x in xs:
        if x < 3:
            xs.append(x * 10)
    print(xs, len(xs), not xs, not [], [], [0.5] * 3, 2 * [False], xs if xs else 0)
    return len(xs)

def read(i):
    xs = [4, 5, 6]
    return xs[i]

def write(i):
    xs = [4, 5, 6]
    xs[i] = 0
    return xs

def mixed(v):
    xs = [1, 2]
    xs[0] = v
    return xs

def append_to(v):
    v.append(1)

def iterate(v):
    for x in v:
        pass

def length(v):
    return len(v)

def repeat(v):
    return [1] * v

def compare():
    return [1] == [1]

def bools(n):
    wide = []
    for i in range(n):
        wide.append(i % 3 == 0)
    narrow = [True] * n
    for i in range(n):
        narrow[i] = wide[i]
    narrow.append(False)
    twice = wide * 2
    twice[0] = not twice[0]
    print(narrow, twice, len(narrow))
    return narrow
"""
)

CASES = [
    ("sieve", (100,)), ("sieve", (0,)), ("sieve", (200_000,)), ("halves", (7,)),
    ("halves", (0,)), ("alias", (0,)), ("alias", (-2,)), ("grow_while_iterating", ()),
    ("read", (2,)), ("read", (-3,)), ("read", (3,)), ("read", (-4,)), ("read", (1.0,)),
    ("read", (None,)), ("read", (True,)), ("write", (-1,)), ("write", (3,)),
    ("write", (2.5,)), ("mixed", (7,)), ("mixed", (7.5,)), ("mixed", (None,)),
    ("mixed", (False,)), ("append_to", (3,)), ("append_to", (1.5,)), ("iterate", (None,)),
    ("iterate", (2,)), ("length", (2.5,)), ("repeat", (3,)), ("repeat", (-2,)),
    ("repeat", (2.0,)), ("repeat", (None,)), ("compare", ()), ("bools", (0,)), ("bools", (9,)),
]  # fmt: skip


def outcome(function, *args: object) -> tuple:
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            value = function(*args)
    except Exception as error:
        return (type(error).__name__, str(error), out.getvalue())
    return (type(value).__name__, repr(value), out.getvalue())


@pytest.mark.parametrize(("name", "args"), CASES)
def test_lists_in_process_match_cpython(compiled, python, name: str, args: tuple):
    assert outcome(compiled.call, name, *args) == outcome(python[name], *args)


def mapped(address: int) -> bool:
    """Is this address in one of this process's mappings (/proc/self/maps)?"""
    for line in Path("/proc/self/maps").read_text().splitlines():
        start, end = (int(x, 16) for x in line.split()[0].split("-"))
        if start <= address < end:
            return True
    return False


def test_a_call_frees_its_lists_and_the_next_reuses_one_chunk():
    """A call that needed several chunks unmaps them all; the next maps one chunk that
    size, which release keeps (empty) and the calls after it reuse; dropping the module
    unmaps it (`jitkit.llvm.heap`)."""
    compiled = compile_source(SOURCE)
    chunk = ctypes.c_int64.from_address(compiled.engine.global_address("jk_heap_chunk"))
    assert compiled.call("sieve", 300_000) == 25997  # fits one chunk: kept for the next call
    first = chunk.value
    assert first != 0 and mapped(first)
    assert compiled.call("sieve", 3_000_000) == 216816  # more than that chunk: a second one
    assert chunk.value == 0  # both unmapped, their size remembered
    assert compiled.call("sieve", 3_000_000) == 216816  # one chunk that size, kept
    kept = chunk.value
    assert kept != 0 and mapped(kept)
    assert ctypes.c_int64.from_address(kept).value == 0  # one chunk: no previous one
    assert compiled.call("sieve", 3_000_000) == 216816 and chunk.value == kept
    assert compiled.call("halves", 3) == [0.0, 0.5, 1.0] and chunk.value == kept
    del compiled, chunk
    gc.collect()
    assert not mapped(kept)


def test_list_arguments_from_python_run_in_the_interpreter(compiled):
    xs = [1, 2]
    compiled.call("fill", xs, 5)
    assert xs == [1, 5]  # the caller's list changed: the interpreter ran it


EXECUTABLE = """
xs = []
for i in range(12):
    xs.append(i * 0.75)
flags = [True] * 50
for i in range(2, 50):
    if flags[i]:
        for j in range(2 * i, 50, i):
            flags[j] = False
primes = []
for i in range(2, 50):
    if flags[i]:
        primes.append(i)
print(xs, len(xs), xs[-1])
print(primes, [1, 2] * 2, [] * 3)
ys = primes
ys[0] = -1
print(primes[0], primes[-1], primes[len(primes) - 1])
print(primes[len(primes)])
"""


@pytest.mark.parametrize("libc", [True, False], ids=["libc", "nolibc"])
@pytest.mark.parametrize("partial_eval", [True, False], ids=["pe", "no-pe"])
def test_executables_match_cpython(tmp_path: Path, libc: bool, partial_eval: bool):
    path = tmp_path / "lists.py"
    path.write_text(EXECUTABLE)
    exe = build(path, tmp_path / "lists", libc=libc, partial_eval=partial_eval)
    mine = subprocess.run([exe], capture_output=True, text=True, timeout=60)
    cpython = subprocess.run([sys.executable, str(path)], capture_output=True, text=True)
    assert (
        (mine.returncode, mine.stdout) == (cpython.returncode, cpython.stdout) == (1, mine.stdout)
    )
    assert mine.stderr.splitlines()[-1] == cpython.stderr.splitlines()[-1]
