"""The runtime a compiled program links with, written in LLVM IR (notebook 08).

In: an `llvmlite.ir.Module` and a target: "inprocess" (output goes through a function
pointer `jk_sink` that Python sets), "libc" (`write(2)` from libc, entry `main`) or "nolibc"
(raw `syscall` instructions in inline asm, entry `_start`; the kit's machine-code runtime
of notebook 02 lives in the kit's own assembler, not in objects `ld` can link, so this
layer writes its own). Out: `Runtime`, whose functions the code generator calls:
`write(ptr, len)` into a 64 KiB output buffer (`OUTPUT_BUFFER`, the host-compiler tier's size
too: `jitkit.exact.rerun`), `print_int`, `flush`, plus the recursion
depth counter and its limit. In process also the native stack limit: Python sets
`jk_stack_floor` (the thread's lowest usable address) before each call, the entry Python calls
turns it into `jk_stack_limit` (`STACK_BUDGET` below the entry, never under the floor), and
every kit function's entry check compares the stack pointer with it, so deep recursion on a
small thread stack hands over to the interpreter instead of faulting (`STACK_RESERVE` holds
the frames of the untagged copies that do not check). Executables run on the main thread's
stack and stop at the depth limit (1000, CPython's default) long before it.
"""

from __future__ import annotations

from dataclasses import dataclass

from llvmlite import ir

from jitkit.exact.rerun import OUTPUT_BUFFER
from jitkit.native.stack import STACK_BUDGET as STACK_BUDGET  # one budget for every tier

I1, I8, I32, I64 = ir.IntType(1), ir.IntType(8), ir.IntType(32), ir.IntType(64)
BYTES = I8.as_pointer()
BUFFER_SIZE = OUTPUT_BUFFER
TARGETS = ("inprocess", "libc", "nolibc")
SYSCALL = "syscall"
SYSCALL_CONSTRAINTS = "={rax},{rax},{rdi},{rsi},{rdx},~{rcx},~{r11},~{memory}"
SYS_WRITE, SYS_EXIT = 1, 60
# A function that returns ints when given ints has CHECK_EVERY untagged copies (codegen): a call
# of itself goes to the next copy, and only the first checks the native stack and polls the
# interrupt flag (all check the depth), so at most CHECK_EVERY frames go unchecked; the entry
# keeps STACK_RESERVE bytes for them under the limit (FRAME_BOUND: a kit function's frame,
# measured from the object code with a safety factor, tests/llvm/test_llvm_checks.py).
CHECK_EVERY = 4
FRAME_BOUND = 2 << 10
STACK_RESERVE = CHECK_EVERY * FRAME_BOUND


@dataclass
class Runtime:
    """The runtime's IR functions and globals, as the code generator sees them."""

    write: ir.Function  # void (i8* bytes, i64 count, i32 fd)
    flush: ir.Function  # void ()
    depth: ir.GlobalVariable  # i64: current kit call depth
    depth_limit: ir.GlobalVariable  # i64: RecursionError beyond this
    stack_floor: ir.GlobalVariable | None = None  # in process, i64: set by Python per call
    stack_limit: ir.GlobalVariable | None = None  # in process, i64: entry checks compare rsp
    module: ir.Module | None = None  # where `print_int` goes when first asked for

    @property
    def print_int(self) -> ir.Function:
        """`jk_print_int`, void (i64): emitted on first use (a module that prints no int
        does not carry it through text, parsing and the optimizer)."""
        assert self.module is not None
        fn = self.module.globals.get("jk_print_int")
        return fn if isinstance(fn, ir.Function) else emit_print_int(self.module, self.write)


def global_var(module: ir.Module, typ: ir.Type, name: str, init: object) -> ir.GlobalVariable:
    """An internal mutable global with an initial value."""
    var = ir.GlobalVariable(module, typ, name)
    var.initializer = ir.Constant(typ, init)
    var.linkage = "internal"
    return var


def string_constant(module: ir.Module, text: str | bytes, name: str) -> ir.GlobalVariable:
    """A private constant byte array (not NUL-terminated: lengths travel with pointers)."""
    data = text.encode() if isinstance(text, str) else text
    typ = ir.ArrayType(I8, len(data))
    var = ir.GlobalVariable(module, typ, name)
    var.initializer = ir.Constant(typ, bytearray(data))
    var.global_constant, var.linkage, var.unnamed_addr = True, "private", True
    return var


def function(
    module: ir.Module, name: str, ret: ir.Type, args: list[ir.Type], internal: bool = True
) -> tuple[ir.Function, ir.IRBuilder]:
    """A new function with an entry block and a builder positioned in it."""
    fn = ir.Function(module, ir.FunctionType(ret, args), name)
    if internal:
        fn.linkage = "internal"
    return fn, ir.IRBuilder(fn.append_basic_block("entry"))


def emit_sink(module: ir.Module, target: str) -> ir.Function:
    """`jk_sink(fd, ptr, len)`: hand bytes to the outside world, the one target-specific call."""
    fn, b = function(module, "jk_sink", ir.VoidType(), [I32, BYTES, I64])
    fd, ptr, count = fn.args
    if target == "inprocess":
        sink_type = ir.FunctionType(ir.VoidType(), [I32, BYTES, I64]).as_pointer()
        pointer = ir.GlobalVariable(module, sink_type, "jk_sink_pointer")
        pointer.initializer = ir.Constant(sink_type, None)
        b.call(b.load(pointer), [fd, ptr, count])
        b.ret_void()
        return fn
    # loop: write until everything is out (a pipe may take fewer bytes); stop on error
    loop, done = fn.append_basic_block("loop"), fn.append_basic_block("done")
    b.branch(loop)
    b.position_at_end(loop)
    offset = b.phi(I64)
    offset.add_incoming(ir.Constant(I64, 0), fn.entry_basic_block)
    at, left = b.gep(ptr, [offset]), b.sub(count, offset)
    if target == "libc":
        write = module.globals.get("write") or ir.Function(
            module, ir.FunctionType(I64, [I32, BYTES, I64]), "write"
        )
        wrote = b.call(write, [fd, at, left])
    else:
        asm_type = ir.FunctionType(I64, [I64, I64, BYTES, I64])
        wrote = b.asm(
            asm_type,
            SYSCALL,
            SYSCALL_CONSTRAINTS,
            [ir.Constant(I64, SYS_WRITE), b.sext(fd, I64), at, left],
            True,
        )
    next_offset = b.add(offset, wrote)
    offset.add_incoming(next_offset, loop)
    failed = b.icmp_signed("<=", wrote, ir.Constant(I64, 0))
    b.cbranch(b.or_(failed, b.icmp_signed(">=", next_offset, count)), done, loop)
    b.position_at_end(done)
    b.ret_void()
    return fn


def emit_runtime(module: ir.Module, target: str) -> Runtime:
    """Add the output buffer, `write`, `flush` and the depth counter to a module (and
    `print_int` when the code generator first asks for it)."""
    if target not in TARGETS:
        raise ValueError(f"target must be one of {TARGETS}, not {target!r}")
    sink = emit_sink(module, target)
    buffer_type = ir.ArrayType(I8, BUFFER_SIZE)
    buffer = global_var(module, buffer_type, "jk_buffer", None)
    used = global_var(module, I64, "jk_buffer_used", 0)
    zero = ir.Constant(I64, 0)

    used.linkage = ""  # external, as are jk_flush and the depth globals: Python uses them
    flush, b = function(module, "jk_flush", ir.VoidType(), [], internal=False)
    b.call(sink, [ir.Constant(I32, 1), b.gep(buffer, [zero, zero]), b.load(used)])
    b.store(zero, used)
    b.ret_void()

    # write(ptr, n, fd): stdout goes through the buffer, anything else straight out.
    write, b = function(module, "jk_write", ir.VoidType(), [BYTES, I64, I32])
    ptr, count, fd = write.args
    fn = write
    direct, buffered = fn.append_basic_block("direct"), fn.append_basic_block("buffered")
    copy, done = fn.append_basic_block("copy"), fn.append_basic_block("done")
    is_stdout = b.icmp_signed("==", fd, ir.Constant(I32, 1))
    fits = b.icmp_signed("<=", count, ir.Constant(I64, BUFFER_SIZE))
    with b.if_then(
        b.and_(
            is_stdout, b.icmp_signed(">", b.add(b.load(used), count), ir.Constant(I64, BUFFER_SIZE))
        )
    ):
        b.call(flush, [])
    b.cbranch(b.and_(is_stdout, fits), buffered, direct)
    b.position_at_end(direct)
    b.call(sink, [fd, ptr, count])
    b.branch(done)
    b.position_at_end(buffered)
    start = b.load(used)
    b.store(b.add(start, count), used)
    b.cbranch(b.icmp_signed(">", count, zero), copy, done)
    b.position_at_end(copy)
    i = b.phi(I64)
    i.add_incoming(zero, buffered)
    # atomic byte stores: keeps LLVM from turning the loop into a call of libc's memcpy
    dest = b.gep(buffer, [zero, b.add(start, i)])
    b.store_atomic(b.load(b.gep(ptr, [i])), dest, "monotonic", 1)
    i_next = b.add(i, ir.Constant(I64, 1))
    i.add_incoming(i_next, copy)
    b.cbranch(b.icmp_signed("<", i_next, count), copy, done)
    b.position_at_end(done)
    b.ret_void()

    depth = global_var(module, I64, "jk_depth", 0)
    limit = global_var(module, I64, "jk_depth_limit", 1000)
    depth.linkage = limit.linkage = ""
    if target != "inprocess":
        return Runtime(write, flush, depth, limit, module=module)
    stack_floor = global_var(module, I64, "jk_stack_floor", 0)
    stack_limit = global_var(module, I64, "jk_stack_limit", 0)
    stack_floor.linkage = ""
    return Runtime(write, flush, depth, limit, stack_floor, stack_limit, module)


def stack_pointer(module: ir.Module, b: ir.IRBuilder) -> ir.Value:
    """The stack pointer as an i64 (`llvm.read_register` of rsp: a plain read, no frame
    pointer, and unlike `llvm.stacksave` no barrier to optimizing around it)."""
    read = module.globals.get("llvm.read_register.i64") or ir.Function(
        module, ir.FunctionType(I64, [ir.MetaDataType()]), "llvm.read_register.i64"
    )
    return b.call(read, [module.add_metadata([ir.MetaDataString(module, "rsp")])])


def emit_print_int(module: ir.Module, write: ir.Function) -> ir.Function:
    """`jk_print_int(v)`: decimal digits of a signed 64-bit int (INT64_MIN included)."""
    fn, b = function(module, "jk_print_int", ir.VoidType(), [I64])
    (value,) = fn.args
    digits = b.alloca(ir.ArrayType(I8, 24))
    zero, ten = ir.Constant(I64, 0), ir.Constant(I64, 10)
    negative = b.icmp_signed("<", value, zero)
    loop, done = fn.append_basic_block("digit"), fn.append_basic_block("done")
    entry = b.block
    b.branch(loop)
    b.position_at_end(loop)
    rest, pos = b.phi(I64), b.phi(I64)
    rest.add_incoming(value, entry)
    pos.add_incoming(ir.Constant(I64, 23), entry)
    digit = b.srem(rest, ten)
    digit = b.select(b.icmp_signed("<", digit, zero), b.neg(digit), digit)  # works for MIN
    b.store(b.trunc(b.add(digit, ir.Constant(I64, ord("0"))), I8), b.gep(digits, [zero, pos]))
    rest_next, pos_next = b.sdiv(rest, ten), b.sub(pos, ir.Constant(I64, 1))
    rest.add_incoming(rest_next, loop)
    pos.add_incoming(pos_next, loop)
    b.cbranch(b.icmp_signed("!=", rest_next, zero), loop, done)
    b.position_at_end(done)
    first = b.select(negative, pos_next, b.add(pos_next, ir.Constant(I64, 1)))
    with b.if_then(negative):
        b.store(ir.Constant(I8, ord("-")), b.gep(digits, [zero, pos_next]))
    b.call(
        write,
        [b.gep(digits, [zero, first]), b.sub(ir.Constant(I64, 24), first), ir.Constant(I32, 1)],
    )
    b.ret_void()
    return fn


def emit_entry(module: ir.Module, target: str, main: ir.Function, runtime: Runtime) -> None:
    """The process entry for executables: run the program, flush, exit with its status.

    `main` returns 0 or 1 (after it printed the error line to stderr). With libc the
    entry is `int main(void)`; without, a `_start` that realigns the stack (the kernel
    enters with rsp 16-aligned, not 8-off as after a call) and calls exit itself.
    """
    if target == "libc":
        fn, b = function(module, "main", I32, [], internal=False)
        status = b.call(main, [])
        b.call(runtime.flush, [])
        b.ret(b.trunc(status, I32))
        return
    fn, b = function(module, "_start", ir.VoidType(), [], internal=False)
    fn.attributes.alignstack = 16
    fn.attributes.add("noreturn")
    status = b.call(main, [])
    b.call(runtime.flush, [])
    b.asm(
        ir.FunctionType(I64, [I64, I64, BYTES, I64]),
        SYSCALL,
        SYSCALL_CONSTRAINTS,
        [ir.Constant(I64, SYS_EXIT), status, ir.Constant(BYTES, None), ir.Constant(I64, 0)],
        True,
    )
    b.unreachable()
