"""Chapter 05's own template JIT (the notebook's `#| export` cells) against CPython.

Random straight-line and loop programs within the chapter's opcode subset (constants, locals,
`+ - *`, the six comparisons feeding `if`/`while`, jumps, return) run through the chapter's
JIT and through CPython; arguments near and beyond the int64 limits make the overflow guards
fire, so the deopt into the kit's VM is exercised too. Step 12's floats: random programs
with float locals, float constants (inf too) and ints promoted where they meet a float give
CPython's floats bit for bit (repr: -0.0, inf, nan), and a deopt hands float locals back as
floats.
"""

from __future__ import annotations

import random
import subprocess
import sys
import textwrap

import pytest

from jitkit.errors import UnsupportedError
from jitkit.workshop import load_chapter
from tests.conftest import ROOT

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
EDGES = [0, 1, 2, 3, 7, -1, -2, -7, 1000, -1000, 2**31, -(2**31), 2**32 + 1, 3037000499,
         3037000500, -3037000500, 2**62, -(2**62), INT64_MAX, INT64_MAX - 1, INT64_MIN,
         INT64_MIN + 1]  # fmt: skip
BEYOND = [2**63, -(2**63) - 1, 2**64, -(2**70)]  # no int64 argument: the VM runs them
CONSTANTS = [0, 1, 2, 3, 5, 1000, 2**31, 3037000500, 2**62, INT64_MAX]
CONDITIONS = ["<", "<=", "==", "!=", ">", ">="]


@pytest.fixture(scope="module")
def ch():
    return load_chapter("05")


def cpython(source: str, name: str, *args: int) -> object:
    namespace: dict = {}
    exec(source, namespace)
    return namespace[name](*args)


# --- single instructions at the int64 edges -------------------------------------------------


@pytest.mark.parametrize("op", ["+", "-", "*"])
def test_arithmetic_deopts_exactly_when_int64_overflows(ch, op):
    source = f"def f(a, b):\n    return a {op} b\n"
    f = ch.jit(source, "f")
    for a in EDGES:
        for b in EDGES:
            want = cpython(source, "f", a, b)
            assert f(a, b) == want, (a, op, b)
            fits = INT64_MIN <= want <= INT64_MAX
            assert (f.last_deopt is None) == fits, (a, op, b, f.last_deopt)


@pytest.mark.parametrize("cmp", CONDITIONS)
def test_comparisons_branch_as_python_does(ch, cmp):
    source = f"def f(a, b):\n    if a {cmp} b:\n        return a\n    return b\n"
    f = ch.jit(source, "f")
    for a in EDGES:
        for b in EDGES:
            assert f(a, b) == cpython(source, "f", a, b), (a, cmp, b)
            assert f.last_deopt is None


def test_arguments_beyond_int64_run_in_the_vm(ch):
    source = "def f(a, b):\n    return a * b + 1\n"
    f = ch.jit(source, "f")
    for a in BEYOND:
        assert f(a, 3) == cpython(source, "f", a, 3)
    assert f(True, 2) == 3


# --- random programs ---------------------------------------------------------------------------


class Generator:
    """Programs of the subset: every local is assigned before the first statement that may
    read it, loops count a private counter up to a small bound (so values grow at most by a
    few multiplications per trip, and every program ends), comparisons only feed branches."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.counters = 0

    def expr(self, names: list[str], depth: int) -> str:
        rng = self.rng
        if depth == 0 or rng.random() < 0.3:
            return rng.choice(names) if rng.random() < 0.75 else str(rng.choice(CONSTANTS))
        left, right = self.expr(names, depth - 1), self.expr(names, depth - 1)
        return f"({left} {rng.choice('+-*')} {right})"

    def condition(self, names: list[str]) -> str:
        if self.rng.random() < 0.15:
            return self.expr(names, 1)  # an int's truth
        return f"{self.expr(names, 1)} {self.rng.choice(CONDITIONS)} {self.expr(names, 1)}"

    def block(self, names: list[str], targets: list[str], indent: int, loops: int) -> list[str]:
        rng, pad, lines = self.rng, "    " * indent, []
        for _ in range(rng.randint(1, 3)):
            kind = rng.random()
            if kind < 0.55:
                lines.append(f"{pad}{rng.choice(targets)} = {self.expr(names, 2)}")
            elif kind < 0.8:
                lines.append(f"{pad}if {self.condition(names)}:")
                lines += self.block(names, targets, indent + 1, loops)
                if rng.random() < 0.5:
                    lines.append(f"{pad}else:")
                    lines += self.block(names, targets, indent + 1, loops)
            elif loops < 2:
                k = f"k{self.counters}"
                self.counters += 1
                lines.append(f"{pad}{k} = 0")
                lines.append(f"{pad}while {k} < {rng.randint(0, 3)}:")
                lines += self.block(names + [k], targets, indent + 1, loops + 1)
                lines.append(f"{pad}    {k} = {k} + 1")
            else:
                lines.append(f"{pad}{rng.choice(targets)} = {self.expr(names, 1)}")
        return lines

    def program(self) -> str:
        args, mine = ["a", "b", "c"], ["x", "y"]
        lines = ["def f(a, b, c):"] + [f"    {v} = {self.expr(args, 1)}" for v in mine]
        lines += self.block(args + mine, args + mine, 1, 0)
        lines.append(f"    return {self.expr(args + mine, 2)}")
        return "\n".join(lines) + "\n"


def arguments(rng: random.Random) -> tuple[int, int, int]:
    def one() -> int:
        roll = rng.random()
        if roll < 0.45:
            return rng.randint(-20, 20)
        if roll < 0.9:
            return rng.choice(EDGES)
        return rng.choice(BEYOND) if roll < 0.95 else rng.randint(INT64_MIN, INT64_MAX)

    return one(), one(), one()


def test_random_programs_agree_with_cpython(ch):
    rng = random.Random(2026_12_03)
    runs = deopts = 0
    for _ in range(150):
        source = Generator(rng).program()
        f = ch.jit(source, "f")
        for _ in range(6):
            args = arguments(rng)
            assert f(*args) == cpython(source, "f", *args), f"f{args} of\n{source}"
            runs += 1
            deopts += f.last_deopt is not None
    # both roads were taken many times: machine code to the end, and deopt into the VM
    assert runs - deopts > 200 and deopts > 50, (runs, deopts)


def test_a_deopt_state_is_the_frame_before_the_instruction(ch):
    source = "def f(a, b):\n    c = a * 2\n    return c + b\n"
    f = ch.jit(source, "f")
    assert f(2**62 - 1, 2**62 + 5) == 3 * 2**62 + 3
    state = f.last_deopt
    assert (state.locals, state.stack) == (
        {"a": 2**62 - 1, "b": 2**62 + 5, "c": 2**63 - 2},
        [2**63 - 2, 2**62 + 5],
    )


# --- floats (step 12) ----------------------------------------------------------------------------

FLOAT_CONSTANTS = ["0.5", "1.5", "3.0", "0.0", "0.1", "1e300", "1e-300", 'float("inf")']


class FloatGenerator(Generator):
    """Programs whose locals x and y are floats and i, j ints (each keeps its kind, as the
    chapter's `kinds` requires), with ints promoted where they meet a float in + - *."""

    def float_expr(self, floats: list[str], ints: list[str], depth: int) -> str:
        rng = self.rng
        if depth == 0 or rng.random() < 0.3:
            return (
                rng.choice(floats) if floats and rng.random() < 0.6 else rng.choice(FLOAT_CONSTANTS)
            )
        left = self.float_expr(floats, ints, depth - 1)
        right = (
            self.float_expr(floats, ints, depth - 1)
            if rng.random() < 0.5
            else self.expr(ints, depth - 1)
        )
        if rng.random() < 0.5:
            left, right = right, left
        return f"({left} {rng.choice('+-*')} {right})"

    def float_block(self, ints: list[str], indent: int, loops: int) -> list[str]:
        rng, pad, lines = self.rng, "    " * indent, []
        floats = ["x", "y"]
        for _ in range(rng.randint(1, 3)):
            kind = rng.random()
            if kind < 0.45:
                lines.append(f"{pad}{rng.choice(floats)} = {self.float_expr(floats, ints, 2)}")
            elif kind < 0.6:
                lines.append(f"{pad}{rng.choice(['i', 'j'])} = {self.expr(ints, 2)}")
            elif kind < 0.8:
                lines.append(f"{pad}if {self.condition(ints)}:")
                lines += self.float_block(ints, indent + 1, loops)
            elif loops < 2:
                k = f"k{self.counters}"
                self.counters += 1
                lines += [f"{pad}{k} = 0", f"{pad}while {k} < {rng.randint(0, 4)}:"]
                lines += self.float_block(ints + [k], indent + 1, loops + 1)
                lines.append(f"{pad}    {k} = {k} + 1")
            else:
                lines.append(f"{pad}x = {self.float_expr(['x', 'y'], ints, 1)}")
        return lines

    def program(self) -> str:
        ints = ["a", "b", "c", "i", "j"]
        lines = ["def f(a, b, c):", "    i = a", "    j = b"]
        lines += [f"    {v} = {self.float_expr([], ['a', 'b', 'c'], 1)}" for v in ("x", "y")]
        lines += self.float_block(ints, 1, 0)
        lines.append(f"    return {self.float_expr(['x', 'y'], ints, 2)}")
        return "\n".join(lines) + "\n"


def test_random_float_programs_agree_with_cpython_bit_for_bit(ch):
    rng = random.Random(2026_12_17)
    runs = deopts = 0
    for _ in range(120):
        source = FloatGenerator(rng).program()
        f = ch.jit(source, "f")
        for _ in range(5):
            args = arguments(rng)
            got, want = f(*args), cpython(source, "f", *args)
            assert type(got) is type(want) and repr(got) == repr(want), f"f{args} of\n{source}"
            runs += 1
            deopts += f.last_deopt is not None
    assert runs - deopts > 200 and deopts > 20, (runs, deopts)


def test_ints_meeting_a_float_round_as_python_promotes_them(ch):
    source = "def f(a):\n    x = 0.5\n    return (x + a) * a - a\n"
    f = ch.jit(source, "f")
    for a in EDGES + [2**53 + 1, -(2**53) - 1, 2**63 - 513, 2**63 - 511]:
        assert repr(f(a)) == repr(cpython(source, "f", a)) and f.last_deopt is None, a


def test_a_deopt_hands_float_locals_back_as_floats(ch):
    source = "def f(a, b):\n    x = 1.5 * a\n    c = a * b\n    return x + c\n"
    f = ch.jit(source, "f")
    assert f(2**40, 2**40) == cpython(source, "f", 2**40, 2**40)
    assert f.last_deopt.locals["x"] == 1.5 * 2**40 and type(f.last_deopt.locals["x"]) is float


@pytest.mark.parametrize(
    "body",
    [
        "x = 0.5 * a\n    if x < 1:\n        return a\n    return 0",  # a float compare
        "x = 0\n    if a > 0:\n        x = 0.5\n    return x",  # int or float by path
        "if a > 0:\n        return 0.5\n    return a",  # returns an int or a float
        "return 1.5 // a",  # no float template
    ],
)
def test_refuses_what_the_float_templates_cannot_do(ch, body):
    with pytest.raises(UnsupportedError):
        ch.jit(f"def f(a):\n    {body}\n", "f")


# --- what the chapter's JIT refuses --------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        "return a % 2",  # no template
        "return a < 1",  # a comparison's bool as a value
        "x = True\n    return a",  # not an int64 constant (nor a float)
        "return a + 2**64",  # not an int64 constant
        "if a > 0:\n        y = 1\n    return y",  # maybe unassigned
        "while a > 0:\n        a = a - 1\n        y = a\n    return y",  # unassigned after 0 trips
    ],
)
def test_refuses_what_int64_templates_cannot_do_exactly(ch, body):
    with pytest.raises(UnsupportedError):
        ch.jit(f"def f(a):\n    {body}\n", "f")


# --- tiering ------------------------------------------------------------------------------------

SQUARE_SUM = """
def f(n, k):
    s = 0
    while k > 0:
        s = s + n * n
        k = k - 1
    return s
"""


def test_tiered_compiles_when_hot_and_keeps_refusals_in_the_vm(ch):
    tiered = ch.Tiered(SQUARE_SUM, "f", ch.Hot(calls=3, loops=10**9))
    for call, args in enumerate([(4, 5), (-5, 6), (6, 0), (7, 7), (2**40, 3), (2**70, 2)], 1):
        assert tiered(*args) == cpython(SQUARE_SUM, "f", *args)
        assert tiered.tier == ("jit" if call >= 4 else "vm"), call
    refused = ch.Tiered("def g(n):\n    return n % 3\n", "g", ch.Hot(calls=1, loops=1))
    assert [refused(n) for n in (-7, 7, 8)] == [2, 1, 2]
    assert refused.tier == "vm" and "BINARY_MOD" in refused.refused


def test_ctrl_c_stops_a_compiled_infinite_loop():
    """In a child process (a SIGINT here would hit pytest): the back edge polls the flag."""
    child = textwrap.dedent("""
        import os, signal, threading
        from jitkit.workshop import load_chapter
        spin = load_chapter("05").jit("def spin(n):\\n    while 1 > 0:\\n        n = n + 1\\n"
                                      "    return n\\n", "spin")
        threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT)).start()
        try:
            spin(0)
        except KeyboardInterrupt:
            print("interrupted", spin.last_deopt)
    """)
    run = subprocess.run(
        [sys.executable, "-c", child], capture_output=True, text=True, timeout=120, cwd=ROOT
    )
    assert run.returncode == 0 and run.stdout == "interrupted None\n", run.stdout + run.stderr
