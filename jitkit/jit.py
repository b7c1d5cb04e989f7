"""`@jitkit.jit`: run a Python function on one of the kit's engines (notebook 03 onwards).

In: a function in the supported subset (its module's other functions are found by name in
`fn.__globals__`). Out: a callable that returns what CPython would and raises what it would.

The bare `@jitkit.jit` is tier "cpython-first" (`jitkit.cpython_first`): CPython runs the
function until it is hot, then the SSA tier's machine code does (templates where SSA refuses);
what the compiled tiers refuse, or what is too quick for a native call, stays in CPython, so it
is never much slower than the undecorated function. It gives back a real function, with the
inspection methods below attached and the `JitFunction` behind it as `.jit`.
`@jitkit.jit(tier=...)` picks one engine and gives a `JitFunction`: "interp" (the kit's
bytecode VM, the teaching tier 0), "treewalk", "stack" (template JIT), "ssa" (the optimizing
JIT), "auto" (VM, then stack, then SSA as it gets hot), "llvm" and "hostc" (C through the host
compiler). Compilation happens on first use, so functions defined later in the module can be
called.

Front ends: "ast" reads the source, "dis" reads CPython's bytecode; by default the source when
`inspect.getsource` finds it, else the bytecode (`python -c`, `exec`, the plain REPL). Tiers
that compile source (treewalk, llvm, hostc) need the source and say so.

Inspection shows what runs, or raises `InspectionError` saying why not: `asm()` (the machine
code of the running tier, read from executable memory), `bytecode()` / `dis()` (kit bytecode),
`ir(pass)` / `passes` (SSA IR), `llvm_ir()`, `c_source()`, `running_tier()`. `dump={...}`
prints stages as they are made: "ast", "bytecode", and once the tier compiles the function,
the output of the methods "ir", "llvm_ir", "c_source" and "asm" (where the tier has them).

Module-level names the function (or a function it calls) reads are read from `fn.__globals__`
before each call and handed to the engine (`set_globals`), so a rebinding between two calls is
seen as CPython sees it; a value no tier holds (a str, a dict, ...) runs the original Python
function instead, exactly (docs/globals.md). The functions and builtins it calls are looked up
at call time too: a call runs the compiled code only while every such name holds what it held
when compiled (`jitkit.bindings`: the dicts' version tags, checked by a guard stub in front of
the builtin entry); a rebinding compiles again, or, where the kit refuses the new bindings,
runs the original function. Keyword arguments are bound as CPython binds them.

`jitkit.tiers.TIERS` (what `python -m jitkit run` and the differential suites run) holds every
tier but the default: those compile a program's source, and the default's tier 0 is CPython
running the live function object, which a program's source does not give.
"""

from __future__ import annotations

import functools
import inspect
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from jitkit.bindings import VALUE_TYPES, Bindings, bind_arguments, describe
from jitkit.bytecode.code import Code
from jitkit.bytecode.compiler import compile_module
from jitkit.bytecode.disasm import dis as format_listing
from jitkit.cpython_first import WARMING, CPythonFirst, Policy
from jitkit.errors import JitkitError, UnsupportedError
from jitkit.lang import nodes
from jitkit.lang.parse import parse_function, unwrap
from jitkit.lang.runtime import UNBOUND
from jitkit.lang.treewalk import TreeWalker
from jitkit.machine_code import MachineCode, hostc_code, llvm_code, stack_code
from jitkit.tiers import TIERS as FACTORIES
from jitkit.vm.machine import VM, Profile

DEFAULT = "cpython-first"
TIERS = (*FACTORIES, DEFAULT)  # `python -m jitkit run` knows all but the default


def auto_code(engine, name: str, running: str) -> MachineCode:
    """Tier "auto" runs a function in its SSA module once promoted there, else in templates."""
    return stack_code(engine.ssa if running == "ssa" else engine.native, name, running)


@dataclass(frozen=True)
class Tier:
    """What `JitFunction` needs to know of one tier, said once: what it reads, what runs a
    call, what it can show. Nothing else in this module tells tiers apart by name."""

    name: str
    runs: str = "engine"  # what runs a call: "walker" (tree-walker), "vm" (kit VM), "engine"
    reads_source: bool = False  # compiles the kit AST, so it needs the function's source
    factory: str = ""  # the `jitkit.tiers` factory that builds its engine (default: its name)
    mixed: bool = False  # the engine may leave functions in the VM: ask its `tier_of`
    shows: tuple[str, ...] = ()  # inspection methods with something to show, in that order
    dumps: tuple[str, ...] = ()  # `dump=` stages printed once the engine has compiled
    machine_code: Callable[..., MachineCode] | None = None  # (engine, name, running tier)
    ssa_view: Callable | None = None  # the engine's SSA module, when it is not the engine
    builtin_entry: bool = False  # the engine gives each function a builtin entry
    cpython_first: bool = False  # CPython runs the function until it is hot

    @property
    def engine_factory(self) -> str:
        return self.factory or self.name


def _stack_code(engine, name: str, running: str) -> MachineCode:
    return stack_code(engine, name, running)


def _llvm_code(engine, name: str, running: str) -> MachineCode:
    return llvm_code(engine, name)


def _hostc_code(engine, name: str, running: str) -> MachineCode:
    return hostc_code(engine, name)


NATIVE = {"mixed": True, "builtin_entry": True, "machine_code": _stack_code}
TIER_INFO = {
    "treewalk": Tier("treewalk", runs="walker", reads_source=True),
    "interp": Tier("interp", runs="vm", shows=("bytecode",)),
    "stack": Tier("stack", shows=("asm", "bytecode"), dumps=("asm",), **NATIVE),
    "ssa": Tier("ssa", shows=("asm", "bytecode", "ir"), dumps=("ir", "asm"), **NATIVE),
    "auto": Tier(
        "auto", mixed=True, shows=("asm", "bytecode", "ir"), machine_code=auto_code,
        ssa_view=lambda engine: engine.ssa,
    ),
    "llvm": Tier(
        "llvm", reads_source=True, shows=("llvm_ir", "asm"), dumps=("llvm_ir", "asm"),
        machine_code=_llvm_code, builtin_entry=True,
    ),
    "hostc": Tier(
        "hostc", reads_source=True, shows=("c_source", "asm", "bytecode"),
        dumps=("c_source", "asm"), machine_code=_hostc_code, builtin_entry=True,
    ),
    DEFAULT: Tier(
        DEFAULT, factory="ssa", mixed=True, shows=("asm", "bytecode", "ir"), dumps=("ir", "asm"),
        machine_code=_stack_code, cpython_first=True,
    ),
}  # fmt: skip
SOURCE_TIERS = tuple(t for t in TIERS if TIER_INFO[t].reads_source)  # they need source
BYTECODE_TIERS = tuple(t for t in TIERS if t not in SOURCE_TIERS)
FRONTENDS = ("ast", "dis")
DUMPS = ("ast", "bytecode", "ir", "llvm_ir", "c_source", "asm")
COMPILED = {  # dumps printed once the tier has compiled the function, by the method's name
    name: tuple(t for t in TIERS if name in TIER_INFO[t].dumps)
    for name in ("ir", "llvm_ir", "c_source", "asm")
}
SHOWN = ("asm", "bytecode", "dis", "ir", "listing", "llvm_ir", "c_source", "running_tier")


def showing(method: str) -> list[str]:
    """The tiers whose `method` ("ir", "llvm_ir", ...) has something to show."""
    return [t for t in TIERS if method in TIER_INFO[t].shows]


GLOBAL_TYPES = VALUE_TYPES  # what a module-level name may hold here


class InspectionError(JitkitError, LookupError):
    """What was asked to be shown does not run on this tier (the message says what does)."""


def has_source(fn: Callable) -> bool:
    try:
        inspect.getsource(fn)
    except (OSError, TypeError):
        return False
    return True


class JitFunction:
    """A Python function bound to a kit engine; compiled lazily, profiled across calls."""

    def __init__(
        self,
        fn: Callable,
        tier: str,
        frontend: str | None = None,
        dump: Iterable[str] = (),
        trace: bool = False,
    ) -> None:
        check_options(tier, frontend, dump)
        functools.update_wrapper(self, fn)
        self.tier, self.dump, self.trace = tier, set(dump), trace
        self.info = info = TIER_INFO[tier]
        if frontend is None:
            frontend = "dis" if not info.reads_source and not has_source(fn) else "ast"
        if (frontend == "ast" or info.reads_source) and not has_source(fn):
            uses = "frontend='dis'" if not info.reads_source else ", ".join(BYTECODE_TIERS)
            raise UnsupportedError(
                f"{fn.__name__}() has no source to read (defined in `python -c`, `exec` or the "
                f"plain REPL?): tier {tier!r} compiles Python source; use {uses}, which start "
                "from CPython's bytecode"
            )
        self.frontend = frontend
        self._module: nodes.Module | None = None
        self._codes: dict[str, Code] | None = None
        self._vm: VM | None = None
        self._engine = None
        self._global_names: list[str] | None = None
        self._bindings: Bindings | None = None  # what the names it calls held when compiled
        self._entry: Callable | None = None  # the engine's builtin entry, once made
        self._signature: inspect.Signature | None = None
        self.in_python: str | None = None  # why calls run the original function, if they do
        self.rebinds = 0  # times a rebinding in its module made it compile again
        self._lock = threading.RLock()  # re-entered: a print's sys.stdout may call it again
        self.cpython_first = (
            CPythonFirst(
                fn, lambda: self.engine, Policy(), self.show_compiled, lambda: self._bindings,
                self.forget,
            )
            if info.cpython_first
            else None
        )  # fmt: skip

    @property
    def module(self) -> nodes.Module:
        """The kit AST of this function and the module functions it calls."""
        if self._module is None:
            self.record_bindings()
            self._module = parse_function(self.__wrapped__)
            if "ast" in self.dump:
                print(f"== ast of {self.__name__} ==")
                for fn in self._module.functions.values():
                    print(nodes.sexpr(fn))
        return self._module

    @property
    def codes(self) -> dict[str, Code]:
        """Kit code objects, keyed by function name."""
        if self._codes is None:
            self.record_bindings()
            if self.frontend == "dis":
                from jitkit.bytecode.from_cpython import translate_function

                self._codes = translate_function(self.__wrapped__)
            else:
                self._codes = compile_module(self.module)
            if "bytecode" in self.dump:
                print(f"== bytecode of {self.__name__} ==")
                print("\n\n".join(format_listing(c) for c in self._codes.values()))
        return self._codes

    def record_bindings(self) -> None:
        """Before the front end reads the module: what every name the code calls holds now
        (the compiled code runs only while they still hold it, `jitkit.bindings`)."""
        if self._bindings is None:
            self._bindings = Bindings(self.__wrapped__, unwrap)
        if self._bindings.refusals:  # a second name, a closure, `abs` not Python's, ...
            raise UnsupportedError(self._bindings.refusals[0])

    def forget(self) -> None:
        """Drop everything compiled: the next use parses, compiles and records again."""
        self._module = self._codes = self._vm = self._engine = self._global_names = None
        self._bindings = self._entry = self.in_python = None
        if type(self) is not JitFunction:  # the builtin entry's class: back to the Python path
            self.__class__ = JitFunction

    def rebind(self) -> None:
        """A name the code calls was rebound: compile again from the module as it is. What the
        kit refuses now (a callee bound to an int, a module-level `abs`) runs as the original
        function does, exactly, until the names change again."""
        changed = self._bindings.changed() if self._bindings is not None else []
        self.forget()
        self.rebinds += 1
        try:
            self.build()
        except Exception as refused:  # not the kit's refusal: a name moved while it compiled?
            if not isinstance(refused, JitkitError) and self.unmoved():
                raise
            self.in_python = f"{describe(changed)} rebound since it was compiled: {refused}"

    def unmoved(self) -> bool:
        """No name moved since the compile began (another thread may rebind one meanwhile)."""
        return self._bindings is None or self._bindings.still_bound()

    def build(self) -> None:
        """Parse and compile what a call on this tier runs, now."""
        if self.info.runs == "walker":
            self.module  # noqa: B018 (parses)
        elif self.info.runs == "vm":
            self.vm  # noqa: B018
        else:
            self.engine  # noqa: B018
        self.global_names  # noqa: B018

    @property
    def global_names(self) -> list[str]:
        """The module-level names the function and its callees read (the engines' globals)."""
        if self._global_names is None:
            if self.info.reads_source or self.frontend == "ast":
                self._global_names = self.module.globals
            else:
                self._global_names = next(iter(self.codes.values())).globals
        return self._global_names

    def load_globals(self, engine, names: list[str]) -> bool:
        """Hand the engine the current values of the module-level `names` (missing: unbound);
        False, and nothing handed, when one holds a type the kit's values do not include."""
        scope = self.__wrapped__.__globals__
        values = [scope.get(name, UNBOUND) for name in names]
        if any(type(v) not in GLOBAL_TYPES for v in values if v is not UNBOUND):
            return False
        engine.set_globals(values)
        return True

    @property
    def vm(self) -> VM:
        if self._vm is None:
            self._vm = VM(self.codes, trace=self.trace)
        return self._vm

    @property
    def profile(self) -> Profile:
        """Calls per function and back edges per loop, summed over every call so far: the VM
        this function runs in (for a compiled tier, the VM its deopts finish in)."""
        if self.info.mixed:
            return self.engine.vm.profile
        return self.vm.profile

    @property
    def engine(self):
        """The compiled form for machine-code tiers (StackTier, SSATier, AutoTier, LLVM or
        host-C module), built by the factory `python -m jitkit run` uses; the default tier
        compiles with the SSA tier's."""
        if self._engine is None:
            factory = FACTORIES[self.info.engine_factory]
            module = self.module if self.info.reads_source else None
            self._engine = factory(module, self.codes).engine  # type: ignore[arg-type]
            if not self.info.cpython_first:  # the default shows them when it runs the code
                self.show_compiled()
        return self._engine

    def show_compiled(self) -> None:
        """`dump=`: each compiled stage asked for, under a banner, once it exists."""
        for name in DUMPS:
            if name in self.dump and name in COMPILED:
                try:
                    text = str(getattr(self, name)())
                except InspectionError as why:
                    text = str(why)
                print(f"== {name} of {self.__name__} ==\n{text}")

    def running_tier(self) -> str:
        """Where the next call runs: the tier, or the one "auto" has reached, or for the
        default "cpython" until it is hot (and for good if it stays there); "cpython" too
        while a rebinding left the module outside what the kit compiles."""
        if self.cpython_first is not None and self.cpython_first.tier is None:
            return "cpython"
        if self.in_python is not None:
            return "cpython"
        if self.info.mixed:  # "interp" where left to the VM
            return self.engine.tier_of(self.__name__)
        return self.tier

    # --- what runs ----------------------------------------------------------------------

    def asm(self) -> MachineCode:
        """The machine code the next call runs, read from executable memory."""
        running = self.running_tier()
        if running == "interp" or self.info.machine_code is None:
            raise InspectionError(self.interpreted_story(running))
        if running == "cpython":
            raise InspectionError(self.cpython_story())
        return self.info.machine_code(self.engine, self.__name__, running)

    def listing(self) -> str:
        """`asm()` as text."""
        return str(self.asm())

    def interpreted_story(self, running: str) -> str:
        """Why a function has no machine code: its tier interprets, or left it to the VM."""
        why = "no machine code of its own (see bytecode(), or pick a compiling tier)"
        if self.info.mixed:  # the engine left it in the VM: its compiled module says why
            compiled = getattr(self.engine, "compiled", None)
            skipped = compiled.skipped if compiled is not None else {}
            why = f"the {self.tier} tier left it there ({skipped.get(self.__name__, 'not hot')})"
        return f"{self.__name__}() runs in the kit's {running} tier: {why}"

    def cpython_story(self) -> str:
        first = self.cpython_first
        if first is None:
            return f"{self.__name__}() runs as the original Python function: {self.in_python}"
        if first.state == WARMING:
            return (
                f"{self.__name__}() still runs in CPython ({first.calls} calls, "
                f"{first.seconds * 1e3:.2f} ms so far): it compiles once hot; "
                "@jitkit.jit(tier='ssa') compiles at the first call"
            )
        return f"{self.__name__}() runs in CPython: {first.why}"

    def bytecode(self) -> str:
        """The kit bytecode listing of this function and those it calls, as `dis` shows it:
        what the VM runs, and what the compiled bytecode tiers compile and deopt into."""
        if "bytecode" not in self.info.shows:
            shown = " and ".join(f"{m}()" for m in self.info.shows) or "nothing else"
            raise InspectionError(
                f"tier {self.tier!r} runs the kit AST, not kit bytecode; {self.tier!r} tier "
                f"shows {shown}"
            )
        return "\n\n".join(format_listing(c) for c in self.codes.values())

    def dis(self) -> None:
        """Print `bytecode()`, like `dis.dis`."""
        print(self.bytecode())

    @property
    def ssa(self):
        """The module on the SSA tier (`jitkit.ssa.tier.SSATier`) for "ssa", the one "auto"
        promotes to, or the default's once compiled."""
        info = self.info
        if "ir" not in info.shows:
            raise InspectionError(
                f"tier {self.tier!r} has no SSA IR (tiers with SSA: {', '.join(showing('ir'))})"
                + "".join(f"; see {m}()" for m in ("llvm_ir", "c_source") if m in info.shows)
            )
        if info.ssa_view is not None:
            return info.ssa_view(self.engine)  # compiled for looking at, if not promoted yet
        running = self.running_tier()
        if running in ("ssa", "stack"):
            return self.engine  # ir() says why a function got templates
        raise InspectionError(
            self.cpython_story() if running == "cpython" else self.interpreted_story(running)
        )

    @property
    def passes(self) -> list[tuple[str, str]]:
        """This function's SSA IR as built ("input") and after each pass, in pipeline order."""
        return self.ssa.passes(self.__name__)

    def ir(self, pass_name: str | None = None) -> str:
        """This function's SSA IR after `pass_name` (its last run), or after all passes."""
        try:
            return self.ssa.ir(self.__name__, pass_name)
        except KeyError as missing:
            raise InspectionError(missing.args[0]) from None

    def llvm_ir(self) -> str:
        """The optimized LLVM IR module MCJIT compiled (tier "llvm" only)."""
        if "llvm_ir" not in self.info.shows:
            does = ", ".join(map(repr, showing("llvm_ir")))
            raise InspectionError(f"tier {self.tier!r} makes no LLVM IR; tier {does} does")
        return self.engine.engine.ir

    def c_source(self) -> str:
        """The C the host compiler compiled for this function (tier "hostc" only)."""
        if "c_source" not in self.info.shows:
            does = ", ".join(map(repr, showing("c_source")))
            raise InspectionError(f"tier {self.tier!r} makes no C; tier {does} does")
        return self.engine.function_c(self.__name__)

    def __call__(self, *args: object, **kwargs: object) -> object:
        """Run the function on its tier. On the machine-code tiers the first call on the main
        thread gives this object a class of its own whose `__call__` is a guard stub in front
        of the function's builtin entry (the engine's `builtin`: a machine-code stub), so
        later calls cost CPython's call of a builtin, the check that the module's dicts did
        not change (`jitkit.bindings`) and the stub, not a trip through `engine.call`. Calls
        with keywords, and calls after a name the code calls was rebound, come back here."""
        if self.cpython_first is not None:
            return self.cpython_first.function(*args, **kwargs)
        defaults = self.__wrapped__.__defaults__
        if kwargs or (defaults and len(args) != self.__wrapped__.__code__.co_argcount):
            self._signature = self._signature or inspect.signature(self.__wrapped__)
            bound = bind_arguments(self._signature, args, kwargs)
            if bound is None:  # CPython refuses the call: its own TypeError, body not run
                return self.__wrapped__(*args, **kwargs)
            args = bound
        with self._lock:  # a rebinding (forget, compile) in one thread is never half-seen
            bindings = self._bindings
            if bindings is not None and not bindings.check():
                self.rebind()
            elif bindings is None:
                try:
                    self.build()
                except Exception as failed:
                    if isinstance(failed, JitkitError) or self.unmoved():
                        raise
                    self.rebind()  # the module changed while it compiled: compile again
            names, runs, compiled = [], "", None
            if self.in_python is None:  # else the original runs, outside the lock
                names, runs = self.global_names, self.info.runs
                compiled = self.prepare(runs, names)
        if compiled is None:
            return self.__wrapped__(*args)
        if runs == "walker":
            compiled = TreeWalker(compiled)
        if names and not self.load_globals(compiled, names):  # read at every call
            return self.__wrapped__(*args)
        if runs == "walker":
            return compiled.run(self.__name__, list(args))
        if not hasattr(compiled, "call"):  # the entry: the guard sent the call here
            return compiled(*args)
        return compiled.call(self.__name__, *args)

    def prepare(self, runs: str, names: list[str]):
        """What runs a call (kit AST, VM, engine or its entry), compiled now if need be; a native
        tier's first call on the main thread gives this object the guarded entry as `__call__`."""
        if runs == "walker":
            return self.module
        if runs == "vm":
            return self._vm or self.vm
        engine = self.engine
        if names or self._entry is not None:
            return engine if names else self._entry
        main = threading.current_thread() is threading.main_thread()
        defaults = self.__wrapped__.__defaults__
        # a builtin entry checks the count exactly: defaults to fill in keep the Python door
        if self.info.builtin_entry and main and type(self) is JitFunction and not defaults:
            self.record_bindings()
            assert self._bindings is not None
            self._entry = entry = engine.builtin(self.__name__)
            guard = self._bindings.guard(entry, self.stale)
            call = staticmethod(guard) if inspect.isfunction(guard) else guard  # no tags: Python
            self.__class__ = type("JitFunction", (JitFunction,), {"__call__": call})
        return engine

    def stale(self, *args: object, **kwargs: object) -> object:
        """The guard's way out: keywords to bind, or a name rebound since the code was
        compiled (the stub itself renews its tags when the names still hold)."""
        bindings, entry = self._bindings, self._entry
        if not kwargs and bindings is not None and entry is not None and bindings.check():
            return entry(*args)
        return JitFunction.__call__(self, *args, **kwargs)

    def __repr__(self) -> str:
        return f"<jitkit.jit {self.__name__} tier={self.tier!r}>"


def check_options(tier: str, frontend: str | None, dump: Iterable[str]) -> None:
    """Unknown names are refused with the list of known ones."""
    if tier not in TIERS:
        raise ValueError(f"unknown tier {tier!r}; supported tiers: {', '.join(TIERS)}")
    if frontend is not None and frontend not in FRONTENDS:
        raise ValueError(f"unknown frontend {frontend!r}; supported: {', '.join(FRONTENDS)}")
    if isinstance(dump, str):
        raise ValueError(f"dump= takes a set of names, not {dump!r}; names: {', '.join(DUMPS)}")
    unknown = sorted(set(dump) - set(DUMPS))
    if unknown:
        bad = ", ".join(map(repr, unknown))
        raise ValueError(f"unknown dump {bad}; dump= takes a set of: {', '.join(DUMPS)}")
    for name in sorted(dump):
        if tier not in COMPILED.get(name, TIERS):
            where = ", ".join(COMPILED[name])
            raise ValueError(f"dump {name!r} shows what tiers {where} compile, not {tier!r}")


def cpython_first(jf: JitFunction) -> Callable:
    """The default tier's face: the function itself, with the inspection methods attached."""
    assert jf.cpython_first is not None
    f = jf.cpython_first.function
    for name in SHOWN:
        setattr(f, name, getattr(jf, name))
    f.tier, f.jit, f.events = jf.tier, jf, jf.cpython_first.events  # type: ignore[attr-defined]
    return f


def jit(
    fn: Callable | None = None,
    *,
    tier: str = DEFAULT,
    frontend: str | None = None,
    dump: Iterable[str] = (),
    trace: bool = False,
) -> JitFunction | Callable:
    """Why: one decorator, `@jit` or `@jit(tier=...)`, puts a function on a kit engine."""
    dump = dump if isinstance(dump, str) else tuple(dump)  # read more than once
    check_options(tier, frontend, dump)

    def decorate(f: Callable) -> JitFunction | Callable:
        jf = JitFunction(f, tier, frontend, dump, trace)
        return cpython_first(jf) if jf.info.cpython_first else jf

    return decorate if fn is None else decorate(fn)


__all__ = ["DEFAULT", "TIERS", "InspectionError", "JitFunction", "jit"]
