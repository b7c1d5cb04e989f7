"""The ELF64 file format as data: constants and struct layouts, in one place (notebook 02).

Takes nothing in; gives the numbers of the System V gABI and the x86-64 psABI (ET_EXEC,
PT_LOAD, SHT_RELA, R_X86_64_PC32, ...) and one `Layout` per on-disk record (file header,
program header, section header, symbol, relocation). A layout packs a dict of field values
into bytes, unpacks bytes back into a dict, and lists its fields with offsets and meanings
so the notebook can print a header as a table.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import NamedTuple

# --- e_ident and the file header ------------------------------------------------------------
MAGIC = b"\x7fELF"
ELFCLASS64 = 2
ELFDATA2LSB = 1  # little-endian
EV_CURRENT = 1
ELFOSABI_SYSV = 0
IDENT = MAGIC + bytes([ELFCLASS64, ELFDATA2LSB, EV_CURRENT, ELFOSABI_SYSV]) + bytes(8)

ET_REL, ET_EXEC = 1, 2
EM_X86_64 = 62

# --- program headers (segments: what the kernel maps) ---------------------------------------
PT_LOAD = 1
PF_X, PF_W, PF_R = 1, 2, 4
PAGE = 0x1000
BASE_ADDRESS = 0x400000  # where `ld` puts non-PIE x86-64 executables

# --- section headers (sections: what the linker reads) --------------------------------------
SHT_NULL, SHT_PROGBITS, SHT_SYMTAB, SHT_STRTAB, SHT_RELA, SHT_NOBITS = 0, 1, 2, 3, 4, 8
SHF_WRITE, SHF_ALLOC, SHF_EXECINSTR, SHF_INFO_LINK = 0x1, 0x2, 0x4, 0x40
SHN_UNDEF, SHN_ABS = 0, 0xFFF1

# --- symbols ----------------------------------------------------------------------------------
STB_LOCAL, STB_GLOBAL = 0, 1
STT_NOTYPE, STT_OBJECT, STT_FUNC, STT_SECTION = 0, 1, 2, 3

# --- relocations (x86-64 psABI, table 4.9): S symbol, A addend, P place, L PLT entry ---------
R_X86_64_64 = 1  # S + A, 64 bits
R_X86_64_PC32 = 2  # S + A - P, 32 bits signed
R_X86_64_PLT32 = 4  # L + A - P, 32 bits signed (L = S when linked statically)
RELOCATION_TYPES = {"R_X86_64_64": R_X86_64_64, "R_X86_64_PC32": R_X86_64_PC32,
                    "R_X86_64_PLT32": R_X86_64_PLT32}  # fmt: skip

# --- Linux x86-64 system calls used by the tiny runtime ---------------------------------------
SYS_WRITE, SYS_MMAP, SYS_EXIT = 1, 9, 60
PROT_READ, PROT_WRITE = 1, 2
MAP_PRIVATE, MAP_ANONYMOUS = 0x02, 0x20


@dataclass(frozen=True)
class Field:
    """One field of a record: its name, `struct` code (little-endian) and what it means."""

    name: str
    code: str
    doc: str

    @property
    def size(self) -> int:
        return struct.calcsize("<" + self.code)


@dataclass(frozen=True)
class Row:
    """One field with its value and file offset, as the notebook's field table shows it."""

    offset: int
    size: int
    name: str
    value: int | bytes
    doc: str


@dataclass(frozen=True)
class Layout:
    """An on-disk record: fields in order, packed little-endian without padding."""

    name: str
    fields: tuple[Field, ...]

    @property
    def format(self) -> str:
        return "<" + "".join(f.code for f in self.fields)

    @property
    def size(self) -> int:
        return struct.calcsize(self.format)

    def pack(self, values: dict[str, int | bytes]) -> bytes:
        """Bytes of one record; every field must be given, none more."""
        names = [f.name for f in self.fields]
        if set(values) != set(names):
            missing, extra = set(names) - set(values), set(values) - set(names)
            raise ValueError(f"{self.name}: missing {sorted(missing)}, unknown {sorted(extra)}")
        return struct.pack(self.format, *(values[n] for n in names))

    def unpack(self, data: bytes, offset: int = 0) -> dict[str, int | bytes]:
        """The field values of the record at `offset` in `data`."""
        values = struct.unpack_from(self.format, data, offset)
        return dict(zip((f.name for f in self.fields), values, strict=True))

    def rows(self, values: dict[str, int | bytes], offset: int = 0) -> list[Row]:
        """Each field with its value and absolute file offset."""
        out = []
        for f in self.fields:
            out.append(Row(offset, f.size, f.name, values[f.name], f.doc))
            offset += f.size
        return out


def _layout(name: str, *fields: tuple[str, str, str]) -> Layout:
    return Layout(name, tuple(Field(*f) for f in fields))


EHDR = _layout(
    "Elf64_Ehdr",
    ("e_ident", "16s", "7f 'ELF', class 2 = 64-bit, data 1 = little-endian, version 1, ABI 0"),
    ("e_type", "H", "1 = relocatable object (ET_REL), 2 = executable (ET_EXEC)"),
    ("e_machine", "H", "62 = x86-64 (EM_X86_64)"),
    ("e_version", "I", "1 = current"),
    ("e_entry", "Q", "virtual address of the first instruction (0 in an object)"),
    ("e_phoff", "Q", "file offset of the program headers (0 if none)"),
    ("e_shoff", "Q", "file offset of the section headers (0 if none)"),
    ("e_flags", "I", "0: x86-64 defines no flags"),
    ("e_ehsize", "H", "64 = size of this header"),
    ("e_phentsize", "H", "56 = size of one program header"),
    ("e_phnum", "H", "number of program headers"),
    ("e_shentsize", "H", "64 = size of one section header"),
    ("e_shnum", "H", "number of section headers"),
    ("e_shstrndx", "H", "index of the section holding section names"),
)

PHDR = _layout(
    "Elf64_Phdr",
    ("p_type", "I", "1 = PT_LOAD: map this part of the file into memory"),
    ("p_flags", "I", "permissions: 4 = read, 2 = write, 1 = execute"),
    ("p_offset", "Q", "where the segment starts in the file"),
    ("p_vaddr", "Q", "where it is mapped in memory (same remainder modulo the page size)"),
    ("p_paddr", "Q", "physical address: unused on Linux, kept equal to p_vaddr"),
    ("p_filesz", "Q", "bytes taken from the file"),
    ("p_memsz", "Q", "bytes in memory (the rest is zero-filled, like .bss)"),
    ("p_align", "Q", "page alignment of offset and address"),
)

SHDR = _layout(
    "Elf64_Shdr",
    ("sh_name", "I", "offset of the name in .shstrtab"),
    ("sh_type", "I", "1 PROGBITS, 2 SYMTAB, 3 STRTAB, 4 RELA, 8 NOBITS"),
    ("sh_flags", "Q", "1 write, 2 alloc, 4 execute, 0x40 info-link"),
    ("sh_addr", "Q", "address in memory (0 in an object)"),
    ("sh_offset", "Q", "where the contents are in the file"),
    ("sh_size", "Q", "size of the contents"),
    ("sh_link", "I", "related section (a symtab's strtab, a rela's symtab)"),
    ("sh_info", "I", "symtab: first global symbol; rela: the section it patches"),
    ("sh_addralign", "Q", "alignment of the contents"),
    ("sh_entsize", "Q", "size of one entry for tables, else 0"),
)

SYM = _layout(
    "Elf64_Sym",
    ("st_name", "I", "offset of the name in .strtab"),
    ("st_info", "B", "binding << 4 | type"),
    ("st_other", "B", "visibility: 0 = default"),
    ("st_shndx", "H", "section the symbol is defined in (0 = undefined)"),
    ("st_value", "Q", "offset in that section"),
    ("st_size", "Q", "size in bytes (0 if unknown)"),
)

RELA = _layout(
    "Elf64_Rela",
    ("r_offset", "Q", "where to patch, as an offset in the patched section"),
    ("r_info", "Q", "symbol index << 32 | relocation type"),
    ("r_addend", "q", "the constant A of the formula"),
)


def st_info(binding: int, kind: int) -> int:
    """The packed binding/type byte of a symbol."""
    return binding << 4 | kind


def r_info(symbol: int, kind: int) -> int:
    """The packed symbol/type word of a relocation."""
    return symbol << 32 | kind


def format_rows(rows: list[Row]) -> str:
    """A fixed-column table: offset, size, field, value (hex), meaning."""
    out = [f"{'offset':>6}  {'size':>4}  {'field':<13} {'value':<24} meaning"]
    for r in rows:
        if isinstance(r.value, bytes):
            value = r.value.hex(" ")
            value = value if len(value) <= 24 else value[:21] + "..."
        else:
            value = f"{r.value:#x}"
        out.append(f"{r.offset:>#6x}  {r.size:>4}  {r.name:<13} {value:<24} {r.doc}")
    return "\n".join(out)


class FunctionSymbol(NamedTuple):
    """One function symbol of an ELF file: value (an address, or an offset in its section
    for a relocatable object), size in bytes and section index."""

    value: int
    size: int
    section: int


def function_symbols(image: bytes) -> dict[str, FunctionSymbol]:
    """The defined function symbols of an ELF64 file's `.symtab` (locals included), read with
    the layouts above: how `asm()` finds a function in a loaded object or shared library."""
    header = EHDR.unpack(image)
    sections = [
        SHDR.unpack(image, header["e_shoff"] + i * header["e_shentsize"])
        for i in range(header["e_shnum"])
    ]
    symbols = {}
    for section in sections:
        if section["sh_type"] != SHT_SYMTAB:
            continue
        strings = sections[section["sh_link"]]["sh_offset"]
        start, end = section["sh_offset"], section["sh_offset"] + section["sh_size"]
        for at in range(start, end, section["sh_entsize"]):
            sym = SYM.unpack(image, at)
            if sym["st_info"] & 0xF == STT_FUNC and sym["st_shndx"]:
                name_at = strings + sym["st_name"]
                name = image[name_at : image.index(b"\0", name_at)].decode()
                symbols[name] = FunctionSymbol(sym["st_value"], sym["st_size"], sym["st_shndx"])
    return symbols
