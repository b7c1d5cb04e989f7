"""What the LLVM tier's compile pipeline runs (issue #18: only the passes that pay).

Each check runs in a child process: LLVM's options and pass timers are process-wide.
No timing is asserted (the machine is shared); LLVM's own pass report names what ran.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

from tests.conftest import ROOT

# A loop over an induction variable with a use after the loop: LSR's kind of code.
LOOP = """
def f(n):
    s = 0
    for i in range(n):
        s = s + i * 3
    return s + i
"""


def cpython_f(n: int) -> int:
    namespace: dict = {}
    exec(LOOP, namespace)
    return namespace["f"](n)


def child(code: str) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


CODEGEN_PASSES = """
import json, sys
import llvmlite.binding as llvm
from jitkit.llvm.compiler import compile_source
llvm.set_time_passes(True)
module = compile_source({source!r})
report = llvm.report_and_reset_timings()
print(json.dumps({{"report": report, "result": module.call("f", 10)}}))
"""


def test_machine_code_generation_runs_without_loop_strength_reduction() -> None:
    """LSR took 93% of code generation on a 200-line function (benchmarks/compile_scale.py)
    and bought the kernels nothing; LLVM's own pass report shows it does not run."""
    out = child(CODEGEN_PASSES.format(source=LOOP))
    assert out["result"] == cpython_f(10)
    assert "X86 DAG->DAG Instruction Selection" in out["report"]  # the report is real
    assert "Loop Strength Reduction" not in out["report"]


def test_loop_strength_reduction_would_run_without_the_kits_option() -> None:
    """The check above can fail: with LSR switched back on, the same report names it."""
    code = CODEGEN_PASSES.replace(
        "llvm.set_time_passes(True)",
        "from jitkit.llvm.target import initialize_native\n"
        "initialize_native()\n"
        'llvm.set_option("jitkit", "-disable-lsr=false")\n'
        "llvm.set_time_passes(True)",
    )
    out = child(code.format(source=LOOP))
    assert "Loop Strength Reduction" in out["report"]


def test_the_tier_compiles_at_o1_and_other_levels_stay_available() -> None:
    from jitkit.llvm.compiler import TIER_OPT_LEVEL, compile_source

    assert TIER_OPT_LEVEL == 1
    for level in (0, 1, 2, 3):
        assert compile_source(LOOP, opt_level=level).call("f", 10) == cpython_f(10)


def test_the_collector_is_paused_only_while_a_module_compiles() -> None:
    import gc

    from jitkit.llvm import compiler

    seen = []
    lower = compiler.lower_module

    def spy(*args, **kwargs):
        seen.append(gc.isenabled())
        return lower(*args, **kwargs)

    compiler.lower_module = spy
    try:
        assert gc.isenabled()
        compiler.compile_source(LOOP)
        assert seen == [False] and gc.isenabled()
        gc.disable()  # a caller who turned it off keeps it off
        compiler.compile_source(LOOP)
        assert not gc.isenabled()
    finally:
        gc.enable()
        compiler.lower_module = lower
