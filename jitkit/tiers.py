"""Every execution tier behind one interface: source in, `call(name, *args)` out (notebook 10).

Takes a module's source; gives a `Program` whose functions run on the chosen tier. The
benchmark suite, `python -m jitkit run` and the tests go through here, so adding a tier
means adding one factory to `TIERS`.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from dataclasses import dataclass

from jitkit.bytecode.code import Code
from jitkit.bytecode.compiler import compile_module
from jitkit.lang import nodes
from jitkit.lang.parse import parse_module
from jitkit.lang.treewalk import TreeWalker
from jitkit.vm.machine import VM

MAIN = "<module>"  # the module's top-level statements, compiled as a function


@dataclass
class Program:
    """A module compiled for one tier."""

    tier: str
    call: Callable[..., object]  # call(name, *args)
    engine: object  # the tier's own object (VM, StackTier, ...), for looking inside
    has_main: bool = True  # whether the module has top-level statements

    def run_main(self) -> object:
        """Run the module's top-level statements, as `python PROG.py` would (a module of
        definitions only does nothing)."""
        return self.call(MAIN) if self.has_main else None


def through_entries(engine) -> Callable[..., object]:
    """`call(name, *args)` through each function's builtin entry (`engine.builtin`, made on
    the first call from the main thread): tens of ns where the general path costs
    microseconds, so a benchmark of a short kernel measures the kernel. The module's
    top-level code, other threads and functions without an entry take the general path."""
    doors: dict[str, Callable] = {}

    def call(name: str, *args: object) -> object:
        door = doors.get(name)
        if door is None:
            if name == MAIN or threading.current_thread() is not threading.main_thread():
                return engine.call(name, *args)
            try:
                door = engine.builtin(name)
            except KeyError:  # no compiled function of that name: the general path says why
                door = functools.partial(engine.call, name)
            doors[name] = door
        return door(*args)

    return call


def load_treewalk(module: nodes.Module, codes: dict[str, Code]) -> Program:
    walker = TreeWalker(module)
    return Program("treewalk", lambda name, *args: walker.run(name, list(args)), walker)


def load_interp(module: nodes.Module, codes: dict[str, Code]) -> Program:
    vm = VM(codes)
    return Program("interp", vm.call, vm)


def load_stack(module: nodes.Module, codes: dict[str, Code]) -> Program:
    from jitkit.stackjit import stack_tier

    tier = stack_tier(codes, verified=True)  # `compile_module` verified every function
    return Program("stack", through_entries(tier), tier)


def load_ssa(module: nodes.Module, codes: dict[str, Code]) -> Program:
    from jitkit.ssa.tier import ssa_tier

    tier = ssa_tier(codes)
    return Program("ssa", through_entries(tier), tier)


def load_auto(module: nodes.Module, codes: dict[str, Code]) -> Program:
    from jitkit.tiering import AutoTier

    auto = AutoTier(codes)
    return Program("auto", auto.call, auto)


def load_llvm(module: nodes.Module, codes: dict[str, Code]) -> Program:
    from jitkit.llvm.compiler import CompiledModule

    compiled = CompiledModule(module)  # eager: IR, O1 and machine code for every function now
    return Program("llvm", through_entries(compiled), compiled)


def load_hostc(module: nodes.Module, codes: dict[str, Code]) -> Program:
    from jitkit.hostc import HostModule

    compiled = HostModule(module, codes)  # generates C and runs cc (or hits the cache) now
    return Program("hostc", through_entries(compiled), compiled)


# Each factory takes the kit AST and the kit bytecode of one module (a tier uses either).
TIERS: dict[str, Callable[[nodes.Module, dict[str, Code]], Program]] = {
    "treewalk": load_treewalk,
    "interp": load_interp,
    "stack": load_stack,
    "ssa": load_ssa,
    "auto": load_auto,
    "llvm": load_llvm,
    "hostc": load_hostc,
}


def load(source: str, tier: str, filename: str = "<string>") -> Program:
    """Compile `source` for `tier`; an unknown tier names the ones there are."""
    if tier not in TIERS:
        raise ValueError(f"unknown tier {tier!r}; tiers: {', '.join(TIERS)}")
    module = parse_module(source, filename)
    program = TIERS[tier](module, compile_module(module))
    program.has_main = module.main is not None
    return program
