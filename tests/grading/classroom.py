"""A synthetic class for the grader: honest, broken, stuck and cheating submissions.

Each variant is a function of the solution and exercise notebooks of one chapter (the
fixture 99 or the real chapter 01) that returns a submission and the points each of its
tests must score. A course folder holds solutions/ (copies of both chapters) with notebooks/
beside it, and submitted/STUDENT/week1/NOTEBOOK.ipynb, as nbgrader lays it out.
"""

from __future__ import annotations

import copy
import shutil
from collections.abc import Callable
from pathlib import Path

import nbformat

from jitkit.grading import release_notebook
from jitkit.grading.cells import nbgrader
from tests.conftest import ROOT
from tests.grading.notebooks import FIXTURE

CH01 = ROOT / "solutions" / "01_machine_code.ipynb"
SCORES = {  # every test's points when it passes
    "99_fixture": {"ex1_add": 1, "ex2_square": 2},
    "01_machine_code": {"ex1_alu_imm": 3, "ex2_push_pop": 3, "ex3_expression": 4, "ex4_sse2": 3},
}

# A JIT-compiled infinite loop (`jmp $`): it never returns to Python, so an interrupt cannot
# stop it; the grader must kill the process.
NATIVE_LOOP = """import ctypes
from jitkit.native import NativeFunction
NativeFunction(b"\\xeb\\xfe", restype=ctypes.c_int64, argtypes=())()"""

# A Python loop that swallows every interrupt.
STUBBORN_LOOP = """import time
while True:
    try:
        time.sleep(1)
    except KeyboardInterrupt:
        pass"""

SEGFAULT = "import ctypes\nctypes.string_at(0)"

# Cheat 2: rewrite every test cell the shell runs into `pass`.
TRANSFORMER = """def _no_tests(lines):
    return ["pass\\n"] if any("assert" in line for line in lines) else lines
get_ipython().input_transformers_post.append(_no_tests)
get_ipython().input_transformers_cleanup.append(_no_tests)"""

# Cheat 3: a full-marks report on every descriptor the process has (the grader's stdout,
# its report pipe), including made-up verdict lines, then die before any test runs.
FAKE_REPORT = """import json, os
fake = "notebook  exercise  points  why\\nall tests passed\\ntotal  10/10\\n"
for name in os.listdir("/proc/self/fd"):
    for line in [fake] + [
        json.dumps({"event": e, "step": k, "token": "0" * 32, "passed": True, "status": "ok"})
        + "\\n"
        for k in range(12) for e in ("start", "test", "end")
    ] + ['{"event": "done"}\\n']:
        try:
            os.write(int(name), line.encode())
        except OSError:
            pass
os.kill(os.getpid(), 9)"""

# Cheat 1 (chapter 01): redefine the names the hidden tests use, so every comparison holds
# (a repr that is a str equal to every str, for the tests that compare floats by repr).
LYING_HELPERS = """import types


class _AnyText(str):
    def __eq__(self, other):
        return True

    __hash__ = str.__hash__


class _Anything:
    def __eq__(self, other):
        return True

    __hash__ = object.__hash__

    def __repr__(self):
        return _AnyText("any")

    def __call__(self, *args):
        return self

    def free(self):
        pass


ANY = _Anything()
keystone_assemble = lambda text: ANY
check_callee_saved = lambda code, args=(): types.SimpleNamespace(ok=True, result=ANY)
ch = types.SimpleNamespace(**{k: getattr(ch, k) for k in dir(ch) if not k.startswith("__")})
ch.JitFunction = lambda code, nargs=0: ANY
NativeFunction = lambda code, restype=None, argtypes=(): ANY
REGISTERS = []"""

# Cheat 4 (chapter 01): monkeypatch the kit in place: the code of its functions, a module's
# attribute, the chapter module's class, the kit's class's method.
MONKEYPATCH = """import jitkit.x86.oracles


class _AnyText(str):
    def __eq__(self, other):
        return True

    __hash__ = str.__hash__


class _Anything:
    def __eq__(self, other):
        return True

    __hash__ = object.__hash__

    def __repr__(self):
        return _AnyText("any")

    def __call__(self, *args):
        return self

    ok, result = True, None

    def free(self):
        pass


_Anything.result = ANY = _Anything()
for helper in (keystone_assemble, check_callee_saved):
    helper.__globals__["ANY"] = ANY
keystone_assemble.__code__ = (lambda text: ANY).__code__
check_callee_saved.__code__ = (lambda code, args=(): ANY).__code__
jitkit.x86.oracles.keystone_assemble = lambda text: ANY
ch.JitFunction = lambda code, nargs=0: ANY
NativeFunction.__call__ = lambda self, *args: ANY"""

# Overrunning the notebook's budget with cells that each stay under the cell timeout.
SLOW_CELLS = ["import time\ntime.sleep(25)"] * 3

ANSWERS_01 = {  # answers that return wrong (empty) machine code but raise where they must
    "ex1_alu_imm_solution": (
        "def encode_alu_imm(mnemonic, dst, value):\n"
        "    if not -(2**31) <= value < 2**31:\n"
        "        raise ValueError(value)\n"
        "    return b''"
    ),
    "ex2_push_pop_solution": "def push(reg):\n    return b''\n\n\ndef pop(reg):\n    return b''",
    "ex3_expression_solution": "def expression_code():\n    return b''",
    "ex4_sse2_solution": (
        "def subsd(dst, src):\n    return b''\n\n\n"
        "def divsd(dst, src):\n    return b''\n\n\n"
        "def cvttsd2si(dst, src):\n    return b''"
    ),
}


def _cell(nb, grade_id: str):
    return next(c for c in nb.cells if nbgrader(c).get("grade_id") == grade_id)


def _insert_after(nb, grade_id: str, source: str):
    nb = copy.deepcopy(nb)
    nb.cells.insert(nb.cells.index(_cell(nb, grade_id)) + 1, nbformat.v4.new_code_cell(source))
    return nb


def _mix(solution, exercise, solved: set[str]):
    """The exercise with the solution cells of `solved` filled in from the solution."""
    nb = copy.deepcopy(exercise)
    for grade_id in solved:
        _cell(nb, grade_id).source = _cell(solution, grade_id).source
    return nb


def _with_answers(exercise, prefix_source: str):
    nb = copy.deepcopy(exercise)
    for grade_id, source in ANSWERS_01.items():
        _cell(nb, grade_id).source = source
    first = _cell(nb, "ex1_alu_imm_solution")
    first.source = prefix_source + "\n\n\n" + first.source
    return nb


Variant = Callable[[object, object], tuple[object, dict[str, float]]]


def variants_99() -> dict[str, Variant]:
    s1, s2 = "ex1_add_solution", "ex2_square_solution"
    return {
        "solved": lambda sol, ex: (sol, {"ex1_add": 1, "ex2_square": 2}),
        "unsolved": lambda sol, ex: (ex, {"ex1_add": 0, "ex2_square": 0}),
        "partial_add": lambda sol, ex: (_mix(sol, ex, {s1}), {"ex1_add": 1, "ex2_square": 0}),
        "partial_square": lambda sol, ex: (_mix(sol, ex, {s2}), {"ex1_add": 0, "ex2_square": 2}),
        "segfault": lambda sol, ex: (
            _insert_after(sol, "ex1_add", SEGFAULT),
            {"ex1_add": 1, "ex2_square": 0},
        ),
        "exit": lambda sol, ex: (
            _insert_after(sol, "ex1_add", "import os\nos._exit(3)"),
            {"ex1_add": 1, "ex2_square": 0},
        ),
        "native_loop": lambda sol, ex: (
            _insert_after(sol, "ex1_add", NATIVE_LOOP),
            {"ex1_add": 1, "ex2_square": 0},
        ),
        "stubborn_loop": lambda sol, ex: (
            _insert_after(sol, "ex1_add", STUBBORN_LOOP),
            {"ex1_add": 1, "ex2_square": 0},
        ),
        "interruptible_loop": lambda sol, ex: (
            _insert_after(sol, "ex1_add_solution", "while True:\n    pass"),
            {"ex1_add": 1, "ex2_square": 2},
        ),
        "transformer_cheat": lambda sol, ex: (
            _insert_after(ex, "ex1_add_solution", TRANSFORMER),
            {"ex1_add": 0, "ex2_square": 0},
        ),
        "fake_report_cheat": lambda sol, ex: (
            _insert_after(ex, "ex1_add_solution", FAKE_REPORT),
            {"ex1_add": 0, "ex2_square": 0},
        ),
        "edited_tests": lambda sol, ex: (_edited_tests(ex), {"ex1_add": 0, "ex2_square": 0}),
        "over_budget": lambda sol, ex: (
            _insert_after(
                _insert_after(
                    _insert_after(sol, "ex1_add", SLOW_CELLS[0]), "ex1_add", SLOW_CELLS[1]
                ),
                "ex1_add",
                SLOW_CELLS[2],
            ),
            {"ex1_add": 1, "ex2_square": 0},
        ),
    }


def _edited_tests(exercise):
    nb = copy.deepcopy(exercise)
    _cell(nb, "ex1_add").source = "pass"
    _cell(nb, "ex2_square").cell_type = "markdown"
    return nb


def variants_01() -> dict[str, Variant]:
    zero = {"ex1_alu_imm": 0, "ex2_push_pop": 0, "ex3_expression": 0, "ex4_sse2": 0}
    full = {"ex1_alu_imm": 3, "ex2_push_pop": 3, "ex3_expression": 4, "ex4_sse2": 3}
    return {
        "solved": lambda sol, ex: (sol, full),
        "unsolved": lambda sol, ex: (ex, zero),
        "partial_push_pop": lambda sol, ex: (
            _mix(sol, ex, {"ex2_push_pop_solution"}),
            {**zero, "ex2_push_pop": 3},
        ),
        "lying_helpers_cheat": lambda sol, ex: (_with_answers(ex, LYING_HELPERS), zero),
        "monkeypatch_cheat": lambda sol, ex: (_with_answers(ex, MONKEYPATCH), zero),
        "transformer_cheat": lambda sol, ex: (
            _insert_after(_with_answers(ex, ""), "setup", TRANSFORMER),
            zero,
        ),
        "fake_report_cheat": lambda sol, ex: (
            _insert_after(_with_answers(ex, ""), "setup", FAKE_REPORT),
            zero,
        ),
        "native_loop": lambda sol, ex: (
            _insert_after(sol, "ex2_push_pop", "ch.JitFunction(b'\\xeb\\xfe', nargs=0)()"),
            {**full, "ex3_expression": 0, "ex4_sse2": 0},
        ),
        "segfault": lambda sol, ex: (
            _insert_after(sol, "ex1_alu_imm", SEGFAULT),
            {**zero, "ex1_alu_imm": 3},
        ),
    }


def chapters() -> dict[str, tuple[Path, dict[str, Variant]]]:
    return {"99_fixture": (FIXTURE, variants_99()), "01_machine_code": (CH01, variants_01())}


def course(tmp: Path) -> Path:
    """tmp/solutions with both chapters, and tmp/notebooks (the chapters) beside it."""
    (tmp / "solutions").mkdir(parents=True)
    for path, _ in chapters().values():
        shutil.copy(path, tmp / "solutions")
    (tmp / "notebooks").symlink_to(ROOT / "notebooks")
    return tmp / "solutions"


def submit(tmp: Path, picks: list[tuple[str, str]], name: str = "") -> dict:
    """Write submitted/STUDENT/week1/NOTEBOOK for each (chapter, variant); returns the
    expected points {(student, chapter, exercise): points}. Students are named
    `NN_variant`; a `name` of "copy" saves JupyterLab duplicates (`NAME-Copy1.ipynb`)."""
    expected = {}
    table = chapters()
    for number, (chapter, variant) in enumerate(picks):
        path, variants = table[chapter]
        solution = nbformat.read(path, as_version=4)
        exercise = release_notebook(solution, path.stem)
        nb, points = variants[variant](solution, exercise)
        student = f"{number:02d}_{chapter[:2]}_{variant}"
        folder = tmp / "submitted" / student / "week1"
        folder.mkdir(parents=True)
        filename = f"{path.stem}-Copy1.ipynb" if name == "copy" or number % 5 == 4 else path.name
        nbformat.write(nb, folder / filename)
        for exercise_id, score in points.items():
            expected[(student, path.name, exercise_id)] = score
    return expected
