"""Chapter 04's own C generator (the notebook's `#| export` cells), compiled by `cc` and loaded
with ctypes, against CPython and the kit's `jitkit.hostc`.

Random int functions of the chapter's subset (literals, locals, `+ - * // %`, comparisons as
`if`/`while` tests, counted loops, `return`, calls of earlier functions with guarded
recursion) run on arguments at and beyond the int64 edges: C must answer what CPython
answers, or bail out so that the kit's VM does (overflow, ÷0, INT64_MIN // -1, unbound locals,
big ints), and agree with the kit's host compiler on every call.
"""

from __future__ import annotations

import random
import shutil

import pytest

from jitkit.errors import UnsupportedError
from jitkit.hostc import HostModule
from jitkit.lang.parse import parse_module
from jitkit.workshop import load_chapter

pytestmark = pytest.mark.skipif(shutil.which("cc") is None, reason="no C compiler")

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
ARGS = [0, 1, 2, 3, 7, -1, -2, -7, 10**6, -(10**6), 2**31, 3037000500, 2**62, INT64_MAX,
        INT64_MIN, INT64_MIN + 1, 2**63, -(2**64)]  # fmt: skip
LITERALS = ["0", "1", "2", "3", "7", "10", "1000003", str(2**31), str(INT64_MAX), "(0 - 5)"]


@pytest.fixture(scope="module")
def ch():
    return load_chapter("04")


class Generator:
    """Int functions only: every value is an int, comparisons only decide `if` and `while`."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.lines: list[str] = []
        self.functions: list[tuple[str, int]] = []
        self.counter = 0

    def expr(self, names: list[str], depth: int) -> str:
        rng = self.rng
        if depth <= 0 or rng.random() < 0.25:
            return rng.choice(names) if names and rng.random() < 0.6 else rng.choice(LITERALS)
        e = lambda: self.expr(names, depth - 1)  # noqa: E731
        if self.functions and rng.random() < 0.15:
            name, arity = rng.choice(self.functions)
            args = [f"({e()}) % 4"] + [e() for _ in range(arity - 1)]
            return f"{name}({', '.join(args)})"
        return f"({e()} {rng.choice(['+', '-', '*', '//', '%'])} {e()})"

    def test(self, names: list[str]) -> str:
        if self.rng.random() < 0.7:
            op = self.rng.choice(["<", "<=", "==", "!=", ">", ">="])
            return f"{self.expr(names, 1)} {op} {self.expr(names, 1)}"
        return self.expr(names, 1)

    def block(self, indent: int, names: list[str], depth: int) -> None:
        pad = "    " * indent
        for _ in range(self.rng.randint(1, 3)):
            kind = self.rng.randint(0, 6)
            if kind <= 2 or depth <= 0:
                target = self.rng.choice(["x", "y", "z"])
                op = self.rng.choice(["=", "=", "+=", "-=", "*=", "//=", "%="])
                self.lines.append(f"{pad}{target} {op if target in names else '='} "
                                  f"{self.expr(names, 2)}")  # fmt: skip
                names.append(target)
            elif kind == 3:
                self.lines.append(f"{pad}if {self.test(names)}:")
                self.block(indent + 1, list(names), depth - 1)
                if self.rng.random() < 0.5:
                    self.lines.append(f"{pad}else:")
                    self.block(indent + 1, list(names), depth - 1)
            elif kind == 4:
                counter = f"c{self.counter}"
                self.counter += 1
                self.lines.append(f"{pad}{counter} = {self.rng.randint(0, 3)}")
                self.lines.append(f"{pad}while {counter} > 0:")
                self.lines.append(f"{pad}    {counter} -= 1")
                self.block(indent + 1, list(names), depth - 1)
            elif kind == 5 and indent > 1:
                self.lines.append(f"{pad}return {self.expr(names, 2)}")
            elif kind == 6 and self.rng.random() < 0.3:
                # `y` is a local of every function, maybe not assigned yet: UnboundLocalError
                self.lines.append(f"{pad}x = y + 1")
                names.append("x")
            else:
                self.lines.append(f"{pad}pass")

    def function(self, index: int) -> tuple[str, int]:
        arity = self.rng.randint(0, 2)
        name, params = f"f{index}", ["n"] + [f"p{k}" for k in range(arity)]
        self.lines.append(f"def {name}({', '.join(params)}):")
        self.lines.append(f"    if n <= 0:\n        return {self.expr(params[1:], 1)}")
        self.lines.append("    if n > 100:\n        y = 0")
        self.block(1, list(params), 2)
        rest = "".join(", " + self.expr(params, 1) for _ in range(arity))
        self.lines.append(f"    return {self.expr(params, 2)} + {name}(n - 1{rest})")
        self.functions.append((name, arity + 1))
        return name, arity + 1

    def module(self) -> str:
        for index in range(self.rng.randint(1, 3)):
            self.function(index)
        return "\n".join(self.lines) + "\n"


def outcome(fn, *args) -> tuple[str, object]:
    try:
        return ("returns", fn(*args))
    except Exception as error:  # noqa: BLE001 - the type is the outcome
        return ("raises", type(error).__name__)


@pytest.mark.parametrize("seed", range(12))
def test_random_int_functions_agree_with_cpython_and_the_kit(ch, seed):
    rng = random.Random(seed)
    generator = Generator(rng)
    source = generator.module()
    namespace: dict = {}
    exec(source, namespace)
    mine, kit = ch.NativeModule(source), HostModule(parse_module(source))
    calls = 0
    for name, arity in generator.functions:
        for _ in range(25):
            args = [rng.randint(0, 5)] + [rng.choice(ARGS) for _ in range(arity - 1)]
            want = outcome(namespace[name], *args)
            assert outcome(mine.call, name, *args) == want, (name, args, source)
            assert outcome(kit.call, name, *args) == want, (name, args, source)
            calls += 1
    assert mine.bailouts < calls, "some calls must be answered in C"


def test_c_answers_without_bailing_out_when_it_can(ch):
    source = (
        "def collatz(n):\n    steps = 0\n    while n != 1:\n        if n % 2 == 0:\n"
        "            n = n // 2\n        else:\n            n = 3 * n + 1\n        steps += 1\n"
        "    return steps\n"
    )
    module = ch.NativeModule(source)
    namespace: dict = {}
    exec(source, namespace)
    for n in [1, 7, 27, 97, 871, 10**15 + 7]:
        assert module.call("collatz", n) == namespace["collatz"](n)
    assert module.bailouts == 0


@pytest.mark.parametrize("a", [INT64_MIN, INT64_MIN + 1, -7, -1, 0, 1, 7, INT64_MAX])
def test_floor_division_modulo_and_overflow_at_the_edges(ch, a):
    source = (
        "def fd(a, b):\n    return a // b\n\ndef md(a, b):\n    return a % b\n\n"
        "def mul(a, b):\n    return a * b\n\ndef add(a, b):\n    return a + b - 1\n"
    )
    module = ch.NativeModule(source)
    namespace: dict = {}
    exec(source, namespace)
    for b in [INT64_MIN, -7, -2, -1, 0, 1, 2, 3, 7, INT64_MAX]:
        for name in ("fd", "md", "mul", "add"):
            want = outcome(namespace[name], a, b)
            assert outcome(module.call, name, a, b) == want, (name, a, b)


@pytest.mark.parametrize(
    "source",
    [
        "def f(x):\n    return x < 3\n",  # a bool value
        "def f(x):\n    print(x)\n    return x\n",  # print
        "def f(x):\n    return True\n",  # a bool constant
        "def f(x):\n    return x ** 2\n",  # an operator outside the subset
    ],
)
def test_outside_the_subset_is_refused(ch, source):
    with pytest.raises(UnsupportedError, match="line"):
        ch.generate_c(source)
