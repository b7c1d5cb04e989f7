"""A guard in front of a builtin entry: run compiled code only while the module-level names it
was compiled against still hold what they held (`@jit`, docs/globals.md; ch. 06's entry).

Takes the addresses of words to watch (dict version tags), the words they had, the names to
look up again when one moved, the builtin entry to guard and a Python `stale` path; gives a
builtin (`METH_FASTCALL | METH_KEYWORDS`) whose stub checks the words, looks the names up with
`PyDict_GetItemWithError` only when a word moved, and jumps into the entry's own stub with the
caller's arguments: no second call. Keywords and rebound names go to `stale`.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable
from dataclasses import dataclass

from jitkit.native.entry import METH_FASTCALL, BuiltinEntry, MethodDef, _api, _new_function
from jitkit.native.memory import ExecutableMemory
from jitkit.x86 import Assembler, ecx, qword, r12, r13, rax, rbx, rcx, rdi, rdx, rsi

METH_KEYWORDS = 0x02


@dataclass(frozen=True)
class Lookup:
    """A name the guarded code was compiled against: `scope[name]`, else `fallback[name]`
    (addresses of two dicts and a str) must be the object at `found` (0: in neither), or,
    with `found` None, an object whose type is one of `types` (addresses)."""

    scope: int
    name: int
    fallback: int
    found: int | None
    types: tuple[int, ...] = ()


def _check_lookup(a: Assembler, lookup: Lookup, k: int) -> None:
    """rax = the object `lookup.name` finds now (borrowed; NULL: none); jne "slow.stale" if
    it is not the one the code was compiled against."""
    get = _api("PyDict_GetItemWithError")  # a str key: no error, no Python code runs
    a.mov(rdi, lookup.scope).mov(rsi, lookup.name).mov(rax, get).call(rax)
    a.test(rax, rax).jne(f"found.{k}")
    a.mov(rdi, lookup.fallback).mov(rsi, lookup.name).mov(rax, get).call(rax)
    a.label(f"found.{k}")
    if lookup.found is not None:
        a.mov(rcx, lookup.found).cmp(rax, rcx).jne("slow.stale")
        return
    a.test(rax, rax).je("slow.stale")
    a.mov(rax, qword(rax, 8))  # ob_type
    for t in lookup.types:
        a.mov(rcx, t).cmp(rax, rcx).je(f"next.{k}")
    a.jmp("slow.stale")
    a.label(f"next.{k}")


def emit_guard(
    watched: tuple[int, ...],
    expected: int,
    lookups: tuple[Lookup, ...],
    target: tuple[int, int] | None,
    inner: int,
    stale: int,
    pinned: tuple[tuple[int, int], ...] = (),
) -> bytes:
    """`PyObject *guard(PyObject *self, PyObject *const *args, Py_ssize_t nargs,
    PyObject *kwnames)`: when no keyword was passed and every watched word equals its
    expected word (`expected + 8 * k`), jump to the guarded entry with the same arguments.
    When a word moved, look each name up again (`lookups`); all as compiled: the watched
    words become the expected ones and the entry runs; else, or with keywords, tail-call
    `stale(*args, **kwargs)`. `target` is (self, stub) of a builtin entry to jump into
    directly; None calls `inner` through `PyObject_Vectorcall`. A moved `pinned` (address,
    word) word (a function's code: no lookup vouches for another one) goes to `stale`."""
    a = Assembler()

    def enter() -> None:  # rsi (args), rdx (nargs): the guarded stub's own
        if target is not None:
            a.mov(rdi, target[0]).mov(rax, target[1]).jmp(rax)
        else:
            a.xor(ecx, ecx).mov(rdi, inner).mov(rax, _api("PyObject_Vectorcall")).jmp(rax)

    def restore() -> None:
        a.mov(rsi, rbx).mov(rdx, r12).mov(rcx, r13)
        a.pop(r13).pop(r12).pop(rbx)

    a.test(rcx, rcx).jne("stale")  # keyword arguments: Python binds them
    for address, word in pinned:  # rdi is free (enter and stale set it), rcx is kwnames
        a.mov(rax, address).mov(rax, qword(rax))
        a.mov(rdi, word).cmp(rax, rdi).jne("stale")
    for k, address in enumerate(watched):
        a.mov(rax, address).mov(rax, qword(rax))
        a.mov(rdi, expected + 8 * k).cmp(rax, qword(rdi)).jne("slow")
    enter()
    a.label("slow")  # a dict was written: are the names still bound as compiled?
    a.push(rbx).push(r12).push(r13)  # rsp 16-byte aligned for the calls
    a.mov(rbx, rsi).mov(r12, rdx).mov(r13, rcx)
    for k, lookup in enumerate(lookups):
        _check_lookup(a, lookup, k)
    for k, address in enumerate(watched):  # yes: these versions of the dicts are fine too
        a.mov(rax, address).mov(rax, qword(rax))
        a.mov(rdi, expected + 8 * k).mov(qword(rdi), rax)
    restore()
    enter()
    a.label("slow.stale")
    restore()
    a.label("stale")  # rsi, rdx, rcx: args, nargs, kwnames, as they came
    a.mov(rdi, stale).mov(rax, _api("PyObject_Vectorcall")).jmp(rax)
    return a.assemble().bytes


class GuardEntry:
    """The guard's stub, `PyMethodDef` and pages, the entry it guards, its `stale` path and
    what the stub's addresses point into (the builtin holds this object as its `self`, so
    they live as long as it does)."""

    def __init__(self, code: bytes, inner: Callable, stale: Callable, keep: object) -> None:
        self.code, self.inner, self.stale, self.keep = code, inner, stale, keep
        self.memory = ExecutableMemory.from_code(code)
        self.name = getattr(inner, "__name__", "guard").encode()
        flags = METH_FASTCALL | METH_KEYWORDS
        self.method = MethodDef(self.name, self.memory.address, flags, None)


def make_guard(
    watched: tuple[int, ...],
    expected: ctypes.Array,
    lookups: tuple[Lookup, ...],
    inner: Callable,
    stale: Callable,
    keep: object = None,
    pinned: tuple[tuple[int, int], ...] = (),
) -> Callable:
    """A builtin that calls `inner` (a builtin entry: by a jump into its stub, no second call)
    while each int64 word at `watched[k]` equals `expected[k]` (a dict's version tag,
    `jitkit.bindings`); when one moved, while every `lookups` name still finds what it
    found (then `expected` takes the new words); else, or when keywords were passed or a
    `pinned` word moved, `stale(*args, **kwargs)`, which decides and may update `expected`.
    `keep`: what the addresses point into, kept alive as long as the builtin."""
    if len(expected) < len(watched):
        raise ValueError(f"{len(watched)} watched words, {len(expected)} expected")
    holder = getattr(inner, "__self__", None)
    target = (id(holder), holder.memory.address) if isinstance(holder, BuiltinEntry) else None
    address = ctypes.addressof(expected)
    code = emit_guard(watched, address, lookups, target, id(inner), id(stale), pinned)
    guard = GuardEntry(code, inner, stale, (keep, watched, expected))
    return _new_function(ctypes.addressof(guard.method), guard, None)
