"""`@jitkit.jit`: run a Python function on one of the kit's engines (notebook 03 onwards).

In: a function in the supported subset (its module's other functions are found by name in
`fn.__globals__`). Out: a callable `JitFunction` that returns what CPython would and exposes
`.bytecode`, `.tier`, `.profile`, `dis()`, `listing()` and, from the SSA tier, `.passes` and
`ir(pass_name)`. Compilation happens on first use, so functions defined later in the module
can be called. Tiers: "interp" (the bytecode VM), "treewalk", "stack" (template JIT), "ssa"
(the optimizing JIT), "auto" (VM, then stack, then SSA as it gets hot), "llvm" and "hostc"
(C from a host compiler).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable

from jitkit.bytecode.code import Code
from jitkit.bytecode.compiler import compile_module
from jitkit.bytecode.disasm import dis as format_listing
from jitkit.lang import nodes
from jitkit.lang.parse import parse_function
from jitkit.lang.treewalk import TreeWalker
from jitkit.tiers import TIERS as FACTORIES
from jitkit.vm.machine import VM, Profile

TIERS = tuple(FACTORIES)  # every tier `python -m jitkit run` knows
FRONTENDS = ("ast", "dis")
DUMPS = ("ast", "bytecode")


class JitFunction:
    """A Python function bound to a kit engine; compiled lazily, profiled across calls."""

    def __init__(
        self,
        fn: Callable,
        tier: str,
        frontend: str = "ast",
        dump: Iterable[str] = (),
        trace: bool = False,
    ) -> None:
        if tier not in TIERS:
            raise ValueError(f"unknown tier {tier!r}; supported tiers: {', '.join(TIERS)}")
        if frontend not in FRONTENDS:
            raise ValueError(f"unknown frontend {frontend!r}; supported: {FRONTENDS}")
        functools.update_wrapper(self, fn)
        self.tier, self.frontend = tier, frontend
        self.dump, self.trace = set(dump), trace
        self._module: nodes.Module | None = None
        self._codes: dict[str, Code] | None = None
        self._vm: VM | None = None
        self._engine = None
        self._ssa = None

    @property
    def module(self) -> nodes.Module:
        """The kit AST of this function and the module functions it calls."""
        if self._module is None:
            self._module = parse_function(self.__wrapped__)
            if "ast" in self.dump:
                print(f"== ast of {self.__name__} ==")
                for fn in self._module.functions.values():
                    print(nodes.sexpr(fn))
        return self._module

    @property
    def bytecode(self) -> dict[str, Code]:
        """Kit code objects, keyed by function name."""
        if self._codes is None:
            if self.frontend == "dis":
                from jitkit.bytecode.from_cpython import translate_function

                self._codes = translate_function(self.__wrapped__)
            else:
                self._codes = compile_module(self.module)
            if "bytecode" in self.dump:
                print(f"== bytecode of {self.__name__} ==")
                print("\n\n".join(format_listing(c) for c in self._codes.values()))
        return self._codes

    @property
    def vm(self) -> VM:
        if self._vm is None:
            self._vm = VM(self.bytecode, trace=self.trace)
        return self._vm

    @property
    def profile(self) -> Profile:
        """Calls per function and back edges per loop, summed over every call so far: the VM
        this function runs in (for a compiled tier, the VM its deopts finish in)."""
        if self.tier in ("stack", "ssa", "auto"):
            return self.engine.vm.profile
        return self.vm.profile

    def dis(self) -> None:
        """Print the kit bytecode listing of every function involved, like `dis.dis`."""
        print("\n\n".join(format_listing(c) for c in self.bytecode.values()))

    @property
    def engine(self):
        """The compiled form for machine-code tiers (StackTier, AutoTier, LLVM module), built
        by the same factory `python -m jitkit run` uses."""
        if self._engine is None:
            self._engine = FACTORIES[self.tier](self.module, self.bytecode).engine
        return self._engine

    def running_tier(self) -> str:
        """Where the next call runs: the tier, or for "auto" the one it has reached."""
        if self.tier in ("auto", "ssa", "stack"):  # "interp" where the tier left it to the VM
            return self.engine.tier_of(self.__name__)
        return self.tier

    def listing(self) -> str:
        """The machine code of this function on its tier: the SSA tier's for "ssa", else the
        stack tier's (compiling it if needed)."""
        if self.tier == "ssa":
            return self.ssa.listing(self.__name__)
        from jitkit.stackjit import stack_tier

        tier = self.engine if self.tier == "stack" else stack_tier(self.bytecode, self.vm)
        return tier.listing(self.__name__)

    @property
    def ssa(self):
        """The module on the SSA tier (`jitkit.ssa.tier.SSATier`): this object's engine for
        tier="ssa", the auto tier's for "auto", else compiled on first use, for looking at."""
        if self.tier == "ssa":
            return self.engine
        if self.tier == "auto":
            return self.engine.ssa  # the code the auto tier promotes to
        if self._ssa is None:
            from jitkit.ssa.tier import ssa_tier

            self._ssa = ssa_tier(self.bytecode, self.vm)
        return self._ssa

    @property
    def passes(self) -> list[tuple[str, str]]:
        """This function's SSA IR as built ("input") and after each pass, in pipeline order."""
        return self.ssa.passes(self.__name__)

    def ir(self, pass_name: str | None = None) -> str:
        """This function's SSA IR after `pass_name` (its last run), or after all passes."""
        return self.ssa.ir(self.__name__, pass_name)

    def __call__(self, *args: object) -> object:
        if self.tier == "treewalk":
            return TreeWalker(self.module).run(self.__name__, list(args))
        if self.tier == "interp":
            return self.vm.call(self.__name__, *args)
        return self.engine.call(self.__name__, *args)

    def __repr__(self) -> str:
        return f"<jitkit.jit {self.__name__} tier={self.tier!r}>"


def jit(
    fn: Callable | None = None,
    *,
    tier: str = "interp",
    frontend: str = "ast",
    dump: Iterable[str] = (),
    trace: bool = False,
) -> JitFunction | Callable:
    """Why: one decorator, `@jit` or `@jit(tier=...)`, puts a function on a kit engine."""
    if tier not in TIERS:
        raise ValueError(f"unknown tier {tier!r}; supported tiers: {', '.join(TIERS)}")

    def decorate(f: Callable) -> JitFunction:
        return JitFunction(f, tier, frontend, dump, trace)

    return decorate if fn is None else decorate(fn)
