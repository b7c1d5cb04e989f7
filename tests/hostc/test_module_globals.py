"""Module-level names in the host-compiler tier (jitkit.hostc, #16).

Oracle: CPython runs the same source (stdout, the exception and its message); the VM is the
tier's own fallback, so each test also checks the call ran where it should (`bailouts`).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from jitkit.hostc.module import compile_source
from jitkit.lang.runtime import UNBOUND
from tests.llvm.test_module_globals import LATE, LIMIT, REBOUND, cpython
from tests.llvm.test_module_globals import in_process as run_in_process


def in_process(source: str):
    """(stdout, exception, module) of running `source`'s top-level code with hostc."""
    return run_in_process(source, compile_source)


@pytest.mark.parametrize("source", [LIMIT, LATE, REBOUND], ids=["limit", "late", "rebound"])
def test_run_main_is_cpython(source: str, tmp_path: Path):
    expected = cpython(source, tmp_path)
    out, error, _ = in_process(source)
    assert out == expected.stdout
    last = expected.stderr.strip().splitlines()[-1] if expected.returncode else None
    assert (f"{type(error).__name__}: {error}" if error else None) == last


def test_statics_hold_what_the_top_level_code_bound():
    _, _, module = in_process(LIMIT)
    assert module.global_values == [1000] and not module.bailouts  # all of it ran in C
    assert "static jk_val g_LIMIT = {0, JK_UNBOUND};" in module.c_source
    assert "jk_load(cx, g_LIMIT)" in module.function_c("total")
    assert module.call("total", 3) == 1003 and not module.bailouts


def test_set_globals_and_the_vm_rerun_sees_the_same_values():
    module = compile_source(LIMIT, "prog.py")
    module.set_globals([5])
    assert module.call("total", 8) == sum(i % 7 for i in range(8)) + 5
    module.set_globals([2**63 - 1])  # C overflows; the VM re-runs the call with LIMIT
    assert module.call("total", 2) == 2**63 and module.bailouts["overflow"] == 1
    module.set_globals([UNBOUND])
    with pytest.raises(NameError, match=r"^name 'LIMIT' is not defined"):
        module.call("total", 2)
    module.set_globals([2**70])  # C cannot hold it: the read bails out, the VM has it
    assert module.call("total", 1) == 2**70
    with pytest.raises(ValueError, match="set_globals takes 1 values"):
        module.set_globals([1, 2])


def test_lists_bound_by_the_top_level_code_outlive_its_call():
    """C's lists are freed when a call returns: a global list is copied out first, and the
    module's calls that read it then run in the VM, on that one Python list."""
    _, _, module = in_process(REBOUND)
    assert module.global_values == [2**63, 4, [1, 2, 5, 6]]
    xs = module.global_values[2]
    assert module.call("grow", 7) == 20 and xs == [1, 2, 5, 6, 7]
    assert module.global_values[2] is xs


def test_builtin_entry_sees_set_globals():
    module = compile_source(LIMIT, "prog.py")
    total = module.builtin("total")
    module.set_globals([10])
    assert total(3) == 13
    module.set_globals([UNBOUND])
    with pytest.raises(NameError):
        total(3)


def test_a_rerun_of_the_top_level_code_starts_from_the_globals_before_it():
    source = "def f():\n    return A\n\n\nA = 2**62\nprint(f())\nA = A * 4\nprint(f())\n"
    out, error, module = in_process(source)  # the * overflows in C: the VM runs it all
    assert (out, error) == (f"{2**62}\n{2**64}\n", None)
    assert module.global_values == [2**64]


def test_the_top_level_code_through_its_builtin_entry_still_binds_the_globals():
    module = compile_source("def f():\n    return A * A\n\n\nA = 2**40\n", "prog.py")
    module.builtin("<module>")()
    assert module.global_values == [2**40]
    assert module.call("f") == 2**80  # overflows in C, the VM re-runs it with A
