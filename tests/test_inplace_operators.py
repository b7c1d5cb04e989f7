"""`x op= v` in every engine against CPython: in place on a list (a second name sees the
change), the binary result on a number, and CPython's `for op=:` in a TypeError."""

from __future__ import annotations

import pytest

from jitkit.errors import UnsupportedError
from jitkit.lang.nodes import features
from tests.programs import refused
from tests.programs.engines import ENGINES, run

OPERATORS = ("+", "-", "*", "//", "%", "**", "/")
# (left, right) as kit source: ints, floats, lists (the left one aliased), None
OPERANDS = (
    ("7", "3"),
    ("2.5", "-1.5"),
    ("6", "0.5"),
    ("[1, 2]", "[3]"),
    ("[1, 2]", "2"),
    ("[1]", "1"),
    ("[1]", "None"),
    ("5", "None"),
    ("None", "2"),
    ("1.5", "[1]"),
)


# every operator on a local; an item and a global with the list operators and one other
CASES = [("local", op) for op in OPERATORS]
CASES += [(shape, op) for shape in ("item", "global") for op in ("+", "*", "-")]


def program(shape: str, op: str, left: str, right: str) -> str:
    """`a op= b` where a second name still holds `a`'s old value: a local of a function, an
    item of a list (`xs[0] op= b`), or a name at the top level (a global)."""
    if shape == "local":
        return (
            "def f(b):\n"
            f"    a = {left}\n"
            "    alias = a\n"
            f"    a {op}= b\n"
            "    print(a, alias)\n"
            "    return a\n"
            f"print(f({right}))\n"
        )
    if shape == "item":
        return (
            "def f(b):\n"
            f"    xs = [{left}, 0]\n"
            "    alias = xs[0]\n"
            f"    xs[0] {op}= b\n"
            "    print(xs, alias)\n"
            f"f({right})\n"
        )
    return f"a = {left}\nalias = a\na {op}= {right}\nprint(a, alias)\n"


@pytest.mark.parametrize("engine", ENGINES[1:])
@pytest.mark.parametrize(("left", "right"), OPERANDS)
@pytest.mark.parametrize(("shape", "op"), CASES)
def test_augmented_assignment_is_cpythons(engine: str, shape: str, op: str, left: str, right: str):
    source = program(shape, op, left, right)
    expected = run("cpython", source)
    try:
        got = run(engine, source)
    except UnsupportedError:
        assert refused(engine, features(source)), f"{engine} refused:\n{source}"
        return
    assert got == expected, f"{engine} on:\n{source}"
