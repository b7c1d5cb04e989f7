"""The assembler as it was before issue 18 made it faster (commit 4fa89f5), kept only as
the reference the fast one must match byte for byte (tests/x86/test_same_bytes.py).
Its layout re-encodes instructions in every relaxation pass; do not use it elsewhere."""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from jitkit.errors import EncodeError
from jitkit.x86.assembler import Code, Line, Relocation
from jitkit.x86.operands import Mem, Reg
from jitkit.x86.table import FORMS
from tests.x86.encoder_before import (
    Encoding,
    canonical_mnemonic,
    encode_form,
    find_form,
)

Operand = Reg | Mem | int | str
RELAXABLE = {"jmp"} | {m for m in FORMS if m.startswith("j")}


# Encodings of label-free instructions, shared by every Assembler (JITs repeat templates).
_ENCODED: dict[tuple, Encoding] = {}


# --- items of a program ---------------------------------------------------------------------


@dataclass
class _Instruction:
    mnemonic: str
    operands: tuple[Operand, ...]
    long: bool = False  # for relaxable jumps: rel32 instead of rel8
    # Encodings that do not depend on where labels land, made once: the final bytes of an
    # instruction without label operands, the size of one with them (per label kind).
    fixed: Encoding | None = None
    sizes: dict[str | None, int] = field(default_factory=dict)


@dataclass
class _Label:
    name: str


@dataclass
class _Data:
    data: bytes
    symbol: str | None = None  # for `quad(label)`: an absolute 64-bit address


@dataclass
class _Align:
    boundary: int
    fill: int


@dataclass
class Assembler:
    """Collects instructions and labels; `assemble()` lays them out and resolves labels."""

    items: list = field(default_factory=list)
    defined: set[str] = field(default_factory=set)  # label names, to catch a second definition

    # --- building ---------------------------------------------------------------------------

    def emit(self, mnemonic: str, *operands: Operand) -> Assembler:
        """Append one instruction, checked now so an error points at the line that wrote it."""
        mnemonic = canonical_mnemonic(mnemonic)
        item = _Instruction(mnemonic, operands)
        if any(isinstance(op, str) or getattr(op, "label", None) for op in operands):
            self._encode(item, {}, 0, check_only=True)
        else:  # the same instruction always has the same bytes: encode each one once
            key = (mnemonic, operands, tuple(map(type, operands)))
            item.fixed = _ENCODED.get(key) or self._encode(item, {}, 0, check_only=True)
            if len(_ENCODED) > 100_000:
                _ENCODED.clear()
            _ENCODED[key] = item.fixed
        self.items.append(item)
        return self

    def __getattr__(self, name: str):
        mnemonic = name.removesuffix("_")  # a.and_(...), a.or_(...), a.not_(...): keywords
        if canonical_mnemonic(mnemonic) in FORMS:
            return lambda *operands: self.emit(mnemonic, *operands)
        raise AttributeError(f"{type(self).__name__!r} has no attribute or instruction {name!r}")

    def label(self, name: str) -> Assembler:
        if name in self.defined:
            raise EncodeError(f"label {name!r} is defined twice")
        self.defined.add(name)
        self.items.append(_Label(name))
        return self

    def data(self, data: bytes, label: str | None = None) -> Assembler:
        """Raw bytes (a string, a table), optionally labelled."""
        if label is not None:
            self.label(label)
        self.items.append(_Data(bytes(data)))
        return self

    def quad(self, value: int | str) -> Assembler:
        """A 64-bit word: a number, or the absolute address of a label."""
        if isinstance(value, str):
            self.items.append(_Data(bytes(8), symbol=value))
        else:
            self.items.append(_Data(struct.pack("<Q", value % 2**64)))
        return self

    def align(self, boundary: int, fill: int = 0x90) -> Assembler:
        """Pad with `fill` (nop) up to a multiple of `boundary` bytes."""
        self.items.append(_Align(boundary, fill))
        return self

    # --- laying out -------------------------------------------------------------------------

    def assemble(self, base: int = 0, externals: bool = False) -> Code:
        """Bytes with every label resolved. Jumps start short and grow to rel32 only when
        their target is out of rel8 range, repeated until nothing grows (as GNU as does).
        With `externals=True` undefined labels become relocations instead of errors."""
        defined = self.defined
        for item in self.items:
            if isinstance(item, _Instruction) and item.mnemonic in RELAXABLE:
                target = next((op for op in item.operands if isinstance(op, str)), None)
                if target is not None and target not in defined:
                    item.long = True
        while True:
            labels = self._layout(base)
            grown = False
            for item, offset in self._offsets(labels, base):
                if isinstance(item, _Instruction) and item.mnemonic in RELAXABLE and not item.long:
                    target = item.operands[0]
                    if isinstance(target, str):
                        end = offset + len(self._encode(item, labels, offset).data)
                        if not -128 <= labels[target] - end <= 127:
                            item.long, grown = True, True
            if not grown:
                break
        return self._emit_all(labels, base, externals)

    def _offsets(self, labels: dict[str, int], base: int):
        offset = base
        for item in self.items:
            yield item, offset
            offset += self._size(item, labels, offset)

    def _layout(self, base: int) -> dict[str, int]:
        labels: dict[str, int] = {}
        offset = base
        for item in self.items:
            if isinstance(item, _Label):
                labels[item.name] = offset
            offset += self._size(item, labels, offset)
        return labels

    def _size(self, item, labels: dict[str, int], offset: int) -> int:
        if isinstance(item, _Instruction):
            if item.fixed is not None:
                return len(item.fixed.data)
            kind = item.long if item.mnemonic in RELAXABLE else None
            if kind not in item.sizes:
                item.sizes[kind] = len(self._encode(item, labels, offset, check_only=True).data)
            return item.sizes[kind]
        if isinstance(item, _Data):
            return len(item.data)
        if isinstance(item, _Align):
            return -offset % item.boundary
        return 0

    def _emit_all(self, labels: dict[str, int], base: int, externals: bool) -> Code:
        out = bytearray()
        lines: list[Line] = []
        relocations: list[Relocation] = []
        pending_label: str | None = None
        for item, offset in self._offsets(labels, base):
            if isinstance(item, _Label):
                if pending_label is not None:
                    lines.append(Line(offset - base, b"", "", pending_label))
                pending_label = item.name
                continue
            if isinstance(item, _Instruction):
                enc = self._encode(item, labels, offset)
                data, text = enc.data, (enc.form, item.operands)  # labels print by name
                relocations += self._relocations(item, enc, labels, offset - base, externals)
            elif isinstance(item, _Data):
                data, text = (
                    item.data,
                    f".byte {item.data[:8].hex(' ')}" + ("..." if len(item.data) > 8 else ""),
                )
                if item.symbol is not None:
                    text = f".quad {item.symbol}"
                    if item.symbol in labels:
                        data = struct.pack("<Q", labels[item.symbol])
                    else:
                        self._need_external(item.symbol, externals)
                        relocations.append(Relocation(offset - base, "R_X86_64_64", item.symbol, 0))
            else:
                data = bytes([item.fill]) * (-offset % item.boundary)
                text = f".align {item.boundary}" if data else ""
            out += data
            lines.append(Line(offset - base, data, text, pending_label))
            pending_label = None
        if pending_label is not None:
            lines.append(Line(len(out), b"", "", pending_label))
        local = {name: value - base for name, value in labels.items()}
        return Code(bytes(out), local, relocations, lines, base)

    # --- one instruction --------------------------------------------------------------------

    def _encode(
        self, item: _Instruction, labels: dict[str, int], offset: int, check_only: bool = False
    ) -> Encoding:
        """Encode with every label replaced by its value (or a placeholder of the right size)."""
        if item.fixed is not None:
            return item.fixed
        ops = list(item.operands)
        kind = None
        for i, op in enumerate(ops):
            if isinstance(op, str):
                kind = self._label_kind(item)
                ops[i] = 0
            elif isinstance(op, Mem) and op.label is not None:
                ops[i] = op._replace(disp=0)
        form = self._form(item, kind, tuple(ops))
        enc = encode_form(form, tuple(ops))
        if check_only:
            return enc
        end = offset + len(enc.data)
        for i, op in enumerate(item.operands):
            target = op if isinstance(op, str) else getattr(op, "label", None)
            if target is None or target not in labels:
                continue
            if isinstance(op, Mem):
                ops[i] = op._replace(disp=labels[target] - end)
            else:
                ops[i] = labels[target] - end if kind.startswith("rel") else labels[target]
        return encode_form(form, tuple(ops))

    def _label_kind(self, item: _Instruction) -> str:
        if item.mnemonic in RELAXABLE:
            return "rel32" if item.long else "rel8"
        if item.mnemonic == "call":
            return "rel32"
        return "imm64"

    @staticmethod
    def _form(item: _Instruction, label_kind: str | None, ops: tuple):
        if label_kind is None:
            return find_form(item.mnemonic, ops)
        mnemonic = "movabs" if item.mnemonic == "mov" else item.mnemonic
        for form in FORMS.get(mnemonic, []):
            if label_kind in form.operands and len(form.operands) == len(ops):
                return form
        raise EncodeError(f"{item.mnemonic} cannot take a label operand")

    def _relocations(
        self, item: _Instruction, enc: Encoding, labels: dict, offset: int, externals: bool
    ) -> list[Relocation]:
        out = []
        for op in item.operands:
            if isinstance(op, str) and op not in labels:
                self._need_external(op, externals)
                if enc.form.immediates[-1] == "io":
                    out.append(Relocation(offset + enc.imm_offset, "R_X86_64_64", op, 0))
                else:
                    addend = enc.imm_offset - len(enc.data)
                    out.append(Relocation(offset + enc.imm_offset, "R_X86_64_PLT32", op, addend))
            elif isinstance(op, Mem) and op.label is not None and op.label not in labels:
                self._need_external(op.label, externals)
                addend = enc.disp_offset - len(enc.data)
                out.append(Relocation(offset + enc.disp_offset, "R_X86_64_PC32", op.label, addend))
        return out

    @staticmethod
    def _need_external(name: str, externals: bool) -> None:
        if not externals:
            raise EncodeError(
                f"undefined label {name!r} (assemble(externals=True) makes it a relocation)"
            )
