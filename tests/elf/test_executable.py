"""The ET_EXEC writer: the kernel runs what it writes, readelf and pyelftools accept it,
and the hand-made hello world fits in 200 bytes."""

import pytest

from jitkit.elf.executable import (
    HELLO,
    RW,
    Segment,
    build,
    exit_code,
    hello_code,
    hello_world,
    place,
    write_executable,
)
from jitkit.elf.format import EHDR, PAGE, PF_R, PF_X, PHDR
from jitkit.elf.run import run, save
from jitkit.elf.runtime import sample_program
from jitkit.x86.oracles import capstone_disassemble, normalize
from tests.elf.wellformed import check


def test_hello_world_runs_and_is_at_most_200_bytes(tmp_path):
    data = hello_world().to_bytes()
    assert len(data) <= 200
    assert len(data) == 64 + 56 + sum(len(b) for b, _ in hello_code()) + len(HELLO)
    result = run(data)
    assert (result.stdout, result.stderr, result.status) == (HELLO, b"", 0)
    seen = check(save(data, tmp_path / "hello"))
    assert seen["header"]["e_type"] == "ET_EXEC" and seen["header"]["e_machine"] == "EM_X86_64"
    assert seen["sections"] == []
    (segment,) = seen["segments"]
    assert segment["p_type"] == "PT_LOAD" and segment["p_flags"] == PF_R | PF_X
    assert segment["p_filesz"] == len(data)


def test_hello_code_is_what_its_comments_say():
    """The hand-encoded bytes disassemble (capstone) to the Intel text beside them."""
    for data, text in hello_code():
        (decoded,) = capstone_disassemble(data)
        assert decoded.data == data
        assert normalize(decoded.text) == normalize(text.split(";")[0].strip()), text


@pytest.mark.parametrize("message", [b"", b"x", b"A much longer message, still one segment.\n"])
def test_hello_world_prints_any_message(message, tmp_path):
    result = run(hello_world(message))
    assert (result.stdout, result.status) == (message, 0)
    check(save(hello_world(message), tmp_path / "hello"))


@pytest.mark.parametrize("status, expected", [(0, 0), (1, 1), (42, 42), (255, 255), (256, 0)])
def test_exit_status(status, expected, tmp_path):
    data = write_executable([Segment(exit_code(status))])
    assert run(data).status == expected
    check(save(data, tmp_path / "exit"))


def test_entry_point_may_be_anywhere_in_the_code():
    code = exit_code(1) + exit_code(2)
    assert run(write_executable([Segment(code)], entry_offset=len(exit_code(1)))).status == 2


def test_a_faulting_program_reports_its_signal():
    assert run(write_executable([Segment(bytes.fromhex("0f0b"))])).status == -4  # ud2: SIGILL


def test_data_segment_is_writable_and_code_is_not(tmp_path):
    """A read+write segment on its own page: code stores into it, then writes it out.
    The same store into the code segment is a fault (SIGSEGV): no page is W and X."""
    text_placed, data_placed = place([Segment(bytes(64)), Segment(bytes(8), RW)])

    def storer(target: int) -> bytes:
        return (
            b"\x48\xbe" + target.to_bytes(8, "little")  # movabs rsi, target
            + b"\xc7\x06" + b"ok!\n"  # mov dword ptr [rsi], 'ok!\n'
            + bytes.fromhex("b801000000 bf01000000 ba04000000 0f05")  # write(1, rsi, 4)
            + exit_code(0)
        )  # fmt: skip

    code = storer(data_placed.address).ljust(64, b"\x90")
    image = build([Segment(code), Segment(bytes(8), RW, memsize=4096)], text_placed.address)
    assert run(image).stdout == b"ok!\n"
    seen = check(save(image, tmp_path / "rw"))
    text, data = seen["segments"]
    assert (text["p_flags"], data["p_flags"]) == (PF_R | PF_X, RW)
    assert data["p_offset"] % PAGE == data["p_vaddr"] % PAGE
    assert data["p_memsz"] == 4096 > data["p_filesz"]
    code = storer(text_placed.address).ljust(64, b"\x90")
    image = build([Segment(code), Segment(bytes(8), RW)], text_placed.address)
    assert run(image).status == -11


def test_headers_read_back_as_written():
    image = sample_program()
    data = image.to_bytes()
    assert EHDR.unpack(data) == image.header
    for i, ph in enumerate(image.program_headers):
        assert PHDR.unpack(data, EHDR.size + i * PHDR.size) == ph
        assert data[ph["p_offset"] : ph["p_offset"] + ph["p_filesz"]].endswith(
            image.placed[i].segment.data
        )


def test_field_table_and_picture_describe_the_file():
    image = hello_world()
    rows = {r.name: r for r in image.header_rows()}
    assert rows["e_entry"].offset == 0x18 and rows["e_entry"].value == 0x400078
    assert rows["e_phnum"].value == 1
    assert [r.offset for r in image.program_header_rows()][:2] == [64, 68]
    regions = image.regions()
    assert regions[0] == (0, 64, "ELF header") and regions[-1][1] == len(image.to_bytes())
    assert image.picture().count("\n") == len(regions) - 1
