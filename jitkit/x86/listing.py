"""Machine code as a listing you can read: address, bytes, disassembly, labels (notebook 01).

Here, beside the encoder, because the tiers below the notebooks list their own code (the stack
tier, the front door's `machine_code`); `jitkit.display` re-exports it for the chapters.

Takes bytes, an assembled `jitkit.x86.Code` or a `NativeFunction`; gives records first
(`rows`: offset, bytes, text, label), then a text formatter and an HTML one. `show(...)`
returns a `Listing` that a notebook renders as a table and `print` renders as text.
Capstone, not our encoder, does the decoding, so the listing is an independent check.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any

from jitkit.x86.assembler import Line

Row = Line  # one listing row: offset, bytes, text, the label before it (the assembler's own)


# --- records -------------------------------------------------------------------------------


def _decode(data: bytes, start: int) -> list[tuple[int, bytes, str]]:
    """capstone's instructions in `data`; a byte it cannot decode becomes `.byte` and it
    resumes after it (data tables and padding sit between code)."""
    from jitkit.x86.oracles import capstone_disassemble  # loads capstone on first use

    out: list[tuple[int, bytes, str]] = []
    pos = 0
    while pos < len(data):
        for ins in capstone_disassemble(data[pos:], start + pos):
            out.append((ins.address - start, ins.data, ins.text))
            pos += len(ins.data)
        if pos < len(data):
            out.append((pos, data[pos : pos + 1], f".byte {data[pos]:#04x}"))
            pos += 1
    return out


def _bytes_of(code: Any) -> bytes:
    """bytes as they are, `Code.bytes`, or `NativeFunction.code`."""
    if isinstance(code, bytes | bytearray | memoryview):
        return bytes(code)
    for attribute in ("bytes", "code"):
        if hasattr(code, attribute):
            return bytes(getattr(code, attribute))
    raise TypeError(f"cannot list {type(code).__name__}: expected bytes, Code or NativeFunction")


def rows(code: Any, labels: dict[str, int] | None = None, base: int = 0) -> list[Row]:
    """Records for `code` as if loaded at `base`, decoded piece by piece between labels so a
    label never falls inside an instruction. A jump or call to a label names it, objdump-style
    (`jne 0x7 <loop>`); several labels at one offset each get their own row."""
    data = _bytes_of(code)
    if labels is None:
        labels = dict(getattr(code, "labels", {}) or {})
    by_offset: dict[int, list[str]] = {}
    for name, offset in sorted(labels.items(), key=lambda item: item[1]):
        by_offset.setdefault(offset, []).append(name)
    cuts = sorted({0, len(data), *(o for o in by_offset if 0 <= o <= len(data))})
    out: list[Row] = []
    for start, end in zip(cuts, cuts[1:] + [None], strict=True):
        names = by_offset.get(start, [])
        out += [Row(start, b"", "", name) for name in names[:-1]]
        decoded = _decode(data[start:end], base + start) if end is not None else []
        label = names[-1] if names else None
        if not decoded and label is not None:
            out.append(Row(start, b"", "", label))
        for i, (offset, chunk, text) in enumerate(decoded):
            text = _name_target(text, by_offset, base)
            out.append(Row(start + offset, chunk, text, label if i == 0 else None))
    return out


def _name_target(text: str, by_offset: dict[int, list[str]], base: int) -> str:
    mnemonic, _, operand = text.partition(" ")
    is_number = operand.startswith("0x") or operand.isdigit()
    if mnemonic.startswith(("j", "call", "loop")) and is_number:
        names = by_offset.get(int(operand, 0) - base)
        if names:
            return f"{text} <{names[-1]}>"
    return text


# --- formatting ----------------------------------------------------------------------------


def format_text(listing: list[Row], base: int = 0) -> str:
    """Fixed columns like an assembler's -l output; a label gets a line of its own."""
    width = 16 if base >= 1 << 16 else 4
    lines = []
    for row in listing:
        if row.label is not None:
            lines.append(f"{row.label}:")
        if row.data:
            hexbytes = " ".join(f"{b:02x}" for b in row.data)
            lines.append(f"  {base + row.offset:0{width}x}  {hexbytes:<30} {row.text}")
    return "\n".join(lines)


# a cell of the kit's HTML tables
STYLE = "font-family: monospace; text-align: left; padding: 0 1em 0 0"


def format_html(listing: list[Row], base: int = 0) -> str:
    """The same columns as an HTML table, labels as bold rows spanning the table."""
    width = 16 if base >= 1 << 16 else 4
    cells = ["address", "bytes", "instruction"]
    out = ['<table class="jitkit-listing">', "<thead><tr>"]
    out += [f'<th style="{STYLE}">{c}</th>' for c in cells]
    out.append("</tr></thead><tbody>")
    for row in listing:
        if row.label is not None:
            name = html.escape(row.label)
            out.append(f'<tr><td colspan="3" style="{STYLE}"><b>{name}:</b></td></tr>')
        if row.data:
            values = (
                f"{base + row.offset:0{width}x}",
                " ".join(f"{b:02x}" for b in row.data),
                row.text,
            )
            tds = "".join(f'<td style="{STYLE}">{html.escape(v)}</td>' for v in values)
            out.append(f"<tr>{tds}</tr>")
    out.append("</tbody></table>")
    return "".join(out)


@dataclass
class Listing:
    """Rows plus where they live: prints as text, renders as a table in Jupyter."""

    rows: list[Row]
    base: int = 0

    def __str__(self) -> str:
        return format_text(self.rows, self.base)

    __repr__ = __str__

    def _repr_html_(self) -> str:
        return format_html(self.rows, self.base)


def show(code: Any, labels: dict[str, int] | None = None, base: int | None = None) -> Listing:
    """A listing of bytes, a `Code` or a `NativeFunction` (whose address becomes the base)."""
    if base is None:
        base = getattr(code, "address", None) or getattr(code, "base", 0) or 0
    return Listing(rows(code, labels, base), base)
