"""Compiler: lowerings replace one node kind's `lower_<Node>` (the hook exercises use)."""

import contextlib
import io

from jitkit.bytecode.compiler import FunctionCompiler, compile_module
from jitkit.bytecode.disasm import instructions
from jitkit.bytecode.opcodes import Op
from jitkit.lang import nodes as n
from jitkit.lang.parse import parse_module
from jitkit.vm.machine import VM

SOURCE = """
def f(n):
    s = 0
    while n > 0:
        s += n
        n -= 1
    return s
"""


def test_a_lowering_replaces_the_compilers_own():
    seen = []

    def lower_while(fc: FunctionCompiler, s: n.While) -> None:
        seen.append(s.line)
        fc.lower_While(s)

    codes = compile_module(parse_module(SOURCE), lowerings={"While": lower_while})
    assert seen == [4] and VM(codes).call("f", 4) == 10
    assert codes["f"].ops == compile_module(parse_module(SOURCE))["f"].ops


def test_a_lowering_that_emits_nothing_changes_the_code():
    codes = compile_module(parse_module(SOURCE), lowerings={"While": lambda fc, s: None})
    assert Op.JUMP_BACKWARD not in codes["f"].ops and VM(codes).call("f", 4) == 0


LISTS = """
def f(xs, v):
    xs[0] = v
    xs.append(v / 2)
    for x in xs:
        print(x)
    return [float(), int()]
"""


def test_lists_compile_in_cpythons_evaluation_order():
    """`xs[0] = v` pushes v first; `xs.append` is checked before its argument runs."""
    code = compile_module(parse_module(LISTS))["f"]
    names = [ins.opname for ins in instructions(code)]
    assert names[:11] == [
        *("LOAD_LOCAL", "LOAD_LOCAL", "LOAD_CONST", "STORE_SUBSCR"),  # v xs 0
        *("LOAD_LOCAL", "CHECK_APPEND", "LOAD_LOCAL", "LOAD_CONST", "BINARY_TRUEDIV"),
        *("LIST_APPEND", "POP"),
    ]
    assert names[11:13] == ["LOAD_LOCAL", "CHECK_ITER"]
    assert names[-4:] == ["LOAD_CONST", "LOAD_CONST", "BUILD_LIST", "RETURN"]  # float(), int()
    xs = [1]
    with contextlib.redirect_stdout(io.StringIO()) as out:
        assert VM({"f": code}).call("f", xs, 3) == [0.0, 0]
    assert xs == [3, 1.5] and out.getvalue() == "3\n1.5\n"
