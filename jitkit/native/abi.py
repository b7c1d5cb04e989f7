"""A System V ABI checker: does generated code preserve what its caller relies on? (notebook 01)

Takes machine code (bytes, `Code` or `NativeFunction`) and up to six integer arguments; calls
it through a trampoline that plants sentinel values in the callee-saved registers (rbx, rbp,
r12-r15) and calls with a 16-byte aligned stack; gives an `AbiReport` of the return value, the
registers the code clobbered and how far it moved rsp. The trampoline keeps its own state in
memory, not in registers or on the stack, so it restores Python's registers even when the
code under test clobbers them all.
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass
from typing import Any

from jitkit.errors import JitkitError
from jitkit.native.memory import NativeFunction
from jitkit.x86 import REGISTERS, Assembler, qword

CALLEE_SAVED = ("rbx", "rbp", "r12", "r13", "r14", "r15")
ARGUMENT_REGISTERS = ("rdi", "rsi", "rdx", "rcx", "r8", "r9")
SENTINELS = {
    name: 0x5E47_1E10_0000_0000 | (i + 1) * 0x1111_1111 for i, name in enumerate(CALLEE_SAVED)
}

# The trampoline's state block, one uint64 per slot.
TARGET, ARGS, RESULT = 0, 1, 7
SAVED = 8  # Python's own rbx..r15, restored before returning to it
SENTINEL = SAVED + len(CALLEE_SAVED)
SEEN = SENTINEL + len(CALLEE_SAVED)  # rbx..r15 as the code under test left them
RSP_AT_CALL = SEEN + len(CALLEE_SAVED)
RSP_AFTER = RSP_AT_CALL + 1
SLOTS = RSP_AFTER + 1


@dataclass(frozen=True)
class AbiReport:
    """What one call did to the registers its caller expects back unchanged."""

    result: int  # rax, as a signed 64-bit integer
    sentinels: dict[str, int]
    seen: dict[str, int]
    rsp_delta: int  # rsp after the call minus rsp before it; 0 when the stack is balanced
    rsp_at_call: int

    @property
    def clobbered(self) -> list[str]:
        return [name for name in CALLEE_SAVED if self.seen[name] != self.sentinels[name]]

    @property
    def aligned(self) -> bool:
        """The trampoline called with rsp % 16 == 0, as System V requires at every call."""
        return self.rsp_at_call % 16 == 0

    @property
    def ok(self) -> bool:
        return not self.clobbered and self.rsp_delta == 0

    def __str__(self) -> str:
        lines = [f"result: {self.result}"]
        for name in self.clobbered:
            lines.append(
                f"{name} clobbered: was {self.sentinels[name]:#018x}, "
                f"returned {self.seen[name]:#018x}"
            )
        if self.rsp_delta:
            lines.append(f"rsp moved by {self.rsp_delta:+d} bytes across the call")
        if self.ok:
            lines.append(f"ok: {', '.join(CALLEE_SAVED)} and rsp preserved")
        return "\n".join(lines)


def build_trampoline(block: int) -> NativeFunction:
    """`uint64_t trampoline(void)` that calls block[TARGET] as described in the module doc.

    Everything it needs after the call comes from the block's absolute address, because the
    code under test may have clobbered every register, rsp included."""
    r11, rsp, rax, eax = (REGISTERS[n] for n in ("r11", "rsp", "rax", "eax"))
    saved = [REGISTERS[n] for n in CALLEE_SAVED]

    def slot(index: int):
        return qword(r11, 8 * index)

    a = Assembler()
    a.mov(r11, block)
    for i, reg in enumerate(saved):  # keep Python's callee-saved registers
        a.mov(slot(SAVED + i), reg)
    a.sub(rsp, 8)  # on entry rsp % 16 == 8 (the return address); a call needs 0
    a.mov(slot(RSP_AT_CALL), rsp)
    for i, reg in enumerate(saved):
        a.mov(reg, slot(SENTINEL + i))
    for i, name in enumerate(ARGUMENT_REGISTERS):
        a.mov(REGISTERS[name], slot(ARGS + i))
    a.xor(eax, eax)  # al = 0 vector registers, in case the target is variadic
    a.call(slot(TARGET))
    a.mov(r11, block)  # every register may be garbage now; the block address is a constant
    a.mov(slot(RESULT), rax)
    for i, reg in enumerate(saved):
        a.mov(slot(SEEN + i), reg)
    a.mov(slot(RSP_AFTER), rsp)
    a.mov(rsp, slot(RSP_AT_CALL))
    a.add(rsp, 8)
    for i, reg in enumerate(saved):
        a.mov(reg, slot(SAVED + i))
    a.ret()
    return NativeFunction(a.assemble(), restype=ctypes.c_uint64, argtypes=())


def _signed(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


# Trampolines not in use, each with its own block. A check takes one (or builds one, when a
# thread or a nested check holds the others) and gives it back; list.pop and append are atomic.
_IDLE: list[tuple[ctypes.Array, NativeFunction]] = []


def _take_trampoline() -> tuple[ctypes.Array, NativeFunction]:
    try:
        return _IDLE.pop()
    except IndexError:
        block = (ctypes.c_uint64 * SLOTS)()
        return block, build_trampoline(ctypes.addressof(block))


def _report(block: ctypes.Array) -> AbiReport:
    seen = {name: block[SEEN + i] for i, name in enumerate(CALLEE_SAVED)}
    return AbiReport(
        result=_signed(block[RESULT]),
        sentinels=dict(SENTINELS),
        seen=seen,
        rsp_delta=_signed((block[RSP_AFTER] - block[RSP_AT_CALL]) % (1 << 64)),
        rsp_at_call=block[RSP_AT_CALL],
    )


def check_callee_saved(code: Any, args: tuple[int, ...] = ()) -> AbiReport:
    """Call `code` with integer `args` (at most six) and report what it failed to preserve.

    A crash inside the code still crashes the process: this checks the ABI, it is no sandbox."""
    if len(args) > len(ARGUMENT_REGISTERS):
        raise JitkitError(f"check_callee_saved passes at most 6 integer arguments, not {len(args)}")
    if not all(isinstance(x, int) for x in args):
        raise JitkitError("check_callee_saved passes integer arguments only")
    target = code if isinstance(code, NativeFunction) else NativeFunction(code)
    block, trampoline = _take_trampoline()
    try:
        ctypes.memset(block, 0, ctypes.sizeof(block))
        block[TARGET] = target.address
        for i, value in enumerate(args):
            block[ARGS + i] = value % (1 << 64)
        for i, name in enumerate(CALLEE_SAVED):
            block[SENTINEL + i] = SENTINELS[name]
        trampoline()
        return _report(block)
    finally:
        _IDLE.append((block, trampoline))
