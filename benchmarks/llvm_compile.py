"""What the LLVM tier costs to compile and what it buys, per kernel, in one run (notebook 08).

    python benchmarks/llvm_compile.py [--repeat N]

Compile time, for a module holding one kernel (and the kernels it calls), best of N:
  IR gen     kit AST -> llvmlite IR text (`jitkit.llvm.codegen`, runtime included)
  verify     LLVM parses the text back and verifies it
  opt O0/O2  the new pass manager's O0 and O2 pipelines
  mc O0/O2   MCJIT: optimized IR -> machine code in memory (code generator at O0 / O2)
  factory    the "llvm" tier's factory in `jitkit.tiers` end to end (all of the above at the
             tier's level, `TIER_OPT_LEVEL` (O1), plus ctypes entries: it compiles eagerly, as
             `python -m jitkit bench` times it)
Run time, for the kernels module compiled as the tier does (O1), at `jitkit.bench.SIZES`, best of N:
  llvm ms, ÷gcc (the LLVM tier's time / gcc -O2's) and the cost of the interrupt-flag poll
  on loop back-edges (time with the poll / time without - 1). Geometric means last.
"""

from __future__ import annotations

import argparse
import time

import llvmlite.binding as llvm

from jitkit.bench import SIZES, best_of, gcc_kernels, geomean, kernel_module, kernel_source
from jitkit.bytecode.compiler import compile_module as compile_bytecode
from jitkit.lang import nodes as n
from jitkit.lang.parse import parse_module
from jitkit.llvm.codegen import compile_module
from jitkit.llvm.compiler import TIER_OPT_LEVEL, CompiledModule
from jitkit.llvm.optimize import optimize
from jitkit.llvm.target import fresh_target_machine
from jitkit.llvm.verify import verify_ir
from jitkit.tiers import TIERS


def one_kernel(source: str, kernel: str) -> n.Module:
    """A module with `kernel` and every function it reaches, nothing else (the module the
    bench's compile-time column times, `jitkit.bench.kernel_module`)."""
    return parse_module(kernel_module(source, kernel), f"<{kernel}>")


def compile_times(kit: n.Module, repeat: int) -> dict[str, float]:
    """Seconds for each compile stage of one module (each stage on a fresh input)."""
    text = str(compile_module(kit))
    times = {"IR gen": best_of(lambda: str(compile_module(kit)), repeat)}
    times["verify"] = best_of(lambda: verify_ir(text), repeat)
    for level in (0, 2):
        refs = [verify_ir(text) for _ in range(repeat)]
        times[f"opt O{level}"] = best_of(lambda r=refs, lv=level: optimize(r.pop(), lv), repeat)
    for level in (0, 2):
        refs = [optimize(verify_ir(text), level) for _ in range(repeat)]
        engines = []

        def machine_code(r=refs, lv=level, keep=engines) -> None:
            engine = llvm.create_mcjit_compiler(r.pop(), fresh_target_machine(lv))
            engine.finalize_object()
            keep.append(engine)  # freed after timing, not inside it

        times[f"mc O{level}"] = best_of(machine_code, repeat)
    codes = compile_bytecode(kit)
    times["factory"] = best_of(lambda: TIERS["llvm"](kit, codes), repeat)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    repeat = parser.parse_args().repeat

    source = kernel_source()
    module = parse_module(source, "kernels.py")
    stages = ["IR gen", "verify", "opt O0", "opt O2", "mc O0", "mc O2", "factory"]
    print("compile ms, one kernel per module (best of", repeat, "runs)")
    print(f"{'kernel':<14}" + "".join(f"{s:>9}" for s in stages))
    totals: dict[str, list[float]] = {s: [] for s in stages}
    for kernel in SIZES:
        times = compile_times(one_kernel(source, kernel), repeat)
        for s in stages:
            totals[s].append(times[s])
        print(f"{kernel:<14}" + "".join(f"{times[s] * 1e3:>9.2f}" for s in stages))
    print(f"{'geomean':<14}" + "".join(f"{geomean(totals[s]) * 1e3:>9.2f}" for s in stages))

    lib = gcc_kernels()
    polled = CompiledModule(module)
    unpolled = CompiledModule(module, interrupt_poll=False)
    print(f"\nrun time at O{TIER_OPT_LEVEL} (best of", repeat, "runs)")
    columns = [("size", 8), ("gcc ms", 10), ("llvm ms", 10), ("÷gcc", 8), ("no poll", 10)]
    print(f"{'kernel':<14}" + "".join(f"{c:>{w}}" for c, w in columns) + f"{'poll':>8}")
    ratios, costs = [], []
    for kernel, size in SIZES.items():
        expected = getattr(lib, kernel)(size)
        assert polled.call(kernel, size) == unpolled.call(kernel, size) == expected, kernel
        gcc = best_of(lambda k=kernel, s=size: getattr(lib, k)(s), repeat)
        with_poll = best_of(lambda k=kernel, s=size: polled.call(k, s), repeat)
        without = best_of(lambda k=kernel, s=size: unpolled.call(k, s), repeat)
        ratios.append(with_poll / gcc)
        costs.append(with_poll / without)
        print(
            f"{kernel:<14}{size:>8}{gcc * 1e3:>10.3f}{with_poll * 1e3:>10.3f}"
            f"{with_poll / gcc:>7.2f}x{without * 1e3:>10.3f}{with_poll / without - 1:>+8.1%}"
        )
    print(f"{'geomean':<14}{'':>8}{'':>10}{'':>10}{geomean(ratios):>7.2f}x{'':>10}"
          f"{geomean(costs) - 1:>+8.1%}")  # fmt: skip


if __name__ == "__main__":
    start = time.perf_counter()
    main()
    print(f"\n({time.perf_counter() - start:.1f} s)")
