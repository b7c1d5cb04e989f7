"""Differential tests of the LLVM compiler: random programs, CPython as the oracle.

The programs come from the generator of tests/test_differential.py, half of them with its
literals (many past int64) and half with literals that fit in int64. In process
(`jitkit.tiers.load(source, "llvm")`) every program must print and return exactly what
CPython does, or raise the same exception type (past the recursion limit one output may be
a prefix of the other: `same_run` of the stack tier's tests).

Executables compute in int64, so what they must do depends on where CPython's run leaves
int64. `int64_run` decides it by tracing: it runs the program in CPython with every int
literal, arithmetic result and `abs()` folded into a check that raises `LeavesInt64` at the
first value outside int64 (a negated literal counts as one literal, as the kit reads it).
A program that never trips it stays within int64, and its executable, with libc and
without, must give CPython's stdout and exit status (and the same exception type on the
last stderr line). A program that trips it must print what CPython printed up to that
point, then stop with `OverflowError` and exit status 1.
"""

from __future__ import annotations

import ast
import contextlib
import io
import subprocess
import sys
import textwrap

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jitkit.llvm.compiler import build
from jitkit.tiers import load
from tests.programs.engines import run
from tests.stackjit.test_stack_tier import same_run
from tests.test_differential import Choices, ProgramGenerator, programs

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
IN_PROCESS = settings(
    max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
NATIVE = settings(IN_PROCESS, max_examples=20)
NATIVE_LONG = settings(IN_PROCESS, max_examples=200)


class SmallLiteralGenerator(ProgramGenerator):
    """The same programs with literals that fit in int64 (most of the shared generator's
    programs leave int64 on purpose, so few would test an executable's full run)."""

    def literal(self) -> str:
        if self.c.chance(30):
            return str(self.c.integer(-(2**31), 2**31))
        return repr(self.c.choice([0, 1, 2, 3, -1, -7, 10, 255, INT64_MAX, INT64_MIN, True]))


@st.composite
def small_literal_programs(draw) -> str:
    return SmallLiteralGenerator(Choices(data=draw(st.data()))).program()


PROGRAMS = st.one_of(programs(), small_literal_programs())


def run_llvm(source: str) -> tuple[tuple[str, str | None], object]:
    """(stdout, "Type: message" of the exception) and the return value of the module on
    tier "llvm"."""
    program = load(source, "llvm", "prog.py")
    out, error, result = io.StringIO(), None, None
    with contextlib.redirect_stdout(out):
        try:
            result = program.run_main()
        except Exception as e:  # noqa: BLE001 - the exception is the result
            error = f"{type(e).__name__}: {e}"
    return (out.getvalue(), error), result


@IN_PROCESS
@given(PROGRAMS)
def test_llvm_tier_agrees_with_cpython(source: str):
    expected = run("cpython", source)
    got, result = run_llvm(source)
    assert same_run(got, expected), f"llvm:\n{source}"
    assert result is None  # a module's top-level code returns None, as exec() does


# ------------------------------------------------------------------------ executables


class LeavesInt64(Exception):
    """The traced CPython run computed a value outside int64 here."""


def check(value: object) -> object:
    if type(value) is int and not INT64_MIN <= value <= INT64_MAX:
        raise LeavesInt64(value)
    return value


class Int64Tracer(ast.NodeTransformer):
    """Wraps every int literal, arithmetic result and abs() in `check(...)`."""

    def checked(self, node: ast.expr) -> ast.expr:
        return ast.Call(ast.Name("check", ast.Load()), [node], [])

    def visit_Constant(self, node: ast.Constant) -> ast.expr:
        return self.checked(node) if type(node.value) is int else node

    def visit_UnaryOp(self, node: ast.UnaryOp) -> ast.expr:
        operand = node.operand
        if isinstance(node.op, ast.USub) and isinstance(operand, ast.Constant):
            if type(operand.value) is int:
                return self.checked(ast.Constant(-operand.value))
        return self.checked(self.generic_visit(node))

    def visit_BinOp(self, node: ast.BinOp) -> ast.expr:
        return self.checked(self.generic_visit(node))

    def visit_Call(self, node: ast.Call) -> ast.expr:
        node = self.generic_visit(node)
        is_abs = isinstance(node.func, ast.Name) and node.func.id == "abs"
        return self.checked(node) if is_abs else node

    def visit_AugAssign(self, node: ast.AugAssign) -> ast.stmt:
        load = ast.Name(node.target.id, ast.Load())
        value = ast.BinOp(load, node.op, node.value)
        return self.visit(ast.Assign([node.target], value))


def int64_run(source: str) -> tuple[str, str | None]:
    """CPython's (stdout, exception type name), with "LeavesInt64" where it leaves int64."""
    tree = ast.fix_missing_locations(Int64Tracer().visit(ast.parse(source)))
    code = compile(tree, "prog.py", "exec")
    out, error = io.StringIO(), None
    with contextlib.redirect_stdout(out):
        try:
            exec(code, {"__name__": "__main__", "check": check})
        except Exception as e:  # noqa: BLE001 - the type is the result
            error = type(e).__name__
    return out.getvalue(), error


def test_the_tracer_finds_where_a_run_leaves_int64():
    assert int64_run("print(-9223372036854775808)\n") == ("-9223372036854775808\n", None)
    assert int64_run("print(1)\nx = 2**62\nx *= 2\nprint(x)\n") == ("1\n", "LeavesInt64")
    assert int64_run("x = -9223372036854775808\nprint(abs(x))\n") == ("", "LeavesInt64")
    assert int64_run("x = 10**20 % 7\n") == ("", "LeavesInt64")  # the literal is too big


def check_executable(source: str, libc: bool, tmp_path) -> None:
    path = tmp_path / "prog.py"
    path.write_text(source)
    exe = build(path, tmp_path / "prog", libc=libc)
    got = subprocess.run([exe], capture_output=True, text=True, timeout=30)
    stdout, error = int64_run(source)
    last = got.stderr.splitlines()[-1] if got.stderr else ""
    where = f"{'libc' if libc else 'no libc'}:\n{source}"
    if error == "LeavesInt64":
        assert (got.stdout, got.returncode) == (stdout, 1), where
        assert last.startswith("OverflowError: "), where
        return
    cpython = subprocess.run([sys.executable, path], capture_output=True, text=True, timeout=30)
    assert (got.stdout, got.returncode) == (cpython.stdout, cpython.returncode), where
    if error is not None:
        cpython_last = cpython.stderr.splitlines()[-1]
        assert last.split(":")[0] == cpython_last.split(":")[0] == error, where
        if error == "ZeroDivisionError":
            assert last == cpython_last, where  # the message too


@pytest.mark.parametrize("libc", [True, False], ids=["libc", "nolibc"])
def test_executables_agree_with_cpython(libc: bool, tmp_path_factory):
    @NATIVE
    @given(PROGRAMS)
    def check_one(source: str) -> None:
        check_executable(source, libc, tmp_path_factory.mktemp("exe"))

    check_one()


@pytest.mark.slow
@pytest.mark.parametrize("libc", [True, False], ids=["libc", "nolibc"])
def test_executables_agree_with_cpython_long(libc: bool, tmp_path_factory):
    @NATIVE_LONG
    @given(PROGRAMS)
    def check_one(source: str) -> None:
        check_executable(source, libc, tmp_path_factory.mktemp("exe"))

    check_one()


def test_int64_boundaries_in_executables(tmp_path):
    source = textwrap.dedent("""
        x = -9223372036854775808
        print(x, x + 1, x // 3, x % 7, -(x + 1))
        y = 9223372036854775807
        print(y, y // -1, abs(x + 1), 3 ** 39)
        print(x // -1)
    """)
    for libc in (True, False):
        check_executable(source, libc, tmp_path)
