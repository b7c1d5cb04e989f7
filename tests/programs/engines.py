"""Run one program through CPython and every kit engine, capturing stdout and the error type.

Used by the program suite and the differential tests, and as a script on other
interpreters: `PYTHONPATH=repo python3.13 -m tests.programs.engines FILE...` prints one JSON
line per file with each engine's (stdout, "Type: message" of its exception).
Stdlib only, so it runs on any CPython the kit supports.
"""

from __future__ import annotations

import contextlib
import io
import json
import sys

from jitkit.bytecode.compiler import compile_module
from jitkit.bytecode.from_cpython import translate_module
from jitkit.lang.parse import parse_module
from jitkit.lang.treewalk import TreeWalker
from jitkit.vm.machine import VM

# CPython, then every tier of jitkit.tiers.TIERS (interp as vm-ast), and the VM on the dis
# front end: the one program suite runs them all
ENGINES = ("cpython", "treewalk", "vm-ast", "vm-dis", "stack", "ssa", "auto", "llvm", "hostc")


def prepare(engine: str, source: str, filename: str):
    """Compile for one engine (errors here are real failures) and return a runner."""
    if engine == "cpython":
        code = compile(source, filename, "exec")
        return lambda: exec(code, {"__name__": "__main__"})
    if engine == "treewalk":
        return TreeWalker(parse_module(source, filename)).run_main
    if engine in ("stack", "ssa", "auto", "llvm", "hostc"):
        from jitkit.tiers import load

        return load(source, engine, filename).run_main
    if engine == "vm-ast":
        vm = VM(compile_module(parse_module(source, filename)))
    else:
        vm = VM(translate_module(source, filename))
    return lambda: vm.call("<module>")


def capture(runner) -> tuple[str, str | None]:
    """(stdout, "Type: message" of the exception or None) of calling `runner()`."""
    out, error = io.StringIO(), None
    with contextlib.redirect_stdout(out):
        try:
            runner()
        except Exception as e:  # noqa: BLE001 - the exception is the result
            error = f"{type(e).__name__}: {e}"
    return out.getvalue(), error


def run(engine: str, source: str, filename: str = "prog.py") -> tuple[str, str | None]:
    """(stdout, "Type: message" of the exception or None) of one engine on one program."""
    return capture(prepare(engine, source, filename))


def main(paths: list[str], engines: tuple[str, ...] = ("cpython", "vm-dis")) -> None:
    for path in paths:
        with open(path) as f:
            source = f.read()
        print(json.dumps({"path": path, **{e: run(e, source, path) for e in engines}}))


if __name__ == "__main__":
    main(sys.argv[1:])
