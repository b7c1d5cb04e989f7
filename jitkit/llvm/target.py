"""One-time LLVM setup and the host target (notebook 08 LLVM mini compiler).

In: nothing, or an `llvmlite.ir.Module`. Out: an initialized LLVM (native target, asm
printer, asm parser), the host `TargetMachine`, and IR modules stamped with the host triple
and data layout. llvmlite 0.50 removed `initialize()` (it raises) and aborts the process if
code is emitted before the asm printer is initialized, so every entry point calls
`initialize_native()` first; it runs once, under a lock.

It also turns off one pass of LLVM's code generator, loop strength reduction (LSR). Why,
measured (benchmarks/compile_scale.py, benchmarks/llvm_compile.py): LSR took 93% of machine
code generation on a 200-line function (1.0 s of 1.05 s; 4 s at 400 lines), where the kernels
run as fast without it (the kit's loops index no arrays, so it has nothing to reduce). The
switch is an LLVM command-line option, so it holds for every llvmlite user in this process.
The second option starts every function on a 64-byte boundary. Why, measured: where a
function's hot loop fell within its cache lines moved fib's run time by 10-15% between two
modules with the same machine code for it (a change to another function of the module
shifted it); aligned, both ran as fast as the faster one.
"""

from __future__ import annotations

import threading

import llvmlite.binding as llvm
from llvmlite import ir

_LOCK = threading.Lock()
_READY = False
_MACHINES: dict[tuple[int, str], llvm.TargetMachine] = {}
CODEGEN_OPTIONS = ("-disable-lsr", "-align-all-functions=6")  # see the module docstring


def initialize_native() -> None:
    """Why: LLVM aborts (not raises) when asked to emit code before this ran; idempotent."""
    global _READY
    if _READY:
        return
    with _LOCK:
        if not _READY:
            llvm.initialize_native_target()
            llvm.initialize_native_asmprinter()
            llvm.initialize_native_asmparser()
            for option in CODEGEN_OPTIONS:
                llvm.set_option("jitkit", option)
            _READY = True


def host_triple() -> str:
    """The triple LLVM would compile for here, e.g. 'x86_64-unknown-linux-gnu'."""
    initialize_native()
    return llvm.get_process_triple()


def target_machine(opt_level: int = 2, reloc: str = "pic") -> llvm.TargetMachine:
    """The host's target machine (cached per opt level and relocation model)."""
    initialize_native()
    key = (opt_level, reloc)
    with _LOCK:
        if key not in _MACHINES:
            target = llvm.Target.from_triple(llvm.get_process_triple())
            _MACHINES[key] = target.create_target_machine(
                opt=opt_level,
                reloc=reloc,
                codemodel="small" if reloc != "default" else "jitdefault",
            )
        return _MACHINES[key]


def fresh_target_machine(opt_level: int = 2) -> llvm.TargetMachine:
    """An uncached host target machine, for an engine that takes ownership of it."""
    initialize_native()
    target = llvm.Target.from_triple(llvm.get_process_triple())
    return target.create_target_machine(opt=opt_level, codemodel="jitdefault")


def new_module(name: str) -> ir.Module:
    """Why: an IR module must carry the host triple and data layout to link and JIT cleanly;
    a context of its own keeps one module's named types out of the next one's text."""
    module = ir.Module(name=name, context=ir.Context())  # its own named types (`jk.list`)
    module.triple = host_triple()
    module.data_layout = str(target_machine().target_data)
    return module
