"""Lists for the native tiers: the runtime's routines that make and grow them, the arena they
come from, and turning them into Python lists (notebooks 05 and 07; issue #17).

Takes the context's arena words (`layout.CTX_ARENA_*`); gives `routines()`, machine code for
`list_new(kind, length)`, `list_new_filled(kind, length, bits)` and `list_grow(list)` (System
V, callable from compiled code with r15 = the context, as every compiled frame has it; they
never call Python), `attach(ctx)` to give a context its arena, `release(ctx)` to free what a
call made, and `to_python(address)` to read a list back.

A list is a 32-byte header (`layout.LIST_*`) and its elements, both bump-allocated from
chunks the routines map themselves (an `mmap` system call: no libc, no Python). Nothing is
freed one block at a time: every list belongs to the entry call that is running, and when it
finishes (its result converted, or a deopt's lists materialized) the whole arena is reset.
The largest chunk (up to `KEEP_BYTES`) stays mapped for the next call, so a kernel making
the same big list call after call (sieve at 3,000,000: 3 MB of bools) maps it once. Growing
moves the elements to a block twice as large and leaves the header where it is, so every
alias of the list sees the new elements. Out of memory (or more than `MAX_LENGTH` elements,
or more than `MAX_CHUNKS` chunks) a routine returns 0: the caller deopts and the VM raises
MemoryError itself or succeeds.
"""

from __future__ import annotations

import ctypes
import functools
import weakref

from jitkit.jitrt.layout import (
    CTX_ARENA_CHUNKS,
    CTX_ARENA_COUNT,
    CTX_ARENA_END,
    CTX_ARENA_LAST,
    CTX_ARENA_MAPPED,
    CTX_ARENA_PTR,
    LIST_CAP,
    LIST_DATA,
    LIST_HEADER,
    LIST_KIND,
    LIST_KIND_BOOL,
    LIST_KIND_FLOAT,
    LIST_KIND_INT,
    LIST_LEN,
    Context,
)
from jitkit.native.memory import ExecutableMemory, libc
from jitkit.x86 import (
    Assembler,
    eax,
    ecx,
    edi,
    edx,
    qword,
    r8,
    r9,
    r9d,
    r10,
    r10b,
    r10d,
    r11,
    r15,
    rax,
    rcx,
    rdi,
    rdx,
    rsi,
)

MAX_LENGTH = 1 << 40  # elements: beyond this the VM tries (and raises MemoryError)
MAX_CHUNKS = 48  # chunks alive in one call; each is at least twice the last
MIN_CHUNK = 1 << 18  # bytes of the first chunk
KEEP_BYTES = 64 << 20  # the largest chunk up to this size stays mapped between calls
SYS_MMAP, PROT_RW, MAP_ANON_PRIVATE = 9, 0x3, 0x22
CHUNK_ADDRESS, CHUNK_BYTES, CHUNK_ENTRY = 0, 8, 16  # an entry of the chunk table
BYTES_ONCE = 0x0101010101010101  # a byte times this: the byte in each of 8 lanes


@functools.cache
def routines() -> dict[str, int]:
    """The routines' addresses ("list_new", "list_new_filled", "list_grow"), made once per
    process: they hold no state but the context's."""
    a = Assembler()
    emit_list_new(a)
    emit_list_grow(a)
    emit_alloc(a)
    code = a.assemble()
    memory = ExecutableMemory.from_code(code.bytes)
    _keep.append(memory)
    return {name: memory.address + code.labels[name] for name in ROUTINES}


ROUTINES = ("list_new", "list_new_filled", "list_grow")
_keep: list[ExecutableMemory] = []  # the routines' pages live as long as the process


def emit_list_new(a: Assembler) -> None:
    """`list_new(kind: rdi, length: rsi)` and `list_new_filled(kind, length, bits: rdx)`:
    header and elements in one block; a negative length is 0 (`[0] * -3 == []`). A bool
    list's capacity is its length rounded up to 8, so its bytes fill whole words."""
    a.label("list_new").xor(edx, edx)
    a.label("list_new_filled")
    a.xor(ecx, ecx).test(rsi, rsi).cmovs(rsi, rcx)
    a.mov(rax, MAX_LENGTH).cmp(rsi, rax).ja("new.fail")
    a.mov(r9, rsi)  # the length
    a.mov(r10, rdx)  # the bits
    a.mov(r11, rdi)  # the kind
    a.mov(rcx, rsi)  # capacity: the length (bools: rounded up to 8)
    a.cmp(rdi, LIST_KIND_BOOL).jne("new.words")
    a.add(rcx, 7).and_(rcx, -8)
    a.movzx(eax, r10b).mov(r10, BYTES_ONCE)
    a.imul(r10, rax)  # the byte in every lane of a word
    a.mov(rdi, rcx).jmp("new.alloc")
    a.label("new.words").lea(rdi, qword(None, 0, index=rcx, scale=8))
    a.label("new.alloc").push(rcx).push(rdi)
    a.add(rdi, LIST_HEADER).call("alloc")
    a.pop(rdi).pop(rcx)
    a.test(rax, rax).jz("new.fail")
    a.mov(qword(rax, LIST_LEN), r9).mov(qword(rax, LIST_CAP), rcx)
    a.lea(rdx, qword(rax, LIST_HEADER)).mov(qword(rax, LIST_DATA), rdx)
    a.mov(qword(rax, LIST_KIND), r11)
    # fill every word of the elements with the bits (rdi bytes from rdx)
    a.shr(rdi, 3).jz("new.done")
    a.label("new.fill").mov(qword(rdx), r10).add(rdx, 8).dec(rdi).jnz("new.fill")
    a.label("new.done").ret()
    a.label("new.fail").xor(eax, eax).ret()


def emit_list_grow(a: Assembler) -> None:
    """`list_grow(list: rdi)`: when len == cap, the elements move to a block of twice the
    capacity (at least 8); the header stays, so aliases see the move."""
    a.label("list_grow").mov(rax, qword(rdi, LIST_LEN)).cmp(rax, qword(rdi, LIST_CAP))
    a.jb("grow.room")
    a.mov(r11, rdi)  # the list
    a.mov(rsi, qword(rdi, LIST_CAP)).add(rsi, rsi).mov(ecx, 8).cmp(rsi, rcx).cmovb(rsi, rcx)
    a.mov(r9, rsi)  # the new capacity (a multiple of 8 for bools: their bytes fill words)
    a.mov(rdi, rsi).cmp(qword(r11, LIST_KIND), LIST_KIND_BOOL).je("grow.alloc")
    a.shl(rdi, 3)
    a.label("grow.alloc").call("alloc")
    a.test(rax, rax).jz("grow.fail")
    # copy the old elements' words: len * size bytes, rounded up to a word
    a.mov(rcx, qword(r11, LIST_LEN)).mov(rsi, qword(r11, LIST_DATA))
    a.cmp(qword(r11, LIST_KIND), LIST_KIND_BOOL).je("grow.bytes")
    a.shl(rcx, 3)
    a.label("grow.bytes").add(rcx, 7).shr(rcx, 3).jz("grow.moved")
    a.mov(rdx, rax)
    a.label("grow.copy").mov(r8, qword(rsi)).mov(qword(rdx), r8)
    a.add(rsi, 8).add(rdx, 8).dec(rcx).jnz("grow.copy")
    a.label("grow.moved").mov(qword(r11, LIST_DATA), rax).mov(qword(r11, LIST_CAP), r9)
    a.mov(rax, r11).ret()
    a.label("grow.room").mov(rax, rdi).ret()
    a.label("grow.fail").xor(eax, eax).ret()


def emit_alloc(a: Assembler) -> None:
    """`alloc(bytes: rdi)`, internal: rdi bytes (a multiple of 8) from the arena, mapping a
    chunk of at least twice the last one's size when the current one is full; 0 when the
    kernel refuses or the chunk table is full. Keeps r9, r10, r11 (its callers' state)."""
    a.label("alloc").mov(rax, qword(r15, CTX_ARENA_PTR)).lea(rdx, qword(rax, 0, index=rdi))
    a.cmp(rdx, qword(r15, CTX_ARENA_END)).ja("alloc.chunk")  # (no chunk yet: end = 0)
    a.mov(qword(r15, CTX_ARENA_PTR), rdx).ret()
    a.label("alloc.chunk").cmp(qword(r15, CTX_ARENA_COUNT), MAX_CHUNKS).jae("alloc.fail")
    a.mov(rsi, qword(r15, CTX_ARENA_LAST)).add(rsi, rsi)
    a.cmp(rsi, rdi).cmovb(rsi, rdi)
    a.mov(eax, MIN_CHUNK).cmp(rsi, rax).cmovb(rsi, rax)
    a.add(rsi, 4095).and_(rsi, -4096)
    a.push(rdi).push(rsi).push(r9).push(r10).push(r11)
    a.mov(eax, SYS_MMAP).xor(edi, edi).mov(edx, PROT_RW).mov(r10d, MAP_ANON_PRIVATE)
    a.mov(r8, -1).xor(r9d, r9d).syscall()
    a.pop(r11).pop(r10).pop(r9).pop(rsi).pop(rdi)
    a.cmp(rax, -4096).ja("alloc.fail")  # -errno
    a.imul(rcx, qword(r15, CTX_ARENA_COUNT), CHUNK_ENTRY).add(rcx, qword(r15, CTX_ARENA_CHUNKS))
    a.mov(qword(rcx, CHUNK_ADDRESS), rax).mov(qword(rcx, CHUNK_BYTES), rsi)
    a.add(qword(r15, CTX_ARENA_COUNT), 1).add(qword(r15, CTX_ARENA_MAPPED), 1)
    a.mov(qword(r15, CTX_ARENA_LAST), rsi)
    a.lea(rdx, qword(rax, 0, index=rsi)).mov(qword(r15, CTX_ARENA_END), rdx)
    a.lea(rdx, qword(rax, 0, index=rdi)).mov(qword(r15, CTX_ARENA_PTR), rdx)
    a.ret()
    a.label("alloc.fail").xor(eax, eax).ret()


# --- the Python side ------------------------------------------------------------------------------


class Arena:
    """A context's chunk table, and the chunks it holds: unmapped when the context goes."""

    def __init__(self, ctx: Context) -> None:
        self.table = (ctypes.c_int64 * (2 * MAX_CHUNKS))()
        addresses = routines()
        ctx.list_new, ctx.list_new_filled = addresses["list_new"], addresses["list_new_filled"]
        ctx.list_grow = addresses["list_grow"]
        ctx.arena_chunks = ctypes.addressof(self.table)
        ctx.arena_ptr = ctx.arena_end = ctx.arena_base = None
        ctx.arena_last = ctx.arena_count = ctx.arena_mapped = 0
        self.ctx = ctx
        weakref.finalize(self, unmap, self.table, ctx)

    def release(self) -> None:
        """The call finished: every list is garbage. Keep the largest chunk (if not huge)
        for the next call, unmap the others, and start again at the kept one's start."""
        ctx, table = self.ctx, self.table
        if not ctx.arena_mapped:
            ctx.arena_ptr = ctx.arena_base
            return
        chunks = [(table[2 * k], table[2 * k + 1]) for k in range(ctx.arena_count)]
        fits = [c for c in chunks if c[1] <= KEEP_BYTES]
        kept = max(fits, key=lambda c: c[1]) if fits else None
        for chunk in chunks:
            if chunk != kept:
                libc().munmap(chunk[0], chunk[1])
        ctx.arena_count, ctx.arena_mapped = (1 if kept else 0), 0
        if kept:
            table[0], table[1] = kept
            ctx.arena_base = ctx.arena_ptr = kept[0]
            ctx.arena_end, ctx.arena_last = kept[0] + kept[1], kept[1]
        else:
            ctx.arena_base = ctx.arena_ptr = ctx.arena_end = None
            ctx.arena_last = 0


def unmap(table: ctypes.Array, ctx: Context) -> None:
    """Unmap every chunk of a context's table (its arena is gone)."""
    for k in range(ctx.arena_count):
        libc().munmap(table[2 * k], table[2 * k + 1])
    ctx.arena_count = ctx.arena_mapped = 0


ELEMENTS = {LIST_KIND_INT: ctypes.c_int64, LIST_KIND_FLOAT: ctypes.c_double}


def to_python(address: int, memo: dict[int, list] | None = None) -> list:
    """The Python list a list header at `address` stands for, its elements copied out. With
    `memo` (address -> list, over one deopt or one result) one header gives one list, so two
    names of one list stay one list in the VM."""
    if memo is not None and address in memo:
        return memo[address]
    length, _, data, kind = (ctypes.c_int64 * 4).from_address(address)
    if kind == LIST_KIND_BOOL:
        out = [byte != 0 for byte in ctypes.string_at(data, length)] if length else []
    else:
        out = list((ELEMENTS[kind] * length).from_address(data)) if length else []
    if memo is not None:
        memo[address] = out
    return out


def kind_number(kind: str) -> int:
    """The LIST_KIND_* of an element kind ("int", "bool", "float")."""
    return {"int": LIST_KIND_INT, "bool": LIST_KIND_BOOL, "float": LIST_KIND_FLOAT}[kind]
