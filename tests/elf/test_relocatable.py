"""The ET_REL writer against GNU ld: kit code calls C, C calls kit code, C data is reached
through R_X86_64_64, an `as`-made object joins in, and `ld -e my_entry` picks the entry."""

from pathlib import Path

import pytest

from jitkit.elf import toolchain
from jitkit.elf.format import R_X86_64_64, R_X86_64_PC32, R_X86_64_PLT32
from jitkit.elf.relocatable import build, write_object
from jitkit.elf.run import run
from jitkit.elf.runtime import FUNCTIONS, emit_runtime, emit_start
from jitkit.x86 import Assembler, eax, edi, esi, rax, rdi
from tests.elf.wellformed import check

pytestmark = pytest.mark.skipif(
    not all(toolchain.available(t) for t in ("gcc", "ld", "as", "readelf")),
    reason="needs gcc and binutils",
)
C_FLAGS = ["-c", "-O2", "-ffreestanding", "-fno-stack-protector", "-fno-pie", "-fno-builtin"]
C_SOURCE = r"""
#include <stdint.h>
void print_int64(int64_t);
void print_newline(void);
void kit_greet(void);
int64_t kit_square(int64_t);
const char greeting[] = "hello from C data\n";
int64_t triple(int64_t x) { return 3 * x; }
int c_main(long argc, char **argv) {
    kit_greet();
    print_int64(triple(kit_square(argc)));
    print_newline();
    return 7;
}
"""


def kit_object() -> tuple[bytes, Assembler]:
    """my_entry (the runtime's _start under another name) → c_main in C; kit_square and
    kit_greet for C to call; the runtime's functions exported too."""
    a, data = Assembler(), Assembler()
    emit_start(a, label="my_entry", main="c_main")
    emit_runtime(a, data)
    a.label("kit_square")
    a.mov(rax, rdi)
    a.imul(rax, rdi)
    a.ret()
    a.label("kit_greet")
    a.mov(rdi, "greeting")  # movabs: R_X86_64_64 against C's data
    a.jmp("print_str")
    data.label("kit_square_pointer")
    data.quad("kit_square")  # R_X86_64_64 in .data, against our own text
    text = a.assemble(externals=True)
    return write_object(text, data.assemble(externals=True)), a


def test_kit_object_is_well_formed(tmp_path):
    data, _ = kit_object()
    seen = check(_write(tmp_path / "kit.o", data))
    assert seen["header"]["e_type"] == "ET_REL"
    assert seen["sections"] == [
        "", ".text", ".data", ".rela.text", ".rela.data", ".symtab", ".strtab",
        ".note.GNU-stack", ".shstrtab",
    ]  # fmt: skip
    kinds = {(name, kind) for _, _, kind, name, _ in seen["relocations"]}
    assert ("c_main", R_X86_64_PLT32) in kinds
    assert ("greeting", R_X86_64_64) in kinds
    assert ("alloc.next", R_X86_64_PC32) in kinds
    assert ("kit_square", R_X86_64_64) in kinds
    symbols = seen["symbols"]
    assert symbols["my_entry"]["st_info"]["bind"] == "STB_GLOBAL"
    assert symbols["my_entry"]["st_info"]["type"] == "STT_FUNC"
    assert symbols["print_int64.digit"]["st_info"]["bind"] == "STB_LOCAL"
    assert symbols["c_main"]["st_shndx"] == "SHN_UNDEF"
    for name in FUNCTIONS:
        assert symbols[name]["st_info"]["bind"] == "STB_GLOBAL", name
        assert symbols[name]["st_size"] > 0, name


def test_relocations_match_the_assembler(tmp_path):
    a = Assembler()
    a.label("f")
    a.call("g")
    a.mov(rax, "h")
    code = a.assemble(externals=True)
    seen = check(_write(tmp_path / "f.o", write_object(code)))
    assert seen["relocations"] == [
        (
            ".rela.text",
            r.offset,
            {"R_X86_64_PLT32": 4, "R_X86_64_64": 1}[r.kind],
            r.symbol,
            r.addend,
        )
        for r in code.relocations
    ]
    assert seen["relocations"][0][1:] == (1, R_X86_64_PLT32, "g", -4)


def test_ld_links_kit_and_c_with_a_custom_entry(tmp_path):
    data, _ = kit_object()
    kit = _write(tmp_path / "kit.o", data)
    c = toolchain.gcc(C_SOURCE, tmp_path / "c.o", C_FLAGS)
    exe = tmp_path / "prog"
    report = toolchain.ld([kit, c], exe, entry="my_entry")
    assert report.stderr == ""
    result = run(exe, ["a", "b"])  # argc = 3: triple(3 * 3) = 27
    assert (result.stdout, result.stderr, result.status) == (b"hello from C data\n27\n", b"", 7)
    seen = check(exe)
    assert seen["header"]["e_entry"] == seen["symbols"]["my_entry"]["st_value"]
    assert seen["header"]["e_entry"] != seen["symbols"].get("_start", {"st_value": -1})["st_value"]


def test_ld_links_an_object_made_by_gnu_as(tmp_path):
    source = """
        .intel_syntax noprefix
        .text
        .globl asm_add
    asm_add:
        lea rax, [rdi + rsi]
        ret
        .section .note.GNU-stack,"",@progbits
    """  # without the note, ld warns "missing .note.GNU-stack section implies executable stack"
    a, data = Assembler(), Assembler()
    emit_start(a, label="my_entry", main="main")
    a.label("main")
    a.mov(edi, 40)
    a.mov(esi, 2)
    a.call("asm_add")
    a.mov(rdi, rax)
    a.call("print_int64")
    a.mov(eax, 0)
    a.ret()
    emit_runtime(a, data)
    kit = _write(tmp_path / "kit.o", write_object(a.assemble(externals=True), data.assemble()))
    other = toolchain.gas(source, tmp_path / "add.o")
    exe = tmp_path / "prog"
    toolchain.ld([kit, other], exe, entry="my_entry")
    assert run(exe).stdout == b"42"
    check(exe)


def test_export_list_controls_binding(tmp_path):
    a = Assembler()
    a.label("visible")
    a.label("hidden")
    a.ret()
    obj = build(a.assemble(), exports=["visible"])
    binds = {s.name: s.binding for s in obj.symbols if s.name}
    assert binds == {"visible": 1, "hidden": 0}
    with pytest.raises(ValueError, match="no such label"):
        build(a.assemble(), exports=["nowhere"])


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path
