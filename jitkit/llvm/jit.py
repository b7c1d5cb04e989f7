"""In-process JIT: LLVM IR -> machine code in this process -> a ctypes callable (notebook 08).

In: an IR module (text or `llvmlite.ir.Module`), a function name and its ctypes signature.
Out: a `JitFunction` that calls the machine code and keeps its MCJIT engine alive as long as
the callable lives (the engine owns the code pages; dropping it frees them).
"""

from __future__ import annotations

import ctypes
from collections.abc import Iterable
from typing import Any

import llvmlite.binding as llvm
from llvmlite import ir

from jitkit.llvm.optimize import optimize
from jitkit.llvm.target import fresh_target_machine
from jitkit.llvm.verify import verify_ir


class Engine:
    """An MCJIT engine holding one finalized module; symbols are looked up by name."""

    def __init__(
        self,
        module: ir.Module | str,
        opt_level: int = 2,
        passes: str | Iterable[str] | None = None,
    ) -> None:
        ref = verify_ir(module)
        optimize(ref, opt_level, passes)
        self.ir = str(ref)
        # MCJIT takes ownership of its target machine: give it a fresh one, never a cached one
        self.engine = llvm.create_mcjit_compiler(ref, fresh_target_machine(opt_level))
        # The object file MCJIT compiles and loads, kept to find a function's code and size
        # (its symbol table). The callback holds the list only: no cycle keeps the engine.
        kept: list[bytes] = []
        self.objects = kept
        self.engine.set_object_cache(notify_func=lambda _, data: kept.append(data))
        self.engine.finalize_object()
        self.engine.run_static_constructors()

    def address(self, name: str) -> int:
        """Address of a function of the module (0 would mean a missing symbol: refused)."""
        address = self.engine.get_function_address(name)
        if not address:
            raise KeyError(f"no function {name!r} in the JIT-compiled module")
        return address

    def global_address(self, name: str) -> int:
        """Address of a global variable of the module."""
        address = self.engine.get_global_value_address(name)
        if not address:
            raise KeyError(f"no global {name!r} in the JIT-compiled module")
        return address

    def function(self, name: str, restype: Any, argtypes: Iterable[Any]) -> JitFunction:
        """A typed callable for one function of the module."""
        return JitFunction(self, name, restype, list(argtypes))


class JitFunction:
    """A ctypes callable that keeps its engine (and so its machine code) alive."""

    def __init__(self, engine: Engine, name: str, restype: Any, argtypes: list[Any]) -> None:
        self.engine = engine
        self.name = name
        prototype = ctypes.CFUNCTYPE(restype, *argtypes)
        self.cfunc = prototype(engine.address(name))

    def __call__(self, *args: Any) -> Any:
        return self.cfunc(*args)

    def __repr__(self) -> str:
        return f"<JitFunction {self.name} at {ctypes.cast(self.cfunc, ctypes.c_void_p).value:#x}>"


def jit(
    module: ir.Module | str,
    name: str,
    restype: Any = ctypes.c_int64,
    argtypes: Iterable[Any] = (),
    opt_level: int = 2,
    passes: str | Iterable[str] | None = None,
) -> JitFunction:
    """Why: one call from IR to a Python-callable native function."""
    return Engine(module, opt_level, passes).function(name, restype, argtypes)
