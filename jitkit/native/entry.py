"""A builtin door into compiled code: CPython calls machine code the kit wrote, no ctypes (ch. 06).

Takes the address of a compiled `int64 entry(void *ctx, int64 *args)` (the stack and SSA tiers'
Python entry), its context and what the context needs before a call; gives `BuiltinEntry.function`,
a real builtin (`PyCFunction_NewEx` over a `PyMethodDef` written here) whose `METH_FASTCALL` body
is a stub emitted with the kit's assembler into W^X pages. The stub takes the fast path only
when everything is ordinary: the right number of exact ints that fit in 64 bits (bools are not
ints here), the thread that owns the context, no native call of this thread already running,
the recursion limit the context was sized for and, for code that polls the interrupt flag, our
SIGINT handler still in place. Then it unboxes, calls the body, and boxes the int, bool or None.
Anything else (and any status but "returned", or a raised flag afterwards) goes to Python
callables: `fallback(*args)` before the call, `finish(*args)` after it (the status in the
data block's STATUS word), which are exact.

Code that may run long (loops, calls) runs with the GIL released, as through ctypes, so other
threads and the SIGINT sender keep running; a straight-line leaf keeps it (its call is short).
"""

from __future__ import annotations

import ctypes
import dataclasses
import sys
from collections.abc import Callable
from dataclasses import dataclass, field

from jitkit.native.memory import ExecutableMemory
from jitkit.x86 import (
    Assembler,
    byte,
    dword,
    eax,
    ecx,
    edi,
    edx,
    esi,
    qword,
    r10d,
    r12,
    r13,
    rax,
    rbx,
    rcx,
    rdi,
    rdx,
    rsi,
    rsp,
)

METH_FASTCALL = 0x80
SYS_RT_SIGACTION, SIGINT = 13, 2
KINDS = ("int", "bool", "none")  # the result types the stub boxes itself
# The data words a tier shares between its stubs and its Python side.
LIMIT, MAX_DEPTH, STATUS, WORDS = 0, 1, 2, 3


def arm_limits(data: ctypes.Array, limit: int, cap: int) -> None:
    """Write the recursion limit builtin entries size their call for. The stub compares sys's
    limit with LIMIT on every call and falls back when they differ; `limit` is the one kit
    programs see, so while a tree-walk run has raised Python's limit the two differ and every
    call takes the general path. MAX_DEPTH: the native depth cap under it."""
    data[LIMIT] = limit if limit == sys.getrecursionlimit() else -1
    data[MAX_DEPTH] = min(limit, cap)


class MethodDef(ctypes.Structure):
    """CPython's `PyMethodDef`."""

    _fields_ = [
        ("ml_name", ctypes.c_char_p),
        ("ml_meth", ctypes.c_void_p),
        ("ml_flags", ctypes.c_int),
        ("ml_doc", ctypes.c_char_p),
    ]


def _api(name: str) -> int:
    return ctypes.cast(getattr(ctypes.pythonapi, name), ctypes.c_void_p).value


_new_function = ctypes.pythonapi.PyCFunction_NewEx
_new_function.restype = ctypes.py_object
_new_function.argtypes = (ctypes.c_void_p, ctypes.py_object, ctypes.c_void_p)


@dataclass
class EntrySpec:
    """Everything the stub bakes in, as addresses and constants. Every tier's compiled entry
    takes its arguments in memory at fixed addresses and gives its result in memory; a thread
    owns them (`owner`) and `nesting` says whether a call of that thread already uses them."""

    name: str
    nargs: int
    entry: int  # the compiled entry point, System V
    call_args: tuple[int, ...]  # rdi, rsi, rdx, rcx for it: constants (addresses, an index)
    arg_address: int  # where argument 0's int64 goes ...
    arg_stride: int  # ... and argument k's at arg_address + k * arg_stride
    result: int  # where the body leaves its value (int64)
    kind: str | None  # "int", "bool" or "none"; None: read the tag at `tag`
    nesting: int  # int64: native calls of the owning thread running now (must be 0)
    owner: int  # the PyThreadState* the context belongs to (0: nobody, always fall back)
    flag: int  # the interrupt byte: cleared before the call, must be 0 after it
    data: int  # int64[WORDS]: LIMIT (sys recursion limit seen), MAX_DEPTH, STATUS
    arg_tag: tuple[int, int] | None = None  # (offset from the value, tag of an int) if tagged
    tag: int = 0  # where the result's tag is, when `kind` is None
    tags: dict[str, int] = field(default_factory=dict)  # kind -> tag value; other tags: finish
    status_in_rax: bool = True  # the entry returns a status, 0 when it returned normally
    clear_after: tuple[int, ...] = ()  # int64 words that must be 0 after the call, or finish
    stores: list[tuple[int, int]] = field(default_factory=list)  # (address, value) per call
    copies: list[tuple[int, int]] = field(default_factory=list)  # (address, data word index)
    long_running: bool = True  # loops or calls: release the GIL, check the SIGINT handler
    handler: int = 0  # the address of a word holding the SIGINT handler that must be in place
    keep: tuple = ()  # the objects those addresses live in: the builtin keeps them alive


def _box(a: Assembler, spec: EntrySpec, kind: str) -> None:
    """A new reference to the result as `kind` in rax (NULL with an exception set if the
    allocation failed); then on to "done"."""
    if kind == "none":
        a.mov(rdi, id(None)).mov(rax, _api("Py_IncRef")).call(rax)
        a.mov(rax, id(None))
    else:
        a.mov(rax, spec.result).mov(rdi, qword(rax))
        box = "PyLong_FromLongLong" if kind == "int" else "PyBool_FromLong"
        a.mov(rax, _api(box)).call(rax)
    a.jmp("done")


def emit_stub(spec: EntrySpec, fallback: int, finish: int, interrupted: int) -> bytes:
    """`PyObject *stub(PyObject *self, PyObject *const *args, Py_ssize_t nargs)`."""
    n = spec.nargs
    a = Assembler()
    a.push(rbx).push(r12).push(r13)  # rsp is 16-byte aligned from here on (3 pushes + return)
    a.sub(rsp, 64)  # sigaction's old action, the overflow int; then saved registers, an error
    a.mov(rbx, rsi).mov(r12, rdx)
    a.cmp(rdx, n).jne("fallback")
    a.mov(rax, spec.nesting).cmp(qword(rax), 0).jne("fallback")
    a.mov(rax, _api("PyThreadState_Get")).call(rax)
    a.mov(rcx, spec.owner).cmp(rax, rcx).jne("fallback")
    a.mov(r13, rax)  # the thread state, for PyEval_RestoreThread
    a.mov(rax, _api("Py_GetRecursionLimit")).call(rax)
    a.mov(rcx, spec.data + 8 * LIMIT).cmp(eax, dword(rcx)).jne("fallback")
    if spec.long_running and spec.handler:
        # rt_sigaction(SIGINT, NULL, &old, 8): a query, only for code that polls the flag
        a.mov(eax, SYS_RT_SIGACTION).mov(edi, SIGINT).xor(esi, esi)
        a.mov(rdx, rsp).mov(r10d, 8).syscall()
        a.test(rax, rax).jne("fallback")
        a.mov(rax, qword(rsp)).mov(rcx, spec.handler).cmp(rax, qword(rcx))
        a.jne("fallback")
    for k in range(n):  # exact int (not bool), fits in int64: else the general path
        a.mov(rdi, qword(rbx, 8 * k))
        a.mov(rax, id(int)).cmp(qword(rdi, 8), rax).jne("fallback")
        a.mov(rsi, rsp).mov(rax, _api("PyLong_AsLongLongAndOverflow")).call(rax)
        a.cmp(dword(rsp), 0).jne("fallback")
        a.mov(rcx, spec.arg_address + k * spec.arg_stride).mov(qword(rcx), rax)
        if spec.arg_tag is not None:
            offset, tag = spec.arg_tag
            a.mov(qword(rcx, offset), tag)
    a.mov(rax, spec.nesting).mov(qword(rax), 1)
    for address, value in spec.stores:
        a.mov(rax, address).mov(rcx, value).mov(qword(rax), rcx)
    for address, word in spec.copies:
        a.mov(rcx, spec.data + 8 * word).mov(rcx, qword(rcx))
        a.mov(rax, address).mov(qword(rax), rcx)
    a.mov(rax, spec.flag).mov(byte(rax), 0)
    a.mov(qword(rsp, 8), rbx).mov(qword(rsp, 16), r12).mov(qword(rsp, 24), r13)
    if spec.long_running:
        a.mov(rax, _api("PyEval_SaveThread")).call(rax)
    for register, value in zip((rdi, rsi, rdx, rcx), spec.call_args, strict=False):
        a.mov(register, value)
    a.mov(rax, spec.entry).call(rax)
    if spec.status_in_rax:
        a.movsxd(rax, eax)
    else:
        a.xor(eax, eax)
    a.mov(rcx, spec.data + 8 * STATUS).mov(qword(rcx), rax)
    a.mov(rbx, qword(rsp, 8)).mov(r12, qword(rsp, 16)).mov(r13, qword(rsp, 24))
    if spec.long_running:
        a.mov(rdi, r13).mov(rax, _api("PyEval_RestoreThread")).call(rax)
    a.mov(rax, spec.nesting).mov(qword(rax), 0)
    a.mov(rax, spec.data + 8 * STATUS).cmp(qword(rax), 0).jne("finish")
    a.mov(rax, spec.flag).cmp(byte(rax), 0).jne("finish")
    for address in spec.clear_after:
        a.mov(rax, address).cmp(qword(rax), 0).jne("finish")
    if spec.kind is not None:
        _box(a, spec, spec.kind)
    else:
        a.mov(rax, spec.tag).mov(rax, qword(rax))
        for kind, tag in spec.tags.items():
            a.cmp(rax, tag).je(f"box.{kind}")
        a.jmp("finish")
        for kind in spec.tags:
            a.label(f"box.{kind}")
            _box(a, spec, kind)
    a.label("finish")  # deopt, interrupt, output, a print that raised: Python finishes exactly
    # A SIGINT CPython has not handled yet would raise KeyboardInterrupt as `finish` starts,
    # before it could show the call's output: handle it here, and if it raised, let
    # `interrupted()` show the output with the exception put aside, then raise it.
    a.mov(rax, _api("PyErr_CheckSignals")).call(rax)
    a.test(eax, eax).je("finish.call")
    a.lea(rdi, qword(rsp, 32)).lea(rsi, qword(rsp, 40)).lea(rdx, qword(rsp, 48))
    a.mov(rax, _api("PyErr_Fetch")).call(rax)
    a.mov(rdi, interrupted).xor(esi, esi).xor(edx, edx).xor(ecx, ecx)
    a.mov(rax, _api("PyObject_Vectorcall")).call(rax)
    a.mov(rdi, rax).mov(rax, _api("Py_DecRef")).call(rax)  # None, or NULL if it raised
    a.mov(rdi, qword(rsp, 32)).mov(rsi, qword(rsp, 40)).mov(rdx, qword(rsp, 48))
    a.mov(rax, _api("PyErr_Restore")).call(rax)  # the KeyboardInterrupt (or the handler's)
    a.xor(eax, eax).jmp("done")
    a.label("finish.call")
    a.mov(rdi, finish).mov(rsi, rbx).mov(rdx, r12).xor(ecx, ecx)
    a.mov(rax, _api("PyObject_Vectorcall")).call(rax)
    a.jmp("done")
    a.label("fallback")  # anything unusual: the general path with the same arguments
    a.mov(rdi, fallback).mov(rsi, rbx).mov(rdx, r12).xor(ecx, ecx)
    a.mov(rax, _api("PyObject_Vectorcall")).call(rax)
    a.label("done")
    a.add(rsp, 64)
    a.pop(r13).pop(r12).pop(rbx)
    a.ret()
    return a.assemble().bytes


class BuiltinEntry:
    """The stub, its `PyMethodDef`, its pages and the Python callables it falls back on. The
    builtin (`make_builtin`) holds this object as its `self`, so they live as long as it does."""

    def __init__(
        self, spec: EntrySpec, fallback: Callable, finish: Callable, interrupted: Callable
    ) -> None:
        if spec.kind not in (*KINDS, None) or not set(spec.tags) <= set(KINDS):
            raise ValueError(f"the builtin entry boxes {', '.join(KINDS)}, not {spec.kind!r}")
        self.spec, self.fallback, self.finish = spec, fallback, finish
        self.interrupted = interrupted
        self.code = emit_stub(spec, id(fallback), id(finish), id(interrupted))
        self.memory = ExecutableMemory.from_code(self.code)
        self.name = spec.name.encode()
        self.method = MethodDef(self.name, self.memory.address, METH_FASTCALL, None)


def make_builtin(
    spec: EntrySpec,
    fallback: Callable,
    finish: Callable,
    interrupted: Callable = lambda: None,
) -> Callable:
    """A builtin function running `spec`'s compiled code (see the module doc); `interrupted()`
    shows what the call buffered when a SIGINT raised as it ended."""
    holder = BuiltinEntry(spec, fallback, finish, interrupted)
    return _new_function(ctypes.addressof(holder.method), holder, None)


def contains(tree: object, kinds: tuple[type, ...]) -> bool:
    """Whether a tree of dataclasses (a kit AST) holds a node of one of `kinds`: a function
    with no loop and no call runs briefly, so its entry keeps the GIL."""
    todo = [tree]
    while todo:
        node = todo.pop()
        if isinstance(node, kinds):
            return True
        if isinstance(node, list | tuple):
            todo.extend(node)
        elif dataclasses.is_dataclass(node):
            todo.extend(getattr(node, f.name) for f in dataclasses.fields(node))
    return False


def current_thread_state() -> int:
    """This thread's `PyThreadState*` (what the stub compares against its owner)."""
    get = ctypes.pythonapi.PyThreadState_Get
    get.restype = ctypes.c_void_p
    return get()
