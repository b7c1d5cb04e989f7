"""Module-level names in the LLVM tier (jitkit.llvm.module_globals, #16).

Oracles: CPython runs the same source (stdout, the exception and its message, exit status
and the traceback's last line), LLVM's verifier and optimizer (a constant global folds).
"""

from __future__ import annotations

import contextlib
import io
import re
import subprocess
import sys
from pathlib import Path

import llvmlite.binding as llvm
import pytest

from jitkit.lang.parse import parse_module
from jitkit.lang.runtime import UNBOUND
from jitkit.llvm.codegen import compile_module
from jitkit.llvm.compiler import build, compile_source
from jitkit.llvm.optimize import optimize
from jitkit.llvm.partial_eval import partial_evaluate
from jitkit.llvm.verify import verify_ir

LIMIT = """\
LIMIT = 1000


def total(n):
    s = 0
    for i in range(n):
        s += i % 7
    return s + LIMIT


TABLE_SUM = total(LIMIT)
print(TABLE_SUM)
"""

LATE = """\
def f():
    return N + 1


for N in range(0):
    pass
print("before")
print(f())
"""

REBOUND = """\
BIG = 2**62
SCALE = 3
XS = [1, 2]


def grow(k):
    XS.append(k)
    return len(XS) * SCALE


def scaled(x):
    return x * SCALE + BIG


print(grow(5), scaled(1))
SCALE = 4
print(grow(6), scaled(2))
BIG = BIG + BIG
print(scaled(3))
"""


def cpython(source: str, tmp: Path) -> subprocess.CompletedProcess:
    path = tmp / "prog.py"
    path.write_text(source)
    return subprocess.run([sys.executable, str(path)], capture_output=True, text=True)


def in_process(source: str, compile=compile_source) -> tuple[str, BaseException | None, object]:
    """(stdout, exception, module) of running `source`'s top-level code in process, compiled by
    `compile` (the LLVM tier's unless the C tier's tests hand theirs)."""
    module = compile(source, "prog.py")
    out, error = io.StringIO(), None
    with contextlib.redirect_stdout(out):
        try:
            module.run_main()
        except Exception as e:  # noqa: BLE001 - compared with CPython's below
            error = e
    return out.getvalue(), error, module


@pytest.mark.parametrize("source", [LIMIT, LATE, REBOUND], ids=["limit", "late", "rebound"])
def test_in_process_run_main_is_cpython(source: str, tmp_path: Path):
    expected = cpython(source, tmp_path)
    out, error, _ = in_process(source)
    assert out == expected.stdout
    last = expected.stderr.strip().splitlines()[-1] if expected.returncode else None
    assert (f"{type(error).__name__}: {error}" if error else None) == last


def test_top_level_binds_the_globals_functions_then_see():
    _, _, module = in_process(REBOUND)
    assert module.kit.globals == ["BIG", "SCALE", "XS"]
    assert module.global_values == [2**63, 4, [1, 2, 5, 6]]
    assert module.call("scaled", 1) == 4 + 2**63  # BIG beyond int64: the interpreter
    assert module.call("grow", 7) == 20 and module.global_values[2] == [1, 2, 5, 6, 7]


def test_set_globals_from_outside():
    module = compile_source(LIMIT, "prog.py")
    module.set_globals([5])
    assert module.call("total", 8) == sum(i % 7 for i in range(8)) + 5
    module.set_globals([2**63 - 1])  # the machine code overflows; the re-run sees the same
    assert module.call("total", 2) == 2**63
    module.set_globals([UNBOUND])
    with pytest.raises(NameError, match=r"^name 'LIMIT' is not defined$"):
        module.call("total", 2)
    module.set_globals([2**70])  # held only in Python: the call goes to the interpreter
    assert module.call("total", 1) == 2**70
    with pytest.raises(ValueError, match="set_globals takes 1 values"):
        module.set_globals([1, 2])


def test_a_value_the_module_cannot_hold_runs_in_the_interpreter():
    module = compile_source("def f(x):\n    return x + G\n\n\nG = 1\n", "prog.py")
    module.set_globals([0.5])  # a module without floats: its code never checks float tags
    assert module.call("f", 2) == 2.5
    xs = [1]
    module.set_globals([xs])
    with pytest.raises(TypeError):
        module.call("f", 2)
    module.set_globals([True])
    assert module.call("f", 2) == 3


def test_builtin_entry_sees_set_globals():
    module = compile_source(LIMIT, "prog.py")
    total = module.builtin("total")
    module.set_globals([10])
    assert total(3) == 13
    module.set_globals([-3])
    assert total(3) == 0
    module.set_globals([UNBOUND])
    with pytest.raises(NameError):
        total(3)


def test_a_rerun_of_the_top_level_code_starts_from_the_globals_before_it():
    source = "def f():\n    return A\n\n\nA = 2**62\nprint(f())\nA = A * 4\nprint(f())\n"
    out, error, module = in_process(source)  # the * overflows: the whole call re-runs
    assert (out, error) == (f"{2**62}\n{2**64}\n", None)
    assert module.global_values == [2**64]


@pytest.mark.parametrize("libc", [True, False], ids=["libc", "nolibc"])
@pytest.mark.parametrize("partial_eval", [True, False], ids=["pe", "no-pe"])
@pytest.mark.parametrize("source", [LIMIT, LATE], ids=["limit", "late"])
def test_executables_are_cpython(source: str, libc: bool, partial_eval: bool, tmp_path: Path):
    expected = cpython(source, tmp_path)
    exe = build(tmp_path / "prog.py", tmp_path / "prog", libc=libc, partial_eval=partial_eval)
    done = subprocess.run([str(exe)], capture_output=True, text=True, timeout=60)
    assert (done.stdout, done.returncode) == (expected.stdout, expected.returncode)
    if expected.returncode:  # CPython 3.12+ may add ". Did you mean: ...?" to the line
        assert expected.stderr.splitlines()[-1].startswith(done.stderr.splitlines()[-1])
    else:
        assert done.stderr == expected.stderr == ""


def function_ir(module_text: str, name: str) -> str:
    """One function of a module after mem2reg and instcombine (no inlining)."""
    ref = optimize(verify_ir(module_text), passes="mem2reg,instcombine,simplifycfg")
    text = str(ref)
    start = text.index(f"@{name}(")
    return text[text.rindex("\ndefine", 0, start) : text.index("\n}\n", start)]


def test_partial_evaluation_makes_limit_a_constant_llvm_folds():
    plain = str(llvm.parse_assembly(str(compile_module(parse_module(LIMIT, "p.py"), "libc"))))
    result = partial_evaluate(plain)
    assert result.stopped == ""
    assert "@LIMIT.value" in result.globals_constant and "@LIMIT.tag" in result.globals_constant
    assert re.search(r"^@LIMIT\.value = internal constant i64 1000", result.text, re.M)
    assert re.search(r"^@LIMIT\.value = internal global i64 0", plain, re.M)
    before, after = function_ir(plain, "py.total"), function_ir(result.text, "py.total")
    assert "load i64, ptr @LIMIT.value" in before
    assert "@LIMIT" not in after  # s + LIMIT: the overflow-checked add of an immediate
    # the add of an immediate: overflow-checked, or plain where LLVM proved s + 1000 fits
    checked = r"@llvm\.sadd\.with\.overflow\.i64\(i64 %\S+, i64 1000\)"
    assert re.search(checked, after) or re.search(r" add (nuw )?nsw i64 %\S+, 1000\b", after)
    llvm.parse_assembly(result.text).verify()


def test_the_top_level_code_through_its_builtin_entry_still_binds_the_globals():
    """A function's re-run in the interpreter needs what the top-level code bound natively."""
    module = compile_source("def f():\n    return A * A\n\n\nA = 2**40\n", "prog.py")
    module.builtin("<module>")()
    assert module.global_values == [2**40]
    assert module.call("f") == 2**80  # overflows in machine code, re-runs with A
