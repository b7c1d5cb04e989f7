"""The listing parses back: `parse(dis(code))` is `code` for every program, from both front
ends and from generated programs; hand-written listings work; bad text is a VerifyError."""

from __future__ import annotations

import pytest
from hypothesis import given

from jitkit.bytecode.assemble import parse, parse_module
from jitkit.bytecode.code import Code
from jitkit.bytecode.compiler import compile_module
from jitkit.bytecode.disasm import dis
from jitkit.bytecode.from_cpython import translate_module
from jitkit.bytecode.opcodes import Op
from jitkit.bytecode.verify import verify
from jitkit.errors import UnsupportedError, VerifyError
from jitkit.lang.parse import parse_module as parse_source
from jitkit.vm.machine import VM
from tests.conftest import ROOT
from tests.programs import features, refused
from tests.test_differential import SETTINGS, programs

PROGRAMS = sorted((ROOT / "tests" / "programs").glob("*.py"))
PROGRAMS = [p for p in PROGRAMS if not p.stem.startswith("test_") and "# expect" in p.read_text()]
FIELDS = ("name", "argcount", "varnames", "consts", "names", "ops", "args", "lines")


def listing(codes: dict[str, Code]) -> str:
    return "\n\n".join(dis(c) for c in codes.values())


def same(a: Code, b: Code) -> bool:
    # 1 and True differ, and so do 0.0 and -0.0; nan equals nothing, its repr is "nan"
    typed = lambda c: [(type(v), repr(v)) for v in c.consts]  # noqa: E731
    plain = [f for f in FIELDS if f != "consts"]
    return all(getattr(a, f) == getattr(b, f) for f in plain) and typed(a) == typed(b)


def assert_round_trip(codes: dict[str, Code]) -> None:
    text = listing(codes)
    back = parse_module(text)
    assert list(back) == list(codes)
    for name in codes:
        assert same(back[name], codes[name]), f"{name} differs after parsing:\n{text}"
        assert back[name].stacksize == codes[name].stacksize  # the verifier ran on it
    assert listing(back) == text


@pytest.mark.parametrize("path", PROGRAMS, ids=lambda p: p.stem)
@pytest.mark.parametrize("frontend", ["ast", "dis"])
def test_every_program_round_trips(path, frontend):
    source = path.read_text()
    if frontend == "ast":
        codes = compile_module(parse_source(source, str(path)))
    elif refused("vm-dis", features(source)):  # lists: the dis front end refuses them
        with pytest.raises(UnsupportedError):
            translate_module(source, str(path))
        return
    else:
        codes = translate_module(source, str(path))
    assert_round_trip(codes)


@SETTINGS
@given(programs())
def test_generated_programs_round_trip(source: str):
    assert_round_trip(compile_module(parse_source(source)))


HAND_WRITTEN = """
# sum of 0..n-1, written by hand: indexes left out, labels by name
Disassembly of total(n):
  1           LOAD_CONST      (0)
              STORE_LOCAL     (s)
              LOAD_CONST      (0)
              STORE_LOCAL     (i)
  2  >>  top: LOAD_LOCAL      (i)
              LOAD_LOCAL      (n)
              COMPARE_LT
              JUMP_IF_FALSE   (to done)
  3           LOAD_LOCAL      (s)
              LOAD_LOCAL      (i)
              BINARY_ADD
              STORE_LOCAL     (s)
              LOAD_LOCAL      (i)
              LOAD_CONST      (1)
              BINARY_ADD
              STORE_LOCAL     (i)
              JUMP_BACKWARD   (to top)
  4  >> done: LOAD_LOCAL      (s)
              RETURN
"""


def test_hand_written_listing_runs():
    code = parse(HAND_WRITTEN)
    assert code.varnames == ["n", "s", "i"] and code.consts == [0, 1]
    assert VM({"total": code}).call("total", 10) == 45
    assert code.lines[code.args[7]] == 4  # JUMP_IF_FALSE lands on line 4's instruction
    assert parse(dis(code)).ops == code.ops


def test_calls_between_parsed_functions():
    codes = parse_module(
        """
Disassembly of double(x):
  1     LOAD_LOCAL (x)
        LOAD_CONST (2)
        BINARY_MUL
        RETURN
Disassembly of main():
  2     LOAD_FUNC (double)
        LOAD_CONST (21)
        CALL 1
        RETURN
"""
    )
    assert VM(codes).call("main") == 42


BAD = {
    "no header": ("  LOAD_CONST (1)\n  RETURN", "line 1: expected 'Disassembly of"),
    "unknown opcode": ("Disassembly of f():\n  LOAD_CONSTANT (1)\n  RETURN", "line 2: unknown"),
    "not a literal": ("Disassembly of f():\n  LOAD_CONST (x + 1)\n  RETURN", "line 2: consts"),
    "missing label": ("Disassembly of f():\n  JUMP (to nowhere)\n  RETURN", "no label"),
    "stray operand": ("Disassembly of f():\n  LOAD_CONST (1)\n  RETURN 3", "takes no operand"),
    "index clash": (
        "Disassembly of f():\n  LOAD_CONST 0 (1)\n  LOAD_CONST 0 (2)\n  RETURN",
        "line 3: consts: index 0 is 1",
    ),
    "unknown index": ("Disassembly of f():\n  LOAD_CONST 1 (7)\n  RETURN", "index 0 is never"),
    "garbage": ("Disassembly of f():\n  load the constant", "line 2: not an instruction"),
    "wrong jump index": (
        "Disassembly of f():\n  JUMP 2 (to end)\n end: LOAD_CONST (1)\n  RETURN",
        "end is instruction 1",
    ),
    # parsed fine, then the verifier refuses: the stack is empty at RETURN
    "verifier: underflow": ("Disassembly of f():\n  RETURN", "stack underflow"),
    "verifier: unknown callee": (
        "Disassembly of f():\n  LOAD_FUNC (g)\n  CALL 0\n  RETURN",
        "no function 'g'",
    ),
}


@pytest.mark.parametrize("name", BAD)
def test_bad_listings_are_verify_errors(name):
    text, message = BAD[name]
    with pytest.raises(VerifyError, match=message.replace("(", r"\(")):
        parse_module(text)


def test_check_false_leaves_malformed_code_for_another_verifier():
    code = parse("Disassembly of f():\n  RETURN", check=False)
    assert code.ops == [Op.RETURN]
    with pytest.raises(VerifyError, match="underflow"):
        verify(code)
