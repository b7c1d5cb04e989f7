"""LOAD_GLOBAL / STORE_GLOBAL: both front ends make the same module globals, the verifier and
the listings know them, and the VM reads them at call time (NameError as CPython)."""

import pytest

from jitkit.bytecode.assemble import parse, parse_module
from jitkit.bytecode.code import Code
from jitkit.bytecode.compiler import compile_module
from jitkit.bytecode.disasm import code_info, dis
from jitkit.bytecode.from_cpython import translate_module
from jitkit.bytecode.opcodes import Op
from jitkit.bytecode.verify import verify, verify_module
from jitkit.errors import UnsupportedError, VerifyError
from jitkit.lang import parse as kit_parse
from jitkit.lang import runtime as rt
from jitkit.vm.machine import VM

SOURCE = """\
B = 2
def f(n):
    return n * A + B
A = 10
for A in range(3):
    B = f(A)
print(A, B)
"""

LISTING = """
Disassembly of read():
  1     LOAD_GLOBAL (LIMIT)
        LOAD_GLOBAL (STEP)
        BINARY_ADD
        RETURN
Disassembly of main():
  2     LOAD_CONST (40)
        STORE_GLOBAL (STEP)
        LOAD_CONST (2)
        STORE_GLOBAL (LIMIT)
        LOAD_FUNC (read)
        CALL 0
        RETURN
"""


@pytest.mark.parametrize("front", ["ast", "dis"])
def test_both_front_ends_make_the_same_globals_and_run(front, capsys):
    if front == "ast":
        codes = compile_module(kit_parse.parse_module(SOURCE, "p.py"))
    else:
        codes = translate_module(SOURCE, "p.py")
    assert all(code.globals == ["B", "A"] for code in codes.values())
    assert Op.LOAD_GLOBAL in codes["f"].ops and Op.STORE_GLOBAL in codes["<module>"].ops
    VM(codes).call("<module>")
    exec(SOURCE, {})
    kit, cpython = capsys.readouterr().out.split("\n", 1)
    assert kit + "\n" == cpython == "2 7\n"


def test_a_listing_gathers_the_modules_globals_and_round_trips():
    codes = parse_module(LISTING)
    assert codes["read"].globals == codes["main"].globals == ["LIMIT", "STEP"]
    assert VM(codes).call("main") == 42
    assert "LOAD_GLOBAL     0 (LIMIT)" in dis(codes["read"])
    back = parse_module("\n".join(dis(c) for c in codes.values()))
    assert {n: (c.ops, c.args, c.globals) for n, c in back.items()} == {
        n: (c.ops, c.args, c.globals) for n, c in codes.items()
    }
    assert "Global names:\n    0: LIMIT\n    1: STEP" in code_info(codes["read"])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Disassembly of f():\n  LOAD_GLOBAL 1 (G)\n  RETURN", "globals: index 0 is never shown"),
        (
            "Disassembly of f():\n  LOAD_GLOBAL 0 (G)\n  RETURN\n"
            "Disassembly of g():\n  LOAD_GLOBAL 0 (H)\n  RETURN",
            "globals: index 0 is 'G' elsewhere, not 'H'",
        ),
        ("Disassembly of f():\n  LOAD_GLOBAL\n  RETURN", "LOAD_GLOBAL needs its value"),
    ],
)
def test_bad_global_operands_are_verify_errors(text, message):
    with pytest.raises(VerifyError, match=message):
        parse_module(text)


def test_verifier_checks_global_operands_and_one_list_per_module():
    load = Code("f", 0, [], ops=[Op.LOAD_GLOBAL, Op.RETURN], args=[0, 0], lines=[1, 1])
    with pytest.raises(VerifyError, match="global index 0 out of range"):
        verify(load)
    load.globals = ["G"]
    verify(load)
    other = parse("Disassembly of g():\n  LOAD_CONST (1)\n  RETURN")
    with pytest.raises(VerifyError, match=r"globals \[\] differ from \['G'\]"):
        verify_module({"f": load, "g": other})


def test_vm_name_error_names_the_line_and_set_globals_binds():
    codes = compile_module(kit_parse.parse_module("def f():\n    return G + 1\nG = 0\n", "p.py"))
    vm = VM(codes)
    with pytest.raises(NameError) as info:
        vm.call("f")
    assert info.value.args == ("name 'G' is not defined",)
    assert any('"p.py", line 2, in f (kit VM)' in note for note in info.value.__notes__)
    vm.set_globals([41])
    assert vm.call("f") == 42
    vm.set_globals([rt.UNBOUND])
    with pytest.raises(NameError):
        vm.call("f")
    with pytest.raises(ValueError, match="set_globals takes 1 values"):
        vm.set_globals([1, 2])


@pytest.mark.parametrize(
    ("source", "what"),
    [
        ("X = 1\ndef g():\n    global X\n    X = 2\ng()\n", "'global' statement"),
        ("range = 3\ndef g():\n    return range(2)\n", "calling 'range', which the module"),
    ],
)
def test_dis_front_end_refuses_clearly(source, what):
    with pytest.raises(UnsupportedError, match=what):
        translate_module(source, "p.py")
