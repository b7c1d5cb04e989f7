"""An ELF64 relocatable object writer (ET_REL), for the system linker (notebook 02).

Takes assembled text and data (`Code` from `Assembler.assemble(externals=True)`) and the
names to export; gives an `ObjectFile`: sections (.text, .data, .rela.text, .rela.data,
.symtab, .strtab, .shstrtab, .note.GNU-stack) as records, and the bytes of a `.o` that
GNU `ld` links with objects from `gcc -c` or `as`, e.g. `ld -e my_entry kit.o c.o`.
Labels defined in text or data become symbols (global if exported); labels used but not
defined become undefined globals, and every relocation the assembler recorded becomes an
`Elf64_Rela` entry against them (R_X86_64_PLT32, R_X86_64_PC32, R_X86_64_64).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from jitkit.elf.format import (
    EHDR,
    EM_X86_64,
    ET_REL,
    EV_CURRENT,
    IDENT,
    RELA,
    RELOCATION_TYPES,
    SHDR,
    SHF_ALLOC,
    SHF_EXECINSTR,
    SHF_INFO_LINK,
    SHF_WRITE,
    SHN_UNDEF,
    SHT_NULL,
    SHT_PROGBITS,
    SHT_RELA,
    SHT_STRTAB,
    SHT_SYMTAB,
    STB_GLOBAL,
    STB_LOCAL,
    STT_FUNC,
    STT_NOTYPE,
    STT_OBJECT,
    STT_SECTION,
    SYM,
    r_info,
    st_info,
)
from jitkit.x86 import Code


@dataclass
class Section:
    """A section: its name, header fields (without name/offset/size) and contents."""

    name: str
    type: int
    contents: bytes = b""
    flags: int = 0
    link: int = 0
    info: int = 0
    align: int = 1
    entsize: int = 0


@dataclass(frozen=True)
class Symbol:
    """A symbol table entry, by name: where it is defined (section index, 0 if undefined)."""

    name: str
    section: int
    value: int = 0
    size: int = 0
    binding: int = STB_LOCAL
    type: int = STT_NOTYPE


class StringTable:
    """A string table: a zero byte, then zero-terminated names; a name's index is its offset."""

    def __init__(self) -> None:
        self.data = bytearray(b"\0")
        self.index: dict[str, int] = {"": 0}

    def add(self, name: str) -> int:
        if name not in self.index:
            self.index[name] = len(self.data)
            self.data += name.encode() + b"\0"
        return self.index[name]


@dataclass
class ObjectFile:
    """A relocatable object as records; `to_bytes()` lays it out."""

    sections: list[Section] = field(default_factory=list)
    symbols: list[Symbol] = field(default_factory=list)

    def to_bytes(self) -> bytes:
        """Header, each section's contents (aligned), then the section header table."""
        names = StringTable()
        name_offsets = [names.add(s.name) for s in self.sections]
        shstrtab = self.sections[-1]
        assert shstrtab.name == ".shstrtab"
        shstrtab.contents = bytes(names.data)
        body = bytearray(bytes(EHDR.size))
        placed = []
        for s in self.sections:
            if s.type == SHT_NULL:
                placed.append(0)
                continue
            body += bytes(-len(body) % s.align)
            placed.append(len(body))
            body += s.contents
        body += bytes(-len(body) % 8)
        shoff = len(body)
        for s, name, offset in zip(self.sections, name_offsets, placed, strict=True):
            body += SHDR.pack(
                {"sh_name": name, "sh_type": s.type, "sh_flags": s.flags, "sh_addr": 0,
                 "sh_offset": offset, "sh_size": len(s.contents), "sh_link": s.link,
                 "sh_info": s.info, "sh_addralign": s.align, "sh_entsize": s.entsize}
            )  # fmt: skip
        header = {
            "e_ident": IDENT, "e_type": ET_REL, "e_machine": EM_X86_64, "e_version": EV_CURRENT,
            "e_entry": 0, "e_phoff": 0, "e_shoff": shoff, "e_flags": 0, "e_ehsize": EHDR.size,
            "e_phentsize": 0, "e_phnum": 0, "e_shentsize": SHDR.size,
            "e_shnum": len(self.sections), "e_shstrndx": len(self.sections) - 1,
        }  # fmt: skip
        body[: EHDR.size] = EHDR.pack(header)
        return bytes(body)


def _symbols(
    pieces: list[tuple[int, Code]], exports: Iterable[str] | None
) -> tuple[list[Symbol], dict[str, int]]:
    """Section symbols and labels (locals first, as ELF requires), then globals and
    undefined names; with `exports=None` every label without a dot is exported."""
    defined: dict[str, tuple[int, int]] = {}
    for index, code in pieces:
        for name, offset in code.labels.items():
            if name in defined:
                raise ValueError(f"label {name!r} is defined in both text and data")
            defined[name] = (index, offset)
    exported = {n for n in defined if "." not in n} if exports is None else set(exports)
    for name in exported - set(defined):
        raise ValueError(f"cannot export {name!r}: no such label")
    undefined = sorted(
        {r.symbol for _, code in pieces for r in code.relocations if r.symbol not in defined}
    )
    locals_ = [Symbol("", 0)] + [Symbol("", i, type=STT_SECTION) for i, _ in pieces]
    globals_ = []
    for index, code in pieces:
        starts = sorted({o for n, o in code.labels.items() if n in exported} | {len(code.bytes)})
        for name, offset in sorted(code.labels.items(), key=lambda kv: kv[1]):
            end = next((s for s in starts if s > offset), offset)
            is_global = name in exported
            kind = (STT_FUNC if index == 1 else STT_OBJECT) if is_global else STT_NOTYPE
            binding = STB_GLOBAL if is_global else STB_LOCAL
            sym = Symbol(name, index, offset, end - offset if is_global else 0, binding, kind)
            (globals_ if is_global else locals_).append(sym)
    globals_ += [Symbol(name, SHN_UNDEF, binding=STB_GLOBAL) for name in undefined]
    symbols = locals_ + globals_
    return symbols, {s.name: i for i, s in enumerate(symbols) if s.name}


def build(text: Code, data: Code | None = None, exports: Iterable[str] | None = None) -> ObjectFile:
    """An object with .text (and .data), its symbols and its relocations."""
    obj = ObjectFile()
    obj.sections.append(Section("", SHT_NULL))
    obj.sections.append(
        Section(".text", SHT_PROGBITS, text.bytes, SHF_ALLOC | SHF_EXECINSTR, align=16)
    )
    pieces = [(1, text)]
    if data is not None:
        obj.sections.append(
            Section(".data", SHT_PROGBITS, data.bytes, SHF_ALLOC | SHF_WRITE, align=16)
        )
        pieces.append((2, data))
    obj.symbols, index = _symbols(pieces, exports)
    symtab_index = len(obj.sections) + sum(1 for _, code in pieces if code.relocations)
    for target, code in pieces:
        if code.relocations:
            entries = _rela_entries(code, index)
            name = ".rela" + obj.sections[target].name
            obj.sections.append(
                Section(name, SHT_RELA, entries, SHF_INFO_LINK, symtab_index, target, 8, RELA.size)
            )
    symtab, strtab = _symbol_table(obj.symbols)
    binds = [s.binding for s in obj.symbols]
    first_global = binds.index(STB_GLOBAL) if STB_GLOBAL in binds else len(binds)
    obj.sections.append(
        Section(".symtab", SHT_SYMTAB, symtab, 0, symtab_index + 1, first_global, 8, SYM.size)
    )
    obj.sections.append(Section(".strtab", SHT_STRTAB, strtab))
    obj.sections.append(Section(".note.GNU-stack", SHT_PROGBITS))  # no executable stack
    obj.sections.append(Section(".shstrtab", SHT_STRTAB))  # filled in by to_bytes
    return obj


def _rela_entries(code: Code, index: dict[str, int]) -> bytes:
    """One Elf64_Rela per relocation the assembler recorded, against symbol numbers."""
    return b"".join(
        RELA.pack(
            {
                "r_offset": r.offset,
                "r_info": r_info(index[r.symbol], RELOCATION_TYPES[r.kind]),
                "r_addend": r.addend,
            }
        )
        for r in code.relocations
    )


def _symbol_table(symbols: list[Symbol]) -> tuple[bytes, bytes]:
    """The .symtab entries and the .strtab holding their names."""
    strtab = StringTable()
    entries = b"".join(
        SYM.pack(
            {
                "st_name": strtab.add(s.name),
                "st_info": st_info(s.binding, s.type),
                "st_other": 0,
                "st_shndx": s.section,
                "st_value": s.value,
                "st_size": s.size,
            }
        )
        for s in symbols
    )
    return entries, bytes(strtab.data)


def write_object(
    text: Code, data: Code | None = None, exports: Iterable[str] | None = None
) -> bytes:
    """The bytes of a `.o` file: `build(...).to_bytes()`."""
    return build(text, data, exports).to_bytes()
