"""Chapter 02's own ELF writer and tiny runtime (its `#| export` cells), on inputs the chapter
never showed: random exit statuses, messages and integers, run by the kernel and parsed by
pyelftools (and readelf where installed)."""

from __future__ import annotations

import io
import shutil
import subprocess

import pytest
from elftools.elf.elffile import ELFFile
from hypothesis import given, settings
from hypothesis import strategies as st

from jitkit.workshop import load_chapter
from jitkit.x86 import eax, rdi

ch = load_chapter("02")


def parsed(image: bytes) -> ELFFile:
    """pyelftools' reading of the file, with the fields the kernel relies on checked."""
    elf = ELFFile(io.BytesIO(image))
    assert (elf.elfclass, elf.little_endian) == (64, True)
    assert (elf.header.e_type, elf.header.e_machine) == ("ET_EXEC", "EM_X86_64")
    (segment,) = elf.iter_segments()
    h = segment.header
    assert (h.p_type, h.p_offset, h.p_filesz) == ("PT_LOAD", 0, len(image))
    assert h.p_vaddr <= elf.header.e_entry < h.p_vaddr + h.p_memsz
    assert h.p_flags == 5, "read + execute, never writable"
    return elf


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_exit_status_reaches_the_kernel(status):
    image = ch.exit_program(status)
    parsed(image)
    assert ch.run_executable(image).returncode == status % 256


@settings(max_examples=30, deadline=None)
@given(st.binary(min_size=1, max_size=3000))
def test_hello_writes_any_message(message):
    image = ch.hello_program(message)
    parsed(image)
    done = ch.run_executable(image)
    assert (done.stdout, done.returncode) == (message, 0)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(-(2**63), 2**63 - 1), min_size=1, max_size=12), st.integers(0, 255))
def test_print_int_agrees_with_python(numbers, status):
    def emit_main(a):
        a.label("main")
        a.push(rdi)
        for n in numbers:
            a.mov(rdi, n)
            a.call("print_int")
        a.pop(rdi)
        a.mov(eax, status)
        a.ret()

    image = ch.program(emit_main)
    parsed(image)
    done = ch.run_executable(image)
    assert done.stdout.decode() == "".join(f"{n}\n" for n in numbers)
    assert done.returncode == status


@settings(max_examples=5, deadline=None)
@given(st.lists(st.text("abc xyz-", max_size=8), max_size=20))
def test_start_passes_argc_to_main(args):
    def emit_main(a):
        a.label("main")
        a.push(rdi)
        a.call("print_int")  # argc
        a.pop(rdi)
        a.mov(eax, 0)
        a.ret()

    done = ch.run_executable(ch.program(emit_main), args)
    assert (done.stdout, done.returncode) == (f"{len(args) + 1}\n".encode(), 0)


@pytest.mark.skipif(shutil.which("readelf") is None, reason="readelf is not installed")
def test_readelf_reads_the_file_without_complaint(tmp_path):
    path = tmp_path / "hello"
    path.write_bytes(ch.hello_program(b"readelf\n"))
    done = subprocess.run(["readelf", "-h", "-l", "-W", str(path)], capture_output=True, text=True)
    assert done.returncode == 0 and done.stderr == ""
    assert "EXEC (Executable file)" in done.stdout and "R E 0x1000" in done.stdout


def test_an_entry_outside_the_code_is_a_clear_error():
    with pytest.raises(ValueError, match="entry offset 12 is outside"):
        ch.executable(b"\x90" * 12, entry_offset=12)
