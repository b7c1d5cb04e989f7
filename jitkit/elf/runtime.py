"""The tiny runtime: everything a program needs when nothing runs before it (notebook 02).

Takes an `Assembler` (and one for read+write data); emits, as machine code from the kit's
own encoder, `_start` (argc and argv from the initial stack, then `main`, then `exit`) and
System V functions over raw Linux system calls: `exit`, `write`, `strlen`, `print_str`,
`print_char`, `print_newline`, `print_int64` (decimal, INT64_MIN included), `parse_int64`
and `alloc`, a bump allocator over `mmap`. `program(emit_main)` links them with your `main`
into an executable; `sample_program()` echoes its arguments and prints a computed number.
Labels with a dot (`print_int64.digit`) are local; the rest are the runtime's symbols.
"""

from __future__ import annotations

from collections.abc import Callable

from jitkit.elf.executable import Image
from jitkit.elf.format import (
    MAP_ANONYMOUS,
    MAP_PRIVATE,
    PROT_READ,
    PROT_WRITE,
    SYS_EXIT,
    SYS_MMAP,
    SYS_WRITE,
)
from jitkit.elf.link import link
from jitkit.x86 import (
    Assembler,
    byte,
    dl,
    eax,
    ebp,
    ecx,
    edi,
    edx,
    mem,
    qword,
    r8,
    r9d,
    r10d,
    rax,
    rbx,
    rcx,
    rdi,
    rdx,
    rsi,
    rsp,
)

HEAP_CHUNK = 1 << 20  # bytes asked from mmap at a time
FUNCTIONS = ("exit", "write", "strlen", "print_str", "print_char", "print_newline",
             "print_int64", "parse_int64", "alloc")  # fmt: skip


def emit_start(a: Assembler, label: str = "_start", main: str = "main") -> None:
    """The entry point. The kernel leaves [rsp] = argc, [rsp+8...] = argv[0..], NULL, envp;
    no return address: `_start` must never return, so it calls exit(main(argc, argv))."""
    a.label(label)
    a.xor(ebp, ebp)  # the outermost frame, for debuggers
    a.mov(rdi, qword(rsp))  # argc
    a.lea(rsi, mem(rsp, 8))  # argv
    a.emit("and", rsp, -16)  # `and` is a Python keyword, hence emit; ABI: aligned calls
    a.call(main)
    a.mov(edi, eax)
    a.call("exit")


def emit_exit(a: Assembler) -> None:
    """exit(status): system call 60, never returns."""
    a.label("exit")
    a.mov(eax, SYS_EXIT)
    a.syscall()


def emit_write(a: Assembler) -> None:
    """write(fd, buf, len) -> bytes written or -errno: system call 1."""
    a.label("write")
    a.mov(eax, SYS_WRITE)
    a.syscall()
    a.ret()


def emit_strlen(a: Assembler) -> None:
    """strlen(s): count bytes up to the terminating zero."""
    a.label("strlen")
    a.mov(rax, rdi)
    a.label("strlen.loop")
    a.cmp(byte(rax), 0)
    a.je("strlen.done")
    a.inc(rax)
    a.jmp("strlen.loop")
    a.label("strlen.done")
    a.sub(rax, rdi)
    a.ret()


def emit_print_str(a: Assembler) -> None:
    """print_str(s): write a zero-terminated string to stdout."""
    a.label("print_str")
    a.push(rdi)
    a.call("strlen")
    a.pop(rsi)
    a.mov(rdx, rax)
    a.mov(edi, 1)
    a.jmp("write")


def emit_print_char(a: Assembler) -> None:
    """print_char(c) writes one byte; print_newline() writes '\\n'."""
    a.label("print_newline")
    a.mov(edi, ord("\n"))
    a.label("print_char")
    a.push(rdi)  # the byte, in memory, so write can point at it
    a.mov(rsi, rsp)
    a.mov(edx, 1)
    a.mov(edi, 1)
    a.call("write")
    a.pop(rdi)
    a.ret()


def emit_print_int64(a: Assembler) -> None:
    """print_int64(n): n in decimal on stdout, no newline.

    Digits come from dividing |n| by 10, written backwards into a stack buffer. |INT64_MIN|
    does not fit in int64, but `neg` leaves 0x8000000000000000, and with rdx = 0 the
    128-bit dividend rdx:rax is exactly +2**63. (Sign-extending with `cqo` instead would
    make it -2**63 for `idiv`, or overflow `div`: the classic INT64_MIN bug.)
    """
    a.label("print_int64")
    a.sub(rsp, 40)  # 32-byte buffer; keeps the stack 16-aligned
    a.lea(rsi, mem(rsp, 32))  # one past the last digit
    a.mov(rax, rdi)
    a.test(rax, rax)
    a.jns("print_int64.digit")
    a.neg(rax)
    a.label("print_int64.digit")
    a.mov(ecx, 10)
    a.xor(edx, edx)
    a.div(rcx)  # rax = rdx:rax / 10, rdx = remainder
    a.add(edx, ord("0"))
    a.dec(rsi)
    a.mov(byte(rsi), dl)
    a.test(rax, rax)
    a.jne("print_int64.digit")
    a.test(rdi, rdi)
    a.jns("print_int64.write")
    a.dec(rsi)
    a.mov(byte(rsi), ord("-"))
    a.label("print_int64.write")
    a.lea(rdx, mem(rsp, 32))
    a.sub(rdx, rsi)  # length
    a.mov(edi, 1)
    a.call("write")
    a.add(rsp, 40)
    a.ret()


def emit_parse_int64(a: Assembler) -> None:
    """parse_int64(s): an optional '-' and decimal digits, up to the first non-digit."""
    a.label("parse_int64")
    a.xor(eax, eax)
    a.xor(ecx, ecx)  # 1 if negative
    a.cmp(byte(rdi), ord("-"))
    a.jne("parse_int64.loop")
    a.mov(ecx, 1)
    a.inc(rdi)
    a.label("parse_int64.loop")
    a.movzx(edx, byte(rdi))
    a.sub(edx, ord("0"))
    a.cmp(edx, 9)
    a.ja("parse_int64.done")  # unsigned: below '0' wrapped around to a big number
    a.imul(rax, rax, 10)
    a.add(rax, rdx)
    a.inc(rdi)
    a.jmp("parse_int64.loop")
    a.label("parse_int64.done")
    a.test(ecx, ecx)
    a.je("parse_int64.ret")
    a.neg(rax)
    a.label("parse_int64.ret")
    a.ret()


def emit_alloc(a: Assembler, data: Assembler) -> None:
    """alloc(size) -> 16-byte aligned block, or 0 if mmap fails. Never freed.

    Bump allocation: hand out [next, next + size) and move `alloc.next` on; when the
    current chunk is used up, mmap a fresh one of max(size, HEAP_CHUNK) bytes.
    """
    data.align(8, 0)
    data.label("alloc.next")
    data.quad(0)
    data.label("alloc.end")
    data.quad(0)
    a.label("alloc")
    a.add(rdi, 15)
    a.emit("and", rdi, -16)
    a.mov(rax, qword(label="alloc.next"))
    a.test(rax, rax)
    a.je("alloc.grow")  # no chunk yet
    a.lea(rcx, mem(rax, 0, rdi))
    a.cmp(rcx, qword(label="alloc.end"))
    a.jbe("alloc.take")
    a.label("alloc.grow")
    a.push(rdi)
    a.lea(rsi, mem(rdi, 4095))
    a.emit("and", rsi, -4096)  # size rounded up to pages
    a.mov(eax, HEAP_CHUNK)
    a.cmp(rsi, rax)
    a.cmovb(rsi, rax)
    a.push(rsi)
    a.xor(edi, edi)  # any address
    a.mov(edx, PROT_READ | PROT_WRITE)
    a.mov(r10d, MAP_PRIVATE | MAP_ANONYMOUS)
    a.mov(r8, -1)  # no file
    a.xor(r9d, r9d)
    a.mov(eax, SYS_MMAP)
    a.syscall()
    a.pop(rsi)
    a.pop(rdi)
    a.cmp(rax, -4095)
    a.jae("alloc.fail")  # -4095..-1 is -errno
    a.lea(rdx, mem(rax, 0, rsi))
    a.mov(qword(label="alloc.end"), rdx)
    a.lea(rcx, mem(rax, 0, rdi))
    a.label("alloc.take")
    a.mov(qword(label="alloc.next"), rcx)
    a.ret()
    a.label("alloc.fail")
    a.xor(eax, eax)
    a.ret()


def emit_runtime(a: Assembler, data: Assembler) -> None:
    """Every runtime function (not `_start`), code into `a`, the allocator's state into `data`."""
    emit_exit(a)
    emit_write(a)
    emit_strlen(a)
    emit_print_str(a)
    emit_print_char(a)
    emit_print_int64(a)
    emit_parse_int64(a)
    emit_alloc(a, data)


def program(emit_main: Callable[[Assembler], None], main: str = "main") -> Image:
    """An executable: `_start`, then whatever `emit_main` writes (it defines `main`),
    then the runtime, linked. main(argc, argv) returns the exit status in eax."""
    a, data = Assembler(), Assembler()
    emit_start(a, main=main)
    emit_main(a)
    emit_runtime(a, data)
    return link(a, data)


def emit_sample_main(a: Assembler) -> None:
    """main: print each argument on its own line, then fib(90) computed in an allocated array."""
    a.label("main")
    a.push(rbx)  # callee-saved; also realigns the stack to 16 for our calls
    a.mov(rbx, rsi)  # argv
    a.label("main.args")
    a.mov(rdi, qword(rbx))
    a.test(rdi, rdi)
    a.je("main.fib")  # argv ends with NULL
    a.call("print_str")
    a.call("print_newline")
    a.add(rbx, 8)
    a.jmp("main.args")
    a.label("main.fib")
    a.mov(edi, 91 * 8)
    a.call("alloc")  # rax = int64 fib[91]
    a.mov(qword(rax), 0)
    a.mov(qword(rax, 8), 1)
    a.mov(ecx, 2)
    a.label("main.loop")
    a.mov(rdx, qword(rax, -16, rcx, 8))
    a.add(rdx, qword(rax, -8, rcx, 8))
    a.mov(qword(rax, 0, rcx, 8), rdx)
    a.inc(rcx)
    a.cmp(rcx, 90)
    a.jbe("main.loop")
    a.mov(rdi, qword(rax, 90 * 8))
    a.call("print_int64")
    a.call("print_newline")
    a.xor(eax, eax)
    a.pop(rbx)
    a.ret()


def sample_program() -> Image:
    """The chapter's sample: echoes argv (argv[0] first), then prints fib(90)."""
    return program(emit_sample_main)
