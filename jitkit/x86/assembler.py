"""An assembler over the encoder: labels, short jumps where they fit, data, relocations
(notebook 01).

Takes instructions as method calls (`a.mov(rax, 1)`, `a.jne("loop")`, `a.lea(rsi,
mem(label="msg"))`); gives a `Code`: the bytes, label offsets, relocations for labels
defined elsewhere (the ELF writer turns them into `.rela.text`), and a listing.
A string operand is a label: relative in jumps and calls, absolute (imm64) elsewhere.
"""

from __future__ import annotations

import keyword
import struct
from dataclasses import dataclass, field, replace

from jitkit.errors import EncodeError
from jitkit.x86.encoder import (
    IMM_FORMAT,
    Encoding,
    canonical_mnemonic,
    encode_form,
    find_form,
    format_instruction,
)
from jitkit.x86.operands import Mem, Reg
from jitkit.x86.table import ALIASES, FORMS

Operand = Reg | Mem | int | str
RELAXABLE = {"jmp"} | {m for m in FORMS if m.startswith("j")}


@dataclass(frozen=True)
class Relocation:
    """A field the linker fills in: `kind` as in the ELF x86-64 psABI, e.g. R_X86_64_PC32
    (S + A - P, 32-bit), R_X86_64_PLT32 (L + A - P) or R_X86_64_64 (S + A, 64-bit)."""

    offset: int
    kind: str
    symbol: str
    addend: int


class Line:
    """One row of a listing: where, which bytes, what text, and a label defined there.
    An instruction's text is written when first read (`spelled` holds what it needs):
    compiling needs only the bytes, and the text cost a fifth of a small JIT compile.
    A plain class with slots: a compile makes one per instruction, a dataclass cost 1 µs."""

    __slots__ = ("offset", "data", "spelled", "label")

    def __init__(self, offset: int, data: bytes, spelled: str | tuple, label: str | None = None):
        self.offset = offset
        self.data = data
        self.spelled = spelled
        self.label = label

    @property
    def text(self) -> str:
        if isinstance(self.spelled, tuple):
            self.spelled = format_instruction(*self.spelled)
        return self.spelled  # type: ignore[return-value]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Line):
            return NotImplemented
        return self._row() == other._row()

    def _row(self) -> tuple:
        return self.offset, self.data, self.text, self.label

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Line(offset={self.offset!r}, data={self.data!r}, label={self.label!r})"


@dataclass
class Code:
    """Assembled machine code: bytes, label offsets, unresolved relocations, listing rows."""

    bytes: bytes
    labels: dict[str, int]
    relocations: list[Relocation]
    lines: list[Line]
    base: int = 0

    def __len__(self) -> int:
        return len(self.bytes)

    def listing(self) -> str:
        """offset, bytes, Intel text; label lines in between, like an assembler's -l output."""
        out = []
        for line in self.lines:
            if line.label is not None:
                out.append(f"{line.label}:")
            if line.data or line.text:
                hexbytes = " ".join(f"{b:02x}" for b in line.data)
                out.append(f"  {self.base + line.offset:04x}  {hexbytes:<30} {line.text}")
        return "\n".join(out)

    def source(self) -> str:
        """Intel assembly text with labels, as keystone or GNU as (intel_syntax) would read it."""
        out = []
        for line in self.lines:
            if line.label is not None:
                out.append(f"{line.label}:")
            if line.text and not line.text.startswith("."):
                out.append(f"    {line.text}")
        return "\n".join(out)


# Encodings of label-free instructions, shared by every Assembler (JITs repeat templates):
# (mnemonic as written, operands, their types) -> (canonical mnemonic, Encoding).
_ENCODED: dict[tuple, tuple[str, Encoding]] = {}
# Placeholder encodings of instructions with label operands, keyed the same way with each
# label replaced by a placeholder, and the label kind: the form, the size, where the field is.
_TEMPLATES: dict[tuple, Encoding] = {}
_CACHE_LIMIT = 100_000


# --- items of a program ---------------------------------------------------------------------


class _Instruction:
    """An instruction as emitted. One without labels keeps its final `fixed` encoding; one
    with labels keeps the placeholder encoding (`short`, and `far` for a relaxable jump)
    whose bytes differ from the final ones only in the label's field."""

    __slots__ = ("mnemonic", "operands", "long", "fixed", "short", "far", "target")

    def __init__(self, mnemonic: str, operands: tuple, fixed: Encoding | None = None) -> None:
        self.mnemonic = mnemonic
        self.operands = operands
        self.long = False  # for relaxable jumps: rel32 instead of rel8
        self.fixed = fixed
        self.short: Encoding | None = None
        self.far: Encoding | None = None
        self.target: str | None = None  # the label of a relaxable jump

    @property
    def template(self) -> Encoding:
        return self.far if self.long else self.short  # type: ignore[return-value]


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


def _has_label(operands: tuple) -> bool:
    for op in operands:
        if type(op) is str or getattr(op, "label", None):
            return True
    return False


@dataclass
class Assembler:
    """Collects instructions and labels; `assemble()` lays them out and resolves labels."""

    items: list = field(default_factory=list)
    defined: set[str] = field(default_factory=set)  # label names, to catch a second definition

    # --- building ---------------------------------------------------------------------------

    def emit(self, mnemonic: str, *operands: Operand) -> Assembler:
        """Append one instruction, checked now so an error points at the line that wrote it."""
        key = (mnemonic, operands, tuple(map(type, operands)))
        try:
            hit = _ENCODED.get(key)
        except TypeError:  # an unhashable operand: not one an instruction can take
            kinds = ", ".join(type(op).__name__ for op in operands)
            raise EncodeError(
                f"{mnemonic} takes registers, memory operands, integers and labels, not ({kinds})"
            ) from None
        if hit is None:
            canonical = canonical_mnemonic(mnemonic)
            if _has_label(operands):
                self.items.append(self._with_labels(canonical, operands))
                return self
            # the same instruction always has the same bytes: encode each one once
            fixed = encode_form(find_form(canonical, operands), operands)
            if len(_ENCODED) > _CACHE_LIMIT:
                _ENCODED.clear()
            _ENCODED[key] = canonical, fixed
        else:
            canonical, fixed = hit
        self.items.append(_Instruction(canonical, operands, fixed))
        return self

    def _with_labels(self, mnemonic: str, operands: tuple) -> _Instruction:
        item = _Instruction(mnemonic, operands)
        relaxable = mnemonic in RELAXABLE and type(operands[0]) is str
        if relaxable:
            item.target = operands[0]
            item.far = _template(item, "rel32")
        item.short = _template(item, _label_kind(item))
        return item

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
        program = self._program()
        while True:
            labels = _layout(program, base)
            if not _grow(program, labels, base):
                break
        return self._emit_all(labels, base, externals)

    def _program(self) -> list:
        """The items as the layout passes see them: an int for a run of bytes whose size is
        known, a str for a label, an _Align, or the _Instruction of a relaxable jump."""
        defined = self.defined
        program: list = []
        run = 0
        for item in self.items:
            kind = type(item)
            if kind is _Instruction:
                if item.fixed is not None:
                    run += len(item.fixed.data)
                    continue
                if item.target is None:
                    run += len(item.short.data)
                    continue
                if item.target not in defined:
                    item.long = True
            elif kind is _Data:
                run += len(item.data)
                continue
            if run:
                program.append(run)
                run = 0
            program.append(item.name if kind is _Label else item)
        if run:
            program.append(run)
        return program

    def _emit_all(self, labels: dict[str, int], base: int, externals: bool) -> Code:
        out = bytearray()
        lines: list[Line] = []
        relocations: list[Relocation] = []
        pending_label: str | None = None
        offset = base
        for item in self.items:
            kind = type(item)
            if kind is _Label:
                if pending_label is not None:
                    lines.append(Line(offset - base, b"", "", pending_label))
                pending_label = item.name
                continue
            if kind is _Instruction:
                enc = item.fixed
                if enc is not None:
                    data = enc.data
                else:
                    enc = item.template
                    data = _resolve(item, enc, labels, offset)
                    relocations += _relocations(item, enc, labels, offset - base, externals)
                text = (enc.form, item.operands)  # labels print by name
            elif kind is _Data:
                data, text = (
                    item.data,
                    f".byte {item.data[:8].hex(' ')}" + ("..." if len(item.data) > 8 else ""),
                )
                if item.symbol is not None:
                    text = f".quad {item.symbol}"
                    if item.symbol in labels:
                        data = struct.pack("<Q", labels[item.symbol])
                    else:
                        _need_external(item.symbol, externals)
                        relocations.append(Relocation(offset - base, "R_X86_64_64", item.symbol, 0))
            else:
                data = bytes([item.fill]) * (-offset % item.boundary)
                text = f".align {item.boundary}" if data else ""
            out += data
            lines.append(Line(offset - base, data, text, pending_label))
            offset += len(data)
            pending_label = None
        if pending_label is not None:
            lines.append(Line(len(out), b"", "", pending_label))
        local = {name: value - base for name, value in labels.items()}
        return Code(bytes(out), local, relocations, lines, base)


def _instruction_method(mnemonic: str):
    def method(self: Assembler, *operands: Operand) -> Assembler:
        return self.emit(mnemonic, *operands)

    method.__name__ = method.__qualname__ = mnemonic
    method.__doc__ = f"Emit `{mnemonic}` (see FORMS[{canonical_mnemonic(mnemonic)!r}])."
    return method


def _spellings() -> dict[str, str]:
    """Method name -> mnemonic for every instruction and condition alias: `a.jz(...)`, and
    `a.and_(...)` where the mnemonic is a Python keyword. A method is a plain attribute
    lookup; `__getattr__` made a new function on every instruction the JITs emit."""
    names = set(FORMS)
    for prefix in ("j", "set", "cmov"):
        names |= {prefix + alias for alias in ALIASES if prefix + ALIASES[alias] in FORMS}
    return {(name + "_" if keyword.iskeyword(name) else name): name for name in names}


for _name, _mnemonic in _spellings().items():
    if not hasattr(Assembler, _name):
        setattr(Assembler, _name, _instruction_method(_mnemonic))


# --- layout passes --------------------------------------------------------------------------


def _layout(program: list, base: int) -> dict[str, int]:
    """Every label's address with the jumps' current sizes."""
    labels: dict[str, int] = {}
    offset = base
    for entry in program:
        kind = type(entry)
        if kind is int:
            offset += entry
        elif kind is str:
            labels[entry] = offset
        elif kind is _Align:
            offset += -offset % entry.boundary
        else:
            offset += len((entry.far if entry.long else entry.short).data)
    return labels


def _grow(program: list, labels: dict[str, int], base: int) -> bool:
    """One relaxation pass: a short jump whose target, at the addresses of `labels`, is out of
    rel8 range from where the jump now ends becomes long; later offsets count the growth."""
    grown = False
    offset = base
    for entry in program:
        kind = type(entry)
        if kind is int:
            offset += entry
        elif kind is _Instruction:
            if not entry.long:
                end = offset + len(entry.short.data)
                if not -128 <= labels[entry.target] - end <= 127:
                    entry.long = grown = True
            offset += len((entry.far if entry.long else entry.short).data)
        elif kind is _Align:
            offset += -offset % entry.boundary
    return grown


# --- one instruction with labels --------------------------------------------------------------


def _label_kind(item: _Instruction) -> str | None:
    """How a label operand is encoded: relative in jumps and calls, absolute elsewhere;
    None when the only labels are in memory operands ([rip + label], a disp32)."""
    if not any(type(op) is str for op in item.operands):
        return None
    if item.mnemonic in RELAXABLE:
        return "rel32" if item.long else "rel8"
    if item.mnemonic == "call":
        return "rel32"
    return "imm64"


def _placeholders(operands: tuple) -> tuple:
    """The operands with every label replaced by a value of the same encoded size."""
    return tuple(
        0
        if type(op) is str
        else replace(op, disp=0)
        if isinstance(op, Mem) and op.label is not None
        else op
        for op in operands
    )


def _template(item: _Instruction, label_kind: str | None) -> Encoding:
    """The encoding with placeholder labels: the form and the layout of the final bytes."""
    ops = _placeholders(item.operands)
    key = (item.mnemonic, label_kind, ops, tuple(map(type, ops)))
    enc = _TEMPLATES.get(key)
    if enc is None:
        enc = encode_form(_form(item.mnemonic, label_kind, ops), ops)
        if len(_TEMPLATES) > _CACHE_LIMIT:
            _TEMPLATES.clear()
        _TEMPLATES[key] = enc
    return enc


def _form(mnemonic: str, label_kind: str | None, ops: tuple):
    if label_kind is None:
        return find_form(mnemonic, ops)
    name = "movabs" if mnemonic == "mov" else mnemonic
    for form in FORMS.get(name, []):
        if label_kind in form.operands and len(form.operands) == len(ops):
            return form
    raise EncodeError(f"{mnemonic} cannot take a label operand")


def _resolve(item: _Instruction, enc: Encoding, labels: dict[str, int], offset: int) -> bytes:
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


def _relocations(
    item: _Instruction, enc: Encoding, labels: dict, offset: int, externals: bool
) -> list[Relocation]:
    out = []
    for op in item.operands:
        if isinstance(op, str) and op not in labels:
            _need_external(op, externals)
            if enc.form.immediates[-1] == "io":
                out.append(Relocation(offset + enc.imm_offset, "R_X86_64_64", op, 0))
            else:
                addend = enc.imm_offset - len(enc.data)
                out.append(Relocation(offset + enc.imm_offset, "R_X86_64_PLT32", op, addend))
        elif isinstance(op, Mem) and op.label is not None and op.label not in labels:
            _need_external(op.label, externals)
            addend = enc.disp_offset - len(enc.data)
            out.append(Relocation(offset + enc.disp_offset, "R_X86_64_PC32", op.label, addend))
    return out


def _need_external(name: str, externals: bool) -> None:
    if not externals:
        raise EncodeError(
            f"undefined label {name!r} (assemble(externals=True) makes it a relocation)"
        )
