"""The stack tier: a template JIT from verified kit bytecode, with deopt into the VM
(notebook 05)."""

from jitkit.bytecode.code import Code
from jitkit.jitrt.module import CompiledModule
from jitkit.jitrt.runtime import StackTier
from jitkit.stackjit.compiler import compile_module
from jitkit.vm.machine import VM


def stack_tier(
    codes: dict[str, Code], vm: VM | None = None, templates=None, *, verified: bool = False
) -> StackTier:
    """Verify (the VM does, before anything is emitted, unless `verified` says the codes
    already were: see `VM`), compile, and load a module."""
    vm = vm if vm is not None else VM(codes, verified=verified)
    return StackTier(compile_module(codes, templates), vm)


__all__ = ["CompiledModule", "StackTier", "compile_module", "stack_tier"]
