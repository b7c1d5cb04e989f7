"""The LLVM layer against its oracles: llvmlite's verifier, CPython, the kernel, readelf."""

from __future__ import annotations

import contextlib
import ctypes
import io
import os
import pathlib
import subprocess
import sys

import pytest
from elftools.elf.elffile import ELFFile

from jitkit.errors import VerifyError
from jitkit.lang import nodes as n
from jitkit.lang.parse import parse_module
from jitkit.llvm.codegen import compile_module
from jitkit.llvm.compiler import build, compile_source
from jitkit.llvm.emit import emit_assembly
from jitkit.llvm.jit import jit
from jitkit.llvm.optimize import PassError, optimize
from jitkit.llvm.values import INT, lval
from jitkit.llvm.verify import verify_ir

PROGRAMS = sorted(
    p
    for p in (pathlib.Path(__file__).parents[1] / "programs").glob("*.py")
    if not p.name.startswith(("test_", "_")) and p.name != "engines.py"
)
# Programs an executable cannot run to the end exactly, and the error each kind of executable
# (libc, nolibc) stops with instead (None: it runs exactly): int64 (no big ints), one element
# kind per list (the VM runs mixed lists in process; an executable has no VM), libm's pow
# (none without libc).
OVERFLOW, UNSUPPORTED = "OverflowError: ", "UnsupportedError: "
BEYOND_EXECUTABLES = {
    "big_ints": (OVERFLOW, OVERFLOW),
    "float_nan_inf": (OVERFLOW, OVERFLOW),  # 10**400
    "float_overflow": (OVERFLOW, OVERFLOW),
    "float_to_int_nan": (OVERFLOW, OVERFLOW),  # int(1e300)
    "floats_arith": (OVERFLOW, UNSUPPORTED),  # 10**20 / 10**19; 2**-1 without libm
    "float_power_overflow": (None, UNSUPPORTED),  # 10.0**300 without libm
    "list_aliasing": (UNSUPPORTED, UNSUPPORTED),  # nested and mixed lists
    "list_append_in_for": (UNSUPPORTED, UNSUPPORTED),  # a list of mixed kinds
    "subscript_int": (UNSUPPORTED, UNSUPPORTED),  # a list of lists
    "globals_list_mutated": (UNSUPPORTED, UNSUPPORTED),  # GRID, a list of lists
}
ADD = """define i64 @add(i64 %a, i64 %b) {
  %s = add i64 %a, %b
  ret i64 %s
}
"""


def cpython(path: pathlib.Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(path)], capture_output=True, text=True)


def test_jit_returns_a_typed_callable():
    add = jit(ADD, "add", ctypes.c_int64, [ctypes.c_int64, ctypes.c_int64])
    assert add(2, 40) == 42 and add(-5, 3) == -2


def test_verifier_error_names_the_line():
    with pytest.raises(VerifyError, match="IR line"):
        verify_ir(ADD.replace("ret i64 %s", "ret i32 %s"))


def test_hand_picked_passes_and_levels():
    for level in range(4):
        assert "define" in str(optimize(verify_ir(ADD), level))
    assert "add" in str(optimize(verify_ir(ADD), passes="mem2reg,instcombine,simplifycfg,gvn"))
    with pytest.raises(PassError):
        optimize(verify_ir(ADD), passes="no-such-pass")
    assert "ret" in emit_assembly(ADD)


@pytest.mark.parametrize("path", PROGRAMS, ids=lambda p: p.stem)
def test_every_program_verifies(path: pathlib.Path):
    kit = parse_module(path.read_text(), path.name)
    for target in ("inprocess", "libc", "nolibc"):
        verify_ir(compile_module(kit, target).module)


@pytest.mark.parametrize("path", PROGRAMS, ids=lambda p: p.stem)
def test_in_process_equals_cpython(path: pathlib.Path):
    expected = cpython(path)
    out, error = io.StringIO(), None
    with contextlib.redirect_stdout(out):
        try:
            compile_source(path.read_text(), path.name).run_main()
        except Exception as e:  # noqa: BLE001 - the type is the result
            error = type(e).__name__
    assert out.getvalue() == expected.stdout
    assert (error is None) == (expected.returncode == 0)
    if error:
        assert expected.stderr.strip().splitlines()[-1].startswith(error)


@pytest.mark.parametrize("libc", [True, False], ids=["libc", "nolibc"])
@pytest.mark.parametrize("path", PROGRAMS, ids=lambda p: p.stem)
def test_native_equals_cpython(path: pathlib.Path, libc: bool, tmp_path: pathlib.Path):
    exe = build(path, tmp_path / "prog", libc=libc)
    got, expected = subprocess.run([exe], capture_output=True, text=True), cpython(path)
    beyond = BEYOND_EXECUTABLES.get(path.stem, (None, None))[0 if libc else 1]
    if beyond:  # what CPython printed until there, then the executable's own error
        assert got.returncode == 1 and expected.stdout.startswith(got.stdout)
        assert got.stderr.splitlines()[-1].startswith(beyond)
        return
    assert (got.stdout, got.returncode) == (expected.stdout, expected.returncode)
    if expected.returncode:
        assert (
            got.stderr.splitlines()[-1] == expected.stderr.splitlines()[-1]
            or got.stderr.splitlines()[-1].split(":")[0]
            == expected.stderr.splitlines()[-1].split(":")[0]
        )


def test_zero_division_messages_match_cpython(tmp_path: pathlib.Path):
    for expr, message in (
        ("7 // z", "integer division or modulo by zero"),
        ("7 % z", "integer modulo by zero"),
    ):
        src = tmp_path / "p.py"
        src.write_text(f"z = 0\nprint('before')\nprint({expr})\n")
        got = subprocess.run(
            [build(src, tmp_path / "p", libc=False)], capture_output=True, text=True
        )
        assert got.stdout == "before\n" and got.returncode == 1
        assert got.stderr.splitlines()[-1] == f"ZeroDivisionError: {message}"
        with pytest.raises(ZeroDivisionError, match=message):
            compile_source(src.read_text()).run_main()


def test_overflow_reruns_exactly_without_repeating_prints(capsys):
    module = compile_source("def f(n):\n    print('start')\n    return n * n\n")
    assert module.call("f", 3) == 9
    assert module.call("f", 2**40) == 2**80
    assert capsys.readouterr().out == "start\nstart\n"


def test_overflow_after_a_full_buffer_shows_every_line_once(capsys):
    module = compile_source(
        "def f(n):\n    for i in range(n):\n        print(i)\n    return n * 9223372036854775807\n"
    )
    assert module.call("f", 20_000) == 20_000 * (2**63 - 1)  # prints 108 KiB, then overflows
    assert capsys.readouterr().out == "".join(f"{i}\n" for i in range(20_000))


def test_runtime_free_hello_is_tiny_and_static(tmp_path: pathlib.Path):
    src = tmp_path / "hello.py"
    src.write_text("print('hello, world')\n")
    exe = build(src, tmp_path / "hello", libc=False)
    assert subprocess.run([exe], capture_output=True, text=True).stdout == "hello, world\n"
    assert exe.stat().st_size < 2048, exe.stat().st_size
    with exe.open("rb") as f:
        assert ELFFile(f).get_section_by_name(".dynamic") is None
    readelf = subprocess.run(["readelf", "-d", str(exe)], capture_output=True, text=True)
    assert "There is no dynamic section" in readelf.stdout


def test_emit_llvm_writes_ir(tmp_path: pathlib.Path):
    src = tmp_path / "p.py"
    src.write_text("print(1 + 2)\n")
    out = build(src, tmp_path / "p.ll", emit_llvm=True)
    verify_ir(out.read_text())


def test_handlers_replace_one_node_types_lowering(capsys):
    def plus_one(gen, e: n.Const):  # an expression handler gives a Val
        return lval(INT, e.value + 1) if type(e.value) is int else gen.lower_Const(e)

    def announce(gen, s: n.Pass):  # a statement handler emits code and gives None
        gen.write_text("pass\n")

    module = compile_source(
        "def f():\n    pass\n    return 41\n", handlers={n.Const: plus_one, n.Pass: announce}
    )
    assert module.call("f") == 42
    assert capsys.readouterr().out == "pass\n"
    assert compile_source("def f():\n    pass\n    return 41\n").call("f") == 41


LONE_SURROGATE = """def f(n):
    print("before", n)
    print("a", "\\ud800", "b")
    print("after")
    return n


print(f(3))
"""


def test_printing_a_lone_surrogate_fails_where_cpython_does(tmp_path: pathlib.Path):
    src = tmp_path / "surrogate.py"
    src.write_text(LONE_SURROGATE)
    utf8 = {**os.environ, "PYTHONIOENCODING": "utf-8"}  # a strict UTF-8 stdout
    expected = subprocess.run([sys.executable, src], capture_output=True, text=True, env=utf8)
    run = (
        "import sys; from jitkit.llvm.compiler import run_source as r; r(open(sys.argv[1]).read())"
    )
    in_process = subprocess.run(
        [sys.executable, "-c", run, src], capture_output=True, text=True, env=utf8
    )
    executable = subprocess.run([build(src, tmp_path / "s")], capture_output=True, text=True)
    assert (expected.stdout, expected.returncode) == ("before 3\na ", 1)
    for got in (in_process, executable):
        assert (got.stdout, got.returncode) == (expected.stdout, 1), got.stderr
        # the exception line (the VM's re-run adds an indented note: the kit line it ran)
        error = [line for line in got.stderr.splitlines() if not line.startswith(" ")][-1]
        assert error == expected.stderr.splitlines()[-1]
    # a stdout that takes lone surrogates (a StringIO) gets all of it, as from CPython
    with contextlib.redirect_stdout(io.StringIO()) as cpython_out:
        exec(LONE_SURROGATE, {})
    with contextlib.redirect_stdout(io.StringIO()) as llvm_out:
        compile_source(LONE_SURROGATE).run_main()
    assert llvm_out.getvalue() == cpython_out.getvalue() == "before 3\na \ud800 b\nafter\n3\n"


def test_threads_calling_one_module_get_exact_results_and_every_line():
    """The module's depth counter and output buffer are globals: calls take turns."""
    import contextlib
    import io
    import threading

    from jitkit.tiers import load

    source = (
        "def work(n, k):\n    s = 0\n    for i in range(n):\n        s = s + i * k\n"
        "        if i % 1000 == 0:\n            print(k, i)\n    return s\n"
    )
    program, results, out = load(source, "llvm"), {}, io.StringIO()
    with contextlib.redirect_stdout(out):
        threads = [
            threading.Thread(
                target=lambda k=k: results.update({k: program.call("work", 300_000, k)})
            )
            for k in range(1, 9)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert results == {k: k * (300_000 * 299_999 // 2) for k in range(1, 9)}
    expected = sorted(f"{k} {i}" for k in range(1, 9) for i in range(0, 300_000, 1000))
    assert sorted(out.getvalue().splitlines()) == expected
