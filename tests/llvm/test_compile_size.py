"""The LLVM tier picks its optimization level by function size (issue #14 item 7, #18).

Small functions (every kernel) compile at O1; a function past `HUGE_FUNCTION` IR instructions
compiles at O0, where LLVM's time grows linearly (`jitkit.llvm.compiler` says what was
measured). The huge one must still give CPython's answers; an explicit level is obeyed.
"""

from __future__ import annotations

import contextlib
import io
import sys

from jitkit.lang.parse import parse_module
from jitkit.llvm.codegen import compile_module
from jitkit.llvm.compiler import HUGE_FUNCTION, TIER_OPT_LEVEL, CompiledModule, tier_opt_level
from tests.conftest import ROOT

sys.path.insert(0, str(ROOT / "benchmarks"))

from compile_scale import fib_program, lines_program  # noqa: E402

HUGE = lines_program(1000)  # ~24k instructions in f: past the threshold, quick at O0


def largest(source: str) -> int:
    module = compile_module(parse_module(source, "prog.py"), "inprocess", True, None).module
    return max(sum(len(b.instructions) for b in f.blocks) for f in module.functions)


def cpython(source: str) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(source, "prog.py", "exec"), {"__name__": "__main__"})
    return out.getvalue()


def test_small_functions_keep_the_tier_level() -> None:
    kit = parse_module(fib_program() + "print(fib(15))\n", "prog.py")
    assert tier_opt_level(compile_module(kit, "inprocess", True, None).module) == TIER_OPT_LEVEL
    assert CompiledModule(kit).opt_level == TIER_OPT_LEVEL


def test_a_huge_function_compiles_at_o0_and_runs_right() -> None:
    assert largest(HUGE) > HUGE_FUNCTION
    compiled = CompiledModule(parse_module(HUGE, "prog.py"))
    assert compiled.opt_level == 0
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        compiled.run_main()
    assert out.getvalue() == cpython(HUGE)
    assert compiled.call("f", 7) == compiled.rerun.vm.call("f", 7)


def test_an_explicit_level_is_obeyed() -> None:
    source = "def f(x):\n    return x * 3\n"
    assert CompiledModule(parse_module(source, "prog.py"), opt_level=2).opt_level == 2
