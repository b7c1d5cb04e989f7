"""One generic routine that turns a table row and its operands into bytes (notebook 01).

Takes a mnemonic and operands (`encode("add", rax, qword(rbx, 8))`); gives the instruction's
bytes: legacy prefixes, REX, opcode, ModRM, SIB, displacement, immediate, in the order of the
Intel SDM vol. 2, figure 2-1. The x86 irregularities live in `address_bytes`, nowhere else.
"""

from __future__ import annotations

import struct
from typing import NamedTuple

from jitkit.errors import EncodeError
from jitkit.x86.operands import Mem, Reg
from jitkit.x86.table import ALIASES, FORMS, Form

Operand = Reg | Mem | int
IMM_SIZES = {"ib": 1, "iw": 2, "id": 4, "io": 8, "cb": 1, "cd": 4}
IMM_FORMAT = {1: "<b", 2: "<h", 4: "<i", 8: "<q"}
SHIFTS = ("shl", "shr", "sar")


class Encoding(NamedTuple):
    """An encoded instruction, with where its last immediate and any RIP displacement sit
    (the assembler patches those fields for labels and relocations). A named tuple: one is
    made per new instruction, and its dataclass constructor cost a microsecond."""

    form: Form
    operands: tuple[Operand, ...]
    data: bytes
    disp_offset: int | None  # offset of the rip-relative disp32, if any
    imm_offset: int | None  # offset of the last immediate / relative field, if any

    def text(self) -> str:
        """Intel syntax, as keystone reads it and capstone prints it."""
        return format_instruction(self.form, self.operands)


# --- matching operands to a row ---------------------------------------------------------------


def operand_bits(form: Form) -> int:
    """The operation size of a row, read off its first operand kind (8, 16, 32 or 64)."""
    for kind in form.operands:
        for bits, names in ((64, ("64", "rax")), (32, ("32", "eax")), (8, ("8", "al"))):
            if kind.endswith(names) and not kind.startswith(("imm", "rel")):
                return bits
    return 64


def matches(kind: str, op: Operand, form: Form) -> bool:
    """Whether operand `op` fits operand kind `kind` ("r/m64", "imm8", "xmm/m64", ...)."""
    if isinstance(op, bool):
        return False
    if isinstance(op, int):
        if form.mnemonic in SHIFTS and kind == "imm8":
            return 0 <= op <= 255  # a shift count is unsigned
        return _fits_immediate(kind, op, operand_bits(form))
    if kind == "1":
        return False
    if isinstance(op, Mem):
        if kind == "m":
            return True
        return "m" in kind.replace("mm", "") and kind.split("m")[-1] == str(op.bits)
    if op.kind == "xmm":
        return kind in ("xmm", "xmm/m64", "xmm/m128")
    if op.kind != "gpr":
        return False
    if kind in ("rax", "eax", "al", "cl"):
        return op.name == kind
    return kind in (f"r{op.bits}", f"r/m{op.bits}")


def _fits_immediate(kind: str, value: int, bits: int) -> bool:
    """Whether `value` fits the field; for 8- and 32-bit operations an unsigned spelling
    counts as its two's complement (`add eax, 0xffffffff` is `add eax, -1`, an imm8)."""
    if kind == "1":
        return value == 1
    if not kind.startswith(("imm", "rel")):
        return False
    if kind == "imm64":
        return -(2**63) <= value < 2**64
    if bits < 64:
        if not -(2 ** (bits - 1)) <= value < 2**bits:
            return False
        value = value - 2**bits if value >= 2 ** (bits - 1) else value
    field = 8 if kind in ("imm8", "rel8") else 32
    return -(2 ** (field - 1)) <= value < 2 ** (field - 1)


# Which row each operand shape selects, filled as shapes are met: (mnemonic, *shapes) -> Form.
# A shape is everything `matches` looks at, so the row found for one operand tuple is the row
# for every tuple of the same shapes (tests/x86/test_dispatch.py checks this against keystone).
_SHAPES: dict[tuple, Form] = {}
_INT_SHAPES: dict[int, tuple] = {}  # an integer's shape, by value (JITs reuse their constants)
_NAMED_KINDS = frozenset(("rax", "eax", "al", "cl"))  # operand kinds that name one register


def clear_caches() -> None:
    """Forget the rows found per shape (see `assembler.clear_caches`)."""
    _SHAPES.clear()
    _INT_SHAPES.clear()


def operand_shape(op: Operand) -> tuple | None:
    """What decides which rows `op` fits: a register's class, width and (for rax, eax, al,
    cl) name; a memory operand's width; for an integer, which immediate fields take it at
    each operation size. None for anything that is not an operand."""
    kind = type(op)
    if kind is Reg:
        return (op.kind, op.bits, op.name if op.name in _NAMED_KINDS else "")  # type: ignore[union-attr]
    if kind is Mem:
        return ("m", op.bits)  # type: ignore[union-attr]
    if kind is int:
        shape = _INT_SHAPES.get(op)
        if shape is None:
            shape = _INT_SHAPES[op] = int_shape(op)  # type: ignore[arg-type]
            if len(_INT_SHAPES) > 10_000:
                _INT_SHAPES.clear()
        return shape
    return None


def int_shape(value: int) -> tuple:
    """Which immediate fields take `value`, as `_fits_immediate` decides, at each operation
    size: an 8-bit operation takes -128..255 in either field, a 32-bit one reads 0xffffffff as
    -1, a 64-bit one takes what fits signed; imm64 takes any 64-bit pattern; a shift count is
    0..255 and `1` has rows of its own."""
    as32 = value - 2**32 if value >= 2**31 else value
    in32 = -(2**31) <= value < 2**32
    return (
        "i",
        value == 1,
        0 <= value <= 255,
        -128 <= value < 256,  # imm8 or imm32 of an 8-bit operation
        in32,  # imm32 of a 32-bit operation
        in32 and -128 <= as32 <= 127,  # imm8 of a 32-bit operation
        -128 <= value <= 127,  # imm8 of a 64-bit operation
        -(2**31) <= value < 2**31,  # imm32 of a 64-bit operation
        -(2**63) <= value < 2**64,  # imm64
    )


def find_form(mnemonic: str, operands: tuple[Operand, ...]) -> Form:
    """The first row of `mnemonic` whose operand kinds all match, or a clear EncodeError.
    Looked up by the operands' shapes; the rows are searched once per new shape."""
    key = (mnemonic, *map(operand_shape, operands))
    form = _SHAPES.get(key)
    if form is None:
        form = search_form(mnemonic, operands)
        if None not in key:
            _SHAPES[key] = form
    return form


def search_form(mnemonic: str, operands: tuple[Operand, ...]) -> Form:
    """The first row of `mnemonic` whose operand kinds all match, or a clear EncodeError."""
    forms = FORMS.get(canonical_mnemonic(mnemonic))
    if forms is None:
        raise EncodeError(f"unknown instruction {mnemonic!r}")
    for op in operands:
        if not isinstance(op, Reg | Mem | int):
            raise EncodeError(
                f"{mnemonic} takes registers, memory operands and integers, not {op!r}"
            )
    for form in forms:
        if len(form.operands) == len(operands) and all(
            matches(kind, op, form) for kind, op in zip(form.operands, operands, strict=True)
        ):
            return form
    given = ", ".join(_describe(op) for op in operands)
    known = "; ".join(f.syntax for f in forms)
    raise EncodeError(f"no form of {mnemonic!r} takes ({given}); known forms: {known}")


def canonical_mnemonic(mnemonic: str) -> str:
    """`jz` -> `je`, `setnae` -> `setb`: one name per condition code, as capstone prints."""
    return _CANONICAL.get(mnemonic, mnemonic)


_CANONICAL = {
    prefix + alias: prefix + name
    for prefix in ("j", "set", "cmov")
    for alias, name in ALIASES.items()
}


def _describe(op: Operand) -> str:
    if isinstance(op, Reg):
        return f"{op.name} ({op.bits}-bit {op.kind})"
    if isinstance(op, Mem):
        return f"{op} ({op.bits}-bit memory)"
    return f"immediate {op}"


# --- the irregular part: ModRM, SIB and displacement ---------------------------------------------


def address_bytes(reg_field: int, rm: Reg | Mem) -> tuple[bytes, int | None]:
    """ModRM (+ SIB + displacement) for `rm`; also the offset of a rip-relative disp32.

    The irregular cases of 64-bit addressing, all here:
    1. rm=100 (rsp, r12) as a base does not name a register: it announces a SIB byte,
       so those bases always get a SIB byte (with index=100, meaning "no index").
    2. mod=00 with rm=101 (rbp, r13) means [rip + disp32], so those bases need mod=01
       and an explicit zero disp8.
    3. No base at all: SIB with base=101 and mod=00 means [index*scale + disp32].
    4. [rip + disp32]: mod=00, rm=101, no SIB; disp is relative to the next instruction.
    """
    reg3 = (reg_field & 7) << 3
    if isinstance(rm, Reg):
        return bytes([0xC0 | reg3 | (rm.code & 7)]), None
    disp = rm.disp
    if rm.is_rip:  # case 4
        return bytes([0x05 | reg3]) + struct.pack("<i", disp), 1
    scale_bits = {1: 0, 2: 1, 4: 2, 8: 3}[rm.scale] << 6
    index3 = (rm.index.code & 7) << 3 if rm.index is not None else 0b100 << 3
    if rm.base is None:  # case 3
        return bytes([0x04 | reg3, scale_bits | index3 | 0b101]) + struct.pack("<i", disp), None
    base3 = rm.base.code & 7
    if disp == 0 and base3 != 0b101:  # case 2 excluded
        mod, tail = 0b00, b""
    elif -128 <= disp <= 127:
        mod, tail = 0b01, struct.pack("<b", disp)
    else:
        mod, tail = 0b10, struct.pack("<i", disp)
    if rm.index is None and base3 != 0b100:  # case 1 excluded
        return bytes([mod << 6 | reg3 | base3]) + tail, None
    return bytes([mod << 6 | reg3 | 0b100, scale_bits | index3 | base3]) + tail, None


# --- the generic routine ------------------------------------------------------------------------


def encode_form(form: Form, operands: tuple[Operand, ...]) -> Encoding:
    """Bytes of `form` applied to `operands` (already known to match)."""
    rm = operands[form.rm_at] if form.rm_at is not None else None  # the r/m or m operand
    regs = [operands[i] for i in form.regs_at]  # r64, r32, r8, xmm
    imms = [operands[i] for i in form.imms_at]  # imm8 ... imm64, rel8, rel32

    rex = 0x08 if form.rex_w else 0
    opcode = bytearray(form.opcode)
    modrm, disp_offset = b"", None
    if form.plus_reg:
        opcode[-1] |= regs[0].code & 7
        rex |= regs[0].code >> 3  # REX.B
    if form.modrm is not None:
        reg_field = regs[0].code if form.modrm == "r" else int(form.modrm)
        if form.modrm == "r":
            rex |= (regs[0].code >> 3) << 2  # REX.R
        if isinstance(rm, Reg):
            rex |= rm.code >> 3  # REX.B
        elif isinstance(rm, Mem):
            if rm.index is not None:
                rex |= (rm.index.code >> 3) << 1  # REX.X
            if rm.base is not None and not rm.is_rip:
                rex |= rm.base.code >> 3  # REX.B
        modrm, disp_offset = address_bytes(reg_field, rm)
    needs_rex = rex or any(isinstance(op, Reg) and op.needs_rex for op in operands)
    head = form.prefixes + (bytes([0x40 | rex]) if needs_rex else b"") + bytes(opcode)
    if disp_offset is not None:
        disp_offset += len(head)

    data = head + modrm
    imm_offset = None
    for size_code, value in zip(form.immediates, imms, strict=True):
        size = IMM_SIZES[size_code]
        value %= 2 ** (8 * size)  # the field's bits; matching already checked the range
        if value >= 2 ** (8 * size - 1):
            value -= 2 ** (8 * size)
        imm_offset = len(data)
        data += struct.pack(IMM_FORMAT[size], value)
    return Encoding(form, operands, data, disp_offset, imm_offset)


def encode_instruction(mnemonic: str, *operands: Operand) -> Encoding:
    """Find the row and encode it; the Encoding also knows its Intel text."""
    return encode_form(find_form(mnemonic, operands), operands)


def encode(mnemonic: str, *operands: Operand) -> bytes:
    """The bytes of one instruction: `encode("add", rax, rdi) == b"\\x48\\x01\\xf8"`."""
    return encode_instruction(mnemonic, *operands).data


def format_instruction(form: Form, operands: tuple[Operand, ...]) -> str:
    """Intel text of an instruction; relative operands print as given (labels or offsets)."""
    from jitkit.x86.operands import format_int

    parts = []
    for kind, op in zip(form.operands, operands, strict=True):
        if isinstance(op, Mem) and kind == "m" and op.bits:
            op = Mem(0, op.base, op.index, op.scale, op.disp, op.label)  # lea prints no size
        parts.append(format_int(op) if isinstance(op, int) else str(op))
    return f"{form.mnemonic} {', '.join(parts)}".strip()
