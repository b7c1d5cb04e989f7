"""The tiny static linker: the psABI formulas, undefined symbols, text ↔ data references."""

import struct

import pytest

from jitkit.elf.link import LinkError, link, relocate
from jitkit.elf.run import run, save
from jitkit.x86 import Assembler, Relocation, eax, edi, edx, mem, qword, rax, rsi
from tests.elf.wellformed import check


def test_formulas():
    relocs = [
        Relocation(0, "R_X86_64_PC32", "f", -4),  # S + A - P
        Relocation(4, "R_X86_64_PLT32", "f", -4),  # L + A - P, L = S statically
        Relocation(8, "R_X86_64_64", "f", 16),  # S + A
    ]
    out = relocate(bytes(16), relocs, {"f": 0x401000}, address=0x400000)
    assert struct.unpack("<iiQ", out) == (0x1000 - 4, 0x1000 - 8, 0x401010)


def test_undefined_symbol_and_out_of_reach():
    with pytest.raises(LinkError, match="undefined symbol 'g'"):
        relocate(bytes(4), [Relocation(0, "R_X86_64_PC32", "g", -4)], {}, 0)
    with pytest.raises(LinkError, match="out of 32-bit reach"):
        relocate(bytes(4), [Relocation(0, "R_X86_64_PC32", "g", -4)], {"g": 2**40}, 0)


def test_missing_entry():
    a = Assembler()
    a.label("main")
    a.ret()
    with pytest.raises(LinkError, match="entry symbol '_start'"):
        link(a)


def test_text_and_data_refer_to_each_other(tmp_path):
    """Code reads a counter in .data (PC32), increments it, and .data holds the address of
    a message in .text (R_X86_64_64) that the code prints through it."""
    text, data = Assembler(), Assembler()
    text.label("_start")
    text.add(qword(label="counter"), 41)
    text.mov(rsi, qword(label="message_pointer"))
    text.mov(eax, 1)
    text.mov(edi, 1)
    text.mov(edx, 6)
    text.syscall()
    text.mov(rax, qword(label="counter"))
    text.mov(edi, eax)
    text.mov(eax, 60)
    text.syscall()
    text.data(b"linked", label="message")
    data.label("counter")
    data.quad(1)
    data.label("message_pointer")
    data.quad("message")
    image = link(text, data)
    result = run(image)
    assert (result.stdout, result.status) == (b"linked", 42)
    seen = check(save(image, tmp_path / "linked"))
    assert [s["p_flags"] for s in seen["segments"]] == [5, 6]


def test_lea_of_a_data_label(tmp_path):
    text, data = Assembler(), Assembler()
    text.label("_start")
    text.lea(rsi, mem(label="greeting"))
    text.mov(eax, 1)
    text.mov(edi, 1)
    text.mov(edx, 3)
    text.syscall()
    text.mov(eax, 60)
    text.mov(edi, 0)
    text.syscall()
    data.data(b"hi\n", label="greeting")
    assert run(link(text, data)).stdout == b"hi\n"
