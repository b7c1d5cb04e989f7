"""Executable memory and callable machine code (notebook 01).

Takes machine code (bytes, or an assembled `jitkit.x86.Code`); gives pages that are writable
while the code is copied in and read-execute afterwards, never both (W^X), and a typed Python
callable over them. The pages are unmapped when the last Python object using them is collected.
Linux x86-64 only: on other systems the kit still imports, and using this module says why not.
"""

from __future__ import annotations

import ctypes
import functools
import mmap
import os
import platform
import sys
import weakref
from collections.abc import Sequence
from typing import Any

from jitkit.errors import JitkitError, MissingDependencyError

# <sys/mman.h> on Linux
PROT_READ, PROT_WRITE, PROT_EXEC = 0x1, 0x2, 0x4
MAP_PRIVATE, MAP_ANONYMOUS = 0x02, 0x20
MAP_FAILED = ctypes.c_void_p(-1).value
PAGE_SIZE = mmap.PAGESIZE


class ExecutableMemoryError(JitkitError, OSError):
    """The kernel refused mmap, mprotect or munmap, or the pages are in the wrong state."""


# --- libc ----------------------------------------------------------------------------------


@functools.cache
def libc() -> ctypes.CDLL:
    """libc's mmap, mprotect and munmap with C types spelled out (a void* is not an int)."""
    if not sys.platform.startswith("linux") or platform.machine() not in ("x86_64", "AMD64"):
        raise MissingDependencyError(
            f"jitkit.native runs x86-64 machine code, so it needs Linux on x86-64; this is "
            f"{sys.platform} on {platform.machine()}. Encoding and disassembly still work."
        )
    lib = ctypes.CDLL(None, use_errno=True)
    lib.mmap.restype = ctypes.c_void_p
    lib.mmap.argtypes = (
        ctypes.c_void_p,
        ctypes.c_size_t,
        ctypes.c_int,
        ctypes.c_int,
        ctypes.c_int,
        ctypes.c_long,
    )
    lib.mprotect.restype = ctypes.c_int
    lib.mprotect.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int)
    lib.munmap.restype = ctypes.c_int
    lib.munmap.argtypes = (ctypes.c_void_p, ctypes.c_size_t)
    return lib


def _fail(call: str) -> ExecutableMemoryError:
    err = ctypes.get_errno()
    return ExecutableMemoryError(err, f"{call} failed: {os.strerror(err)}")


def _mmap(size: int) -> int:
    address = libc().mmap(None, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
    if address is None or address == MAP_FAILED:
        raise _fail(f"mmap of {size} bytes")
    return address


def _mprotect(address: int, size: int, prot: int) -> None:
    if libc().mprotect(address, size, prot) != 0:
        raise _fail(f"mprotect({address:#x}, {size}, {prot})")


def _munmap(address: int, size: int) -> None:
    """Run by weakref.finalize: gets only numbers, so it keeps nothing alive."""
    if libc().munmap(address, size) != 0:
        raise _fail(f"munmap({address:#x}, {size})")


# --- pages ---------------------------------------------------------------------------------


class ExecutableMemory:
    """Whole pages for code: `write` while read-write, `seal` to read-execute, freed on GC."""

    def __init__(self, size: int) -> None:
        if size <= 0:
            raise ExecutableMemoryError(f"executable memory needs at least one byte, not {size}")
        self.size = -(-size // PAGE_SIZE) * PAGE_SIZE  # whole pages
        self.address = _mmap(self.size)
        self.sealed = False
        self._finalizer = weakref.finalize(self, _munmap, self.address, self.size)

    @classmethod
    def from_code(cls, code: bytes) -> ExecutableMemory:
        """Map, copy `code` in and seal: the three steps every JIT does before a call."""
        memory = cls(len(code))
        memory.write(0, code)
        memory.seal()
        return memory

    @property
    def freed(self) -> bool:
        return not self._finalizer.alive

    @property
    def protection(self) -> str:
        """What this object believes the pages allow ("rw-", "r-x", or "freed")."""
        return "freed" if self.freed else ("r-x" if self.sealed else "rw-")

    def write(self, offset: int, data: bytes) -> None:
        """Copy bytes in; refused once sealed, since the pages are no longer writable."""
        if self.freed or self.sealed:
            raise ExecutableMemoryError(
                f"cannot write to {self.protection} memory at {self.address:#x}: "
                "W^X allows writing only before seal()"
            )
        if not 0 <= offset <= self.size - len(data):
            raise ExecutableMemoryError(
                f"{len(data)} bytes at offset {offset} do not fit in {self.size} bytes"
            )
        ctypes.memmove(self.address + offset, bytes(data), len(data))

    def seal(self) -> None:
        """Flip the pages from read-write to read-execute (never both at once)."""
        if self.freed:
            raise ExecutableMemoryError("cannot seal freed memory")
        _mprotect(self.address, self.size, PROT_READ | PROT_EXEC)
        self.sealed = True

    def read(self, offset: int = 0, size: int | None = None) -> bytes:
        """The bytes now in the pages (for looking, and for tests)."""
        if self.freed:
            raise ExecutableMemoryError("cannot read freed memory")
        size = self.size - offset if size is None else size
        return ctypes.string_at(self.address + offset, size)

    def free(self) -> None:
        """Unmap now rather than at garbage collection; safe to call twice."""
        self._finalizer()

    def __repr__(self) -> str:
        return f"<ExecutableMemory {self.size} bytes at {self.address:#x} {self.protection}>"


# --- callables -----------------------------------------------------------------------------


_C_NAMES = {
    ctypes.c_int64: "int64_t",
    ctypes.c_uint64: "uint64_t",
    ctypes.c_int32: "int32_t",
    ctypes.c_uint32: "uint32_t",
    ctypes.c_double: "double",
    ctypes.c_void_p: "void *",
}


def _type_name(ctype: Any) -> str:
    """C spelling of a ctypes type (ctypes calls int64_t `c_long`, which hides the width)."""
    return "void" if ctype is None else _C_NAMES.get(ctype, ctype.__name__.removeprefix("c_"))


class NativeFunction:
    """Machine code as a Python callable with a C signature (System V, via ctypes).

    `NativeFunction(code, restype=ctypes.c_int64, argtypes=(ctypes.c_int64,))`; `code` is
    bytes or anything with a `.bytes` attribute (an assembled `jitkit.x86.Code`)."""

    def __init__(
        self,
        code: Any,
        restype: Any = ctypes.c_int64,
        argtypes: Sequence[Any] = (),
    ) -> None:
        self.code = bytes(getattr(code, "bytes", code))
        self.labels: dict[str, int] = dict(getattr(code, "labels", {}) or {})
        self.restype, self.argtypes = restype, tuple(argtypes)
        self.memory = ExecutableMemory.from_code(self.code)
        prototype = ctypes.CFUNCTYPE(restype, *self.argtypes)
        self.cfunc = prototype(self.memory.address)
        # The ctypes object holds the pages too, so a copy of `fn.cfunc` kept after `fn` is
        # gone never calls into unmapped memory. There is no cycle: memory refers to nothing.
        self.cfunc._jitkit_memory = self.memory

    @property
    def address(self) -> int:
        return self.memory.address

    @property
    def size(self) -> int:
        """Bytes of code (the mapping itself is rounded up to whole pages)."""
        return len(self.code)

    @property
    def signature(self) -> str:
        args = ", ".join(_type_name(t) for t in self.argtypes)
        return f"{_type_name(self.restype)}({args})"

    def __call__(self, *args: Any) -> Any:
        return self.cfunc(*args)

    def __repr__(self) -> str:
        return (
            f"<NativeFunction {self.signature} at {self.address:#x}, "
            f"{self.size} bytes, {self.memory.protection}>"
        )
