"""A kit module JIT-compiled by the host C compiler; call its functions by name (notebook 04).

In: a kit module (and optionally its kit bytecode, for the VM fallback). Out: `HostModule`,
compiled eagerly: `.c_source`, `.build` (cached or not, seconds), `.call(name, *args)` and
`.run_main()` with CPython's results, output and exceptions, and `.bailouts` (why calls went
to the VM).

Exactness (the design, the LLVM tier's too: `jitkit.exact.rerun`): C prints into a bounded
buffer (`OUTPUT_BUFFER`, 64 KiB) that a sink shows on `sys.stdout` when it is full and when
the call returns, so memory stays bounded however much a call prints. On any bail-out status
(int64 overflow, division by zero, INT64_MIN // -1, a None operand, an unbound local,
recursion past the depth or stack budget, ...) the rest of the buffer is dropped and the
*whole call* runs again in the kit VM (`jitkit.vm.machine.VM`), which prints and raises
exactly like CPython (ZeroDivisionError, RecursionError, big ints...), skipping the
characters already shown: the program is deterministic, so no line is repeated or lost.
The same holds when `sys.stdout` cannot encode what C printed (a lone surrogate, a character
outside an ASCII terminal's charset): the VM re-runs the call and prints print by print, so
what came before the failing print is shown and the failing one raises, as in CPython.
Arguments C cannot take (ints beyond int64, other types) go to the VM directly; a wrong
argument count raises CPython's TypeError here, before any code runs.

Stack: C recursion stops (and hands over) before the native stack of the *calling thread*
ends (`jitkit.native.stack.stack_floor`, so small `threading.stack_size` threads are safe),
within `STACK_BUDGET` bytes of the entry and `NATIVE_DEPTH_CAP` frames (both every native
tier's, from `jitkit.native.stack`). The compiled library is unloaded when the
`HostModule` is garbage collected (DESIGN.md contract 6; `jitkit.hostc.build.load`).

Ctrl-C: the C code polls the kit's interrupt flag on function entry and loop back-edges and
returns INTERRUPTED; Python shows the output so far and raises KeyboardInterrupt, as CPython
would at that point. A SIGINT handler of the user's runs first and may raise its own
exception; if it returns instead, the call re-runs in the VM (CPython would carry on, and a
C call cannot be resumed mid-way). A KeyboardInterrupt raised while the sink was printing is
kept there, not lost in ctypes, and raised when C stops, right after.

Values are tagged in C (`jk_val`: payload and int/bool/None/unbound/float/list tag), so every
function of the subset compiles, whatever types flow through it; nothing is refused at compile
time. Floats cross the boundary both ways. Lists are made by the call (malloc), chained into
its context and freed when it returns to Python (`jk_release`; a bail-out frees them in
`jk_run`); a list result is copied into a new Python list first. A list *argument* of scalars
is copied into a C list, and when the call returns normally its new contents are copied back
into the caller's list object (a list returned is that same object); on a bail-out the VM
re-runs the call on the untouched originals. A list inside a list, == between two lists, and
more than `HEAP_LIMIT` bytes of lists in one call go to the VM.
"""

from __future__ import annotations

import ctypes
import functools
import re
import struct
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable

from jitkit.bytecode.code import Code
from jitkit.exact.rerun import OUTPUT_BUFFER, Output, Rerun, Tag, raise_stop
from jitkit.hostc.build import FLAGS, Build, assembly, build
from jitkit.hostc.cgen import CModule, c_name, generate
from jitkit.hostc.runtime import INTERRUPTED, OK, STATUS
from jitkit.lang import nodes as n
from jitkit.lang.parse import parse_module
from jitkit.lang.runtime import (
    UNBOUND,
    arity_error,
    check_globals,
    fits_machine_word,
    recursion_limit,
)
from jitkit.native.entry import (
    MAX_DEPTH,
    WORDS,
    EntrySpec,
    arm_limits,
    contains,
    current_thread_state,
    make_builtin,
)
from jitkit.native.entry import STATUS as STATUS_WORD
from jitkit.native.interrupts import interrupt_flag
from jitkit.native.stack import NATIVE_DEPTH_CAP, STACK_BUDGET, stack_floor
from jitkit.vm.machine import VM

# The tags as plain ints (an enum member is a slow name on every call's path)
TAG_INT, TAG_BOOL, TAG_NONE = int(Tag.INT), int(Tag.BOOL), int(Tag.NONE)
TAG_UNBOUND, TAG_FLOAT, TAG_LIST = int(Tag.UNBOUND), int(Tag.FLOAT), int(Tag.LIST)
HEAP_LIMIT = 1 << 30  # bytes of lists one call may hold before handing over (C frees none)
JUMP_LABEL = re.compile(r"\.L(BB)?[\d_]+:$")  # gcc .L12:, clang .LBB0_3:
DUMPS = {"c": "generated C", "asm": "x86-64 from cc -O2 -S"}
# Bytes of C in one function past which the module compiles at -O0, as the LLVM tier drops
# to O0 past its `HUGE_FUNCTION`: gcc -O2's time grows faster than the function (1,000 kit
# statements, 115 KB of C: 6.7 s; 5,000: minutes; -O1 alike; an expression nested 1,000 deep,
# 41 KB: 5.4 s) while -O0 stays linear (5,000 statements: 2.7 s). The kernels are under 4 KB,
# a 200-line function 22 KB; a bail-out still re-runs the call exactly in the VM.
HUGE_FUNCTION = 32_000


def tier_flags(c_module: CModule, flags: tuple[str, ...]) -> tuple[str, ...]:
    """`flags`, with -O0 for -O2 when one of the module's functions is past HUGE_FUNCTION."""
    if "-O2" not in flags:
        return flags
    longest = max((len(c_module.function_source(name)) for name in c_module.indexes), default=0)
    return tuple("-O0" if f == "-O2" else f for f in flags) if longest > HUGE_FUNCTION else flags


class Value(ctypes.Structure):
    """`jk_val`: payload and tag."""

    _fields_ = [("v", ctypes.c_int64), ("t", ctypes.c_int64)]


class Context(ctypes.Structure):
    """`jk_ctx`, field for field (see jitkit/hostc/runtime.py)."""

    _fields_ = [
        ("out", ctypes.c_void_p),
        ("len", ctypes.c_int64),
        ("cap", ctypes.c_int64),
        ("sink", ctypes.c_void_p),
        ("depth", ctypes.c_int64),
        ("depth_limit", ctypes.c_int64),
        ("stack_floor", ctypes.c_uint64),
        ("stack_budget", ctypes.c_int64),
        ("interrupt", ctypes.c_void_p),
        ("bail", ctypes.c_void_p),
        ("lists", ctypes.c_void_p),
        ("heap", ctypes.c_int64),
        ("heap_limit", ctypes.c_int64),
        ("imported", ctypes.c_int64),
    ]


def new_call_slot() -> tuple[Output, Context]:
    """An `Output` (sink and buffer) and a context printing into it, for calls through
    ctypes. Idle ones wait in a list any thread takes one from, so a call made while another
    runs (another thread's, or one inside a print) gets its own."""
    output = Output(with_buffer=True)
    cx = Context(out=ctypes.addressof(output.buffer), cap=OUTPUT_BUFFER, sink=output.address)
    cx.interrupt = interrupt_flag().address
    return output, cx


class List(ctypes.Structure):
    """`jk_list`: the call's lists, freed by `jk_release`."""

    _fields_ = [
        ("len", ctypes.c_int64),
        ("cap", ctypes.c_int64),
        ("items", ctypes.POINTER(Value)),
        ("next", ctypes.c_void_p),
    ]


def scalar(value: object) -> bool:
    """An int64, a bool, None or a float: what a jk_val holds by value."""
    return fits_machine_word(value) or type(value) is float


def takes(value: object) -> bool:
    """Can C take this argument: a scalar, or a list of scalars (copied in, and its new
    contents copied back when the call returns)?"""
    return scalar(value) or (type(value) is list and all(scalar(x) for x in value))


def read_list(address: int) -> list:
    """The items of a C list, as a new Python list (before jk_release frees it)."""
    items = ctypes.cast(address, ctypes.POINTER(List)).contents
    return [from_value(items.items[i]) for i in range(items.len)]


def to_value(value: object) -> Value:
    if type(value) is float:
        return Value(struct.unpack("<q", struct.pack("<d", value))[0], TAG_FLOAT)
    tag = TAG_NONE if value is None else TAG_BOOL if type(value) is bool else TAG_INT
    return Value(int(value or 0), tag)


def from_value(value: Value, passed: dict[int, list] | None = None) -> object:
    """The Python object of a result: a list read out of C's memory (before jk_release), or
    the caller's own list object when C returns a list it was passed (`passed`: C address
    -> Python list)."""
    if value.t == TAG_FLOAT:
        return struct.unpack("<d", struct.pack("<q", value.v))[0]
    if value.t == TAG_LIST:
        return passed[value.v] if passed and value.v in passed else read_list(value.v)
    return None if value.t == TAG_NONE else bool(value.v) if value.t == TAG_BOOL else value.v


class HostModule:
    """A kit module compiled to a shared object by `cc`, with the VM as its exact fallback."""

    def __init__(
        self,
        kit: n.Module,
        codes: dict[str, Code] | None = None,
        *,
        overrides: dict[str, str] | None = None,
        compiler: str | None = None,
        flags: tuple[str, ...] = FLAGS,
        cache_dir: str | None = None,
        dump: Iterable[str] = (),
    ) -> None:
        self.kit = kit
        self.compiler, self.flags = compiler, flags
        self.rerun = Rerun(kit, codes)  # the way back when C cannot finish a call exactly
        self._idle: list[tuple[Output, Context]] = []  # `new_call_slot`s not in use
        start = time.perf_counter()
        self.c_module: CModule = generate(kit, overrides)
        self.generate_seconds = time.perf_counter() - start
        self.flags = flags = tier_flags(self.c_module, flags)
        self.build: Build = build(self.c_module.source, compiler, flags, cache_dir)
        # item access: the function pointers keep the library loaded, and no cycle keeps it
        self.run = self.build.library["jk_run"]
        self.run.restype = ctypes.c_int
        self.run.argtypes = (
            ctypes.POINTER(Context),
            ctypes.c_int64,
            ctypes.POINTER(Value),
            ctypes.POINTER(Value),
        )
        self.release = self.build.library["jk_release"]
        self.release.argtypes = (ctypes.POINTER(Context),)
        self.release.restype = None
        self.import_list = self.build.library["jk_import"]
        self.import_list.argtypes = (ctypes.POINTER(Context), ctypes.c_int64, ctypes.c_void_p)
        self.import_list.restype = ctypes.c_void_p
        self._nesting = ctypes.c_int64(0)  # builtin entries' calls running (one at a time)
        self.init_globals()
        self._entry_data = (ctypes.c_int64 * WORDS)(-1)
        for stage in dump:
            if stage not in DUMPS:
                raise ValueError(f"unknown dump {stage!r}; dumps: {', '.join(DUMPS)}")
            text = "\n".join(
                self.function_c(name) if stage == "c" else self.assembly(name)
                for name in self.c_module.indexes
            )
            print(f"{'-' * 20} {DUMPS[stage]} {'-' * 20}\n{text.rstrip()}")

    @property
    def c_source(self) -> str:
        """The whole generated translation unit (runtime prelude included)."""
        return self.c_module.source

    @property
    def compile_seconds(self) -> float:
        """Code generation plus the compiler run (or the cache hit) and loading."""
        return self.generate_seconds + self.build.seconds

    def function_c(self, name: str) -> str:
        """The C of one kit function (without the runtime prelude)."""
        return self.c_module.function_source(name)

    def assembly(self, name: str) -> str:
        """The x86-64 assembly `cc` makes of one kit function (with this module's flags),
        cold paths (bail-outs, moved to `.text.unlikely`) included. Kit functions are
        `JK_FUNCTION`s, never inlined into their callers; a clone the compiler may still make
        (`py_f.constprop.0`, `py_f.isra.0`, `py_f.part.0`) is listed as well."""
        text = assembly(self.c_source, self.compiler, self.flags)
        own = re.compile(rf"{re.escape(c_name('py', name))}(\.\w+)*:")
        lines, keep = [], False
        for line in text.splitlines():
            if line.endswith(":") and not line.startswith("."):  # a symbol: a new function
                keep = own.fullmatch(line) is not None
            directive = line.lstrip().startswith(".") and not JUMP_LABEL.match(line)
            if keep and not directive:
                lines.append(line)
        return "\n".join(lines)

    @property
    def vm(self) -> VM:
        """The exact fallback, built on first need."""
        return self.rerun.vm

    @property
    def bailouts(self) -> Counter[str]:
        """Why calls went to the VM: status name (or "arguments", "encoding", ...) -> calls."""
        return self.rerun.bailouts

    def run_main(self) -> object:
        """Run the module's top-level statements, like `python prog.py`."""
        return self.call(n.MODULE_CODE_NAME) if self.kit.main is not None else None

    def builtin(self, name: str) -> Callable:
        """`name` as a builtin function (`jitkit.native.entry`): a machine-code stub that
        unboxes int64 arguments into `jk_val`s, fills a context it owns, calls `jk_run` and
        boxes the tagged result. A status other than OK, output to show or a raised
        interrupt flag goes to `after_run`; what the stub does not take (other arguments,
        another thread, a changed recursion limit) to `call`."""
        index = self.c_module.indexes.get(name)
        if index is None:
            raise KeyError(f"no function {name!r} in this module")
        if name == n.MODULE_CODE_NAME and self.kit.globals:  # it binds them: `call` reads
            return functools.partial(self.call, name)
        params = len(self.c_module.params[name])
        function = self.kit.functions.get(name)  # None: the module's top-level code
        flag = interrupt_flag()
        main = threading.current_thread() is threading.main_thread()
        cx, result, argv = Context(), Value(), (Value * max(1, params))()
        output = Output(with_buffer=True)
        at = ctypes.addressof(cx)
        values = {"out": ctypes.addressof(output.buffer), "cap": OUTPUT_BUFFER}
        values |= {"sink": output.address, "stack_floor": stack_floor()}
        values |= {"stack_budget": STACK_BUDGET, "interrupt": flag.address}
        values["heap_limit"] = HEAP_LIMIT
        stores = [
            (at + getattr(Context, field).offset, values.get(field, 0))
            for field, _ in Context._fields_
            if field != "depth_limit"
        ]
        spec = EntrySpec(
            name=name,
            nargs=params,
            entry=ctypes.cast(self.run, ctypes.c_void_p).value,
            call_args=(at, index, ctypes.addressof(argv), ctypes.addressof(result)),
            arg_address=ctypes.addressof(argv),
            arg_stride=ctypes.sizeof(Value),
            arg_tag=(Value.t.offset, TAG_INT),
            result=ctypes.addressof(result) + Value.v.offset,
            kind=None,
            tag=ctypes.addressof(result) + Value.t.offset,
            tags={"int": TAG_INT, "bool": TAG_BOOL, "none": TAG_NONE},
            clear_after=(
                at + Context.len.offset,
                at + Context.lists.offset,
                ctypes.addressof(output.shown),  # reset after `finish`, not by the stub
            ),
            nesting=ctypes.addressof(self._nesting),
            owner=current_thread_state() if main else 0,
            flag=flag.address,
            data=ctypes.addressof(self._entry_data),
            stores=stores,
            copies=[(at + Context.depth_limit.offset, MAX_DEPTH)],
            long_running=function is None
            or contains(function, (n.While, n.ForRange, n.ForEach, n.Call)),
            handler=flag.expected_address,
            keep=(cx, result, argv, output, self._nesting, self._entry_data),
        )

        def slow(*args: object) -> object:
            self._arm_entries()
            return self.call(name, *args)

        def finish(*args: object) -> object:
            status = self._entry_data[STATUS_WORD]
            try:
                return self.after_run(name, args, status, cx, result, output)
            finally:
                output.begin()  # for the next call: `shown` is 0 when it starts

        def interrupted() -> None:
            self.end_output(cx, output)  # what C printed before Ctrl-C
            output.begin()

        self._arm_entries()
        return make_builtin(spec, slow, finish, interrupted)

    def _arm_entries(self) -> None:
        """The recursion limit builtin entries size the call for (`arm_limits`)."""
        arm_limits(self._entry_data, recursion_limit(), NATIVE_DEPTH_CAP)

    def end_output(self, cx: Context, output: Output, show: bool = True) -> None:
        """The call's last output shown (unless dropped, or the stream already failed); the
        buffer emptied and the call's lists freed."""
        if cx.len or output.state.rest:
            if show:
                output.write(cx.out, cx.len)  # dropped by the sink if the stream failed
            else:
                output.drop()  # the rest of the last line too: the re-run prints it
            cx.len = 0
        if cx.lists:
            self.release(ctypes.byref(cx))

    def call(self, name: str, *args: object) -> object:
        """`name(*args)` in C when it can take the arguments; CPython's result either way."""
        index = self.c_module.indexes.get(name)
        if index is None:
            raise KeyError(f"no function {name!r} in this module")
        params = self.c_module.params[name]
        if len(args) != len(params):
            raise arity_error(name, params, len(args))
        if not all(takes(a) for a in args):
            return self.vm_call(name, args, "arguments")
        idle = self._idle
        slot = idle.pop() if idle else new_call_slot()
        try:
            return self.run_c(name, index, args, *slot)
        finally:
            idle.append(slot)

    def run_c(self, name: str, index: int, args: tuple, output: Output, cx: Context) -> object:
        """`call` once C takes the arguments, with a context printing through `output`."""
        result = Value()
        flag = interrupt_flag()
        cx.depth, cx.depth_limit = 0, min(recursion_limit(), NATIVE_DEPTH_CAP)
        cx.stack_floor, cx.stack_budget = stack_floor(), STACK_BUDGET  # jk_run raises the floor
        if cx.lists:  # a call an exception left half finished
            self.release(ctypes.byref(cx))
        cx.len, cx.heap, cx.heap_limit, cx.imported = 0, 0, HEAP_LIMIT, 0
        output.begin()
        passed: dict[int, list] = {}  # C address -> the caller's list
        argv = self.arguments(cx, args, passed)
        if argv is None:  # a list past the byte budget
            self.end_output(cx, output)
            return self.vm_call(name, args, "memory")
        flag.arm()
        try:
            status = self.run(ctypes.byref(cx), index, argv, ctypes.byref(result))
        except BaseException:
            # Ctrl-C: CPython raises KeyboardInterrupt as the C call returns. What C printed
            # so far is exactly what CPython would have printed by then: show it.
            self.read_globals(name)
            self.end_output(cx, output)
            raise
        return self.after_run(name, args, status, cx, result, output, passed)

    def arguments(self, cx: Context, args: tuple, passed: dict[int, list]) -> ctypes.Array | None:
        """The `jk_val`s of the arguments; a list is copied into a C list of the call (one
        per list object, so a list passed twice is one list in C too). None: no room."""
        addresses: dict[int, int] = {}  # id of a Python list -> its C list
        values = []
        for a in args:
            if type(a) is list:
                if id(a) not in addresses:
                    items = (Value * max(1, len(a)))(*(to_value(x) for x in a))
                    address = self.import_list(ctypes.byref(cx), len(a), items)
                    if not address:
                        return None
                    addresses[id(a)], passed[address] = address, a
                values.append(Value(addresses[id(a)], TAG_LIST))
            else:
                values.append(to_value(a))
        return (Value * max(1, len(args)))(*values)

    def after_run(
        self,
        name: str,
        args: tuple,
        status: int,
        cx: Context,
        result: Value,
        output: Output,
        passed: dict[int, list] | None = None,
    ) -> object:
        """What the call gives once C returned `status`: its value with the last output
        shown, or (`jitkit.exact.rerun`) what the stream raised, KeyboardInterrupt, or the
        VM's re-run of the call, which skips what was shown. Lists the caller `passed` get
        C's changes when the call returns normally: CPython would have changed them in place."""
        value, changed = None, []
        before = self.global_values  # what a re-run of the call starts from
        if status in (OK, INTERRUPTED):
            self.read_globals(name)  # what the top-level code bound, before lists are freed
        if status == OK:  # read out of C's lists before they are freed
            value = from_value(result, passed)
            changed = [(mine, read_list(address)) for address, mine in (passed or {}).items()]
        self.end_output(cx, output, show=status in (OK, INTERRUPTED))
        if status == OK and not output.kept:
            for mine, items in changed:
                mine[:] = items
            return value
        reason = STATUS.get(status, f"status {status}")
        if status in (OK, INTERRUPTED) or output.kept:
            reason = "encoding" if output.kept else "interrupted"
            raise_stop(output)  # KeyboardInterrupt, or what the stream raised
        return self.vm_call(name, args, reason, output.shown.value, before)

    def vm_call(
        self, name: str, args: tuple, reason: str, shown: int = 0, before: list | None = None
    ) -> object:
        """The call in the VM (`Rerun`), its first `shown` characters not shown again, from
        the module's globals as the C call started (`before`, else now)."""
        return self.rerun.call(name, args, reason, shown, self, before)

    # -- module-level names (cgen's `jk_globals`) ----------------------------------------

    def init_globals(self) -> None:
        """The C statics of the module-level names, through the exported table."""
        count = len(self.kit.globals)
        self.global_values: list[object] = [UNBOUND] * count
        self.c_globals: list[Value] = []
        if count:
            table = (ctypes.c_void_p * count).in_dll(self.build.library, "jk_globals")
            self.c_globals = [Value.from_address(address) for address in table]

    def set_globals(self, values: list[object]) -> None:
        """The module's globals from outside (`@jit`: the function's `__globals__`):
        `values[i]` for `kit.globals[i]`, `jitkit.lang.runtime.UNBOUND` for not bound."""
        self.global_values = check_globals(self.kit.globals, values)
        self.write_globals()

    def write_globals(self) -> None:
        """`global_values` into the C statics. A value C does not hold between calls (a
        list: C's lists live for one call; a big int) is written as unbound, so a read of
        it bails out and the VM, which has the real value, runs the call."""
        for slot, value in zip(self.c_globals, self.global_values, strict=True):
            held = to_value(value) if value is not UNBOUND and scalar(value) else None
            slot.v, slot.t = (held.v, held.t) if held else (0, TAG_UNBOUND)

    def read_globals(self, name: str) -> None:
        """After the top-level code ran in C: what it bound, into `global_values` (a list
        copied out before the call's lists are freed, then held here only)."""
        if name != n.MODULE_CODE_NAME or not self.c_globals:
            return
        lists: dict[int, list] = {}
        values = list(self.global_values)  # a new list: a re-run starts from the old one
        for i, slot in enumerate(self.c_globals):
            if slot.t == TAG_UNBOUND:  # not bound in C: what was set stays
                continue
            if slot.t == TAG_LIST:
                if slot.v not in lists:
                    lists[slot.v] = read_list(slot.v)
                values[i] = lists[slot.v]
            else:
                values[i] = from_value(slot)
        self.global_values = values
        self.write_globals()


def compile_source(source: str, filename: str = "<string>", **options: object) -> HostModule:
    """Why: one call from source text to C functions loaded in this process."""
    return HostModule(parse_module(source, filename), **options)
