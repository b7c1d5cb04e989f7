"""Operands of x86-64 instructions: registers, memory references, immediates (notebook 01).

Takes nothing in; gives the register objects (`rax` ... `r15b`, `xmm0` ... `xmm15`, `rip`) and
the memory builders (`qword(rbx, 8)` is `qword ptr [rbx + 8]`) every later layer writes code with.
Each operand prints in the Intel syntax that keystone assembles and capstone prints.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from jitkit.errors import EncodeError

_KIND_CODES = {"gpr": 0, "xmm": 1, "rip": 2}


@dataclass(frozen=True, eq=False)
class Reg:
    """A register: its name, its 4-bit number (bit 3 goes into a REX prefix) and its width.

    Every instruction the assembler emits hashes its registers (its encoding cache is keyed by
    operands), so the hash is computed once, from numbers only, and equality tries identity
    first: the registers in `REGISTERS` are the ones everybody uses."""

    name: str
    code: int
    bits: int  # 8, 16, 32, 64 for general registers; 128 for xmm
    kind: str = "gpr"  # "gpr", "xmm" or "rip"

    def __post_init__(self) -> None:
        kind = _KIND_CODES.get(self.kind, 3)
        object.__setattr__(self, "_hash", self.code | self.bits << 4 | kind << 12)

    def __hash__(self) -> int:
        return self._hash  # type: ignore[attr-defined]

    def __eq__(self, other: object) -> bool:
        if self is other:
            return True
        if type(other) is not Reg:
            return NotImplemented
        return (self.name, self.code, self.bits, self.kind) == (
            other.name,
            other.code,
            other.bits,
            other.kind,
        )

    def __str__(self) -> str:
        return self.name

    def __repr__(self) -> str:
        return self.name

    @property
    def needs_rex(self) -> bool:
        """spl, bpl, sil, dil exist only with a REX prefix (without one, 4-7 mean ah-bh)."""
        return self.kind == "gpr" and self.bits == 8 and 4 <= self.code <= 7


_NAMES64 = ["rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi"]
_LEGACY = {  # 32, 16 and 8-bit names of registers 0-7
    32: ["eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi"],
    16: ["ax", "cx", "dx", "bx", "sp", "bp", "si", "di"],
    8: ["al", "cl", "dl", "bl", "spl", "bpl", "sil", "dil"],
}
_SUFFIX = {64: "", 32: "d", 16: "w", 8: "b"}


def _gpr_name(code: int, bits: int) -> str:
    if code < 8:
        return _NAMES64[code] if bits == 64 else _LEGACY[bits][code]
    return f"r{code}{_SUFFIX[bits]}"


REGISTERS: dict[str, Reg] = {}
for _bits in (64, 32, 16, 8):
    for _code in range(16):
        _reg = Reg(_gpr_name(_code, _bits), _code, _bits)
        REGISTERS[_reg.name] = _reg
for _code in range(16):
    REGISTERS[f"xmm{_code}"] = Reg(f"xmm{_code}", _code, 128, "xmm")
REGISTERS["rip"] = Reg("rip", 5, 64, "rip")


def gpr(code: int, bits: int = 64) -> Reg:
    """The general register with number `code` (0-15) at width `bits`."""
    return REGISTERS[_gpr_name(code, bits)]


def xmm(code: int) -> Reg:
    """The SSE register xmm`code`."""
    return REGISTERS[f"xmm{code}"]


SIZE_NAMES = {8: "byte", 16: "word", 32: "dword", 64: "qword", 128: "xmmword"}


class _Address(NamedTuple):
    bits: int
    base: Reg | None = None
    index: Reg | None = None
    scale: int = 1
    disp: int = 0
    label: str | None = None


class Mem(_Address):
    """A memory operand `[base + index*scale + disp]`, or `[rip + disp]` / `[rip + label]`.

    `bits` is the width of the data accessed (0 for `lea`, which accesses none). A named
    tuple: a JIT builds one for most instructions it emits, and a tuple is made, hashed and
    compared in C (a frozen dataclass took 0.9 µs to make and its hash ran Python code).
    """

    __slots__ = ()

    def __new__(
        cls,
        bits: int,
        base: Reg | None = None,
        index: Reg | None = None,
        scale: int = 1,
        disp: int = 0,
        label: str | None = None,
    ) -> Mem:
        if (  # the common [base + disp]: nothing to normalize or reject
            index is None
            and label is None
            and scale == 1
            and type(base) is Reg
            and base.bits == 64
            and base.kind == "gpr"
            and type(disp) is int
            and -(2**31) <= disp < 2**31
        ):
            return tuple.__new__(cls, (bits, base, None, 1, disp, None))
        if label is not None and base is None:
            base = REGISTERS["rip"]
        if base is None and index is not None and scale == 1:
            # [index*1] is the same address as [index] used as a base, which is shorter
            base, index = index, None
        for reg in (base, index):
            if reg is not None and not (
                isinstance(reg, Reg) and reg.bits == 64 and reg.kind in ("gpr", "rip")
            ):
                raise EncodeError(f"{reg} cannot address memory: use a 64-bit register")
        if type(disp) is not int:
            raise EncodeError(f"a displacement is an integer, not {disp!r}")
        if scale not in (1, 2, 4, 8):
            raise EncodeError(f"scale must be 1, 2, 4 or 8, not {scale}")
        if index is not None and index.name == "rsp":
            raise EncodeError("rsp cannot be an index register (SIB index 100 means 'none')")
        if index is not None and base is not None and base.kind == "rip":
            raise EncodeError("rip-relative addressing takes no index register")
        if index is None and scale != 1:
            raise EncodeError("a scale needs an index register")
        if not -(2**31) <= disp < 2**31:
            raise EncodeError(f"displacement {disp} does not fit in 32 bits")
        return tuple.__new__(cls, (bits, base, index, scale, disp, label))

    @property
    def is_rip(self) -> bool:
        return self.base is not None and self.base.kind == "rip"

    def address_text(self) -> str:
        """`[rbx + rcx*8 - 0x10]` as Intel syntax writes it."""
        parts = []
        if self.base is not None:
            parts.append(self.base.name)
        if self.index is not None:
            parts.append(f"{self.index.name}*{self.scale}" if self.scale > 1 else self.index.name)
        text = " + ".join(parts)
        if self.label is not None:
            text += f" + {self.label}"
        elif self.disp or not parts:
            sign = "-" if self.disp < 0 else "+"
            number = format_int(abs(self.disp))
            text = f"{text} {sign} {number}" if parts else format_int(self.disp)
        return f"[{text}]"

    def __str__(self) -> str:
        if self.bits == 0:
            return self.address_text()
        return f"{SIZE_NAMES[self.bits]} ptr {self.address_text()}"


def _mem_builder(bits: int):
    def build(
        base: Reg | None = None,
        disp: int = 0,
        index: Reg | None = None,
        scale: int = 1,
        *,
        label: str | None = None,
    ) -> Mem:
        return Mem(bits, base, index, scale, disp, label)

    build.__name__ = SIZE_NAMES.get(bits, "mem")
    build.__doc__ = f"A {bits or 'size-less'}-bit memory operand [base + index*scale + disp]."
    return build


qword = _mem_builder(64)
dword = _mem_builder(32)
word = _mem_builder(16)
byte = _mem_builder(8)
xmmword = _mem_builder(128)
mem = _mem_builder(0)  # for lea: an address, no access size


def format_int(value: int) -> str:
    """Small numbers in decimal, the rest in hex, as capstone prints them."""
    if -10 < value < 10:
        return str(value)
    return f"-{-value:#x}" if value < 0 else f"{value:#x}"
