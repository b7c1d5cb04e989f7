"""jitkit.llvm.floats: float and mixed arithmetic, comparisons and conversions in process,
each checked against CPython running the same function (value, type and sign of zero,
exception type and message)."""

from __future__ import annotations

import itertools
import math
import random
import subprocess
import sys
from pathlib import Path

import pytest

from jitkit.lang.parse import parse_module
from jitkit.llvm.codegen import compile_module
from jitkit.llvm.compiler import build, compile_source
from jitkit.llvm.partial_eval import partial_evaluate

BINARY = ["+", "-", "*", "/", "//", "%", "**", "<", "<=", ">", ">=", "==", "!="]
UNARY = ["-x", "+x", "not x", "abs(x)", "float(x)", "int(x)", "x if x else 7"]
SPECIAL = [0.0, -0.0, 1.0, -1.0, 0.5, -2.5, 7.25, 1e-310, -5e-324, 1e308, -1e308]
SPECIAL += [math.inf, -math.inf, math.nan, 3.0, 1e16, 2.0**53, 0.1]
INTS = [0, 1, -1, 2, 3, -7, 10**15, -(2**53), 2**53 + 1, 2**63 - 1, True, False]


def source() -> str:
    lines = [f"def b{i}(x, y):\n    return x {op} y" for i, op in enumerate(BINARY)]
    lines += [f"def u{i}(x):\n    return {expr}" for i, expr in enumerate(UNARY)]
    lines += ["def mn(x, y):\n    return min(x, y)", "def mx(x, y):\n    return max(x, y)"]
    return "\n".join(lines) + "\n"


SOURCE = source()


def outcome(function, *args: object) -> tuple:
    try:
        value = function(*args)
    except Exception as error:  # compare the kind and text with CPython's
        return (type(error).__name__, str(error))
    return (type(value).__name__, repr(value))


def pairs(seed: int, count: int) -> list[tuple]:
    rnd = random.Random(seed)
    numbers = SPECIAL + INTS
    chosen = list(itertools.product(SPECIAL, SPECIAL + INTS))
    chosen += [(i, f) for i in INTS for f in SPECIAL]
    for _ in range(count):
        kind = rnd.random()
        if kind < 0.5:
            chosen.append((rnd.uniform(-1e6, 1e6), rnd.uniform(-1e3, 1e3)))
        elif kind < 0.8:
            chosen.append((rnd.choice(numbers), rnd.uniform(-10, 10)))
        else:
            chosen.append((rnd.randrange(-1000, 1000), rnd.randrange(-20, 20) / 4))
    return chosen


@pytest.mark.parametrize("op", range(len(BINARY)), ids=BINARY)
def test_binary_operators_match_cpython(compiled, python, op: int):
    name = f"b{op}"
    wrong = [
        (x, y, mine, theirs)
        for x, y in pairs(op, 300)
        if (mine := outcome(compiled.call, name, x, y)) != (theirs := outcome(python[name], x, y))
        and theirs[0] != "complex"  # (-8.0) ** 0.5: the subset has no complex numbers
    ]
    assert not wrong, f"{BINARY[op]}: {len(wrong)} differ, e.g. {wrong[:4]}"


@pytest.mark.parametrize("op", range(len(UNARY)), ids=UNARY)
def test_unary_and_conversions_match_cpython(compiled, python, op: int):
    name = f"u{op}"
    values = [*SPECIAL, *INTS, -1e18, 9.3e18, 2.5e-3, -0.99]
    wrong = [
        (x, mine, theirs)
        for x in values
        if (mine := outcome(compiled.call, name, x)) != (theirs := outcome(python[name], x))
    ]
    assert not wrong, f"{UNARY[op]}: {wrong[:4]}"


@pytest.mark.parametrize("name", ["mn", "mx"])
def test_min_max_keep_cpython_choice(compiled, python, name: str):
    for x, y in pairs(7, 50):
        assert outcome(compiled.call, name, x, y) == outcome(python[name], x, y)


def test_float_modules_print_repr_and_int_modules_are_unchanged(capsys):
    compile_source("print(1 / 3, 2.5 * 4, -0.0, 1e16, 1e-05, float('nan'), 7 // 2.0)").run_main()
    assert capsys.readouterr().out == "0.3333333333333333 10.0 -0.0 1e+16 1e-05 nan 3.0\n"
    ints = compile_source("def f(x):\n    return x + 1\n")
    assert not ints.floats and "double" not in str(ints.program)
    assert ints.call("f", 41) == 42


FLOAT_PROGRAM = """
def mandel_point(cr, ci):
    zr = 0.0
    zi = 0.0
    n = 0
    while n < 50 and zr * zr + zi * zi <= 4.0:
        zr, zi = zr * zr - zi * zi + cr, 2.0 * zr * zi + ci
        n += 1
    return n

total = 0
for y in range(-12, 13):
    row = 0
    for x in range(-30, 10):
        row += mandel_point(x / 15, y / 10)
    total += row
    print(y / 10, row, row / 40, row % 7.5, -row // 3.5)
print(total, 1.0 % -3, 5 // -0.3, float(total) / 7)
"""


def expected_stdout(program: str) -> str:
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.parametrize("libc", [True, False], ids=["libc", "nolibc"])
def test_executables_compute_and_print_floats_as_cpython(tmp_path: Path, libc: bool):
    path = tmp_path / "floats.py"
    path.write_text(FLOAT_PROGRAM)
    exe = build(path, tmp_path / "floats", libc=libc)
    done = subprocess.run([exe], capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stdout) == (0, expected_stdout(FLOAT_PROGRAM))


def test_executable_reports_float_errors_as_cpython(tmp_path: Path):
    program = "x = 2.5\nprint(x)\nprint(x % (x - x))\n"
    path = tmp_path / "err.py"
    path.write_text(program)
    done = subprocess.run(
        [build(path, tmp_path / "err", libc=False)], capture_output=True, text=True
    )
    cpython = subprocess.run([sys.executable, str(path)], capture_output=True, text=True)
    assert done.returncode == cpython.returncode == 1
    assert done.stdout == cpython.stdout
    assert done.stderr.splitlines()[-1] == cpython.stderr.splitlines()[-1]


def test_partial_evaluation_gives_up_cleanly_on_float_instructions():
    kit = parse_module("from_int = float(3)\nprint(from_int / 2, int(7.9))\n")
    result = partial_evaluate(str(compile_module(kit, "nolibc").module))
    assert not result.changed and result.stopped.startswith("gave up: cannot evaluate")
    assert "double" in result.stopped
