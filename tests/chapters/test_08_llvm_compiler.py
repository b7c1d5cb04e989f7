"""Chapter 08's own compiler on random programs of its subset, against CPython.

Seeded random programs (functions calling earlier functions, counted `while` loops with
`break`/`continue`, `if`/`elif`/`else`, tests with `and`/`or`/`not` and chained comparisons,
`//` and `%` of any signs, `print`) run through the chapter's `InProcess` and, a few, as
executables with and without libc. CPython is the oracle; llvmlite's verifier checks every
module. The chapter's code wraps on int64 overflow (it has no overflow checks), so a program
is kept only if CPython, running it with every arithmetic result checked, stays within int64.
"""

from __future__ import annotations

import ast
import contextlib
import io
import random
import re

import pytest

from jitkit.llvm.verify import verify_ir
from jitkit.workshop import load_chapter

INT64 = range(-(2**63), 2**63)


@pytest.fixture(scope="module")
def ch():
    return load_chapter("08")


@pytest.fixture(scope="module")
def divisions(ch):
    return ch.InProcess("def fd(a, b):\n    return a // b\n\ndef md(a, b):\n    return a % b\n")


class ProgramMaker:
    """A random program of the chapter's subset whose loops all end."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.counter = 0

    def const(self) -> str:
        r = self.rng.random()
        if r < 0.1:
            return str(self.rng.choice([2**40, -(2**40), 10**12]))
        return str(self.rng.randint(-9, 9))

    def expr(self, names: list[str], functions: dict[str, int], depth: int = 0) -> str:
        r = self.rng.random()
        if depth > 2 or r < 0.3:
            return self.rng.choice(names) if names and self.rng.random() < 0.7 else self.const()
        if r < 0.4:
            return f"-{self.expr(names, functions, depth + 1)}"
        if r < 0.5 and functions:
            name, arity = self.rng.choice(sorted(functions.items()))
            args = ", ".join(self.expr(names, functions, depth + 1) for _ in range(arity))
            return f"{name}({args})"
        op = self.rng.choice(["+", "-", "*", "//", "%", "+", "-"])
        left = self.expr(names, functions, depth + 1)
        right = self.expr(names, functions, depth + 1)
        if op in ("//", "%") and self.rng.random() < 0.8:
            right = f"({right} * {right} + {self.rng.randint(1, 5)})"  # mostly nonzero
            if self.rng.random() < 0.5:
                right = f"-{right}"
        return f"({left} {op} {right})"

    def test(self, names: list[str], functions: dict[str, int], depth: int = 0) -> str:
        r = self.rng.random()
        if depth < 2 and r < 0.2:
            op = self.rng.choice([" and ", " or "])
            parts = [self.test(names, functions, depth + 1) for _ in range(self.rng.randint(2, 3))]
            return "(" + op.join(parts) + ")"
        if depth < 2 and r < 0.3:
            return f"not {self.test(names, functions, depth + 1)}"
        if r < 0.4:
            return self.expr(names, functions, 1)
        chain = [self.expr(names, functions, 1) for _ in range(self.rng.choice([2, 2, 2, 3]))]
        ops = [self.rng.choice(["<", "<=", ">", ">=", "==", "!="]) for _ in chain[1:]]
        text = chain[0]
        for op, operand in zip(ops, chain[1:], strict=True):
            text += f" {op} {operand}"
        return f"({text})"

    def block(
        self, names: list[str], functions: dict[str, int], indent: int, loop: bool, size: int
    ) -> list[str]:
        pad = "    " * indent
        lines: list[str] = []
        for _ in range(size):
            r = self.rng.random()
            if r < 0.3:
                lines.append(f"{pad}{self.rng.choice(names)} = {self.expr(names, functions)}")
            elif r < 0.4:
                op = self.rng.choice(["+=", "-=", "*=", "//=", "%="])
                value = self.expr(names, functions, 1)
                if op in ("//=", "%="):
                    value = f"({value} * {value} + 1)"
                lines.append(f"{pad}{self.rng.choice(names)} {op} {value}")
            elif r < 0.5:
                a, b = self.rng.sample(names, 2) if len(names) > 1 else (names[0], names[0])
                lines.append(
                    f"{pad}{a}, {b} = {self.expr(names, functions)}, {self.expr(names, functions)}"
                )
            elif r < 0.62:
                count = self.rng.randint(1, 3)
                args = ", ".join(self.expr(names, functions, 1) for _ in range(count))
                lines.append(f"{pad}print({args})")
            elif r < 0.77 and indent < 4:
                lines.append(f"{pad}if {self.test(names, functions)}:")
                lines += self.block(names, functions, indent + 1, loop, self.rng.randint(1, 3))
                if self.rng.random() < 0.3:
                    lines.append(f"{pad}elif {self.test(names, functions)}:")
                    lines += self.block(names, functions, indent + 1, loop, 1)
                if self.rng.random() < 0.5:
                    lines.append(f"{pad}else:")
                    lines += self.block(names, functions, indent + 1, loop, self.rng.randint(1, 2))
            elif r < 0.87 and indent < 3:
                self.counter += 1
                k = f"k{self.counter}"  # its own counter, assigned nowhere else: the loop ends
                lines.append(f"{pad}{k} = 0")
                lines.append(f"{pad}while {k} < {self.rng.randint(0, 5)}:")
                lines.append(f"{pad}    {k} += 1")
                lines += self.block(names, functions, indent + 1, True, self.rng.randint(1, 3))
            elif loop and r < 0.93:
                lines.append(f"{pad}if {self.test(names, functions)}:")
                lines.append(f"{pad}    {self.rng.choice(['break', 'continue'])}")
            elif indent > 1 and r < 0.97 and functions is not self.main_functions:
                lines.append(f"{pad}return {self.expr(names, functions)}")
            else:
                lines.append(f"{pad}{self.rng.choice(names)} = {self.const()}")
        return lines

    def program(self) -> str:
        functions: dict[str, int] = {}
        lines: list[str] = []
        self.main_functions: dict[str, int] = {}
        for number in range(self.rng.randint(1, 3)):
            params = ["a", "b", "c"][: self.rng.randint(1, 3)]
            names = [*params, "x", "y"]
            lines.append(f"def f{number}({', '.join(params)}):")
            lines += ["    x = 1", "    y = 2"]
            lines += self.block(names, dict(functions), 1, False, self.rng.randint(1, 4))
            lines.append(f"    return {self.expr(names, dict(functions))}")
            functions[f"f{number}"] = len(params)
            lines.append("")
        self.main_functions = dict(functions)
        names = ["u", "v", "w"]
        lines += ["u = 3", "v = -4", "w = 5"]
        lines += self.block(names, self.main_functions, 0, False, self.rng.randint(2, 6))
        lines.append(f"print(u, v, w, {self.expr(names, self.main_functions)})")
        return "\n".join(lines) + "\n"


class Int64Checker(ast.NodeTransformer):
    """Wrap every arithmetic result in `_fits(...)`: CPython then stops at any overflow."""

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        self.generic_visit(node)
        return ast.Call(ast.Name("_fits", ast.Load()), [node], [])

    def visit_UnaryOp(self, node: ast.UnaryOp) -> ast.AST:
        self.generic_visit(node)
        return (
            ast.Call(ast.Name("_fits", ast.Load()), [node], [])
            if isinstance(node.op, ast.USub)
            else node
        )

    def visit_AugAssign(self, node: ast.AugAssign) -> ast.AST:
        self.generic_visit(node)
        value = ast.BinOp(ast.Name(node.target.id, ast.Load()), node.op, node.value)
        return ast.Assign([node.target], ast.Call(ast.Name("_fits", ast.Load()), [value], []))


class Overflow(Exception):
    pass


def _fits(value: int) -> int:
    if value not in INT64:
        raise Overflow
    return value


def cpython(source: str, checked: bool = False) -> tuple[str, str | None]:
    """What CPython prints running `source`, and the error it stops with (type: message)."""
    tree = ast.parse(source)
    if checked:
        tree = ast.fix_missing_locations(Int64Checker().visit(tree))
    out = io.StringIO()
    namespace = {"_fits": _fits}
    with contextlib.redirect_stdout(out):
        try:
            exec(compile(tree, "<random>", "exec"), namespace)
        except (ZeroDivisionError, RecursionError) as error:
            return out.getvalue(), f"{type(error).__name__}: {error}"
    return out.getvalue(), None


def in_process(ch, source: str) -> tuple[str, str | None]:
    compiled = ch.InProcess(source)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        try:
            compiled.run_main()
        except (ZeroDivisionError, RecursionError) as error:
            return out.getvalue(), f"{type(error).__name__}: {error}"
    return out.getvalue(), None


def programs(seed: int, count: int) -> list[str]:
    """`count` random programs that CPython runs within int64 (others are drawn again)."""
    rng = random.Random(seed)
    kept = []
    while len(kept) < count:
        source = ProgramMaker(rng).program()
        try:
            cpython(source, checked=True)
        except Overflow:
            continue
        kept.append(source)
    return kept


PROGRAMS = programs(8, 70)


def test_the_generator_makes_varied_programs():
    text = "".join(PROGRAMS)
    for piece in ("while", "break", "continue", "elif", " and ", " or ", "not ", "//", "%"):
        assert piece in text, piece
    failing = sum(cpython(p)[1] is not None for p in PROGRAMS)
    assert 0 < failing < len(PROGRAMS) // 2, "some programs divide by zero, most do not"


@pytest.mark.parametrize("index", range(len(PROGRAMS)))
def test_random_program_in_process_matches_cpython(ch, index):
    source = PROGRAMS[index]
    verify_ir(ch.Compiler(source).compile())  # llvmlite's verifier: raises on malformed IR
    assert in_process(ch, source) == cpython(source), source


@pytest.mark.parametrize("index", [0, 1, 2, 3])
@pytest.mark.parametrize("libc", [True, False], ids=["libc", "nolibc"])
def test_random_program_as_executable_matches_cpython(ch, index, libc):
    source = next(p for i, p in enumerate(PROGRAMS) if i >= index * 7 and "while" in p)
    verify_ir(ch.executable_ir(source, libc))
    done = ch.run_executable(source, libc)
    out, error = cpython(source)
    assert done.stdout == out, source
    assert done.returncode == (1 if error else 0)
    assert done.stderr == (f"{error}\n" if error else "")


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (a, b)
        for a in (-(2**63), -7, -1, 0, 1, 7, 2**63 - 1)
        for b in (-(2**63), -7, -2, -1, 1, 2, 7)
    ],
)
def test_floor_division_and_modulo_at_the_corners(divisions, a, b):
    compiled = divisions
    want = a // b
    assert compiled.call("fd", a, b) == (want if want in INT64 else -(2**63))  # wraps
    assert compiled.call("md", a, b) == a % b


def test_recursion_is_a_recursion_error_not_a_crash(ch):
    compiled = ch.InProcess(
        "def down(n):\n    if n == 0:\n        return 0\n    return down(n - 1)\n"
    )
    assert compiled.call("down", 900) == 0
    with pytest.raises(RecursionError):
        compiled.call("down", 100_000)
    assert compiled.call("down", 3) == 0  # the depth counter starts again at 0


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("x = 2 ** 3\n", "Pow"),
        ("def f(a):\n    return a < 1\n", "comparison"),
        ("def f(a):\n    if a:\n        return 1\n", "reach its end"),
        ("def f(a):\n    return g(a)\n", "g() is not a function"),
        ("x = 'text'\n", "int64 constants"),
        ("def f(a):\n    return b\n", "not a local"),
        ("def p(a):\n    print(a)\n\nx = p(1)\n", "returns None"),
        ("for i in range(3):\n    pass\n", "For statements"),
    ],
)
def test_outside_the_subset_is_a_compile_error(ch, source, message):
    with pytest.raises(ch.CompileError, match=re.escape(message)):
        ch.Compiler(source).compile()
