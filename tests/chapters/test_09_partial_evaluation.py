"""Chapter 09's own evaluator on the kit's IR of random functions, against CPython.

Seeded random functions of the kit's subset (arithmetic with `//` and `%` of any signs,
`if`/`else`, counted `while` loops, calls of earlier functions) are compiled by the kit's
LLVM code generator (checked by llvmlite's verifier), and the chapter's `MiniEval` runs them
on arguments the chapter never showed. CPython running the same source is the oracle; a
case is kept only if CPython's values stay within int64 (the kit's executables would report
an OverflowError there, which the chapter's evaluator does not model).
"""

from __future__ import annotations

import random

import pytest
from llvmlite import binding as llvm

from jitkit.lang.parse import parse_module
from jitkit.llvm.codegen import compile_module
from jitkit.workshop import load_chapter

INT64 = range(-(2**63), 2**63)


@pytest.fixture(scope="module")
def ch():
    return load_chapter("09")


def random_program(rng: random.Random) -> str:
    ops = ["+", "-", "*", "//", "%"]

    def expr(names: list[str], depth: int = 2) -> str:
        if depth == 0 or rng.random() < 0.3:
            return rng.choice(names + [str(rng.randint(-9, 9))])
        return f"({expr(names, depth - 1)} {rng.choice(ops)} {expr(names, depth - 1)})"

    lines = [
        "def f0(a, b):",
        f"    if {expr(['a', 'b'], 1)} > {expr(['a', 'b'], 1)}:",
        f"        return {expr(['a', 'b'])}",
        f"    return {expr(['a', 'b'])}",
        "",
        "def f1(a, b):",
        "    s = 0",
        "    i = 0",
        f"    while i < {rng.randint(1, 6)}:",
        f"        s = s + f0(i, {expr(['a', 'b', 's'], 1)})",
        "        i = i + 1",
        f"    return s + {expr(['a', 'b'])}",
    ]
    return "\n".join(lines) + "\n"


def python_value(source: str, name: str, args: tuple[int, int]) -> int | None:
    namespace: dict = {}
    exec(source, namespace)
    try:
        value = namespace[name](*args)
    except ZeroDivisionError:
        return None
    return value if value in INT64 else None


@pytest.mark.parametrize("seed", range(12))
def test_mini_eval_agrees_with_cpython(ch, seed: int):
    rng = random.Random(seed)
    source = random_program(rng)
    text = str(compile_module(parse_module(source, "prog.py"), "libc").module)
    llvm.parse_assembly(text).verify()
    checked = 0
    for _ in range(6):
        args = (rng.randint(-1000, 1000), rng.randint(-1000, 1000))
        for name in ("f0", "f1"):
            want = python_value(source, name, args)
            if want is None:
                continue
            tag, payload = ch.MiniEval(text).run(
                f"@py.{name}", [1000] + [v for a in args for v in (0, a % 2**64)]
            )
            if tag == 3:  # an error site: the kit reports an int64 overflow on the way
                continue
            assert (tag, ch.signed(payload, 64)) == (0, want), (source, name, args)
            checked += 1
    assert checked > 0


def test_init_residual_is_the_output(ch):
    source = "def sq(x):\n    return x * x\n\nprint(sq(7))\nprint(sq(sq(3)), True)\n"
    text = str(compile_module(parse_module(source, "prog.py"), "libc").module)
    mini = ch.MiniEval(text)
    assert mini.run('@"py.<module>"', []) == (2, 0)
    printed = [line for line in mini.residual if "jk_print_value" in line]
    assert printed == [
        "%r0 = call @jk_print_value(0, 49)",
        "%r2 = call @jk_print_value(0, 81)",
        "%r4 = call @jk_print_value(1, 1)",
    ], mini.residual
