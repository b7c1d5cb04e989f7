"""The build cache, the compiler's absence and its complaints."""

from __future__ import annotations

import threading
from pathlib import Path

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
    assert not list(tmp_path.iterdir()), "no half-built object or temporary is left behind"
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


def test_threads_building_the_same_source_at_once_share_one_compile(tmp_path):
    source = "def f(n):\n    return n + 12345\n"
    start, results, errors = threading.Barrier(4), [], []

    def compile_and_call() -> None:
        start.wait()
        try:
            results.append(compile_source(source, cache_dir=tmp_path / "fresh").call("f", 1))
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)

    before = build.COMPILES
    threads = [threading.Thread(target=compile_and_call) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors and results == [12346] * 4
    assert build.COMPILES == before + 1, "threads waited for one build"
    assert sorted(p.suffix for p in (tmp_path / "fresh").iterdir()) == [".c", ".so"]


def test_the_default_cache_location(monkeypatch, tmp_path):
    monkeypatch.delenv("JITKIT_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert build.cache_dir() == tmp_path / "xdg" / "jitkit" / "hostc"
    m = compile_source("def f(n):\n    return n - 54321\n")
    assert m.build.path.parent == tmp_path / "xdg" / "jitkit" / "hostc" and m.call("f", 1) == -54320
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert build.cache_dir() == tmp_path / "home" / ".cache" / "jitkit" / "hostc"
    monkeypatch.setenv("JITKIT_CACHE_DIR", str(tmp_path / "mine"))
    assert build.cache_dir() == tmp_path / "mine"


def test_the_test_session_keeps_its_objects_out_of_the_home_cache(hostc_cache_dir):
    assert build.cache_dir() == Path(hostc_cache_dir)
    assert compile_source(SOURCE).build.path.parent == Path(hostc_cache_dir)
