"""benchmarks/llvm_compile.py measures what it says (its timings are for reading, not asserts)."""

from __future__ import annotations

import importlib.util

from jitkit.bench import kernel_source
from tests.conftest import ROOT


def load_benchmark():
    path = ROOT / "benchmarks" / "llvm_compile.py"
    spec = importlib.util.spec_from_file_location("llvm_compile", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_one_kernel_modules_hold_the_kernel_and_its_callees():
    bench = load_benchmark()
    assert list(bench.one_kernel(kernel_source(), "gcd_sum").functions) == ["gcd", "gcd_sum"]
    assert list(bench.one_kernel(kernel_source(), "fib").functions) == ["fib"]


def test_every_compile_stage_is_timed():
    bench = load_benchmark()
    times = bench.compile_times(bench.one_kernel(kernel_source(), "sum_loop"), repeat=1)
    assert list(times) == ["IR gen", "verify", "opt O0", "opt O2", "mc O0", "mc O2", "factory"]
    assert all(t > 0 for t in times.values())
