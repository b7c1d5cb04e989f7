"""The bare `@jitkit.jit`: CPython runs a function until it is hot, then machine code does.

Takes a Python function and a way to compile it (the front door passes the SSA tier, which
gives templates to what SSA refuses); gives back a *function*, a copy of the original, whose
`__code__` is swapped as it warms up. The module's name for it, which its recursive calls
use, is that function, so every call runs whatever is best now:

1. warming: a trampoline times each call and runs it on CPython's own code; for the length of
   the call the function's code *is* CPython's, so calls nested in it (recursion) pay nothing
   and RecursionError comes at CPython's depth;
2. hot: once the calls so far took `Policy.budget` seconds (about one compile) or one call took
   `Policy.long_call`, and the mean call is long enough for compiling to pay off, the function
   is compiled and the next call enters the machine code through the tier's builtin entry
   (`StackTier.builtin`: a machine-code stub CPython calls like `len`, tens of ns, where
   ctypes took microseconds). There is no on-stack replacement: a call in progress finishes
   in CPython;
3. trial: the first `Policy.trial` native calls are timed; native code slower than CPython
   was, or that keeps deoptimizing into the VM (ints beyond 64 bits), is dropped;
4. settled in CPython: a function the compiled tiers refuse, or too quick for a native call
   (`Policy.calls` calls decide that), gets CPython's own code back, and from then on runs
   exactly as undecorated.

Arguments the machine code cannot take (big ints, floats, ...) run in CPython. Results and
exceptions are CPython's in every state: compiled code guards overflow and deopts into the
kit VM, which finishes the call exactly. Counting loop trips too (`sys.monitoring`'s JUMP
event on 3.12+) was measured and left out: it slows a loop 2.2x while it counts, and without
on-stack replacement a hot loop can only speed up the next call, which the call's time
already decides (benchmarks/decorator.py reports what this policy costs).
"""

from __future__ import annotations

import functools
import inspect
import math
import threading
import types
from collections.abc import Callable
from dataclasses import dataclass
from time import perf_counter

from jitkit.bindings import Bindings
from jitkit.errors import JitkitError

WARMING, TRIAL, NATIVE, CPYTHON = "warming", "trial", "native", "cpython"
# No identifier, so no keyword a caller writes names it (`f(1, _jitkit_target=g)` is CPython's
# TypeError), and far from any: 3.13's "Did you mean ...?" in that TypeError never offers it.
TARGET = "<jitkit target>" + "\0" * 32
SHAPES = inspect.CO_VARARGS | inspect.CO_VARKEYWORDS | inspect.CO_GENERATOR
SHAPES |= inspect.CO_COROUTINE | inspect.CO_ASYNC_GENERATOR


@dataclass
class Policy:
    """When warming ends (seconds of CPython time, one call's length, or a number of calls),
    the shortest mean call worth a native entry, and how many native calls are timed before
    they are kept."""

    budget: float = 2e-3
    long_call: float = 1e-3
    calls: int = 300
    # A warming call is timed with its trampoline and two code swaps (~0.65 µs of the time);
    # the builtin entry costs 0.04-0.2 µs. A call CPython runs in under ~0.8 µs gains little
    # from machine code, and `inc` (19 ns) is quicker in CPython than through any entry.
    min_call: float = 1.5e-6
    trial: int = 16


def unsupported_shape(fn: types.FunctionType) -> str | None:
    """Why no compiled tier could ever take `fn` (so it never needs a trampoline), or None."""
    code = fn.__code__
    if fn.__closure__ or fn.__defaults__ or fn.__kwdefaults__:
        return "it has defaults or a closure"
    if code.co_flags & SHAPES or code.co_kwonlyargcount or code.co_posonlyargcount:
        return "it takes *args, **kwargs or keyword-only arguments, or is a generator"
    return None


def trampoline(fn: types.FunctionType) -> types.CodeType:
    """`def NAME(a, b, *, <jitkit target>): return <jitkit target>(a, b)`. The target is the
    function's keyword-only default, so one code object serves every state: a swap of
    `__kwdefaults__` retargets it, and a call with too many arguments raises CPython's
    TypeError; `TARGET` says why the target's name is no identifier."""
    names = fn.__code__.co_varnames[: fn.__code__.co_argcount]
    params, placeholder = ", ".join(names), "_".join(("_jitkit_target", *names))  # no name
    star = f"{params}, *" if params else "*"
    source = f"def {fn.__name__}({star}, {placeholder}):\n    return {placeholder}({params})\n"
    module = compile(source, "<jitkit.jit trampoline>", "exec")  # tracebacks show no user line
    code = next(c for c in module.co_consts if isinstance(c, types.CodeType))
    varnames = tuple(TARGET if name == placeholder else name for name in code.co_varnames)
    return code.replace(co_varnames=varnames)


def median(values: list[float]) -> float:
    return sorted(values)[len(values) // 2]


class CPythonFirst:
    """One function under the bare decorator: its states, counters and the code it runs."""

    def __init__(
        self,
        fn: types.FunctionType,
        compile_native: Callable[[], object],
        policy: Policy,
        announce: Callable[[], None] = lambda: None,  # told when native code starts to run
        bindings: Callable[[], Bindings | None] = lambda: None,  # what the compile found
        forget: Callable[[], None] = lambda: None,  # drops the compiled module
    ) -> None:
        self.name, self.plain = fn.__name__, fn  # the original keeps CPython's code
        self.compile_native, self.policy, self.announce = compile_native, policy, announce
        self.bindings, self.forget = bindings, forget
        self.function = types.FunctionType(
            fn.__code__, fn.__globals__, fn.__name__, fn.__defaults__, fn.__closure__
        )
        self.function.__kwdefaults__ = fn.__kwdefaults__
        functools.update_wrapper(self.function, fn)
        self.state, self.why = WARMING, ""
        self.calls, self.seconds = 0, 0.0  # calls finished in CPython while warming, their time
        self.times: list[float] = []  # each of those calls' seconds
        self.native_times: list[float] = []  # seconds of each native call in the trial
        self.deopts = 0  # trial calls that deoptimized into the VM
        self.tier = None  # the compiled module (a StackTier) once hot
        self.lock = threading.RLock()  # state changes: threads see one state, whole
        self.entry: Callable | None = None  # its builtin entry, behind the bindings' guard
        self.inner: Callable | None = None  # the builtin entry itself
        self.events: list[str] = []
        why = unsupported_shape(fn)
        if why:
            self.settle(why)
        else:
            self.code = trampoline(fn)
            self.switch(self.warm)

    def switch(self, target: Callable | None) -> None:
        """Point the function at `target`, or (None) give it CPython's own code back."""
        f = self.function
        if target is None:
            f.__code__, f.__kwdefaults__ = self.plain.__code__, self.plain.__kwdefaults__
        else:
            f.__kwdefaults__ = {TARGET: target}  # first: the plain code ignores it
            f.__code__ = self.code

    def target(self) -> Callable | None:
        """What the trampoline calls in the current state (None: CPython's own code)."""
        return {WARMING: self.warm, TRIAL: self.try_native, NATIVE: self.entry}.get(self.state)

    def in_cpython(self, *args: object) -> object:
        """One call on CPython's own code, calls nested in it (recursion) too: they run with no
        trampoline frame, so RecursionError comes at CPython's depth."""
        self.switch(None)
        try:
            return self.plain(*args)
        finally:
            with self.lock:
                self.switch(self.target())

    # --- the states -----------------------------------------------------------------------

    def warm(self, *args: object) -> object:
        start = perf_counter()
        try:
            return self.in_cpython(*args)
        finally:
            spent = perf_counter() - start
            self.calls, self.seconds = self.calls + 1, self.seconds + spent
            self.times.append(spent)
            policy = self.policy
            hot = self.seconds >= policy.budget or spent >= policy.long_call
            if self.state == WARMING and (hot or self.calls >= policy.calls):
                with self.lock:
                    if self.state == WARMING:  # no other thread decided meanwhile
                        self.decide()

    def decide(self) -> None:
        """Warming is over: compile if calls are long enough for a native entry to pay."""
        mean = self.seconds / self.calls
        if mean < self.policy.min_call:
            self.settle(f"its calls take {mean * 1e6:.1f} µs: a native entry costs more")
        else:
            calls = f"{self.calls} call{'s' if self.calls > 1 else ''}"
            self.promote(f"{calls} in {self.seconds * 1e3:.1f} ms")

    def promote(self, why: str) -> None:
        try:
            tier = self.compile_native()
            running = tier.tier_of(self.name)  # type: ignore[attr-defined]
        except JitkitError as refused:
            return self.settle(f"the compiled tiers refuse it: {refused}")
        except RecursionError:  # called deep in some recursion: warm up again, retry later
            self.calls, self.seconds, self.times = 0, 0.0, []
            return None
        except Exception as failed:  # a kit bug must not change what the program does
            return self.settle(f"compiling it failed: {failed!r}")
        if running == "interp":
            reason = tier.compiled.skipped.get(self.name, "")  # type: ignore[attr-defined]
            return self.settle(f"the compiled tiers leave it to the VM: {reason}")
        self.tier, self.state = tier, TRIAL
        builtin = getattr(tier, "builtin", None)
        self.inner = builtin(self.name, self.general) if builtin is not None else self.general
        bindings = self.bindings()
        self.entry = bindings.guard(self.inner, self.stale) if bindings else self.inner
        self.events.append(f"{self.name}: compiled to the {running} tier after {why}")
        self.switch(self.try_native)
        self.announce()

    def try_native(self, *args: object) -> object:
        tier, entry = self.tier, self.entry  # another thread may drop them (a rebinding)
        if tier is None or entry is None or not tier.accepts(self.name, args):
            return self.in_cpython(*args)
        tier.last_deopt = []  # type: ignore[attr-defined]
        start = perf_counter()
        try:
            return entry(*args)
        finally:
            with self.lock:
                if self.tier is tier:  # else a rebinding dropped the code: nothing to judge
                    self.native_times.append(perf_counter() - start)
                    self.deopts += bool(tier.last_deopt)  # type: ignore[attr-defined]
                    if self.state == TRIAL and len(self.native_times) >= self.policy.trial:
                        self.judge()

    def judge(self) -> None:
        """Keep native code whose median call beats CPython's and that rarely deopts (the
        median: a thread's first native call also sets up its runtime context)."""
        native = median(self.native_times)
        cpython = median(self.times) if self.times else math.inf
        if 2 * self.deopts > len(self.native_times):
            self.settle(f"{self.deopts} of {len(self.native_times)} native calls deoptimized")
        elif native > cpython:
            self.settle(f"native calls took {native * 1e6:.1f} µs, CPython's {cpython * 1e6:.1f}")
        else:
            self.state = NATIVE
            self.events.append(f"{self.name}: keeps native code ({native * 1e6:.1f} µs a call)")
            self.switch(self.entry)

    def stale(self, *args: object) -> object:
        """The guard's way out, after the module's dicts changed: when every name the code
        calls still holds what it held, the entry runs; else the compiled code is dropped
        and the function warms up again in CPython (which calls what the names hold now)."""
        with self.lock:
            bindings, inner = self.bindings(), self.inner
            holds = inner is not None and bindings is not None and bindings.check()
            if not holds and self.state != WARMING:  # else another thread dropped the code
                changed = bindings.changed() if bindings is not None else []
                names = ", ".join(map(repr, changed)) or "a name it calls"
                self.events.append(
                    f"{self.name}: {names} rebound: back to CPython, warming up again"
                )
                self.state, self.tier, self.entry, self.inner = WARMING, None, None, None
                self.calls, self.seconds, self.times = 0, 0.0, []
                self.native_times, self.deopts = [], 0
                self.forget()
                self.switch(self.warm)
        return inner(*args) if holds else self.in_cpython(*args)  # type: ignore[misc]

    def general(self, *args: object) -> object:
        """What the builtin entry falls back on: the tier's general path for arguments it
        takes (deopts and all), CPython for the rest."""
        tier = self.tier  # None: another thread dropped it (a rebinding)
        if tier is not None and tier.accepts(self.name, args):  # type: ignore[attr-defined]
            return tier.call(self.name, *args)  # type: ignore[attr-defined]
        return self.in_cpython(*args)

    def settle(self, why: str) -> None:
        self.state, self.why, self.tier, self.entry, self.inner = CPYTHON, why, None, None, None
        self.events.append(f"{self.name}: runs in CPython from now on ({why})")
        self.switch(None)
