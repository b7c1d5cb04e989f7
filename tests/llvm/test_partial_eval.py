"""Partial evaluation of the kit's LLVM IR (jitkit.llvm.partial_eval, notebook 09).

Oracles: CPython (what the program prints), LLVM's verifier (every output module), the
executable built without partial evaluation (same stdout, stderr and status), and golden
files as TinyGo's interp tests keep them (`tests/llvm/partial_eval/*.ll` -> `*.out.ll`).
"""

from __future__ import annotations

import random
import re
import subprocess
import sys
from pathlib import Path

import pytest
from llvmlite import binding as llvm

from jitkit.errors import UnsupportedError
from jitkit.lang.parse import parse_module
from jitkit.llvm.codegen import compile_module
from jitkit.llvm.emit import emit_object, link_executable
from jitkit.llvm.partial_eval import Options, PartialEvalResult, partial_evaluate
from jitkit.llvm.partial_eval.irtext import read_ir
from tests.test_differential import Choices, generate

GOLDEN = Path(__file__).parent / "partial_eval"
PROGRAMS = Path(__file__).parent.parent / "programs"
REPO = Path(__file__).parents[2]

COMPUTES_THEN_PRINTS = """\
def total(n):
    s = 0
    for i in range(n):
        s = s + i
    return s


def fib(n):
    if n < 2:
        return n
    return fib(n - 1) + fib(n - 2)


print("start")
print(total(100))
x = fib(15)
k = 0
while k < 50:
    x = x + k % 3
    k += 1
print(x * 2, total(10) > 40, None)
"""

PRINTS_IN_THE_MIDDLE = """\
def noisy(n):
    print("noisy", n)
    return n * 3


print(1)
a = noisy(4)
print(a, noisy(a))
b = 0
for i in range(5):
    print("i", i)
    b += noisy(i)
print(b, -b)
"""


def evaluated(source: str, options: Options | None = None) -> PartialEvalResult:
    """The kit's executable IR of `source`, partially evaluated."""
    program = compile_module(parse_module(source, "prog.py"), "libc")
    return partial_evaluate(str(program.module), options=options)


def run_ir(ir_text: str, exe: Path, libc: bool = True) -> tuple[str, str, int]:
    """Link IR text into an executable and run it: (stdout, stderr, status)."""
    link_executable(emit_object(ir_text, 2), exe, libc)
    done = subprocess.run([str(exe)], capture_output=True, text=True, timeout=120)
    return done.stdout, done.stderr, done.returncode


def run_both(source: str, tmp: Path, options: Options | None = None, libc: bool = True):
    """(with, without, result): the executable's behaviour with and without evaluation."""
    program = compile_module(parse_module(source, "prog.py"), "libc" if libc else "nolibc")
    plain = str(program.module)
    result = partial_evaluate(plain, options=options)
    with_pe = run_ir(result.text, tmp / "pe.exe", libc)
    return with_pe, run_ir(plain, tmp / "plain.exe", libc), result


def back_edges(ir_text: str, function: str = '@"py.<module>"') -> list[tuple[str, str]]:
    """Edges to a block at or before the branch's own block in `function` (loops)."""
    body = ir_text.split(f"{function}(", 1)[1].split("\n}\n", 1)[0]
    order: list[str] = ["entry"]
    edges = []
    for line in body.splitlines()[1:]:
        if m := re.match(r"^([-\w$.]+):", line):
            order.append(m[1])
        for target in re.findall(r"label %([-\w$.]+)", line):
            edges.append((order[-1], target))
    position = {b: i for i, b in enumerate(order)}
    return [(a, b) for a, b in edges if position.get(b, 1 << 30) <= position[a]]


def cpython(source: str, tmp: Path) -> str:
    path = tmp / "prog.py"
    path.write_text(source)
    return subprocess.run([sys.executable, str(path)], capture_output=True, text=True).stdout


def normalized(text: str) -> list[str]:
    lines = (re.sub(r"\s*;.*$", "", line).rstrip() for line in text.splitlines())
    return [line for line in lines if line and not line.startswith(("source_filename", "target"))]


@pytest.mark.parametrize(
    "name", sorted(p.stem for p in GOLDEN.glob("*.ll") if ".out" not in p.stem)
)
def test_golden(name: str):
    result = partial_evaluate((GOLDEN / f"{name}.ll").read_text())
    assert normalized(result.text) == normalized((GOLDEN / f"{name}.out.ll").read_text())


def test_golden_outputs_verify():
    from llvmlite import binding as llvm

    for path in GOLDEN.glob("*.out.ll"):
        llvm.parse_assembly(path.read_text()).verify()


def test_design_1_gives_up_where_design_2_rolls_back():
    """rollback.ll: @helper stores, then branches on an external call's result."""
    text = (GOLDEN / "rollback.ll").read_text()
    one = partial_evaluate(text, options=Options(rollback=False))
    two = partial_evaluate(text, options=Options(rollback=True))
    assert not one.changed and "design 1" in one.stopped
    assert two.changed and "@state = global i64 5" in two.text  # helper's store undone
    assert "call i64 @helper(i64 3)" in two.text


def test_init_computed_at_compile_time(tmp_path: Path):
    (with_pe, without, result) = run_both(COMPUTES_THEN_PRINTS, tmp_path)
    assert with_pe == without == (cpython(COMPUTES_THEN_PRINTS, tmp_path), "", 0)
    assert result.stopped == "" and back_edges(result.text) == []
    init = result.text.split('@"py.<module>"()', 1)[1].split("\n}\n", 1)[0]
    assert "@py.total" not in init and "@py.fib" not in init
    assert result.init_after < result.init_before // 10


def test_prints_keep_their_order(tmp_path: Path):
    (with_pe, without, result) = run_both(PRINTS_IN_THE_MIDDLE, tmp_path)
    assert with_pe == without == (cpython(PRINTS_IN_THE_MIDDLE, tmp_path), "", 0)
    assert result.stopped == "" and back_edges(result.text) == []


def test_cli_emit_llvm_shows_no_loop_in_init(tmp_path: Path):
    source = tmp_path / "prog.py"
    source.write_text(COMPUTES_THEN_PRINTS)
    env = {"PYTHONPATH": str(REPO)}
    shown = {}
    for flags in ([], ["--no-partial-eval"]):
        out = tmp_path / f"prog{len(flags)}.ll"
        command = [sys.executable, "-m", "jitkit", "build", str(source), "-o", str(out), "-O0"]
        subprocess.run(command + ["--emit-llvm", *flags], check=True, env=env, cwd=REPO)
        shown[bool(flags)] = out.read_text()
    init = shown[False].split('@"py.<module>"()', 1)[1].split("\n}\n", 1)[0]
    assert back_edges(shown[False]) == [] and "@py.fib" not in init
    assert "@py.fib" in shown[True].split('@"py.<module>"()', 1)[1].split("\n}\n", 1)[0]


LONG_LOOP = """\
def step(x):
    return (x * 7 + 3) % 1000


print("before")
i = 0
s = 0
while i < 20000:
    s = s + step(i)
    i = i + 1
print(s, i)
"""


def test_step_budget_leaves_the_loop_to_start_up(tmp_path: Path):
    (with_pe, without, result) = run_both(LONG_LOOP, tmp_path, Options(budget=5_000))
    assert "budget" in result.stopped
    assert with_pe == without == (cpython(LONG_LOOP, tmp_path), "", 0)
    assert back_edges(result.text)  # the rest of the loop runs at start-up


@pytest.mark.parametrize("source", [COMPUTES_THEN_PRINTS, LONG_LOOP], ids=["computes", "loop"])
def test_runtime_free_executables(source: str, tmp_path: Path):
    """`--no-libc`: the output runtime is inline `syscall` assembly, never evaluated."""
    (with_pe, without, result) = run_both(source, tmp_path, Options(budget=5_000), libc=False)
    assert result.changed and with_pe == without == (cpython(source, tmp_path), "", 0)


def test_time_limit_leaves_the_loop_to_start_up(tmp_path: Path):
    (with_pe, without, result) = run_both(LONG_LOOP, tmp_path, Options(time_limit=0.0))
    assert "time limit" in result.stopped
    assert with_pe == without == (cpython(LONG_LOOP, tmp_path), "", 0)


LONG_FUNCTION = "def long(x):\n" + "    x = x * 3 % 1001\n" * 40 + "    return x\n\n\n"
LONG_FUNCTION += 'print("start")\nprint(long(5))\n'


def test_size_budget_leaves_a_long_function_to_start_up(tmp_path: Path):
    """A function longer than `max_body` lines is not read: its calls run at start-up."""
    program = compile_module(parse_module(LONG_FUNCTION, "prog.py"), "libc")
    printed = str(llvm.parse_assembly(str(program.module)))  # the text the budget counts
    lines = {name: len(f.body) for name, f in read_ir(printed).functions.items()}
    budget = lines['@"py.<module>"'] + 1
    assert lines["@py.long"] > budget
    (with_pe, without, result) = run_both(LONG_FUNCTION, tmp_path, Options(max_body=budget))
    assert any("@py.long" in c and "size budget" in c for c in result.runtime_calls)
    assert with_pe == without == (cpython(LONG_FUNCTION, tmp_path), "", 0)
    assert partial_evaluate(str(program.module)).runtime_calls == []  # within the default
    # Without the constant output there is nothing to keep: the module stays as it was.
    quiet = LONG_FUNCTION.replace('print("start")\n', "")
    program = compile_module(parse_module(quiet, "prog.py"), "libc")
    result = partial_evaluate(str(program.module), options=Options(max_body=budget))
    assert not result.changed and "nothing to keep" in result.stopped


def test_size_budget_keeps_a_long_init_as_it_was():
    result = evaluated(COMPUTES_THEN_PRINTS, Options(max_body=5))
    assert not result.changed and "size budget" in result.stopped


DEEP = """\
def depth(n):
    if n == 0:
        return 0
    return depth(n - 1) + 1


print("a")
print(depth(400))
print("b")
"""


def test_deep_call_design_1_gives_up_design_2_runs_it_at_start_up(tmp_path: Path):
    one = evaluated(DEEP, Options(rollback=False, max_depth=50))
    assert not one.changed and "design 1" in one.stopped
    (with_pe, without, two) = run_both(DEEP, tmp_path, Options(max_depth=50))
    assert two.changed and any("@py.depth" in c for c in two.runtime_calls)
    assert with_pe == without == (cpython(DEEP, tmp_path), "", 0)


FIRST_BLOCK_CHECK = """\
def count(things):
    n = 0
    for _t in things:
        n += 1
    return n


print(count([1, 2, 3]))
print(count(5))
"""


def test_a_check_failing_in_the_first_block_resumes(tmp_path: Path):
    """`for _t in 5` fails its type check in the init's first block: the evaluator stops
    there on a runtime branch, and the error exit's phi takes its entry from `%entry` (it
    gave up with "phi without an entry for" when the branch did not say where it was)."""
    (with_pe, without, result) = run_both(FIRST_BLOCK_CHECK, tmp_path)
    assert result.changed, result.stopped
    assert with_pe == without
    assert with_pe[0] == "3\n" and with_pe[1].endswith("'int' object is not iterable\n")


def kit_programs() -> list[Path]:
    return sorted(p for p in PROGRAMS.glob("*.py") if not p.name.startswith(("_", "test_")))


@pytest.mark.parametrize("path", kit_programs(), ids=lambda p: p.stem)
def test_program_suite_same_with_and_without(path: Path, tmp_path: Path):
    source = path.read_text()
    try:
        (with_pe, without, result) = run_both(source, tmp_path)
    except UnsupportedError:
        pytest.skip("outside what jitkit build accepts")
    assert with_pe == without
    if "# features:" in source:  # floats or lists (#17): giving up is right, failing is not
        assert "internal error" not in result.stopped, result.stopped
        assert "phi without" not in result.stopped, result.stopped
        assert result.changed or result.stopped.startswith("gave up"), result.stopped
        return
    assert result.changed, result.stopped


@pytest.mark.parametrize("seed", range(16))
def test_random_programs_same_with_and_without(seed: int, tmp_path: Path):
    source = generate(Choices(rng=random.Random(seed)))
    try:
        (with_pe, without, result) = run_both(source, tmp_path)
    except UnsupportedError:
        pytest.skip("outside what jitkit build accepts")
    assert with_pe == without, source
    assert "internal error" not in result.stopped, result.stopped


def test_array_initializers_are_read():
    """Executables keep their error reports' offsets in an `[N x i64]` table; an initializer
    the reader did not know made the evaluator give up on every such program."""
    from jitkit.llvm.partial_eval.irtext import global_bytes

    data = global_bytes("[3 x i64]", "[i64 0, i64 81, i64 -1]")
    assert data == b"".join(v.to_bytes(8, "little", signed=True) for v in (0, 81, -1))
    assert global_bytes("[2 x i8]", "[i8 7, i8 9]") == b"\x07\x09"


def test_only_the_bodies_the_evaluator_runs_are_decoded():
    """A body is decoded when the evaluator first runs it (#14 item 7: decoding every body of
    a 2,000-locals program was most of the evaluator's time, though only the init runs)."""
    from llvmlite import binding as llvm

    from jitkit.llvm.partial_eval.evaluator import Evaluator
    from jitkit.llvm.partial_eval.irtext import parse_module as read_ir

    source = "def used(n):\n    return n + 1\n\n\ndef unused(n):\n    return n * 2\n\n\n"
    program = compile_module(parse_module(source + "print(used(2))\n", "prog.py"), "libc")
    mod = read_ir(str(llvm.parse_assembly(str(program.module))))  # LLVM's printed form
    assert all(fn._blocks is None for fn in mod.functions.values())
    Evaluator(mod, Options()).run(mod.functions['@"py.<module>"'], [], 0)
    assert mod.functions["@py.used"]._blocks is not None
    assert mod.functions["@py.unused"]._blocks is None
    assert [i.op for i in mod.functions["@py.unused"].blocks[0].instrs][-1] == "cbr"
