"""Big functions compile and run correctly on every tier (issue #14 item 7, issue #18).

A function with 2,000 locals, one of 5,000 statements, a 3,000-argument print and an
expression nested 1,000 deep, each on every tier and through `build --no-libc`, each in a
child process that must finish within `LIMIT` seconds with CPython's output. No timing is
asserted beyond "did not hang" (the machine is shared); `benchmarks/compile_scale.py`
measures the times. The LLVM cases take several seconds each, so they carry `slow`.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from compile_scale import CLIFFS  # noqa: E402

LIMIT = 120  # seconds: generous; the slowest case measured about 50 s (a build, loaded machine)
TIERS = ("treewalk", "interp", "stack", "ssa", "auto", "llvm", "hostc")
SLOW = {"llvm"}

RUN = """
import sys
from jitkit.tiers import load
load(open(sys.argv[1]).read(), sys.argv[2], "prog.py").run_main()
"""


def env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}


def expected(source: str) -> str:
    done = subprocess.run([sys.executable, "-c", source], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout


def cases() -> list:
    out = []
    for program in CLIFFS:
        for tier in TIERS:
            marks = [pytest.mark.slow] if tier in SLOW else []
            out.append(pytest.param(program, tier, marks=marks, id=f"{program}-{tier}"))
    return out


@pytest.mark.parametrize(("program", "tier"), cases())
def test_big_function_runs_on_every_tier(program: str, tier: str, tmp_path: Path) -> None:
    source = CLIFFS[program]()
    prog = tmp_path / "prog.py"
    prog.write_text(source)
    done = subprocess.run(
        [sys.executable, "-c", RUN, str(prog), tier],
        capture_output=True,
        text=True,
        timeout=LIMIT,
        env=env(),
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout == expected(source)


@pytest.mark.slow
@pytest.mark.parametrize("program", list(CLIFFS))
def test_big_function_builds_without_libc(program: str, tmp_path: Path) -> None:
    source = CLIFFS[program]()
    prog, exe = tmp_path / "prog.py", tmp_path / "prog"
    prog.write_text(source)
    build = [sys.executable, "-m", "jitkit", "build", "--no-libc", str(prog), "-o", str(exe)]
    done = subprocess.run(build, capture_output=True, text=True, timeout=LIMIT, env=env())
    assert done.returncode == 0, done.stderr[-2000:]
    ran = subprocess.run([str(exe)], capture_output=True, text=True, timeout=LIMIT)
    assert ran.returncode == 0, ran.stderr[-2000:]
    assert ran.stdout == expected(source)


def test_nesting_is_as_deep_as_cpythons() -> None:
    """The front end raises the recursion limit for its tree walks only, and puts it back."""
    from jitkit.lang.parse import NESTING, parse_module

    before = sys.getrecursionlimit()
    source = CLIFFS["1,000-deep nesting"]()
    compile(source, "prog.py", "exec")  # CPython's parser takes it
    parse_module(source, "prog.py")
    assert NESTING >= 1000
    assert sys.getrecursionlimit() == before
