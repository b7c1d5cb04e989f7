"""One exactness mechanism for the tiers that cannot resume a call mid-way (notebooks 04, 08).

The host-compiler tier (`jitkit.hostc`) and the LLVM tier (`jitkit.llvm.compiler`) compute with
int64 and stop at the first thing they cannot do exactly (an overflow, a None operand, too
deep a recursion...). Neither keeps frame state to resume from, so both take the same way
back, defined here once:

- **one tag enum**, `Tag`: the value tags of both tiers' generated code (`c_tags()` writes the
  C prelude's `#define`s, `jitkit.llvm.values` takes its constants from it);
- **one bounded output buffer**: compiled code prints into `OUTPUT_BUFFER` bytes and hands them
  to an `Output` sink when the buffer is full and when the call ends, so a program that prints
  forever shows its output as it goes and holds 64 KiB, not all it printed. The sink counts the
  characters it showed (`shown`) and keeps what was raised in it instead of letting ctypes
  swallow it (an unencodable character; a KeyboardInterrupt CPython's SIGINT handler raised in
  there), and the code stops at its next poll (a loop's back edge, a function's entry), where
  a statement ended, and the tier raises it;
- **one re-run policy**, `Rerun`: a call that bailed out runs again from its start in the
  kit VM (tier 0: it profiles, and it runs the bytecode the other tiers come from) with
  Python's exact ints, from the module-level values the call started with, its first `shown`
  characters dropped (`SkipWriter`). That is exact because the subset is deterministic (no
  input, clock or randomness): the re-run prints the same text, so no line is lost or shown
  twice; a UnicodeEncodeError from the stream re-runs the same way, and the VM raises it at
  the very print that failed, after the text before it;
- **one depth cap and stack budget**, `jitkit.native.stack`'s (the stack and SSA tiers' too).
"""

from __future__ import annotations

import contextlib
import ctypes
import sys
from collections import Counter
from collections.abc import Callable
from enum import IntEnum
from typing import Protocol, TextIO

from jitkit.bytecode.code import Code
from jitkit.bytecode.compiler import compile_module
from jitkit.lang import nodes as n
from jitkit.native.interrupts import interrupt_flag
from jitkit.vm.machine import VM

OUTPUT_BUFFER = 1 << 16  # bytes compiled code prints before it hands them to the sink
# void sink(int32 fd, const char *bytes, int64 count): what both tiers' code calls
SINK = ctypes.CFUNCTYPE(None, ctypes.c_int32, ctypes.c_void_p, ctypes.c_int64)


class Tag(IntEnum):
    """What a tagged value holds (C's `jk_val.t`, LLVM's i8 tag). INT, BOOL and NONE first:
    their payload is their truth (C tests `t <= JK_NONE`), INT and BOOL are the ints
    (`t <= BOOL`). ERROR is LLVM's failed call, its payload the error site; C bails out with
    `longjmp` instead."""

    INT = 0
    BOOL = 1
    NONE = 2
    UNBOUND = 3
    FLOAT = 4
    LIST = 5
    ERROR = 6


def c_tags() -> str:
    """The tags as the C prelude's `#define JK_INT 0` lines."""
    return "\n".join(f"#define JK_{tag.name} {tag.value}" for tag in Tag)


class Output:
    """The Python end of compiled code's print buffer: `sink` (a C function pointer,
    `address`) shows each full buffer on `sys.stdout`, up to its last line end (the rest
    waits for the next buffer; `end` shows it when the call ends). Per call: `begin()`, then
    `shown` characters were written (a word: a builtin entry's stub goes to Python after a
    call that showed any) and `kept` holds what was raised in the sink, if anything.
    `buffer`: OUTPUT_BUFFER bytes for code that prints into memory Python owns (hostc)."""

    def __init__(self, with_buffer: bool = False) -> None:
        self.state = _SinkState()
        self.shown = self.state.shown
        self.kept = self.state.kept
        self.sink, self.show = _sink(self.state)  # for compiled code; the same for Python
        self.address: int = ctypes.cast(self.sink, ctypes.c_void_p).value or 0
        self.buffer = ctypes.create_string_buffer(OUTPUT_BUFFER) if with_buffer else None

    def begin(self) -> None:
        """A new call: nothing shown, nothing kept, nothing held back."""
        self.shown.value = 0
        if self.kept or self.state.rest:
            self.kept.clear()
            self.drop()

    def drop(self) -> None:
        """Forget the text held back after the last line end (a re-run prints it)."""
        self.state.rest = b""

    def write(self, address: int, count: int) -> None:
        """Show `count` bytes at `address` as compiled code does, and what was held back."""
        if count:
            self.show(1, address, count)
        self.end()

    def end(self) -> None:
        """The call ended: show the text held back after the last line end."""
        if self.state.rest:
            rest = ctypes.create_string_buffer(self.state.rest, len(self.state.rest))
            self.drop()
            self.show(1, ctypes.addressof(rest), -len(rest))  # negative: all of it

    def failure(self) -> BaseException | None:
        """What was raised in the sink during the call, taken (the flag cleared)."""
        if not self.kept:
            return None
        interrupt_flag().clear()
        error = self.kept[0]
        self.kept.clear()
        return error


class _SinkState:
    """What the sink knows between its calls: characters shown, what was raised, the bytes
    after the last line end not shown yet, and whether a write is under way."""

    def __init__(self) -> None:
        self.shown = ctypes.c_int64(0)
        self.kept: list[BaseException] = []
        self.rest = b""
        self.writing = False


def complete(data: bytes) -> int:
    """How many bytes of `data` make whole UTF-8 characters (a buffer may end inside one)."""
    for back in range(1, min(4, len(data)) + 1):
        byte = data[-back]
        if byte < 0x80:
            return len(data)
        if byte >= 0xC0:  # the lead byte of the last character: how long it should be
            need = 2 if byte < 0xE0 else 3 if byte < 0xF0 else 4
            return len(data) if back >= need else len(data) - back
    return len(data)


def _sink(state: _SinkState) -> tuple[ctypes._CFuncPtr, Callable[[int, int, int], None]]:
    """The callback compiled code hands its buffer to. Why a closure and not a method: a
    callback bound to its owner makes a cycle, and every dropped module (with its machine
    code) would wait for the cyclic collector. It shows whole lines (a buffer's text after
    its last line end waits for the next one), so output an interrupt cuts short ends at a
    line's end. Nothing raised here may cross ctypes (it would print "Exception ignored"
    and drop it): what the stream raises, or CPython's SIGINT handler raises in here
    (KeyboardInterrupt), is kept, the interrupt flag raised so the code stops at its next
    poll, and nothing more is shown; a text the interrupt came before is still written."""

    def show(fd: int, pointer: int, count: int) -> None:
        data = state.rest + ctypes.string_at(pointer, abs(count))
        whole = data.rfind(b"\n") + 1 if count > 0 else len(data)
        whole = whole or complete(data)  # a line longer than the buffer: whole characters
        text = data[:whole].decode("utf-8", "surrogatepass")
        state.writing = True  # from here the text counts as given to the stream
        state.rest = data[whole:]
        (sys.stdout if fd == 1 else sys.stderr).write(text)
        state.shown.value += len(text)
        state.writing = False

    def on_output(fd: int, pointer: int, count: int) -> None:
        if state.kept:
            return
        try:
            show(fd, pointer, count)
        except BaseException as error:  # noqa: BLE001 - raised by the tier after the call
            interrupt_flag().stop()  # up already if SIGINT came: then it stays as it is
            if not state.writing and not isinstance(error, Exception):
                on_output(fd, pointer, count)  # an interrupt before the write: write it
            state.writing = False
            state.kept.append(error)

    return SINK(on_output), on_output


class SkipWriter:
    """A stdout that drops the first `skip` characters (already shown by compiled code)."""

    def __init__(self, out: TextIO, skip: int) -> None:
        self.out, self.skip = out, skip

    def write(self, text: str) -> int:
        dropped = min(self.skip, len(text))
        self.skip -= dropped
        if dropped < len(text):
            self.out.write(text[dropped:])
        return len(text)

    def flush(self) -> None:
        self.out.flush()


class Rerun:
    """The way back: a call compiled code could not finish runs again in the kit VM, from
    its start, with its output already shown skipped. `bailouts` counts why calls came back.
    The module's bytecode is compiled when first needed (`codes`, if the caller has it)."""

    def __init__(self, kit: n.Module, codes: dict[str, Code] | None = None) -> None:
        self.kit = kit
        self._codes = codes
        self._vm: VM | None = None
        self.bailouts: Counter[str] = Counter()

    @property
    def vm(self) -> VM:
        """The exact interpreter, built on first need."""
        if self._vm is None:
            if self._codes is None:  # compile_module verifies what it makes
                self._vm = VM(compile_module(self.kit), verified=True)
            else:
                self._vm = VM(self._codes)
        return self._vm

    def call(
        self,
        name: str,
        args: tuple,
        reason: str,
        shown: int = 0,
        module: Globals | None = None,
        before: list[object] | None = None,
    ) -> object:
        """`name(*args)` in the VM for `reason`, its first `shown` characters of output
        dropped. The compiled `module`'s module-level names are the VM's first (their values
        `before` the compiled call, else now), and what the VM bound is the module's after."""
        self.bailouts[reason] += 1
        vm = self.vm
        names = module is not None and bool(self.kit.globals)
        if names:
            vm.set_globals(list(module.global_values if before is None else before))
        out = contextlib.redirect_stdout(SkipWriter(sys.stdout, shown)) if shown else None
        try:
            with out or contextlib.nullcontext():
                return vm.call(name, *args)
        finally:
            if names:
                module.global_values = list(vm.globals)
                module.write_globals()


class Globals(Protocol):
    """A compiled module's module-level names, as `Rerun` reads and writes them."""

    global_values: list[object]

    def write_globals(self) -> None: ...


def raise_stop(output: Output) -> None:
    """After compiled code stopped at an interrupt poll: raise what the stream raised, or
    the KeyboardInterrupt CPython's SIGINT handler means. Returning means the call re-runs:
    a handler of the user's returned, or the stream could not encode a character (the VM
    raises that at its very print)."""
    error = output.failure()
    if error is None:
        interrupt_flag().raise_pending()
    elif not isinstance(error, UnicodeError):
        raise error
