"""A tiny static linker: assembled code and data → a runnable executable (notebook 02).

Takes a text `Assembler` (instructions) and an optional data `Assembler` (read+write bytes);
gives an `executable.Image` with the text in a read+execute segment and the data in a
read+write one. Each side refers to the other's labels by name; the assembler turns such
references into relocations and `relocate` fills them in with the psABI formulas, exactly
what `ld` does for the same relocation types.
"""

from __future__ import annotations

import struct

from jitkit.elf.executable import RW, RX, Image, Segment, build, place
from jitkit.errors import JitkitError
from jitkit.x86 import Assembler, Relocation


class LinkError(JitkitError):
    """A symbol nobody defines, or a value that does not fit its relocation field."""


def relocate(
    data: bytes, relocations: list[Relocation], symbols: dict[str, int], address: int
) -> bytes:
    """`data` (loaded at `address`) with every relocation field filled in.

    R_X86_64_64: S + A as 64 bits; R_X86_64_PC32 and R_X86_64_PLT32: S + A - P as signed
    32 bits (with no PLT in a static link, L = S).
    """
    out = bytearray(data)
    for r in relocations:
        if r.symbol not in symbols:
            raise LinkError(f"undefined symbol {r.symbol!r} (referenced at offset {r.offset:#x})")
        s, a, p = symbols[r.symbol], r.addend, address + r.offset
        if r.kind == "R_X86_64_64":
            struct.pack_into("<Q", out, r.offset, (s + a) % 2**64)
        elif r.kind in ("R_X86_64_PC32", "R_X86_64_PLT32"):
            value = s + a - p
            if not -(2**31) <= value < 2**31:
                raise LinkError(f"{r.symbol!r} is out of 32-bit reach from {p:#x}")
            struct.pack_into("<i", out, r.offset, value)
        else:
            raise LinkError(f"relocation type {r.kind} is not supported")
    return bytes(out)


def link(text: Assembler, data: Assembler | None = None, entry: str = "_start") -> Image:
    """An executable image: text at the first segment's address, data on the next page."""
    count = 1 if data is None else 2
    text_address = place([Segment(b"")] * count)[0].address
    code = text.assemble(base=text_address, externals=True)
    segments = [Segment(code.bytes, RX, name=".text")]
    symbols = {name: text_address + off for name, off in code.labels.items()}
    pieces = [(code, 0)]
    if data is not None:
        data_address = place([segments[0], Segment(b"")])[1].address
        blob = data.assemble(base=data_address, externals=True)
        symbols.update({name: data_address + off for name, off in blob.labels.items()})
        segments.append(Segment(blob.bytes, RW, name=".data"))
        pieces.append((blob, 1))
    if entry not in code.labels:
        raise LinkError(f"entry symbol {entry!r} is not defined in the text")
    placed = place(segments)
    final = [
        Segment(relocate(c.bytes, c.relocations, symbols, placed[i].address), s.flags, None, s.name)
        for (c, i), s in zip(pieces, segments, strict=True)
    ]
    return build(final, symbols[entry])
