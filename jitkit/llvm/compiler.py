"""The mini compiler's drivers: run in this process, or build an executable (notebook 08).

In: Python source of the kit's subset (or a parsed kit module). Out: a `CompiledModule`
whose `call(name, *args)` / `run_main()` behave exactly like CPython, or an x86-64 Linux
executable from `build(...)` (what `python -m jitkit build` calls).

Exactness in process (the host-compiler tier's too: `jitkit.exact.rerun`): compiled code
computes with int64 and stops at the first error site. Its prints go to a 64 KiB buffer
(`OUTPUT_BUFFER`) that the sink shows on `sys.stdout` when full or when the call ends. When
a site is an exact Python error (ZeroDivisionError, UnboundLocalError, ValueError,
RecursionError, a wrong argument count) we flush and raise it with CPython's message. When
it is not (an int64 overflow, a None operand, a negative exponent), the buffered output is
dropped and the kit VM runs the same call from the start with exact Python ints, skipping
the characters already shown; that is exact because the subset is deterministic (no input,
clock or randomness: a call prints the same text every time), so no print is lost or
repeated. (Holding all of a call's output until it ends would make every re-run side-effect
free, but a long call would show nothing until it returns and a printing loop would grow
memory without bound; so the buffer stays bounded.) What `sys.stdout` raises in the sink
(an unencodable character, KeyboardInterrupt) is kept and the code stops at its next poll:
the exception is raised, or, for an encoding error, the VM re-runs the call and raises it at
its very print. In an executable there is no interpreter: the site's message goes to stderr
and the exit status is 1.

Floats and lists: a float argument or result crosses as a Python float (its bits in the
frame); a list argument from Python runs in the interpreter (its changes must be visible to
the caller's list), a list result becomes a new Python list, and every list a call made is
freed when it returns (`jk_heap_release`: one chunk stays mapped, empty, for the next call,
until the module is dropped), so a module that makes lists is called through `call` (no
builtin entry: its stub could not release them).

Native stack: every call tells compiled code where this thread's stack ends
(`jitkit.native.stack.stack_floor`); a kit function that calls others and is entered below
that limit (or more than `STACK_BUDGET` below the call's entry, or past `NATIVE_DEPTH_CAP`
frames: `jitkit.native.stack`'s, every native tier's) returns at a "stack" site, and the
call re-runs in the VM like an overflow: deep recursion on a thread with a small
stack is a slow call, not a dead process.

Ctrl-C: every call arms the kit's interrupt flag (`jitkit.native.interrupts`); compiled
loops poll it on their back-edges and functions in their entry check. Code that sees it set
returns at its site (an "interrupt" site, or an entry check's "recursion" or "stack" site
with the flag set); we flush what was printed and let CPython raise KeyboardInterrupt, so a
compiled `while True: pass` or `fib(90)` stops at once and the process lives on.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import gc
import struct
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path

from llvmlite import ir

from jitkit.exact.rerun import Output, Rerun, raise_stop
from jitkit.lang import nodes as n
from jitkit.lang.parse import parse_module
from jitkit.lang.runtime import UNBOUND, check_globals, fits_machine_word, recursion_limit
from jitkit.llvm.codegen import compile_module as lower_module
from jitkit.llvm.codegen import makes_floats, makes_lists
from jitkit.llvm.emit import emit_assembly, emit_object, link_executable
from jitkit.llvm.floats import float_bits
from jitkit.llvm.jit import Engine
from jitkit.llvm.lowering import Handler
from jitkit.llvm.module_globals import global_symbols, name_error
from jitkit.llvm.optimize import optimize
from jitkit.llvm.values import BOOL, ERROR, FLOAT, INT, LIST, NONE, Program
from jitkit.llvm.values import UNBOUND as UNBOUND_TAG
from jitkit.llvm.verify import verify_ir
from jitkit.native.entry import (
    MAX_DEPTH,
    WORDS,
    EntrySpec,
    arm_limits,
    contains,
    current_thread_state,
    make_builtin,
)
from jitkit.native.interrupts import interrupt_flag
from jitkit.native.stack import NATIVE_DEPTH_CAP, stack_floor

# The tier compiles at O1 (LLVM's O1 pipeline and code generator): measured against O2 in one
# process (benchmarks/llvm_compile.py), every kernel runs as fast (fib 0.69 vs 0.70 ms,
# gcd_sum 1.87 vs 2.01, collatz 0.85 vs 0.89), compiling takes less, and llvmlite's
# pipeline leaks half as much per module (62 KB, not 125: `jitkit.llvm.optimize`).
TIER_OPT_LEVEL = 1
# Above this many IR instructions in one function the tier compiles at O0 instead (LLVM's O0
# pipeline, fast instruction selection and register allocation). Why, measured
# (benchmarks/compile_scale.py; /proc time, load ~7): O1 grows ~2.1x per doubling up to ~19k
# instructions (an 800-line function, 0.8 s) and faster past it (1,600 lines 2.1 s; 2,000
# locals 8 s: SROA and InstCombine over thousands of allocas each stored twice), while O0
# stays ~2x per doubling (1,600 lines 0.93 s, 2,000 locals 0.92 s, 5,000 statements 3.8 s).
# The kernels are a few hundred instructions: they keep O1. The threshold was 20,000; the
# builder now folds checks known when compiling (`lowering.FoldingBuilder`, ~15% fewer
# instructions), and measured again (load 9-15) O1 grew 2.5-2.6x from 400 to 800 lines
# (7.9k to 15.8k instructions, 0.58 -> 1.51 s): at 12,000 the 800-line function compiles at O0
# in 0.45 s and no doubling grows more than 2.12x.
HUGE_FUNCTION = 12_000
EXACT = {
    "zerodiv": ZeroDivisionError,
    "unbound": UnboundLocalError,
    "value": ValueError,
    "recursion": RecursionError,
    "index": IndexError,
    "attribute": AttributeError,
}
ENTRY_CHECKS = ("recursion", "stack")  # the entry check's sites: one branch, also the flag
DUMPS = ("ast", "ir", "opt", "asm")


def banner(title: str, text: str) -> None:
    """How `dump=` shows a stage (the only printing this layer does)."""
    print(f"{'-' * 20} {title} {'-' * 20}\n{text.rstrip()}")


class CompiledModule:
    """A kit module JIT-compiled by LLVM in this process; call its functions by name."""

    def __init__(
        self,
        kit: n.Module,
        opt_level: int | None = None,
        passes: str | Iterable[str] | None = None,
        dump: Iterable[str] = (),
        interrupt_poll: bool = True,
        handlers: Mapping[type[n.Node], Handler] | None = None,
    ) -> None:
        dump = set(dump)
        self.kit = kit
        self.floats, self.lists = makes_floats(kit), makes_lists(kit)
        with collector_paused():
            self.program: Program = lower_module(kit, "inprocess", interrupt_poll, handlers)
            if "ast" in dump:
                banner(
                    "kit AST",
                    "\n".join(
                        f"{name}: {n.sexpr(f.body)}" for name, f in self.program.functions.items()
                    ),
                )
            if "ir" in dump:
                banner("LLVM IR", str(self.program))
            if opt_level is None:
                opt_level = tier_opt_level(self.program.module)
            self.opt_level = opt_level
            self.engine = Engine(self.program.module, opt_level, passes)
            if "opt" in dump:
                banner(
                    f"optimized IR (O{opt_level})" if passes is None else f"IR after {passes}",
                    self.engine.ir,
                )
        if "asm" in dump:
            banner("x86-64", emit_assembly(self.engine.ir, opt_level, passes=[]))
        self.output = Output()  # the sink compiled code shows its buffer through
        self.set_global("jk_sink_pointer", self.output.address)
        self.rerun = Rerun(kit)  # the way back when compiled code cannot finish a call
        self.flush = ctypes.CFUNCTYPE(None)(self.engine.address("jk_flush"))
        if self.lists:
            self.release = ctypes.CFUNCTYPE(None)(self.engine.address("jk_heap_release"))
            # release keeps one chunk for the next call (`heap`): unmapped with the module
            free = ctypes.CFUNCTYPE(None)(self.engine.address("jk_heap_free"))
            weakref.finalize(self, free_heap, free, self.engine)
        self.entries = {
            name: ctypes.CFUNCTYPE(None, ctypes.POINTER(ctypes.c_int64))(
                self.engine.address(f"jk_call.{name}")
            )
            for name in self.program.functions
        }
        # The depth counter, output buffer and stack limit are globals of the module: one
        # native call at a time (ctypes lets other threads run while one is in C). `_busy`
        # is 1 while one runs, from `call` or from a builtin entry (`builtin`).
        self.native = threading.RLock()
        self._busy = ctypes.c_int64(0)
        self._entry_data = (ctypes.c_int64 * WORDS)(-1)
        self._frames: list[ctypes.Array] = [(ctypes.c_int64 * 2)()]
        self.init_globals()

    @property
    def bailouts(self) -> dict[str, int]:
        """Why calls went to the VM: an error site's kind (or "arguments", ...) -> calls."""
        return self.rerun.bailouts

    def set_global(self, name: str, value: int) -> None:
        ctypes.c_int64.from_address(self.engine.global_address(name)).value = value

    def run_main(self) -> object:
        """Run the module's top-level statements, like `python prog.py`."""
        return self.call(n.MODULE_CODE_NAME) if self.kit.main is not None else None

    def call(self, name: str, *args: object) -> object:
        """Call one function with Python arguments; result and errors are CPython's."""
        if name not in self.entries:
            raise KeyError(f"no function {name!r} in this module")
        if not all(self.takes(a) for a in args) or len(args) != len(
            self.program.functions[name].params
        ):
            return self.vm_call(name, args, "arguments")
        with self.native:
            # A builtin entry's call in the main thread (the GIL released) uses the globals
            # too: wait for it, unless it is this thread's own, printing (its sink is here).
            main = threading.current_thread() is threading.main_thread()
            while self._busy.value and not main:
                time.sleep(1e-4)
            busy, self._busy.value = self._busy.value, 1
            try:
                return self.call_native(name, args)
            finally:
                self._busy.value = busy

    def takes(self, value: object) -> bool:
        """Can compiled code take this argument (a float only if the module makes floats)?"""
        return fits_machine_word(value) or (type(value) is float and self.floats)

    def call_native(self, name: str, args: tuple) -> object:
        """`call` once the arguments fit: run the machine code, then hand back if it must."""
        frame = (ctypes.c_int64 * max(2, 2 * len(args)))()
        for i, a in enumerate(args):
            frame[2 * i], frame[2 * i + 1] = tag_of(a), payload_of(a)
        limit = min(recursion_limit(), NATIVE_DEPTH_CAP)
        self.set_global("jk_depth", 0)
        self.set_global("jk_buffer_used", 0)
        self.set_global("jk_depth_limit", limit)
        self.set_global("jk_stack_floor", stack_floor())
        before = self.global_values  # what a re-run of the call starts from
        stores = name == n.MODULE_CODE_NAME and bool(self.kit.globals)
        interrupt_flag().arm()
        try:
            self.entries[name](frame)
            if stores:
                self.read_globals()
            return self.after_native(name, args, frame, limit, before)
        except KeyboardInterrupt:  # CPython raised it as the call returned (the flag's poll)
            if stores:
                self.read_globals()
            self.show_output()  # what ran before Ctrl-C did print (unless the stream failed)
            raise
        finally:
            self.output.begin()  # a builtin entry's call starts with `shown` 0
            if self.lists:  # the call's lists, a list result already copied out
                self.release()

    def after_native(
        self,
        name: str,
        args: tuple,
        frame: ctypes.Array,
        limit: int,
        before: list[object] | None = None,
    ) -> object:
        """What the call gives once the machine code returned `frame` (tag and payload):
        its value with the last output shown, an exact error, or (`jitkit.exact.rerun`) what
        the stream raised, KeyboardInterrupt, or the VM's re-run of the call from the globals
        as they were `before` it, which skips what was shown."""
        output = self.output
        site = self.program.sites[frame[1]] if frame[0] == ERROR else None
        stopped = site is not None and (
            site.kind == "interrupt" or (site.kind in ENTRY_CHECKS and interrupt_flag().is_set)
        )
        if site is None:
            value = list_from(frame[1]) if frame[0] == LIST else from_tag(frame[0], frame[1])
            self.show_output()  # the sink drops it if the stream already failed
            if not output.kept:
                return value
        if output.kept or stopped:
            self.show_output()  # what ran before Ctrl-C did print
            reason = "encoding" if output.kept else "interrupted"
            raise_stop(output)  # KeyboardInterrupt, or what the stream raised
            return self.vm_call(name, args, reason, output.shown.value, before)
        capped = site.kind == "recursion" and limit < recursion_limit()
        if site.kind in EXACT and not capped:
            self.show_output()
            raise EXACT[site.kind](site.message)
        if site.kind == "type" and "positional argument" in site.message:
            self.show_output()
            raise TypeError(site.message)
        if site.kind == "name" and self.unbound(site.message):
            self.show_output()
            raise NameError(site.message)
        self.set_global("jk_buffer_used", 0)  # drop what the VM will print again
        return self.vm_call(name, args, site.kind, output.shown.value, before)

    def builtin(self, name: str) -> Callable:
        """`name` as a builtin function (`jitkit.native.entry`): a machine-code stub that
        unboxes int64 arguments, sets the module's globals, calls `jk_call.NAME` and boxes
        the tagged result; an error site, output to flush or a raised interrupt flag goes to
        `after_native`, and what the stub does not take (another thread, a call already
        running, other arguments, a changed recursion limit) to `call`."""
        if name not in self.entries:
            raise KeyError(f"no function {name!r} in this module")
        if self.lists:  # its lists are released after each call: `call` does that
            return functools.partial(self.call, name)
        if name == n.MODULE_CODE_NAME and self.kit.globals:  # it binds them: `call` reads
            return functools.partial(self.call, name)
        params = len(self.program.functions[name].params)
        if len(self._frames[-1]) < 2 * params:
            self._frames.append((ctypes.c_int64 * (2 * params))())  # the old ones stay in use
        frame, flag = self._frames[-1], interrupt_flag()
        main = threading.current_thread() is threading.main_thread()
        address = ctypes.addressof(frame)
        spec = EntrySpec(
            name=name,
            nargs=params,
            entry=self.engine.address(f"jk_call.{name}"),
            call_args=(address,),
            arg_address=address + 8,
            arg_stride=16,
            arg_tag=(-8, INT),
            result=address + 8,
            kind=None,
            tag=address,
            tags={"int": INT, "bool": BOOL, "none": NONE},
            status_in_rax=False,
            clear_after=(
                self.engine.global_address("jk_buffer_used"),
                ctypes.addressof(self.output.shown),  # reset after `finish`, not by the stub
            ),
            nesting=ctypes.addressof(self._busy),
            owner=current_thread_state() if main else 0,
            flag=flag.address,
            data=ctypes.addressof(self._entry_data),
            stores=[
                (self.engine.global_address("jk_depth"), 0),
                (self.engine.global_address("jk_buffer_used"), 0),
                (self.engine.global_address("jk_stack_floor"), stack_floor()),
            ],
            copies=[(self.engine.global_address("jk_depth_limit"), MAX_DEPTH)],
            long_running=may_run_long(self.kit.functions.get(name)),
            handler=flag.expected_address,
            keep=(frame, self._busy, self.output, self._entry_data),
        )

        def slow(*args: object) -> object:
            self._arm_entries()
            return self.call(name, *args)

        def finish(*args: object) -> object:
            limit = self._entry_data[MAX_DEPTH]
            with self.native:
                self._busy.value = 1  # the flush and the re-run below use the globals
                try:
                    return self.after_native(name, args, (ctypes.c_int64 * 2)(*frame[:2]), limit)
                finally:
                    self._busy.value = 0
                    self.output.begin()  # for the next call: `shown` is 0 when it starts

        def interrupted() -> None:
            with self.native:
                self.show_output()  # what ran before Ctrl-C did print
                self.output.begin()

        self._arm_entries()
        return make_builtin(spec, slow, finish, interrupted)

    def _arm_entries(self) -> None:
        """The recursion limit builtin entries size the call for (`arm_limits`)."""
        arm_limits(self._entry_data, recursion_limit(), NATIVE_DEPTH_CAP)

    def show_output(self) -> None:
        """What compiled code printed and the sink has not shown yet, shown now."""
        self.flush()
        self.output.end()

    def vm_call(
        self,
        name: str,
        args: tuple[object, ...],
        reason: str,
        shown: int = 0,
        before: list[object] | None = None,
    ) -> object:
        """The exact slow path (`Rerun`): the kit VM, minus the `shown` characters of output
        already shown, from the module's globals as the call started (`before`, else now)."""
        self.output.drop()  # the rest of the last line too: the re-run prints it
        return self.rerun.call(name, args, reason, shown, self, before)

    # -- module-level names (module_globals) ------------------------------------------------

    def init_globals(self) -> None:
        """Where each module-level name's tag and payload live; all start unbound."""
        self.global_addresses = [
            tuple(self.engine.global_address(s) for s in global_symbols(g))
            for g in self.kit.globals
        ]
        self.global_values: list[object] = [UNBOUND] * len(self.kit.globals)
        self.name_sites = {name_error(g): i for i, g in enumerate(self.kit.globals)}

    def set_globals(self, values: list[object]) -> None:
        """The module's globals from outside (`@jit`: the function's `__globals__`):
        `values[i]` for `kit.globals[i]`, `jitkit.lang.runtime.UNBOUND` for not bound."""
        self.global_values = check_globals(self.kit.globals, values)
        self.write_globals()

    def write_globals(self) -> None:
        """`global_values` into the machine code's globals. A value compiled code cannot
        hold (a big int, a list, a float in a module without floats) is written as unbound:
        a read of it stops at its "name" site, and `unbound` sends the call to the
        interpreter, which has the real value."""
        for (tag_at, payload_at), value in zip(
            self.global_addresses, self.global_values, strict=True
        ):
            native = value is not UNBOUND and self.takes(value)
            ctypes.c_int8.from_address(tag_at).value = tag_of(value) if native else UNBOUND_TAG
            ctypes.c_int64.from_address(payload_at).value = payload_of(value) if native else 0

    def read_globals(self) -> None:
        """What the top-level code bound in machine code, into `global_values` (lists
        copied out before the call's memory is released, then held here only)."""
        lists: dict[int, list] = {}
        values = list(self.global_values)  # a new list: a re-run starts from the old one
        for i, (tag_at, payload_at) in enumerate(self.global_addresses):
            tag = ctypes.c_int8.from_address(tag_at).value
            payload = ctypes.c_int64.from_address(payload_at).value
            if tag == UNBOUND_TAG:  # not bound in machine code: what was set stays
                continue
            if tag == LIST:
                if payload not in lists:
                    lists[payload] = list_from(payload)
                values[i] = lists[payload]
            else:
                values[i] = from_tag(tag, payload)
        self.global_values = values
        self.write_globals()

    def unbound(self, message: str) -> bool:
        """Is the name a "name" site reports really unbound (not a value held only here)?"""
        return self.global_values[self.name_sites[message]] is UNBOUND


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Why: building a module's IR makes objects that all live until the compile ends; CPython's
    cyclic collector scanning them again and again took ~40% of IR building and printing on
    big functions (measured: 3,200 lines, 0.73 s -> 0.37 s). Re-enabled after, if it was on."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def free_heap(free: Callable[[], None], engine: Engine) -> None:
    """Unmap a dropped module's list memory (`engine`: its code, kept alive until then)."""
    free()


def tier_opt_level(module: ir.Module) -> int:
    """The tier's optimization level for a module: O1, or O0 if one of its functions is
    huge (`HUGE_FUNCTION`: LLVM's O1 is superlinear there, O0 is not)."""
    largest = max(
        (sum(len(block.instructions) for block in f.blocks) for f in module.functions),
        default=0,
    )
    return 0 if largest > HUGE_FUNCTION else TIER_OPT_LEVEL


def may_run_long(function: n.Node | None) -> bool:
    """Whether a kit function has a loop or a call (or cannot be looked at): its builtin
    entry then releases the GIL and checks the SIGINT handler."""
    return function is None or contains(function, (n.While, n.ForRange, n.Call))


def tag_of(value: object) -> int:
    if isinstance(value, float):
        return FLOAT
    return NONE if value is None else BOOL if isinstance(value, bool) else INT


def list_from(address: int) -> list:
    """A compiled list (`lists`: length, capacity, kind, narrow, data) as a new Python list."""
    length, _, kind, narrow, data = (ctypes.c_int64 * 5).from_address(address)
    element = ctypes.c_uint8 if narrow else ctypes.c_int64
    payloads = (element * length).from_address(data) if length else []
    return [from_tag(kind, payload) for payload in payloads]


def payload_of(value: object) -> int:
    return float_bits(value) if isinstance(value, float) else int(value or 0)


def from_tag(tag: int, payload: int) -> object:
    if tag == FLOAT:
        return struct.unpack("<d", struct.pack("<q", payload))[0]
    return None if tag == NONE else bool(payload) if tag == BOOL else payload


def compile_source(
    source: str,
    filename: str = "<string>",
    opt_level: int | None = None,
    passes: str | Iterable[str] | None = None,
    dump: Iterable[str] = (),
    handlers: Mapping[type[n.Node], Handler] | None = None,
) -> CompiledModule:
    """Why: one call from source text to compiled functions in this process."""
    kit = parse_module(source, filename)
    return CompiledModule(kit, opt_level, passes, dump, handlers=handlers)


def run_source(source: str, filename: str = "<string>", opt_level: int | None = None) -> None:
    """Compile and run a program's top-level code in process, like `python prog.py`."""
    compile_source(source, filename, opt_level).run_main()


def native_ir(source: str, filename: str, opt_level: int = 2, libc: bool = True) -> str:
    """Optimized IR of a program for an executable (with libc's `main` or its own `_start`)."""
    program = lower_module(parse_module(source, filename), "libc" if libc else "nolibc")
    return str(optimize(verify_ir(program.module), opt_level))


def build(
    source_path: str | Path,
    output: str | Path,
    opt_level: int | None = None,
    libc: bool = True,
    emit_llvm: bool = False,
    partial_eval: bool = True,
) -> Path:
    """`python -m jitkit build`: a program -> an executable (or its IR with emit_llvm).
    `partial_eval` runs the top-level code at compile time first (notebook 09). The level
    is O2 unless given, or O0 for a module with a huge function (`tier_opt_level`: O2 took
    2.7 s of the 2,000-local build, O0 0.2 s)."""
    source = Path(source_path).read_text()
    with collector_paused():
        program = lower_module(parse_module(source, str(source_path)), "libc" if libc else "nolibc")
        module = str(program.module)
    if opt_level is None:
        opt_level = 2 if tier_opt_level(program.module) else 0
    if partial_eval:
        from jitkit.llvm.partial_eval import partial_evaluate

        module = partial_evaluate(module).text
    if emit_llvm:
        ref = optimize(verify_ir(module), opt_level)
        Path(output).write_text(str(ref))
        return Path(output)
    obj = emit_object(module, opt_level)
    return link_executable(obj, output, libc)
