"""Laying out an assembler's program: the items it holds, the passes that give every label its
address (short jumps grow to rel32 only when out of reach), and the final bytes of the
instructions that name labels (notebook 01).

Takes the items `Assembler` collected; gives label addresses, each label instruction's bytes
and the relocations for labels defined elsewhere. Sizes are known when an instruction is
emitted, so a pass is a walk over integers, never a re-encoding.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from jitkit.errors import EncodeError
from jitkit.x86.encoder import IMM_FORMAT, Encoding, encode_form, find_form
from jitkit.x86.operands import Mem
from jitkit.x86.table import FORMS

RELAXABLE = {"jmp"} | {m for m in FORMS if m.startswith("j")}
CACHE_LIMIT = 100_000


@dataclass(frozen=True)
class Relocation:
    """A field the linker fills in: `kind` as in the ELF x86-64 psABI, e.g. R_X86_64_PC32
    (S + A - P, 32-bit), R_X86_64_PLT32 (L + A - P) or R_X86_64_64 (S + A, 64-bit)."""

    offset: int
    kind: str
    symbol: str
    addend: int


# Placeholder encodings of instructions with label operands, keyed the same way with each
# label replaced by a placeholder, and the label kind: the form, the size, where the field is.
_TEMPLATES: dict[tuple, Encoding] = {}


def clear_caches() -> None:
    """Forget the placeholder encodings (see `assembler.clear_caches`)."""
    _TEMPLATES.clear()


# --- items of a program ---------------------------------------------------------------------


class Instruction:
    """An instruction that names a label, as emitted: its placeholder encoding (`short`, and
    `far` for a relaxable jump) whose bytes differ from the final ones only in the label's
    field. (A label-free instruction is kept as its final Encoding.)"""

    __slots__ = ("mnemonic", "operands", "long", "short", "far", "target")

    def __init__(
        self,
        mnemonic: str,
        operands: tuple,
        long: bool = False,
        short: Encoding | None = None,
        far: Encoding | None = None,
        target: str | None = None,
    ) -> None:
        self.mnemonic = mnemonic
        self.operands = operands
        self.long = long  # for relaxable jumps: rel32 instead of rel8
        self.short = short
        self.far = far
        self.target = target  # the label of a relaxable jump

    @property
    def template(self) -> Encoding:
        return self.far if self.long else self.short  # type: ignore[return-value]


@dataclass
class Data:
    data: bytes
    symbol: str | None = None  # for `quad(label)`: an absolute 64-bit address


@dataclass
class Align:
    boundary: int
    fill: int


# --- layout passes --------------------------------------------------------------------------


def layout(program: list, base: int) -> dict[str, int]:
    """Every label's address with the jumps' current sizes."""
    labels: dict[str, int] = {}
    offset = base
    for entry in program:
        kind = type(entry)
        if kind is int:
            offset += entry
        elif kind is str:
            labels[entry] = offset
        elif kind is Align:
            offset += -offset % entry.boundary
        else:
            offset += len((entry.far if entry.long else entry.short).data)
    return labels


def grow(program: list, labels: dict[str, int], base: int) -> bool:
    """One relaxation pass: a short jump whose target, at the addresses of `labels`, is out of
    rel8 range from where the jump now ends becomes long; later offsets count the growth."""
    grown = False
    offset = base
    for entry in program:
        kind = type(entry)
        if kind is int:
            offset += entry
        elif kind is Instruction:
            if not entry.long:
                end = offset + len(entry.short.data)
                if not -128 <= labels[entry.target] - end <= 127:
                    entry.long = grown = True
            offset += len((entry.far if entry.long else entry.short).data)
        elif kind is Align:
            offset += -offset % entry.boundary
    return grown


# --- one instruction with labels --------------------------------------------------------------


def label_kind(item: Instruction) -> str | None:
    """How a label operand is encoded: relative in jumps and calls, absolute elsewhere;
    None when the only labels are in memory operands ([rip + label], a disp32)."""
    if not any(type(op) is str for op in item.operands):
        return None
    if item.mnemonic in RELAXABLE:
        return "rel32" if item.long else "rel8"
    if item.mnemonic == "call":
        return "rel32"
    return "imm64"


def placeholders(operands: tuple) -> tuple:
    """The operands with every label replaced by a value of the same encoded size."""
    return tuple(
        0
        if type(op) is str
        else op._replace(disp=0)
        if type(op) is Mem and op.label is not None
        else op
        for op in operands
    )


def template(item: Instruction, label_kind: str | None) -> Encoding:
    """The encoding with placeholder labels: the form and the layout of the final bytes."""
    ops = placeholders(item.operands)
    key = (item.mnemonic, label_kind, ops, tuple(map(type, ops)))
    enc = _TEMPLATES.get(key)
    if enc is None:
        enc = encode_form(label_form(item.mnemonic, label_kind, ops), ops)
        if len(_TEMPLATES) > CACHE_LIMIT:
            _TEMPLATES.clear()
        _TEMPLATES[key] = enc
    return enc


def label_form(mnemonic: str, label_kind: str | None, ops: tuple):
    if label_kind is None:
        return find_form(mnemonic, ops)
    name = "movabs" if mnemonic == "mov" else mnemonic
    for form in FORMS.get(name, []):
        if label_kind in form.operands and len(form.operands) == len(ops):
            return form
    raise EncodeError(f"{mnemonic} cannot take a label operand")


def resolve(item: Instruction, enc: Encoding, labels: dict[str, int], offset: int) -> bytes:
    """The final bytes: the template's, with each defined label's value written into its
    field (an immediate or relative offset ends the instruction; a disp32 is at disp_offset).
    Undefined labels keep the placeholder 0 for the relocation to fill."""
    data = enc.data
    end = offset + len(data)
    for op in item.operands:
        if type(op) is str:
            if op not in labels:
                continue
            at = enc.imm_offset
            size = len(data) - at
            value = labels[op] - end if enc.form.immediates[-1] in ("cb", "cd") else labels[op]
            value %= 2 ** (8 * size)  # the field's bits, as encode_form writes them
            if value >= 2 ** (8 * size - 1):
                value -= 2 ** (8 * size)
            data = data[:at] + struct.pack(IMM_FORMAT[size], value)
        elif isinstance(op, Mem) and op.label is not None and op.label in labels:
            disp = labels[op.label] - end
            if not -(2**31) <= disp < 2**31:
                raise EncodeError(f"displacement {disp} does not fit in 32 bits")
            at = enc.disp_offset
            data = data[:at] + struct.pack("<i", disp) + data[at + 4 :]
    return data


def label_relocations(
    item: Instruction, enc: Encoding, labels: dict, offset: int, externals: bool
) -> list[Relocation]:
    out = []
    for op in item.operands:
        if isinstance(op, str) and op not in labels:
            need_external(op, externals)
            if enc.form.immediates[-1] == "io":
                out.append(Relocation(offset + enc.imm_offset, "R_X86_64_64", op, 0))
            else:
                addend = enc.imm_offset - len(enc.data)
                out.append(Relocation(offset + enc.imm_offset, "R_X86_64_PLT32", op, addend))
        elif isinstance(op, Mem) and op.label is not None and op.label not in labels:
            need_external(op.label, externals)
            addend = enc.disp_offset - len(enc.data)
            out.append(Relocation(offset + enc.disp_offset, "R_X86_64_PC32", op.label, addend))
    return out


def need_external(name: str, externals: bool) -> None:
    if not externals:
        raise EncodeError(
            f"undefined label {name!r} (assemble(externals=True) makes it a relocation)"
        )
