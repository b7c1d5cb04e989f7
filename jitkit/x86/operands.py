"""Operands of x86-64 instructions: registers, memory references, immediates (notebook 01).

Takes nothing in; gives the register objects (`rax` ... `r15b`, `xmm0` ... `xmm15`, `rip`) and
the memory builders (`qword(rbx, 8)` is `qword ptr [rbx + 8]`) every later layer writes code with.
Each operand prints in the Intel syntax that keystone assembles and capstone prints.
"""

from __future__ import annotations

from dataclasses import dataclass

from jitkit.errors import EncodeError


@dataclass(frozen=True)
class Reg:
    """A register: its name, its 4-bit number (bit 3 goes into a REX prefix) and its width."""

    name: str
    code: int
    bits: int  # 8, 16, 32, 64 for general registers; 128 for xmm
    kind: str = "gpr"  # "gpr", "xmm" or "rip"

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


@dataclass(frozen=True)
class Mem:
    """A memory operand `[base + index*scale + disp]`, or `[rip + disp]` / `[rip + label]`.

    `bits` is the width of the data accessed (0 for `lea`, which accesses none).
    """

    bits: int
    base: Reg | None = None
    index: Reg | None = None
    scale: int = 1
    disp: int = 0
    label: str | None = None

    def __post_init__(self) -> None:
        base = self.base
        if (  # the common [base + disp]: nothing to normalize or reject
            self.index is None
            and self.label is None
            and self.scale == 1
            and base is not None
            and base.bits == 64
            and base.kind == "gpr"
            and -(2**31) <= self.disp < 2**31
        ):
            return
        if self.label is not None and self.base is None:
            object.__setattr__(self, "base", REGISTERS["rip"])
        if self.base is None and self.index is not None and self.scale == 1:
            # [index*1] is the same address as [index] used as a base, which is shorter
            object.__setattr__(self, "base", self.index)
            object.__setattr__(self, "index", None)
        for reg in (self.base, self.index):
            if reg is not None and not (reg.bits == 64 and reg.kind in ("gpr", "rip")):
                raise EncodeError(f"{reg} cannot address memory: use a 64-bit register")
        if self.scale not in (1, 2, 4, 8):
            raise EncodeError(f"scale must be 1, 2, 4 or 8, not {self.scale}")
        if self.index is not None and self.index.name == "rsp":
            raise EncodeError("rsp cannot be an index register (SIB index 100 means 'none')")
        if self.index is not None and self.is_rip:
            raise EncodeError("rip-relative addressing takes no index register")
        if self.index is None and self.scale != 1:
            raise EncodeError("a scale needs an index register")
        if not -(2**31) <= self.disp < 2**31:
            raise EncodeError(f"displacement {self.disp} does not fit in 32 bits")

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
