"""The wheel carries what the kit needs at run time: built with pip, installed into a fresh
venv (no system site-packages, runtime dependencies only, from PyPI or pip's cache), and used
from a temporary folder that is not a checkout: doctor, run on every tier, build (libc and
--no-libc), bench, the `jitkit` script, release and grade on explicit paths, chapters 03 and
05, and every reference solution graded to full marks.

In the default suite (measured: about 140 s on a shared 2-core machine, 80 s of it the venv
install from pip's cache); it needs PyPI or a warm pip cache. Real nbgrader on the solutions
needs a second venv and is `slow`: `python3 dev.py test -m slow tests/test_wheel.py`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from jitkit.tiers import TIERS
from tests.conftest import ROOT

pytestmark = [
    pytest.mark.xdist_group("wheel"),  # one worker builds and installs the wheel once
    pytest.mark.once_per_ci(python="3.11"),
]

PROGRAM = ROOT / "tests" / "programs" / "fib.py"
SOURCES = ["pyproject.toml", "README.md", "LICENSE", "jitkit"]  # what setuptools packs
CHAPTERS = ["03_interpreters.ipynb", "05_stack_jit.ipynb"]


class Install:
    """A venv with the built wheel installed, and a work folder holding copies of the
    notebooks, solutions and exercises (as a learner's or instructor's download would)."""

    def __init__(self, root: Path, name: str = "venv") -> None:
        self.root, self.work = root, root / "work"
        self.venv = root / name
        self.python = self.venv / "bin" / "python"
        # nothing of the checkout may leak in: no PYTHONPATH, no notebooks/ pointer
        self.env = {k: v for k, v in os.environ.items()
                    if k not in ("PYTHONPATH", "JITKIT_NOTEBOOKS", "VIRTUAL_ENV")}  # fmt: skip
        self.env["PATH"] = os.pathsep.join([str(self.venv / "bin"), os.environ.get("PATH", "")])

    def run(self, *args: str | Path, timeout: float = 600, **kwargs) -> subprocess.CompletedProcess:
        """A command in the work folder with the venv first on PATH."""
        return subprocess.run([str(a) for a in args], cwd=kwargs.pop("cwd", self.work),
                              env=self.env, capture_output=True, text=True, timeout=timeout,
                              **kwargs)  # fmt: skip

    def jitkit(self, *args: str | Path, **kwargs) -> subprocess.CompletedProcess:
        return self.run(self.python, "-m", "jitkit", *args, **kwargs)


def _check(run: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert run.returncode == 0, f"{run.args}:\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}"
    return run


@pytest.fixture(scope="module")
def install(tmp_path_factory) -> Install:
    root = tmp_path_factory.mktemp("wheel")
    at = Install(root)
    source = root / "source"  # a copy, so building leaves no build/ or egg-info in the checkout
    source.mkdir()
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name,
                            ignore=shutil.ignore_patterns("__pycache__"))  # fmt: skip
        else:
            shutil.copy(ROOT / name, source / name)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    _check(at.run(*pip, "wheel", "--no-deps", "-w", root / "dist", source, cwd=root))
    (wheel,) = (root / "dist").glob("jitkit-*.whl")
    venv.EnvBuilder(with_pip=True, system_site_packages=False).create(at.venv)
    _check(at.run(at.python, "-m", "pip", "install", "--disable-pip-version-check", "-q", wheel,
                  cwd=root, timeout=900))  # fmt: skip
    at.work.mkdir()
    for folder in ("notebooks", "solutions", "exercises"):
        shutil.copytree(ROOT / folder, at.work / folder)
    shutil.copy(PROGRAM, at.work / PROGRAM.name)
    return at


def test_the_installed_kit_is_the_wheels(install):
    where = _check(install.run(install.python, "-c", "import jitkit; print(jitkit.__file__)"))
    assert Path(where.stdout.strip()).is_relative_to(install.venv), where.stdout
    # runtime dependencies only: the test extra's tools are not importable here
    for module, importable in (("elftools", True), ("pytest", False), ("hypothesis", False)):
        run = install.run(install.python, "-c", f"import {module}")
        assert (run.returncode == 0) == importable, (module, run.stderr)
    files = _check(install.run(install.python, "-m", "pip", "show", "-f", "jitkit")).stdout
    for data in ("jitkit/kernels/kernels.py", "jitkit/kernels/kernels.c", "licenses/LICENSE"):
        assert data in files, files


def test_doctor(install):
    run = _check(install.jitkit("doctor", "--json"))
    assert json.loads(run.stdout)["ok"] is True


def test_the_script_names_itself(install):
    run = _check(install.run("jitkit", "--help"))
    assert run.stdout.startswith("usage: jitkit "), run.stdout
    assert _check(install.run("jitkit", "--version")).stdout.startswith("jitkit ")


@pytest.mark.parametrize("tier", list(TIERS))
def test_run_on_every_tier(install, tier):
    expected = subprocess.run([sys.executable, PROGRAM], capture_output=True, text=True).stdout
    assert _check(install.jitkit("run", PROGRAM.name, "--tier", tier)).stdout == expected


@pytest.mark.parametrize("libc", [True, False], ids=["libc", "no-libc"])
def test_build_makes_an_executable(install, libc):
    out = install.work / ("fib-libc" if libc else "fib-nolibc")
    _check(install.jitkit("build", PROGRAM.name, "-o", out, *([] if libc else ["--no-libc"])))
    expected = subprocess.run([sys.executable, PROGRAM], capture_output=True, text=True).stdout
    assert _check(install.run(out)).stdout == expected


def test_bench(install):
    run = _check(install.jitkit("bench", "--repeat", "1", "--json", timeout=900))
    report = json.loads(run.stdout)
    assert {"fib", "count_primes"} <= {k["kernel"] for k in report["kernels"]}
    assert set(report["geomean_vs_gcc"]) == {"cpython", "gcc -O2", *TIERS}


def test_release_and_grade_want_paths_outside_a_checkout(install):
    for args in (["release"], ["grade", "exercises/03_interpreters.ipynb"]):
        run = install.jitkit(*args)
        assert run.returncode == 2 and run.stderr.count("\n") == 1, run.stderr
        assert "pass --solutions DIR" in run.stderr, run.stderr
    run = install.jitkit("release", "--solutions", "solutions", "--check")
    assert run.returncode == 0, run.stdout + run.stderr  # exercises/ beside it, in sync


OTHER_CHAPTERS = [
    pytest.param(p.name, marks=pytest.mark.slow)
    for p in sorted((ROOT / "notebooks").glob("*.ipynb"))
    if p.name not in CHAPTERS
]


@pytest.mark.parametrize("name", [*CHAPTERS, *OTHER_CHAPTERS])
def test_chapter_runs(install, name):
    """Chapters 03 and 05 by default, the others with `-m slow`: a runtime-only install runs
    them (tests/test_notebooks.py runs them in the test venv, which has every extra)."""
    script = (
        "import sys, nbformat\n"
        "from pathlib import Path\n"
        "from jitkit.grading import run_notebook\n"
        "path = Path(sys.argv[1]).resolve()\n"
        "results = run_notebook(nbformat.read(path, as_version=4), path.parent)\n"
        "bad = [f'cell {r.index}: {r.status}: {r.message}' for r in results if not r.ok]\n"
        "print('\\n'.join(bad) or f'{len(results)} cells ok')\n"
        "sys.exit(1 if bad else 0)\n"
    )
    _check(install.run(install.python, "-c", script, Path("notebooks") / name, timeout=900))


def test_reference_solutions_grade_to_full_marks(install):
    solutions = sorted(
        p.relative_to(install.work) for p in (install.work / "solutions").glob("*.ipynb")
    )
    run = install.jitkit("grade", *solutions, "--solutions", "solutions", "--json", timeout=1800)
    report = json.loads(run.stdout)
    lost = [e for e in report["exercises"] if not e["passed"]]
    assert run.returncode == 0 and not lost, lost or run.stderr
    assert report["points"] == report["max_points"] > 0


@pytest.mark.slow  # a second venv with nbgrader's dependencies, then nbgrader's autograde
def test_nbgrader_grades_the_reference_solutions_to_full_marks(install):
    """Real nbgrader (the `instructor` extra, in a second venv so the first keeps the runtime
    dependencies only): generate_assignment, then autograde the solutions as a submission."""
    (wheel,) = (install.root / "dist").glob("jitkit-*.whl")
    teacher = Install(install.root, "venv-nbgrader")
    venv.EnvBuilder(with_pip=True).create(teacher.venv)
    _check(teacher.run(teacher.python, "-m", "pip", "install", "--disable-pip-version-check",
                       "-q", f"{wheel}[instructor]", cwd=install.root, timeout=900))  # fmt: skip
    course, assignment = install.root / "course", "jitkit"
    shutil.copytree(install.work / "solutions", course / "source" / assignment)
    (course / "nbgrader_config.py").write_text(
        "c = get_config()\n"
        f"c.CourseDirectory.root = {str(course)!r}\n"
        f"c.CourseDirectory.db_url = 'sqlite:///{course / 'gradebook.db'}'\n"
        "c.ExecutePreprocessor.timeout = 120\n"
    )
    kernel = install.root / "jupyter" / "kernels" / "python3"  # nbgrader's kernel: this venv
    kernel.mkdir(parents=True)
    argv = [str(teacher.python), "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (kernel / "kernel.json").write_text(json.dumps({"argv": argv, "language": "python",
                                                    "display_name": "Python 3"}))  # fmt: skip
    teacher.env |= {
        "JUPYTER_PATH": str(install.root / "jupyter"),
        "JUPYTER_CONFIG_DIR": str(install.root / "jupyter-config"),
        # nbgrader runs notebooks inside course/, away from notebooks/: say where chapters are
        "JITKIT_NOTEBOOKS": str(install.work / "notebooks"),
    }
    nbgrader = [teacher.python, "-m", "nbgrader"]
    _check(teacher.run(*nbgrader, "generate_assignment", assignment, "--force", cwd=course))
    shutil.copytree(course / "source" / assignment, course / "submitted" / "ref" / assignment)
    _check(teacher.run(*nbgrader, "db", "student", "add", "ref", cwd=course))
    _check(teacher.run(*nbgrader, "autograde", assignment, "--force", cwd=course, timeout=1800))
    score = (
        "from nbgrader.api import Gradebook\n"
        f"with Gradebook('sqlite:///{course / 'gradebook.db'}') as gb:\n"
        f"    s = gb.find_submission({assignment!r}, 'ref')\n"
        "    print(s.score, s.max_score, len(s.notebooks))\n"
    )
    points, max_points, notebooks = _check(teacher.run(teacher.python, "-c", score)).stdout.split()
    assert int(notebooks) == len(list((install.work / "solutions").glob("*.ipynb")))
    assert float(points) == float(max_points) > 0
