"""The untagged copies of functions that return ints when given ints (`facts.int_functions`,
`codegen`): which functions get them, that every call still gives CPython's answer through
them or past them (other argument types, overflow, the recursion limit at every copy), and
that the frames the copies leave unchecked fit the stack reserve, measured from the object
code."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

from jitkit import bench
from jitkit.lang.parse import parse_module
from jitkit.llvm.codegen import compile_module
from jitkit.llvm.emit import emit_assembly
from jitkit.llvm.facts import int_functions
from jitkit.llvm.runtime import CHECK_EVERY, FRAME_BOUND
from tests.llvm.conftest import outcome

SOURCE = """
def tree(n):
    if n < 2:
        return n
    return tree(n - 1) + tree(n - 2)

def down(n):
    if n == 0:
        return 0
    return 1 + down(n - 1)

def pick(a, b):
    return min(a, b) if a % 2 else abs(a - b) // 3

def compare(n):
    return n < 2

def falls_off(n):
    if n:
        return 1

def rebinds(n):
    n = None
    return n

def via_tagged(n):
    return tree(n) + compare(n)

def doubling(n):
    if n == 0:
        return 4611686018427387904
    return doubling(n - 1) + doubling(n - 1)
"""


def same(compiled, python, name: str, *args: object) -> None:
    mine = outcome(lambda: compiled.call(name, *args))
    theirs = outcome(lambda: python[name](*args))
    assert mine == theirs, (name, args)


def test_only_functions_that_return_ints_get_untagged_copies():
    kit = parse_module(SOURCE)
    assert int_functions(kit.functions) == {"tree", "down", "pick", "doubling"}
    ir_text = str(compile_module(kit))
    for name in ("tree", "doubling"):  # they call themselves: every copy calls the next
        assert all(
            f'define internal {{i8, i64}} @"py.{name}.int{i}"(' in ir_text
            for i in range(CHECK_EVERY)
        )
    for name in ("down", "pick"):  # a running sum (a loop) or no call of itself: one copy
        assert f'define internal {{i8, i64}} @"py.{name}.int0"(' in ir_text
        assert f'@"py.{name}.int1"' not in ir_text
    assert "py.compare.int" not in ir_text and "py.via_tagged.int" not in ir_text
    for target in ("libc", "nolibc"):  # executables: one function per kit function
        assert ".int0" not in str(compile_module(kit, target))


def test_a_tagged_version_only_python_calls_is_compiled_cold():
    """`pick` has an untagged version and no compiled caller of its tagged one: that one runs
    only for other arguments than ints, unoptimized; `tree`'s tagged version is called by
    `via_tagged`, so LLVM optimizes (and may inline) it."""
    functions = {f.name: f for f in compile_module(parse_module(SOURCE)).module.functions}
    assert {"noinline", "optnone"} <= set(functions["py.pick"].attributes)
    assert "optnone" not in functions["py.tree"].attributes
    assert "optnone" not in functions["py.pick.int0"].attributes


# the untagged copies take only ints: bools, None and floats go through the tagged version
@pytest.mark.parametrize("arg", [0, 1, 7, True, False, None, 2.5, -4])
def test_other_argument_types_still_give_pythons_answer(compiled, python, arg):
    same(compiled, python, "tree", arg)
    same(compiled, python, "pick", arg, 4)
    same(compiled, python, "pick", 5, arg)
    same(compiled, python, "via_tagged", arg)


# the sum in the untagged copies still checks overflow: past int64 the interpreter's big int
@pytest.mark.parametrize("n", [0, 1, 2, 5])
def test_an_untagged_sum_still_overflows_into_the_interpreter(compiled, python, n):
    same(compiled, python, "doubling", n)


# every copy checks the depth: the limit is exact whichever copy reaches it
@pytest.mark.parametrize("n", range(2 * CHECK_EVERY + 1))
def test_the_depth_is_counted_in_every_copy(compiled, python, n):
    same(compiled, python, "down", n)
    same(compiled, python, "tree", n + 10)


def test_recursion_past_the_limit_is_still_a_recursion_error(compiled):
    for n in range(100_000, 100_000 + CHECK_EVERY):
        mine = outcome(lambda n=n: compiled.call("down", n))
        assert mine[0] == "RecursionError", mine


def frame_sizes(assembly: str) -> dict[str, int]:
    """Bytes each function's prologue takes below its caller: the return address, pushes
    and `sub rsp` (x86-64 AT&T assembly as LLVM prints it)."""
    sizes: dict[str, int] = {}
    name = None
    for line in assembly.splitlines():
        label = re.match(r'^("?[\w.<>]+"?):', line)
        if label and not line.startswith(".L"):
            name = label.group(1)
            sizes[name] = 8
        elif name and re.match(r"\s+pushq\s", line):
            sizes[name] += 8
        elif name and (sub := re.match(r"\s+subq\s+\$(\d+), %rsp", line)):
            sizes[name] += int(sub.group(1))
    return sizes


def test_frames_fit_the_stack_reserve_with_a_safety_factor_of_four():
    """Between two stack checks up to CHECK_EVERY frames (the copies, then a leaf): the
    reserve assumes FRAME_BOUND each; every frame of the kernels and the program corpus is
    measured in the object code at the tier's and at O2's code generation."""
    programs = Path(__file__).parents[1] / "programs"
    sources = [bench.kernel_source(), SOURCE]
    sources += [p.read_text() for p in sorted(programs.glob("*.py")) if p.name != "__init__.py"]
    largest = 0
    for source in sources:
        try:
            module = compile_module(parse_module(textwrap.dedent(source))).module
        except Exception:  # noqa: BLE001 - programs the LLVM tier does not take
            continue
        for level in (1, 2):
            largest = max(largest, *frame_sizes(emit_assembly(module, level)).values())
    assert 0 < largest <= FRAME_BOUND // 4, largest
