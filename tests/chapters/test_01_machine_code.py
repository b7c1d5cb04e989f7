"""Chapter 01's own encoder and loader (its `#| export` cells), on inputs the chapter never
showed: random register pairs and constants against keystone and capstone, and random
straight-line functions run through the chapter's `JitFunction` against Python's arithmetic."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jitkit.workshop import load_chapter
from jitkit.x86.oracles import capstone_disassemble, keystone_assemble, normalize

ch = load_chapter("01")

registers = st.sampled_from(ch.REGISTERS)
int64 = st.integers(-(2**63), 2**63 - 1)
SCRATCH = ["rax", "rcx", "rdx", "r8", "r9", "r10", "r11"]  # caller-saved: free to clobber


def wrap(value: int) -> int:
    """The int64 a register holds after arithmetic on `value`."""
    return (value + 2**63) % 2**64 - 2**63


def assert_oracles_agree(text: str) -> None:
    ours = ch.assemble(text)
    assert ours == keystone_assemble(text), f"{text}: {ours.hex(' ')}"
    (decoded,) = capstone_disassemble(ours)
    assert normalize(decoded.text.replace("movabs", "mov")) == normalize(text), decoded.text


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(["mov", "add", "sub", "imul"]), registers, registers)
def test_register_forms_match_keystone_and_capstone(mnemonic, dst, src):
    assert_oracles_agree(f"{mnemonic} {dst}, {src}")


@settings(max_examples=300, deadline=None)
@given(registers, st.one_of(st.integers(-(2**63), 2**64 - 1), st.integers(-(2**32), 2**32)))
def test_mov_constants_match_keystone_and_capstone(dst, value):
    assert_oracles_agree(f"mov {dst}, {value}")


@st.composite
def programs(draw):
    """(text, python) for a random function of a, b: scratch registers start from random
    constants, then random mov/add/sub/imul among them and the arguments, result in rax."""
    values = {"rdi": "a", "rsi": "b"}
    lines = []
    for reg in SCRATCH:
        constant = draw(int64)
        lines.append(f"mov {reg}, {constant}")
        values[reg] = str(constant)
    for _ in range(draw(st.integers(1, 12))):
        mnemonic = draw(st.sampled_from(["mov", "add", "sub", "imul"]))
        dst, src = draw(st.sampled_from(SCRATCH)), draw(st.sampled_from([*SCRATCH, "rdi", "rsi"]))
        lines.append(f"{mnemonic} {dst}, {src}")
        op = {"mov": None, "add": "+", "sub": "-", "imul": "*"}[mnemonic]
        values[dst] = values[src] if op is None else f"wrap(({values[dst]}) {op} ({values[src]}))"
    lines += [f"mov rax, {draw(st.sampled_from(SCRATCH))}", "ret"]
    result = values[lines[-2].split(", ")[1]]
    return "\n".join(lines), eval(f"lambda a, b: {result}", {"wrap": wrap})  # noqa: S307


@settings(max_examples=150, deadline=None)
@given(programs(), int64, int64)
def test_random_functions_run_through_the_chapters_loader(program, a, b):
    text, python = program
    function = ch.JitFunction(ch.assemble(text), nargs=2)
    try:
        assert function(a, b) == python(a, b), text
    finally:
        function.free()


def test_a_freed_function_refuses_to_run():
    function = ch.JitFunction(ch.assemble("mov rax, rdi; ret"), nargs=1)
    assert function(41) == 41
    function.free()
    function.free()  # twice is harmless
    with pytest.raises(ValueError, match="freed"):
        function(1)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("push rbx", "unknown instruction 'push'"),
        ("mov eax, 1", "neither a 64-bit register nor a number"),
        (f"mov rax, {2**64}", "does not fit in 64 bits"),
    ],
)
def test_bad_input_is_a_clear_error(text, message):
    with pytest.raises(ValueError, match=message):
        ch.assemble(text)
