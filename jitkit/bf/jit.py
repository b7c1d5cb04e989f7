"""A brainfuck template JIT: one machine-code template per folded op (notebook 06).

Takes brainfuck source; gives a `BrainfuckJIT` whose `run(input)` executes native code and
returns the output bytes. I/O goes one of two ways, to measure what crossing into Python
costs: `io="callback"` calls a Python function for every `.` and `,`; `io="buffer"` reads
and writes native buffers and calls Python only when the output buffer is full.
The generated code checks every pointer move against the tape, so a bad program raises
BrainfuckError instead of corrupting memory, and polls the interrupt flag on every
back-edge, so Kernel -> Interrupt stops an endless loop.
"""

from __future__ import annotations

import ctypes

from jitkit.bf.program import TAPE_SIZE, BrainfuckError, Op, parse
from jitkit.native import NativeFunction
from jitkit.native.interrupts import interrupt_flag
from jitkit.x86 import (
    Assembler,
    Code,
    al,
    byte,
    cl,
    dl,
    eax,
    ecx,
    edi,
    qword,
    r12,
    r13,
    r14,
    r15,
    rax,
    rbx,
    rcx,
    rdi,
    rdx,
    rsi,
)

OK, OFF_TAPE, INTERRUPTED = 0, 1, 2
OUT_BUFFER_SIZE = 1 << 16

PUTCHAR = ctypes.CFUNCTYPE(None, ctypes.c_int64)
GETCHAR = ctypes.CFUNCTYPE(ctypes.c_int64)
FLUSH = ctypes.CFUNCTYPE(None)


class Context(ctypes.Structure):
    """What the generated code reads through r13: buffer cursors and Python callbacks."""

    _fields_ = [
        ("out_ptr", ctypes.c_void_p),  # +0   next free byte of the output buffer
        ("out_end", ctypes.c_void_p),  # +8
        ("in_ptr", ctypes.c_void_p),  # +16  next unread input byte
        ("in_end", ctypes.c_void_p),  # +24
        ("putchar", ctypes.c_void_p),  # +32  void putchar(int64)
        ("getchar", ctypes.c_void_p),  # +40  int64 getchar(void), -1 at end of input
        ("flush", ctypes.c_void_p),  # +48  void flush(void): empties the output buffer
        ("fault", ctypes.c_int64),  # +56  the cell index that left the tape
    ]


# Registers for the whole run (all callee-saved, so calls into Python keep them):
TAPE, INDEX, CTX, FLAG = rbx, r12, r13, r14
CELL = byte(TAPE, 0, INDEX)


def compile_ops(
    ops: list[Op], io: str = "buffer", tape_size: int = TAPE_SIZE, templates: dict | None = None
) -> Code:
    """`int64 run(uint8 *tape, Context *ctx, uint8 *flag)`, returning OK, OFF_TAPE or
    INTERRUPTED. `templates` replaces some ops' templates (an exercise writes its own)."""
    templates = {**TEMPLATES, **(templates or {})}
    if io not in ("buffer", "callback"):
        raise ValueError(f"io must be 'buffer' or 'callback', not {io!r}")
    a = Assembler()
    for reg in (rbx, r12, r13, r14, r15):  # 5 pushes + return address: rsp is 16-aligned
        a.push(reg)
    a.mov(TAPE, rdi).mov(CTX, rsi).mov(FLAG, rdx).xor(eax, eax).mov(INDEX, rax)
    for i, op in enumerate(ops):
        templates[op.kind](a, i, op, io, tape_size)
    a.xor(eax, eax)
    a.label("exit")
    for reg in (r15, r14, r13, r12, rbx):
        a.pop(reg)
    a.ret()
    a.label("off_tape").mov(qword(CTX, 56), INDEX).mov(eax, OFF_TAPE).jmp("exit")
    a.label("interrupted").mov(eax, INTERRUPTED).jmp("exit")
    return a.assemble()


# --- one template per op ---------------------------------------------------------------------


def emit_add(a: Assembler, i: int, op: Op, io: str, tape_size: int) -> None:
    a.add(CELL, (op.arg + 128) % 256 - 128)


def emit_move(a: Assembler, i: int, op: Op, io: str, tape_size: int) -> None:
    a.add(INDEX, op.arg)
    a.cmp(INDEX, tape_size).jae("off_tape")  # unsigned: a negative index is huge


def emit_clear(a: Assembler, i: int, op: Op, io: str, tape_size: int) -> None:
    a.mov(CELL, 0)


def emit_multiply(a: Assembler, i: int, op: Op, io: str, tape_size: int) -> None:
    a.movzx(eax, CELL).test(eax, eax).je(f"skip{i}")
    for offset, factor in op.arg:
        a.lea(rcx, qword(INDEX, offset)).cmp(rcx, tape_size).jae("off_tape")
        if factor == 1:
            a.add(byte(TAPE, 0, rcx), al)
        else:
            a.imul(rdx, rax, factor).add(byte(TAPE, 0, rcx), dl)
    a.mov(CELL, 0)
    a.label(f"skip{i}")


def emit_open(a: Assembler, i: int, op: Op, io: str, tape_size: int) -> None:
    a.cmp(CELL, 0).je(f"end{op.arg}")
    a.label(f"body{i}")


def emit_close(a: Assembler, i: int, op: Op, io: str, tape_size: int) -> None:
    a.cmp(byte(FLAG), 0).jne("interrupted")  # the interrupt poll on every back-edge
    a.cmp(CELL, 0).jne(f"body{op.arg}")
    a.label(f"end{i}")


def emit_out(a: Assembler, i: int, op: Op, io: str, tape_size: int) -> None:
    if io == "callback":
        a.movzx(edi, CELL).call(qword(CTX, 32))
        return
    a.mov(rax, qword(CTX, 0)).cmp(rax, qword(CTX, 8)).jb(f"room{i}")
    a.call(qword(CTX, 48)).mov(rax, qword(CTX, 0))  # full: Python empties the buffer
    a.label(f"room{i}")
    a.movzx(ecx, CELL).mov(byte(rax), cl).add(qword(CTX, 0), 1)


def emit_in(a: Assembler, i: int, op: Op, io: str, tape_size: int) -> None:
    if io == "callback":
        a.call(qword(CTX, 40)).test(rax, rax).jns(f"got{i}").xor(eax, eax)
        a.label(f"got{i}").mov(CELL, al)
        return
    a.xor(eax, eax).mov(rcx, qword(CTX, 16)).cmp(rcx, qword(CTX, 24)).jae(f"eof{i}")
    a.movzx(eax, byte(rcx)).add(qword(CTX, 16), 1)
    a.label(f"eof{i}").mov(CELL, al)


TEMPLATES = {
    "ADD": emit_add,
    "MOVE": emit_move,
    "CLEAR": emit_clear,
    "MULTIPLY": emit_multiply,
    "OPEN": emit_open,
    "CLOSE": emit_close,
    "OUT": emit_out,
    "IN": emit_in,
}


# --- running ---------------------------------------------------------------------------------


class BrainfuckJIT:
    """A compiled brainfuck program; `run(input)` returns its output."""

    def __init__(
        self, source: str, io: str = "buffer", tape_size: int = TAPE_SIZE, templates=None
    ) -> None:
        self.ops = parse(source)
        self.io, self.tape_size = io, tape_size
        self.code = compile_ops(self.ops, io, tape_size, templates)
        self.function = NativeFunction(
            self.code, ctypes.c_int64, (ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p)
        )

    def run(self, data: bytes = b"") -> bytes:
        tape = ctypes.create_string_buffer(self.tape_size)
        inbuf = ctypes.create_string_buffer(bytes(data), len(data) + 1)
        outbuf = ctypes.create_string_buffer(OUT_BUFFER_SIZE)
        out = bytearray()
        unread = iter(data)
        ctx = Context()
        start = ctypes.addressof(outbuf)

        def flush() -> None:
            out.extend(ctypes.string_at(start, ctx.out_ptr - start))
            ctx.out_ptr = start

        # The ctypes callback objects must outlive the call: they are locals of this frame.
        callbacks = (
            PUTCHAR(out.append),
            GETCHAR(lambda: next(unread, -1)),
            FLUSH(flush),
        )
        ctx.out_ptr, ctx.out_end = start, start + OUT_BUFFER_SIZE
        ctx.in_ptr = ctypes.addressof(inbuf)
        ctx.in_end = ctx.in_ptr + len(data)
        addresses = [ctypes.cast(c, ctypes.c_void_p).value for c in callbacks]
        ctx.putchar, ctx.getchar, ctx.flush = addresses
        flag = interrupt_flag()
        flag.arm()
        status = self.function(tape, ctypes.byref(ctx), flag.address)
        flush()
        if status == OFF_TAPE:
            raise BrainfuckError(f"the pointer moved to cell {ctx.fault}, off the tape")
        if status == INTERRUPTED:
            flag.raise_pending()
            raise KeyboardInterrupt
        return bytes(out)
