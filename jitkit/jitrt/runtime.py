"""Running native-tier code: entry from Python, prints, and deopt back into the VM (notebooks
05 and 07).

Takes a `CompiledModule` and the module's VM; gives `StackTier.call(name, *args)`, which runs
the compiled function when its arguments are int64s and otherwise the VM. When compiled
code deopts, every compiled frame on the way out wrote a record (function, pc, locals,
operand stack); the records become VM frames, innermost on top, and the VM finishes the call
with exact Python ints. Guards run before side effects, so no print is repeated. Code that
polls the interrupt flag where it knows no frame state (the SSA tier's back edges, when its
builder gave none) returns INTERRUPTED instead: the call ends with KeyboardInterrupt.
"""

from __future__ import annotations

import ctypes
import functools
import mmap
import threading
from collections.abc import Callable
from dataclasses import dataclass

from jitkit.bytecode.opcodes import Op
from jitkit.jitrt import lists
from jitkit.jitrt.layout import (
    DEOPT,
    INTERRUPTED,
    NATIVE_DEPTH_CAP,
    Context,
    frame_words,
    read_record,
)
from jitkit.jitrt.module import CompiledModule
from jitkit.jitrt.types import BOOL, FLOAT, INT, NONE, UNDEF, double, exact, is_list, word
from jitkit.lang import runtime as rt
from jitkit.lang.runtime import INT64_MAX, INT64_MIN
from jitkit.native.entry import (
    MAX_DEPTH,
    STATUS,
    WORDS,
    EntrySpec,
    arm_limits,
    current_thread_state,
    make_builtin,
)
from jitkit.native.interrupts import interrupt_flag
from jitkit.native.memory import ExecutableMemory
from jitkit.native.stack import stack_floor
from jitkit.vm.machine import VM, Frame

PRINT = ctypes.CFUNCTYPE(None, ctypes.c_int64, ctypes.c_void_p)
ENTRY = ctypes.CFUNCTYPE(ctypes.c_int64, ctypes.c_void_p, ctypes.c_void_p)


@dataclass
class DeoptFrame:
    """One frame handed from machine code to the VM: where it resumes and with what."""

    function: str
    pc: int
    locals: dict
    stack: list


class _Calls(threading.local):
    """Per thread: how many native calls are running (one inside another's print), a
    context and deopt buffer for each level, made as first needed, and what a print at
    each level raised. Threads other than the main one poll a stop byte of their own:
    CPython delivers KeyboardInterrupt to the main thread only."""

    def __init__(self) -> None:
        self.depth = ctypes.c_int64(0)  # a word, so a builtin entry's stub can read it too
        self.contexts: list[tuple[Context, ctypes.Array]] = []
        self.arenas: dict[int, lists.Arena] = {}  # by the context's address
        self.errors: dict[int, BaseException] = {}
        self.stop = ctypes.c_uint8(0)
        self.main = threading.current_thread() is threading.main_thread()

    @property
    def nesting(self) -> int:
        return self.depth.value

    @nesting.setter
    def nesting(self, value: int) -> None:
        self.depth.value = value


class StackTier:
    """A module's compiled functions, callable from Python, with the VM as fallback."""

    def __init__(self, compiled: CompiledModule, vm: VM) -> None:
        self.compiled, self.vm = compiled, vm
        self.memory = ExecutableMemory.from_code(compiled.machine.bytes or b"\xcc")
        labels = compiled.machine.labels
        self.entries = {
            name: ENTRY(self.memory.address + labels[info.entry])
            for name, info in compiled.functions.items()
        }
        self.by_index = {info.index: info for info in compiled.functions.values()}
        # Every entry into a function's template code (native calls too) and every loop trip
        # in it counts here, so a tier above sees how hot the code is (HotSpot's invocation
        # and back-edge counters, summed) without a Python call in between.
        self.calls = (ctypes.c_int64 * (max(self.by_index, default=0) + 1))()
        self._print = PRINT(self._print_values)  # kept alive as long as the code
        self._local = _Calls()
        self._entry_data = (ctypes.c_int64 * WORDS)(-1)  # what builtin entries' stubs read
        self._argv_words: list[ctypes.Array] = [(ctypes.c_int64 * 1)()]
        self.last_deopt: list[DeoptFrame] = []  # the last native call's deopt, outermost first

    def set_globals(self, values: list[object]) -> None:
        """The module's globals live in the VM: only code it runs reads or stores them."""
        self.vm.set_globals(values)

    def tier_of(self, name: str) -> str:
        """ "stack" for a compiled function, "interp" for one the tier left to the VM."""
        return "stack" if name in self.entries else "interp"

    def calls_of(self, name: str) -> int:
        """How hot `name`'s template code is: entries (from Python or native code) plus loop
        trips, since the code was made."""
        return self.calls[self.compiled.functions[name].index]

    def accepts(self, name: str, args: tuple) -> bool:
        """Whether `name(*args)` can enter machine code: compiled, as many arguments as it
        has parameters (else the VM raises CPython's TypeError), and int64 arguments (or
        floats where it takes floats). A list from Python is never copied in: the VM runs
        that call, on the caller's own list object (aliasing stays exact)."""
        if name not in self.entries:
            return False
        params = self.compiled.functions[name].params or (INT,) * len(args)
        return len(args) == self.compiled.functions[name].code.argcount and all(
            type(x) is float
            if kind == FLOAT
            else kind == INT and type(x) is int and INT64_MIN <= x <= INT64_MAX
            for x, kind in zip(args, params, strict=True)
        )

    def call(self, name: str, *args: object, depth: int = 0) -> object:
        """Run `name(*args)` natively when it `accepts` them, else in the VM. `depth` is the
        number of kit frames already active below this call (VM frames, when tiering), so
        recursion limits count them too."""
        if not self.accepts(name, args):
            return self.vm.call(name, *args)
        finished, outcome = self.enter(name, args, depth)
        return outcome if finished else self.run_frames(outcome, depth)

    def enter(self, name: str, args: tuple, depth: int = 0) -> tuple[bool, object]:
        """Run accepted `name(*args)` in machine code: `(True, result)`, or after a deopt
        `(False, frames)`, the VM frames to finish it (outermost first). A VM that is
        already running pushes those frames on its own stack (tiering), so deopts never
        nest one VM run inside another."""
        entry = self.entries[name]
        self.last_deopt = []
        words = [word(x) if type(x) is float else x for x in reversed(args)]
        argv = (ctypes.c_int64 * max(1, len(args)))(*words)  # arg k at argv0 - 8k
        first = ctypes.addressof(argv) + 8 * (len(args) - 1)
        flag = interrupt_flag()
        flag.arm()
        local = self._local
        ctx, buffer = self._context(local.nesting)
        ctx.deopt_ptr, ctx.depth = ctypes.addressof(buffer), 0
        ctx.max_depth = min(rt.recursion_limit() - depth, NATIVE_DEPTH_CAP)
        if local.main:
            ctx.flag = flag.address
        else:
            local.stop.value, ctx.flag = 0, ctypes.addressof(local.stop)
        local.nesting += 1  # a print's Python code may call compiled code again
        try:
            status = entry(ctypes.byref(ctx), first)
        finally:
            local.nesting -= 1
        return self.outcome(name, status, ctx, buffer, depth)

    def outcome(
        self, name: str, status: int, ctx: Context, buffer: ctypes.Array, depth: int = 0
    ) -> tuple[bool, object]:
        """What `enter` gives once the machine code returned `status` (a builtin entry's stub
        hands every status but a clean return here too). The call's lists are freed after
        the result or the deopt's frames were made from them."""
        arena = self._local.arenas[ctypes.addressof(ctx)]
        try:
            return self._outcome(name, status, ctx, buffer, depth)
        finally:
            arena.release()

    def _outcome(
        self, name: str, status: int, ctx: Context, buffer: ctypes.Array, depth: int
    ) -> tuple[bool, object]:
        error = self._local.errors.pop(self._local.nesting, None)
        if error is not None:  # a print raised; the code stopped at its next poll
            ctypes.c_uint8.from_address(ctx.flag).value = 0
            raise error
        flag = interrupt_flag()
        if status == INTERRUPTED:  # nothing to resume from: the call ends here
            flag.raise_pending()
            raise KeyboardInterrupt
        if status == DEOPT:
            if flag.is_set:
                flag.raise_pending()  # KeyboardInterrupt, unless a handler says otherwise
            return False, self.frames(self.records(ctx, buffer), depth)
        # returned (status 0, or FINISH: a list result, or chunks the arena frees after)
        return True, self.to_python(ctx.result, frozenset({self.compiled.functions[name].returns}))

    # --- the builtin entry --------------------------------------------------------------------

    def builtin(self, name: str, fallback: Callable | None = None) -> Callable:
        """`name` as a builtin function whose machine-code stub unboxes, calls and boxes
        (`jitkit.native.entry`): ~40 ns where `call` costs microseconds. What the stub does
        not take (other arguments, another thread, a call inside a print, a changed recursion
        limit, a displaced SIGINT handler) goes to `fallback(*args)`, by default `call`;
        what the code hands back (deopt, interrupt, a print that raised) is finished here.
        Made on the main thread it owns that thread's first context; elsewhere it always
        falls back. Calls that do not deopt leave `last_deopt` as it was."""
        info = self.compiled.functions[name] if name in self.entries else None
        if info is None or info.returns == FLOAT or any(t != INT for t in info.params):
            # left to the VM, or floats the stub cannot unbox or box, or a list parameter
            # (from Python the VM takes it, never the stub): the ctypes way
            return fallback if fallback is not None else functools.partial(self.call, name)
        local, flag = self._local, interrupt_flag()
        ctx, buffer = self._context(0)
        owner = current_thread_state() if local.main else 0
        if local.main:
            ctx.flag = flag.address
        code = info.code
        argv = self._argv(max(1, code.argcount))
        first = ctypes.addressof(argv) + 8 * max(0, code.argcount - 1)  # arg k at first - 8k
        spec = EntrySpec(
            name=name,
            nargs=code.argcount,
            entry=ctypes.cast(self.entries[name], ctypes.c_void_p).value,
            call_args=(
                ctypes.addressof(ctx),
                ctypes.addressof(argv) + 8 * max(0, code.argcount - 1),
            ),
            arg_address=first,
            arg_stride=-8,
            result=ctypes.addressof(ctx) + Context.result.offset,
            # a list result always comes back with status FINISH: `finish` converts it
            kind=NONE if is_list(info.returns) else info.returns,
            nesting=ctypes.addressof(local.depth),
            owner=owner,
            flag=ctx.flag or flag.address,  # another thread's builtin never gets this far
            data=ctypes.addressof(self._entry_data),
            stores=[
                (ctypes.addressof(ctx) + Context.deopt_ptr.offset, ctypes.addressof(buffer)),
                (ctypes.addressof(ctx) + Context.depth.offset, 0),
            ],
            copies=[(ctypes.addressof(ctx) + Context.max_depth.offset, MAX_DEPTH)],
            long_running=any(op in (Op.JUMP_BACKWARD, Op.CALL) for op in code.ops),
            handler=flag.expected_address,
            keep=(ctx, buffer, argv, local.depth, self._entry_data),
        )
        general = fallback if fallback is not None else functools.partial(self.call, name)

        def slow(*args: object) -> object:
            self._arm_entries()
            return general(*args)

        def finish(*args: object) -> object:
            self.last_deopt = []
            finished, outcome = self.outcome(name, self._entry_data[STATUS], ctx, buffer)
            return outcome if finished else self.run_frames(outcome)

        self._arm_entries()
        return make_builtin(spec, slow, finish)

    def _argv(self, words: int) -> ctypes.Array:
        """The main thread's argument words for builtin entries (one call uses them at a time:
        the stub takes them only when no native call of that thread is running)."""
        if len(self._argv_words[-1]) < words:
            self._argv_words.append((ctypes.c_int64 * words)())  # the old ones stay in use
        return self._argv_words[-1]

    def _arm_entries(self) -> None:
        """The recursion limit the builtin entries size their context for (`arm_limits`)."""
        arm_limits(self._entry_data, rt.recursion_limit(), NATIVE_DEPTH_CAP)

    # --- deopt ----------------------------------------------------------------------------------

    def records(self, ctx: Context, buffer: ctypes.Array) -> list[tuple]:
        """The deopt records, innermost frame first: (info, resume pc, depth, state pc, words)."""

        def words_of(index: int) -> int:
            return frame_words(self.by_index[index].code)

        out, at, end = [], ctypes.addressof(buffer), ctx.deopt_ptr
        while at < end:
            header, values, at = read_record(at, words_of)
            info, depth = self.by_index[header.function], header.depth
            if depth < 0:  # a guard's stub: the depth before the instruction it checked
                depth = len(info.types.states[header.state_pc].stack)
            out.append((info, header.resume, depth, header.state_pc, values))
        return out

    def frames(self, records: list[tuple], depth: int = 0) -> list[Frame]:
        """The compiled frames as VM frames, outermost first. Past the recursion limit (the
        `depth` frames below count) the entry check of the innermost deopted: raise as
        CPython would have on entering it."""
        frames = []
        memo: dict[int, list] = {}  # one list per header over every frame: aliases stay aliases
        for info, resume_pc, stack_depth, state_pc, values in reversed(records):
            code, state = info.code, info.types.states[state_pc]
            nlocals = len(code.varnames)
            frame = Frame(code, self.vm.plain_ops[id(code)], [])
            frame.pc = resume_pc
            frame.locals = [
                self.to_python(v, t, memo) for v, t in zip(values, state.locals, strict=False)
            ]
            stack = list(state.stack)[:stack_depth]
            words = values[nlocals : nlocals + stack_depth]
            kept = self.compiled.pending.get((info.index, state_pc), {})
            for j, (kind, what) in kept.items():  # values the stub left to us
                words[j] = what if kind == "imm" else values[what]
            frame.stack = [self.to_python(w, t, memo) for w, t in zip(words, stack, strict=True)]
            frames.append(frame)
        self.last_deopt = [
            DeoptFrame(f.code.name, f.pc, dict(zip(f.code.varnames, f.locals, strict=True)),
                       list(f.stack))
            for f in frames
        ]  # fmt: skip
        if len(frames) > rt.recursion_limit() - depth:
            raise RecursionError("maximum recursion depth exceeded")
        return frames

    def resume(self, records: list[tuple], depth: int = 0) -> object:
        """Rebuild the compiled frames as VM frames and let the VM finish."""
        return self.run_frames(self.frames(records, depth), depth)

    def run_frames(self, frames: list[Frame], depth: int = 0) -> object:
        """Let the VM finish deopted frames. Its limit leaves room for the `depth` frames
        below, so a RecursionError comes where it would if every frame were the VM's."""
        saved = self.vm.frames, self.vm.limit
        self.vm.frames, self.vm.limit = frames, rt.recursion_limit() - depth
        try:
            return self.vm.run()
        finally:
            self.vm.frames, self.vm.limit = saved

    def to_python(self, word: int, types: frozenset, memo: dict | None = None) -> object:
        """The Python object an int64 stands for, given its static type. A list is copied
        out of its header (`memo`: address -> list, so one header gives one list)."""
        if UNDEF in types:
            return rt.UNBOUND
        kind = exact(types, "a value")
        if is_list(kind):  # 0 is no list: a dead local (the SSA tier's pending frames zero them)
            return lists.to_python(word, memo) if word else rt.UNBOUND
        if kind == INT:
            return word
        if kind == BOOL:
            return bool(word)
        if kind == FLOAT:
            return double(word)
        if kind == NONE:
            return None
        if kind[0] == "str":
            return kind[1]
        return self.vm.codes[kind[1]]  # ("func", name): a callee waiting on the stack

    def listing(self, name: str) -> str:
        """The machine code of one compiled function (with its deopt stubs), as text."""
        from jitkit.x86.listing import show

        machine, info = self.compiled.machine, self.compiled.functions[name]
        start = machine.labels[f"{name}.entry"]
        ends = [o for label, o in machine.labels.items() if label.endswith(".entry") and o > start]
        end = min(ends + [machine.labels[info.entry]])
        labels = {label: o - start for label, o in machine.labels.items() if start <= o < end}
        return str(show(machine.bytes[start:end], labels=labels, base=self.memory.address + start))

    # --- the runtime's callbacks ---------------------------------------------------------------

    def _print_values(self, site: int, values: int) -> None:
        """PRINT from compiled code: format as Python does and write to sys.stdout. What
        print raises (an unencodable string, KeyboardInterrupt from a SIGINT that CPython
        handled in here) cannot cross ctypes: it is kept, the code's poll byte is set so it
        stops at its next loop edge or call, prints after it are skipped, and the Python
        entry raises it, with the output so far as CPython leaves it."""
        local = self._local
        level = local.depth.value - 1  # no Python call here: CPython raises at those
        if level in local.errors:
            return
        try:
            types = self.compiled.prints[site].types
            n = len(types)
            words = (ctypes.c_int64 * n).from_address(values - 8 * (n - 1))[::-1]
            shown = [self.to_python(w, frozenset({t})) for w, t in zip(words, types, strict=True)]
            rt.print_values(shown[:-2], shown[-2], shown[-1])
        except BaseException as error:  # noqa: BLE001 - re-raised by `enter`
            self.keep_error(error)

    def keep_error(self, error: BaseException) -> None:
        """Keep what a callback raised for the Python entry to raise, and set the code's poll
        byte so it stops at its next loop edge or call."""
        local = self._local
        level = local.depth.value - 1
        if level >= 0 and level not in local.errors:
            local.errors[level] = error
            ctypes.c_uint8.from_address(local.contexts[level][0].flag).value = 1

    def _context(self, nesting: int) -> tuple[Context, ctypes.Array]:
        """A context and deopt buffer per thread and nesting level (a call made while another
        is in a print gets its own), made on first use."""
        contexts = self._local.contexts
        if nesting == len(contexts):
            ctx = Context()
            ctx.print = ctypes.cast(self._print, ctypes.c_void_p).value
            ctx.calls = ctypes.addressof(self.calls)
            ctx.stack_floor = stack_floor()
            # anonymous mmap: address space for the deepest deopt, pages made only as written
            words = (NATIVE_DEPTH_CAP + 2) * max(1, self.compiled.record_words)
            contexts.append((ctx, (ctypes.c_int64 * words).from_buffer(mmap.mmap(-1, 8 * words))))
            self._local.arenas[ctypes.addressof(ctx)] = lists.Arena(ctx)
        return contexts[nesting]
