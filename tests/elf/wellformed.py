"""The ELF oracles for every test here: `readelf -a -W` and pyelftools must read a file
completely (all segments, sections, symbols, relocations) without a warning."""

from __future__ import annotations

import warnings
from pathlib import Path

from elftools.elf.elffile import ELFFile
from elftools.elf.relocation import RelocationSection
from elftools.elf.sections import SymbolTableSection

from jitkit.elf import toolchain


def check(path: Path) -> dict:
    """Parse `path` both ways; returns what pyelftools saw (header, segments, sections,
    symbols by name, relocations as (section, offset, type, symbol, addend))."""
    report = toolchain.readelf(path, ("-a", "-W"))
    assert report.stderr == "", f"readelf complains about {path}:\n{report.stderr}"
    assert "Warning" not in report.stdout and "Error" not in report.stdout, report.stdout
    seen: dict = {"segments": [], "sections": [], "symbols": {}, "relocations": []}
    with warnings.catch_warnings(), path.open("rb") as f:
        warnings.simplefilter("error")
        elf = ELFFile(f)
        seen["header"] = dict(elf.header)
        for segment in elf.iter_segments():
            segment.data()
            seen["segments"].append(dict(segment.header))
        for section in elf.iter_sections():
            section.data()
            seen["sections"].append(section.name)
            if isinstance(section, SymbolTableSection):
                for sym in section.iter_symbols():
                    if sym.name:
                        seen["symbols"][sym.name] = sym
            if isinstance(section, RelocationSection):
                symtab = elf.get_section(section["sh_link"])
                for rel in section.iter_relocations():
                    name = symtab.get_symbol(rel["r_info_sym"]).name
                    seen["relocations"].append(
                        (section.name, rel["r_offset"], rel["r_info_type"], name, rel["r_addend"])
                    )
    return seen
