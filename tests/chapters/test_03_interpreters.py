"""Chapter 03's own tree walker, compiler and VM (the notebook's `#| export` cells) on random
programs of the chapter's subset, against CPython.

The generator writes terminating programs of exactly what the chapter built: int and bool
literals (big and negative ones too), locals, `+ - * // %`, one comparison at a time, `if` /
`else`, counted `while` loops, `return`, calls of earlier functions (recursion goes down a
guarded first parameter) and `print`. Division by zero and unbound locals happen on the way;
both engines must print what CPython prints and raise the exception type it raises. The
chapter's bytecode must also pass the kit's verifier and be, instruction for instruction, what
the kit's compiler writes for the same source, and the chapter's VM must run the kit's code.
"""

from __future__ import annotations

import contextlib
import io
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jitkit.bytecode.compiler import compile_module as kit_compile
from jitkit.bytecode.disasm import dis
from jitkit.bytecode.verify import verify
from jitkit.errors import UnsupportedError
from jitkit.lang.parse import parse_module
from jitkit.workshop import load_chapter

SETTINGS = settings(
    max_examples=80, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
LITERALS = [0, 1, 2, 3, -1, -7, 10, 2**31, -(2**63), 2**64 + 1, True, False]
MODULI = ["7", "1000003", "(0 - 97)", str(2**40)]  # keep values in loops small


@pytest.fixture(scope="module")
def ch():
    return load_chapter("03")


class Generator:
    """One program of the chapter's subset from a stream of random choices."""

    def __init__(self, draw) -> None:
        self.draw = draw  # draw(lo, hi) -> an int in [lo, hi]
        self.lines: list[str] = []
        self.functions: list[tuple[str, int]] = []
        self.counter = 0

    def pick(self, items: list):
        return items[self.draw(0, len(items) - 1)]

    def expr(self, names: list[str], depth: int) -> str:
        if depth <= 0 or self.draw(0, 3) == 0:
            if names and self.draw(0, 9) < 6:
                return self.pick(names)
            value = self.draw(-(2**70), 2**70) if self.draw(0, 3) == 0 else self.pick(LITERALS)
            # the subset has no unary minus (an exercise adds it): -7 is written (0 - 7)
            return f"(0 - {-value})" if value < 0 else repr(value)
        kind = self.draw(0, 5)
        e = lambda: self.expr(names, depth - 1)  # noqa: E731
        if kind <= 2:
            return f"({e()} {self.pick(['+', '-', '*', '//', '%'])} {e()})"
        if kind == 3:
            return f"({e()} {self.pick(['<', '<=', '==', '!=', '>', '>='])} {e()})"
        if kind == 4 and self.functions:
            name, arity = self.pick(self.functions)
            # the first argument is the recursion depth: 0..4 whatever the expression
            args = [f"({e()}) % 5"] + [e() for _ in range(arity - 1)]
            return f"{name}({', '.join(args)})"
        return e()

    def block(self, indent: int, names: list[str], depth: int, in_function: bool) -> None:
        pad = "    " * indent
        for _ in range(self.draw(1, 3)):
            kind = self.draw(0, 7)
            if kind <= 2 or depth <= 0:
                target = self.pick(["x", "y", "z"])
                op = self.pick(["=", "=", "+=", "-=", "*=", "//=", "%="])
                op = op if target in names else "="
                value = self.expr(names, 2)
                if indent > (1 if in_function else 0) and op in ("=", "*="):
                    value = f"({value}) % {self.pick(MODULI)}"  # loops stay small
                self.lines.append(f"{pad}{target} {op} {value}")
                names.append(target)
            elif kind == 3:
                args = ", ".join(self.expr(names, 1) for _ in range(self.draw(0, 3)))
                self.lines.append(f"{pad}print({args})")
            elif kind == 4:
                self.lines.append(f"{pad}if {self.expr(names, 2)}:")
                self.block(indent + 1, list(names), depth - 1, in_function)
                if self.draw(0, 1):
                    self.lines.append(f"{pad}else:")
                    self.block(indent + 1, list(names), depth - 1, in_function)
            elif kind == 5:
                counter = f"c{self.counter}"
                self.counter += 1
                self.lines.append(f"{pad}{counter} = {self.draw(0, 3)}")
                self.lines.append(f"{pad}while {counter} > 0:")
                self.lines.append(f"{pad}    {counter} -= 1")
                self.block(indent + 1, list(names), depth - 1, in_function)
            elif kind == 6 and in_function and indent > 1:
                self.lines.append(f"{pad}return {self.expr(names, 2)}")
            elif kind == 7 and names:
                self.lines.append(f"{pad}{self.pick(names)}")  # an expression statement
            else:
                self.lines.append(f"{pad}pass")

    def function(self, index: int) -> None:
        arity = self.draw(0, 2)
        name, params = f"f{index}", ["n"] + [f"p{k}" for k in range(arity)]
        self.lines.append(f"def {name}({', '.join(params)}):")
        self.lines.append(f"    if n <= 0:\n        return {self.expr(params[1:], 1)}")
        self.block(1, list(params), 2, True)
        rest = "".join(", " + self.expr(params, 1) for _ in range(arity))
        self.lines.append(f"    return {self.expr(params, 2)} + {name}(n - 1{rest})")
        self.functions.append((name, arity + 1))

    def program(self) -> str:
        for index in range(self.draw(0, 3)):
            self.function(index)
        self.block(0, [], 2, False)
        for name, arity in self.functions:
            args = [str(self.draw(0, 5))] + [self.expr([], 2) for _ in range(arity - 1)]
            self.lines.append(f"print({name}({', '.join(args)}))")
        return "\n".join(self.lines) + "\n"


@st.composite
def programs(draw) -> str:
    return Generator(lambda lo, hi: draw(st.integers(lo, hi))).program()


def outcome(run) -> tuple[str, str | None]:
    """(stdout, exception type name or None) of run()."""
    out, error = io.StringIO(), None
    with contextlib.redirect_stdout(out):
        try:
            run()
        except Exception as e:  # noqa: BLE001 - the type is the result
            error = type(e).__name__
    return out.getvalue(), error


def cpython(source: str) -> tuple[str, str | None]:
    return outcome(lambda: exec(compile(source, "prog.py", "exec"), {"__name__": "__main__"}))


def test_generator_makes_varied_programs():
    rng = random.Random(3)
    sources = [Generator(rng.randint).program() for _ in range(60)]
    text = "".join(sources)
    for construct in ("def f", "while ", "else:", "return ", "print(", "//", "%", "<="):
        assert construct in text, construct
    errors = {cpython(s)[1] for s in sources}
    assert None in errors and "ZeroDivisionError" in errors, errors


@SETTINGS
@given(programs())
def test_tree_walker_and_vm_agree_with_cpython(ch, source: str):
    expected = cpython(source)
    assert outcome(ch.Interpreter(source).run) == expected, f"tree walker on:\n{source}"
    chunks = ch.compile_module(source)
    vm = ch.VM(chunks)
    assert outcome(lambda: ch.MODULE in chunks and vm.call(ch.MODULE)) == expected, source


@SETTINGS
@given(programs())
def test_bytecode_is_verified_and_is_the_kits(ch, source: str):
    kit = kit_compile(parse_module(source))
    chunks = ch.compile_module(source)
    assert set(chunks) == set(kit)
    for name, chunk in chunks.items():
        code = ch.to_kit(chunk)
        verify(code)  # raises VerifyError on a stack-depth or jump mistake
        assert dis(code) == dis(kit[name]), f"{name} differs from the kit's compiler on:\n{source}"


@SETTINGS
@given(programs())
def test_chapter_vm_runs_the_kits_bytecode(ch, source: str):
    kit = kit_compile(parse_module(source))
    chunks = {name: ch.from_kit(code) for name, code in kit.items()}
    vm = ch.VM(chunks)
    assert outcome(lambda: ch.MODULE in chunks and vm.call(ch.MODULE)) == cpython(source)


@pytest.mark.parametrize(
    ("a", "b"),
    [(-7, 2), (7, -2), (-7, -2), (2**65 + 3, -5), (0, 3), (5, 0), (True, 2), (-(2**63), -1)],
)
def test_floor_division_and_modulo_at_the_corners(ch, a, b):
    source = "def f(a, b):\n    print(a // b)\n    return a % b\n"
    namespace: dict = {}
    exec(source, namespace)
    expected = outcome(lambda: print(namespace["f"](a, b)))
    assert outcome(lambda: print(ch.Interpreter(source).call("f", a, b))) == expected
    assert outcome(lambda: print(ch.VM(ch.compile_module(source)).call("f", a, b))) == expected


def test_deep_recursion_raises_recursion_error_like_cpython(ch):
    source = "def down(n):\n    return down(n + 1)\nprint(down(0))\n"
    assert cpython(source)[1] == "RecursionError"
    assert outcome(ch.Interpreter(source).run)[1] == "RecursionError"
    assert outcome(lambda: ch.VM(ch.compile_module(source)).call(ch.MODULE))[1] == "RecursionError"


@pytest.mark.parametrize(
    "source",
    [
        "def f(x):\n    return y\n",  # a global
        "def f(x):\n    return x ** 2\n",  # an operator outside the subset
        "def f(x):\n    return 0 < x < 3\n",  # a chained comparison
        "def f(x):\n    for i in range(x):\n        pass\n",  # for
        "def f(x):\n    return g(x)\n",  # an unknown function
        "def f(x=1):\n    return x\n",  # a default
    ],
)
def test_outside_the_subset_is_refused(ch, source: str):
    with pytest.raises(UnsupportedError, match="line"):
        ch.compile_module(source)
    with pytest.raises(UnsupportedError, match="line"):
        ch.Interpreter(source).call("f", 1)
