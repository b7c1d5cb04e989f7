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
from dataclasses import dataclass, field

from jitkit.errors import EncodeError
from jitkit.x86.encoder import (
    Encoding,
    canonical_mnemonic,
    encode_form,
    find_form,
    format_instruction,
)
from jitkit.x86.encoder import clear_caches as clear_encoder_caches
from jitkit.x86.layout import (
    CACHE_LIMIT,
    RELAXABLE,
    Align,
    Data,
    Instruction,
    Relocation,
    grow,
    label_kind,
    label_relocations,
    layout,
    need_external,
    resolve,
    template,
)
from jitkit.x86.layout import clear_caches as clear_layout_caches
from jitkit.x86.operands import Mem, Reg
from jitkit.x86.table import ALIASES, FORMS

Operand = Reg | Mem | int | str
__all__ = ["Assembler", "Code", "Line", "Relocation"]


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


class Code:
    """Assembled machine code: bytes, label offsets, unresolved relocations, listing rows.
    `lines` may be given as (items, resolved bytes) and is then built when first read:
    compiling needs only the bytes, and a Line per instruction cost a fifth of assembling."""

    def __init__(
        self,
        bytes: bytes,
        labels: dict[str, int],
        relocations: list[Relocation],
        lines: list[Line] | tuple[list, list[bytes]],
        base: int = 0,
    ) -> None:
        self.bytes = bytes
        self.labels = labels
        self.relocations = relocations
        self._lines = lines
        self.base = base

    @property
    def lines(self) -> list[Line]:
        if isinstance(self._lines, tuple):
            self._lines = listing_lines(*self._lines)
        return self._lines

    def __len__(self) -> int:
        return len(self.bytes)

    def __repr__(self) -> str:
        return f"Code({len(self.bytes)} bytes, {len(self.labels)} labels, base={self.base:#x})"

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
# mnemonic as written -> {operands: (Encoding, positions of integer operands)}. Keyed by the
# operands alone (no key tuple to build); an integer's position is checked on a hit, since
# True and 1.0 equal 1 and must not reuse its encoding.
_ENCODED: dict[str, dict[tuple, tuple[Encoding, tuple[int, ...]]]] = {}
_REL8, _REL32 = struct.Struct("<b").pack, struct.Struct("<i").pack
# A relaxable jump to a label: its short and far placeholder encodings, by mnemonic.
_JUMPS: dict[str, tuple[Encoding, Encoding]] = {}


def _has_label(operands: tuple) -> bool:
    for op in operands:
        if type(op) is str or (type(op) is Mem and op.label):
            return True
    return False


def clear_caches() -> None:
    """Forget every encoding met so far (a benchmark's cold start; memory after huge runs)."""
    for cache in _ENCODED.values():
        cache.clear()
    _JUMPS.clear()
    clear_layout_caches()
    clear_encoder_caches()


@dataclass
class Assembler:
    """Collects instructions and labels; `assemble()` lays them out and resolves labels.
    `items` holds an Encoding per label-free instruction, an Instruction per instruction
    that names a label, a str per label definition, Data and Align."""

    items: list = field(default_factory=list)
    defined: set[str] = field(default_factory=set)  # label names, to catch a second definition

    # --- building ---------------------------------------------------------------------------

    def emit(self, mnemonic: str, *operands: Operand) -> Assembler:
        """Append one instruction, checked now so an error points at the line that wrote it."""
        cache = _ENCODED.get(mnemonic)
        if cache is None:
            cache = _ENCODED.setdefault(mnemonic, {})
        try:
            hit = cache.get(operands)
        except TypeError:  # an unhashable operand: not one an instruction can take
            kinds = ", ".join(type(op).__name__ for op in operands)
            raise EncodeError(
                f"{mnemonic} takes registers, memory operands, integers and labels, not ({kinds})"
            ) from None
        if hit is not None:
            enc, ints = hit
            for i in ints:
                if type(operands[i]) is not int:
                    break
            else:
                self.items.append(enc)
                return self
        return self._encode(mnemonic, operands, cache)

    def _encode(self, mnemonic: str, operands: tuple, cache: dict) -> Assembler:
        """An instruction not met before (or one with labels): find its row and encode it."""
        canonical = canonical_mnemonic(mnemonic)
        if _has_label(operands):
            self.items.append(self._with_labels(canonical, operands))
            return self
        # the same instruction always has the same bytes: encode each one once
        enc = encode_form(find_form(canonical, operands), operands)
        if len(cache) > CACHE_LIMIT // 2:
            cache.clear()
        cache[operands] = enc, tuple(i for i, op in enumerate(operands) if type(op) is int)
        self.items.append(enc)
        return self

    def _with_labels(self, mnemonic: str, operands: tuple) -> Instruction:
        if mnemonic in RELAXABLE and len(operands) == 1 and type(operands[0]) is str:
            jump = _JUMPS.get(mnemonic)
            if jump is None:
                item = Instruction(mnemonic, operands)
                jump = _JUMPS[mnemonic] = template(item, "rel8"), template(item, "rel32")
            return Instruction(mnemonic, operands, False, *jump, operands[0])
        item = Instruction(mnemonic, operands)
        item.short = template(item, label_kind(item))
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
        self.items.append(name)
        return self

    def data(self, data: bytes, label: str | None = None) -> Assembler:
        """Raw bytes (a string, a table), optionally labelled."""
        if label is not None:
            self.label(label)
        self.items.append(Data(bytes(data)))
        return self

    def quad(self, value: int | str) -> Assembler:
        """A 64-bit word: a number, or the absolute address of a label."""
        if isinstance(value, str):
            self.items.append(Data(bytes(8), symbol=value))
        else:
            self.items.append(Data(struct.pack("<Q", value % 2**64)))
        return self

    def align(self, boundary: int, fill: int = 0x90) -> Assembler:
        """Pad with `fill` (nop) up to a multiple of `boundary` bytes."""
        self.items.append(Align(boundary, fill))
        return self

    # --- laying out -------------------------------------------------------------------------

    def assemble(self, base: int = 0, externals: bool = False) -> Code:
        """Bytes with every label resolved. Jumps start short and grow to rel32 only when
        their target is out of rel8 range, repeated until nothing grows (as GNU as does).
        With `externals=True` undefined labels become relocations instead of errors."""
        program = self._program()
        while True:
            labels = layout(program, base)
            if not grow(program, labels, base):
                break
        return self._emit_all(labels, base, externals)

    def _program(self) -> list:
        """The items as the layout passes see them: an int for a run of bytes whose size is
        known, a str for a label, an Align, or the Instruction of a relaxable jump."""
        defined = self.defined
        program: list = []
        run = 0
        for item in self.items:
            kind = type(item)
            if kind is Encoding:
                run += len(item.data)
                continue
            if kind is Instruction:
                if item.target is None:
                    run += len(item.short.data)
                    continue
                if item.target not in defined:
                    item.long = True
            elif kind is Data:
                run += len(item.data)
                continue
            if run:
                program.append(run)
                run = 0
            program.append(item)
        if run:
            program.append(run)
        return program

    def _emit_all(self, labels: dict[str, int], base: int, externals: bool) -> Code:
        """The bytes and relocations; the listing is built only if someone reads it, from
        the items and the bytes of those whose bytes were computed here (`resolved`)."""
        out = bytearray()
        relocations: list[Relocation] = []
        resolved: list[bytes] = []
        for item in self.items:
            kind = type(item)
            if kind is Encoding:
                out += item.data
                continue
            if kind is str:
                continue
            offset = base + len(out)
            if kind is Instruction:
                target = item.target
                if target is not None and target in labels:  # most of them: a local jump
                    enc = item.far if item.long else item.short
                    data = enc.data
                    rel = labels[target] - offset - len(data)
                    data = data[: enc.imm_offset] + (_REL32 if item.long else _REL8)(rel)
                else:
                    enc = item.template
                    data = resolve(item, enc, labels, offset)
                    relocations += label_relocations(item, enc, labels, offset - base, externals)
            elif kind is Data:
                data = item.data
                if item.symbol is not None:
                    if item.symbol in labels:
                        data = struct.pack("<Q", labels[item.symbol])
                    else:
                        need_external(item.symbol, externals)
                        relocations.append(Relocation(offset - base, "R_X86_64_64", item.symbol, 0))
            else:
                data = bytes([item.fill]) * (-offset % item.boundary)
            out += data
            resolved.append(data)
        local = {name: value - base for name, value in labels.items()}
        return Code(bytes(out), local, relocations, (list(self.items), resolved), base)


def listing_lines(items: list, resolved: list[bytes]) -> list[Line]:
    """A Line per instruction, data and alignment (and per label not followed by one), with
    offsets from the start: the `items` an assembler laid out and the bytes it resolved."""
    lines: list[Line] = []
    pending_label: str | None = None
    offset = 0
    computed = iter(resolved)
    for item in items:
        kind = type(item)
        if kind is Encoding:
            data = item.data
            text: str | tuple = (item.form, item.operands)
        elif kind is str:
            if pending_label is not None:
                lines.append(Line(offset, b"", "", pending_label))
            pending_label = item
            continue
        elif kind is Instruction:
            data = next(computed)
            text = (item.template.form, item.operands)  # labels print by name
        elif kind is Data:
            data = next(computed)
            text = f".byte {item.data[:8].hex(' ')}" + ("..." if len(item.data) > 8 else "")
            if item.symbol is not None:
                text = f".quad {item.symbol}"
        else:
            data = next(computed)
            text = f".align {item.boundary}" if data else ""
        lines.append(Line(offset, data, text, pending_label))
        offset += len(data)
        pending_label = None
    if pending_label is not None:
        lines.append(Line(offset, b"", "", pending_label))
    return lines


def _instruction_method(mnemonic: str):
    """`a.mov(...)`: `emit` with this mnemonic's cache at hand (the hit path is the whole cost
    of most instructions a JIT emits)."""
    cache = _ENCODED.setdefault(mnemonic, {})

    def method(self: Assembler, *operands: Operand) -> Assembler:
        try:
            hit = cache.get(operands)
        except TypeError:
            return self.emit(mnemonic, *operands)  # says which operand is wrong
        if hit is not None:
            enc, ints = hit
            for i in ints:
                if type(operands[i]) is not int:
                    break
            else:
                self.items.append(enc)
                return self
        return self._encode(mnemonic, operands, cache)

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
