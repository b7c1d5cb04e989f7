"""Compiler: lowerings replace one node kind's `lower_<Node>` (the hook exercises use)."""

from jitkit.bytecode.compiler import FunctionCompiler, compile_module
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
