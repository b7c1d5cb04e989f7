"""The pieces of the grader's isolation: which names a cell binds, and the snapshot that puts
back what a submission patched (checked in a child process, never in pytest's own)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from jitkit.grading.sandbox import bound_names, describe, imported_modules


def test_bound_names_are_the_cells_top_level_bindings():
    source = textwrap.dedent(
        """
        import os.path, numpy as np
        from random import randint as pick
        x = y = 1
        a, (b, c) = 1, (2, 3)
        for i in range(3):
            total = i
        with open("f") as handle:
            pass
        def helper(arg):
            inner = arg
        class Thing:
            field = 1
        squares = [k * k for k in range(3)]
        """
    )
    assert bound_names(source) == {
        "os", "np", "pick", "x", "y", "a", "b", "c", "i", "total", "handle",
        "helper", "Thing", "squares",
    }  # fmt: skip
    assert bound_names("this is not python") == set()


def test_imported_modules():
    assert imported_modules("import a.b\nfrom c import d\nfrom . import e") == ["a.b", "c"]


def test_describe_names_the_line_of_the_cell_that_raised():
    source = "x = 1\nassert x == 2, 'x is not two'"
    try:
        exec(compile(source, "<test cell ex1>", "exec"), {})
    except AssertionError as error:
        assert describe(error, "<test cell ex1>", source) == (
            "AssertionError: x is not two (at: assert x == 2, 'x is not two')"
        )


RESTORE = textwrap.dedent(
    """
    import builtins, json, sys, types
    import jitkit.x86.oracles as oracles
    from jitkit.grading.guard import Snapshot

    chapter = types.ModuleType("chapter_77")
    exec("REGISTERS = ['rax', 'rcx']\\ndef f():\\n    return 1", chapter.__dict__)
    sys.modules["chapter_77"] = chapter
    original = (oracles.keystone_assemble, json.dumps, len, chapter.f)
    snapshot = Snapshot()

    oracles.keystone_assemble = lambda text: b""         # a module's function rebound
    json.dumps.__code__ = (lambda *a, **k: "forged").__code__  # a function's code replaced
    json.JSONEncoder.encode = lambda self, o: "forged"   # a method patched
    builtins.len = lambda obj: 0                          # a builtin replaced
    sys.modules["json"] = types.ModuleType("json")        # a module swapped
    chapter.REGISTERS.clear()                             # the chapter's data emptied
    chapter.f = lambda: 2                                 # the chapter's function rebound
    sys.settrace(lambda *a: None)

    snapshot.restore()
    import json as again
    assert (oracles.keystone_assemble, again.dumps, len, chapter.f) == original
    assert again.dumps({"a": 1}) == '{"a": 1}'
    assert again.JSONEncoder().encode([1]) == "[1]"
    assert chapter.REGISTERS == ["rax", "rcx"] and chapter.f() == 1
    assert sys.gettrace() is None
    print("restored")
    """
)


def test_snapshot_restores_what_a_submission_patched():
    run = subprocess.run(
        [sys.executable, "-c", RESTORE], capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "restored"
