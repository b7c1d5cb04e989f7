"""The compiled lists' memory: a bump allocator over mmap'd chunks (notebook 08).

In: an IR module and its target. Out: `jk_alloc(bytes) -> i8*` (16-byte aligned, null when
the kernel refuses memory), `jk_heap_release()`, which frees every list a call made, and
`jk_heap_free()`, which unmaps every chunk. The same code serves every target, because it
asks the kernel itself (raw `mmap`/`munmap` system calls): no libc `malloc` in the
runtime-free executable, and in process Python calls `jk_heap_release` when a call returns
(after turning a list result into a Python list), so a call's lists live exactly as long as
the call, and `jk_heap_free` when the module is dropped. Executables never release: exit does.

Release keeps one chunk of at most KEEP bytes mapped for the next call when the call fitted
in it, and otherwise unmaps all and remembers how much the call used, so that the next call
maps one chunk that size at once: from the third call of the same work on, a call maps
nothing and touches only pages it touched before. Why, measured: sieve(3,000,000) took
~734 page faults per call (a fresh 3 MB mapping each time) where gcc's malloc reused its
memory (0 faults): ~1.5 ms of its 10 ms.
Nothing is freed one by one (a list that grows leaves its old data behind): kit programs are
short runs, and a bump allocator is two adds.

The runtime-free executable also gets `memcpy` and `memset`: LLVM turns copy and fill loops
into calls of them (the list code has both), and only libc would define them otherwise.
"""

from __future__ import annotations

from llvmlite import ir

from jitkit.llvm.runtime import BYTES, I8, I32, I64, SYSCALL, function, global_var

SYS_MMAP, SYS_MUNMAP = 9, 11
PROT_READ_WRITE, MAP_PRIVATE_ANONYMOUS = 3, 0x22
CHUNK = 1 << 20  # bytes mapped at a time (more for one bigger allocation)
KEEP = 16 << 20  # at most this many bytes stay mapped between two calls
HEADER = 16  # each chunk starts with [previous chunk, its size]
MMAP_CONSTRAINTS = "={rax},{rax},{rdi},{rsi},{rdx},{r10},{r8},{r9},~{rcx},~{r11},~{memory}"


def c64(value: int) -> ir.Constant:
    return ir.Constant(I64, value)


def syscall6(b: ir.IRBuilder, number: int, args: list[ir.Value]) -> ir.Value:
    """A raw Linux system call with up to six i64 arguments; rax comes back."""
    args = args + [c64(0)] * (6 - len(args))
    asm_type = ir.FunctionType(I64, [I64] * 7)
    return b.asm(asm_type, SYSCALL, MMAP_CONSTRAINTS, [c64(number), *args], True)


def emit_heap(module: ir.Module, target: str) -> tuple[ir.Function, ir.Function]:
    """`jk_alloc` and `jk_heap_release` (and memcpy/memset without libc), once per module."""
    if "jk_alloc" in module.globals:
        return module.globals["jk_alloc"], module.globals["jk_heap_release"]
    chunk = global_var(module, I64, "jk_heap_chunk", 0)  # address of the current chunk, or 0
    used = global_var(module, I64, "jk_heap_used", 0)
    size = global_var(module, I64, "jk_heap_size", 0)
    hint = global_var(module, I64, "jk_heap_hint", 0)  # what the last call used, to map once

    alloc, b = function(module, "jk_alloc", BYTES, [I64])
    # fresh memory, as malloc's: LLVM may then keep a list's header in registers across
    # stores into its elements (a `[True] * n` list's kind and width become constants)
    alloc.return_value.add_attribute("noalias")
    want = b.and_(b.add(alloc.args[0], c64(15)), c64(-16))
    full = b.icmp_unsigned(">", b.add(b.load(used), want), b.load(size))
    with b.if_then(b.or_(b.icmp_unsigned("==", b.load(chunk), c64(0)), full)):
        bigger = b.and_(b.add(want, c64(HEADER + 4095)), c64(-4096))
        length = b.select(b.icmp_unsigned(">", bigger, c64(CHUNK)), bigger, c64(CHUNK))
        wanted = b.load(hint)
        length = b.select(b.icmp_unsigned(">", wanted, length), wanted, length)
        b.store(c64(0), hint)
        flags = [c64(PROT_READ_WRITE), c64(MAP_PRIVATE_ANONYMOUS), c64(-1), c64(0)]
        fresh = syscall6(b, SYS_MMAP, [c64(0), length, *flags])
        with b.if_then(b.icmp_unsigned(">", fresh, c64(-4096))):  # -errno: no memory
            b.ret(ir.Constant(BYTES, None))
        header = b.inttoptr(fresh, I64.as_pointer())
        b.store(b.load(chunk), header)
        b.store(length, b.gep(header, [c64(1)]))
        b.store(fresh, chunk)
        b.store(c64(HEADER), used)
        b.store(length, size)
    start = b.load(used)
    b.store(b.add(start, want), used)
    b.ret(b.inttoptr(b.add(b.load(chunk), start), BYTES))

    free = unmapping(module, "jk_heap_free", chunk, used, size, hint)
    release, b = function(module, "jk_heap_release", ir.VoidType(), [], internal=False)
    current = b.load(chunk)
    with b.if_then(b.icmp_unsigned("!=", current, c64(0))):
        header = b.inttoptr(current, I64.as_pointer())
        alone = b.icmp_unsigned("==", b.load(header), c64(0))
        small = b.icmp_unsigned("<=", b.load(size), c64(KEEP))
        with b.if_then(b.and_(alone, small)):  # keep it, empty, for the next call
            b.store(c64(HEADER), used)
            b.ret_void()
    b.call(free, [])
    b.ret_void()
    if target == "nolibc":
        emit_memory_functions(module)
    return alloc, release


def unmapping(
    module: ir.Module,
    name: str,
    chunk: ir.GlobalVariable,
    used: ir.GlobalVariable,
    size: ir.GlobalVariable,
    hint: ir.GlobalVariable,
) -> ir.Function:
    """A function that unmaps every chunk and sets `hint` to the bytes they held (when at
    most KEEP): the next allocation maps that much at once."""
    fn, b = function(module, name, ir.VoidType(), [], internal=False)
    total = b.alloca(I64)
    b.store(c64(0), total)
    loop, done = fn.append_basic_block("unmap"), fn.append_basic_block("done")
    b.cbranch(b.icmp_unsigned("!=", b.load(chunk), c64(0)), loop, done)
    b.position_at_end(loop)
    header = b.inttoptr(b.load(chunk), I64.as_pointer())
    previous, length = b.load(header), b.load(b.gep(header, [c64(1)]))
    b.store(b.add(b.load(total), length), total)
    syscall6(b, SYS_MUNMAP, [b.load(chunk), length])
    b.store(previous, chunk)
    b.cbranch(b.icmp_unsigned("!=", previous, c64(0)), loop, done)
    b.position_at_end(done)
    for var in (used, size):
        b.store(c64(0), var)
    bytes_used = b.load(total)
    b.store(b.select(b.icmp_unsigned("<=", bytes_used, c64(KEEP)), bytes_used, c64(0)), hint)
    b.ret_void()
    return fn


def emit_memory_functions(module: ir.Module) -> None:
    """`memcpy` and `memset` for an executable without libc: byte loops whose stores are
    atomic, so LLVM does not turn them back into calls of themselves."""
    for name, args in (("memcpy", [BYTES, BYTES, I64]), ("memset", [BYTES, I32, I64])):
        fn, b = function(module, name, BYTES, args, internal=False)
        dest, source, count = fn.args
        entry, loop, done = b.block, fn.append_basic_block("loop"), fn.append_basic_block("done")
        b.cbranch(b.icmp_unsigned(">", count, c64(0)), loop, done)
        b.position_at_end(loop)
        i = b.phi(I64)
        i.add_incoming(c64(0), entry)
        byte = b.load(b.gep(source, [i])) if name == "memcpy" else b.trunc(source, I8)
        b.store_atomic(byte, b.gep(dest, [i]), "monotonic", 1)
        following = b.add(i, c64(1))
        i.add_incoming(following, loop)
        b.cbranch(b.icmp_unsigned("<", following, count), loop, done)
        b.position_at_end(done)
        b.ret(dest)
