"""`JitFunction` asks one description per tier (`jitkit.jit.TIER_INFO`) instead of testing
tier names (issue #14 "One truth per fact"); behaviour is `tests/test_decorator.py`'s."""

from __future__ import annotations

import ast
import importlib
import inspect

import pytest

from jitkit.jit import COMPILED, TIER_INFO, TIERS, InspectionError, jit
from jitkit.tiers import TIERS as FACTORIES


def test_every_tier_is_described_once():
    assert list(TIER_INFO) == list(TIERS)
    assert all(info.name == name for name, info in TIER_INFO.items())
    assert all(info.engine_factory in FACTORIES for info in TIER_INFO.values())
    for info in TIER_INFO.values():
        assert set(info.dumps) <= set(info.shows), info.name  # a dump is a method it shows
        assert ("asm" in info.shows) == (info.machine_code is not None), info.name
        assert info.runs in ("walker", "vm", "engine"), info.name


def test_jit_function_never_tests_a_tier_name():
    """No `self.tier == "llvm"`, `self.tier in ("stack", ...)` or `tier == DEFAULT` left in
    jit.py: a tier is compared with the tables (is it one?), never with a name."""
    source = inspect.getsource(importlib.import_module("jitkit.jit"))  # the module, not jit()
    compares = [node for node in ast.walk(ast.parse(source)) if isinstance(node, ast.Compare)]
    assert len(compares) > 10
    tier = {"self.tier", "tier", "jf.tier"}
    for node in compares:
        operands = [ast.unparse(o) for o in (node.left, *node.comparators)]
        if tier & set(operands):
            assert set(operands) - tier <= {"TIERS", "COMPILED.get(name, TIERS)"}, operands


def test_the_dump_table_is_the_descriptions():
    assert COMPILED["ir"] == ("ssa", "cpython-first")
    assert COMPILED["asm"] == ("stack", "ssa", "llvm", "hostc", "cpython-first")
    assert COMPILED["llvm_ir"] == ("llvm",) and COMPILED["c_source"] == ("hostc",)


def add(a, b):
    return a + b


@pytest.mark.parametrize("tier", [t for t in TIERS if t != "cpython-first"])
def test_what_a_tier_says_it_shows_it_shows(tier):
    """Each method the description lists gives text after a call; the others refuse."""
    f = jit(add, tier=tier)
    assert all(f(k, 3) == k + 3 for k in range(5000))  # hot: "auto" promotes it
    methods = {"asm": f.listing, "bytecode": f.bytecode, "ir": f.ir, "llvm_ir": f.llvm_ir,
               "c_source": f.c_source}  # fmt: skip
    for method, show in methods.items():
        if method in TIER_INFO[tier].shows:
            assert show().strip(), (tier, method)
        else:
            with pytest.raises(InspectionError):
                show()
