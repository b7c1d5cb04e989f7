"""The build cache, the compiler's absence and its complaints."""

from __future__ import annotations

import pytest

from jitkit.errors import MissingDependencyError
from jitkit.hostc import build, compile_source
from jitkit.hostc.build import HostCompileError

SOURCE = "def f(n):\n    return n * 2\n"


def test_a_second_load_of_the_same_source_is_a_cache_hit(tmp_path):
    before = build.COMPILES
    first = compile_source(SOURCE, cache_dir=tmp_path)
    assert build.COMPILES == before + 1 and not first.build.cached
    built_at = first.build.path.stat().st_mtime_ns
    second = compile_source(SOURCE, cache_dir=tmp_path)
    assert build.COMPILES == before + 1, "the compiler ran again"
    assert second.build.cached and second.build.path == first.build.path
    assert second.build.path.stat().st_mtime_ns == built_at
    assert second.call("f", 21) == 42
    assert (tmp_path / f"{first.build.key}.c").read_text() == first.c_source


def test_other_flags_are_another_object(tmp_path):
    a = compile_source(SOURCE, cache_dir=tmp_path)
    b = compile_source(SOURCE, cache_dir=tmp_path, flags=("-shared", "-O1", "-fPIC"))
    assert a.build.key != b.build.key and b.call("f", 4) == 8


def test_no_c_compiler_is_a_missing_dependency(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty folder: no cc anywhere
    monkeypatch.delenv("CC", raising=False)
    with pytest.raises(
        MissingDependencyError, match=r"needs a C compiler, and 'cc' is not on PATH"
    ):
        compile_source(SOURCE, cache_dir=tmp_path)
    with pytest.raises(MissingDependencyError, match="no-such-cc"):
        compile_source(SOURCE, cache_dir=tmp_path, compiler="no-such-cc")


def test_c_the_compiler_refuses_is_reported_with_its_diagnostics(tmp_path):
    broken = {"jk_mul": "static inline jk_val jk_mul(jk_ctx *cx, jk_val a, jk_val b) { oops }"}
    with pytest.raises(HostCompileError, match="oops"):
        compile_source(SOURCE, cache_dir=tmp_path, overrides=broken)
    assert not list(tmp_path.glob("*.so")), "no half-built object is left in the cache"
    with pytest.raises(ValueError, match="no runtime helper named"):
        compile_source(SOURCE, cache_dir=tmp_path, overrides={"jk_nothing": ""})


def test_an_override_replaces_the_helper_the_generated_code_calls(tmp_path):
    doubled = (
        "static inline jk_val jk_mul(jk_ctx *cx, jk_val a, jk_val b) "
        "{ return jk_int(2 * jk_number(cx, a) * jk_number(cx, b)); }"
    )
    assert (
        compile_source(SOURCE, cache_dir=tmp_path, overrides={"jk_mul": doubled}).call("f", 5) == 20
    )
