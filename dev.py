#!/usr/bin/env python3
"""The kit's two commands: `python3 dev.py lab` opens the notebooks, `python3 dev.py test` runs
every test. Both create `.venv` and install the kit into it first, so a fresh machine with only
Python >= 3.11, pip, gcc and binutils needs nothing else.

Extra arguments go to JupyterLab or pytest (e.g. `python3 dev.py test -m slow tests/x86`).
The lab serves the repository root and opens notebooks/00_tour.ipynb; your own
`--ServerApp.root_dir=DIR` (or `--notebook-dir`) or `--LabApp.default_url=URL` replaces the kit's.
`test` runs on every core (pytest-xdist) unless you pass your own `-n`.

Each Python gets its own venv: `.venv` belongs to the Python that created it, and another
Python X.Y that runs dev.py uses `.venv-X.Y` (so `python3 dev.py test` uses `.venv` and
`~/.pyenv/versions/3.13.0/bin/python3 dev.py test` uses `.venv-3.13`; `.ci/run` runs all three).
Installs take exact versions from `requirements/lock.txt` (written by requirements/lock.py).
"""

import hashlib
import os
import re
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent


def venv_for_this_python() -> Path:
    """`.venv` when it is absent or made by this Python X.Y, else `.venv-X.Y`."""
    version = f"{sys.version_info[0]}.{sys.version_info[1]}"
    config = ROOT / ".venv" / "pyvenv.cfg"
    if config.exists():
        made_by = re.search(r"^version(?:_info)?\s*=\s*(\d+\.\d+)", config.read_text(), re.M)
        if made_by and made_by.group(1) != version:
            return ROOT / f".venv-{version}"
    return ROOT / ".venv"


VENV = venv_for_this_python()
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")
STAMP = VENV / ".jitkit-installed"
LOCK = ROOT / "requirements" / "lock.txt"  # exact versions, written by requirements/lock.py
EXTRAS = {"lab": "", "test": "[test,instructor]"}


def ensure_venv(extras: str) -> None:
    """Create the venv and (re)install the kit when pyproject.toml, the lock or the extras
    changed; the lock constrains every package pip installs to its pinned version."""
    if sys.version_info < (3, 11):  # noqa: UP036 - dev.py may run on an older python3
        sys.exit(f"jitkit needs Python >= 3.11, this is {sys.version.split()[0]}")
    if not PYTHON.exists():
        print(f"creating {VENV.relative_to(ROOT)} with Python {sys.version.split()[0]}", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    lock = LOCK.read_bytes() if LOCK.exists() else b""
    want = hashlib.sha256((ROOT / "pyproject.toml").read_bytes() + lock + extras.encode())
    want = want.hexdigest()
    have = STAMP.read_text().split() if STAMP.exists() else []
    if want in have:
        return
    print(f"installing jitkit{extras} into {VENV.name} (first run takes a few minutes)", flush=True)
    pip = [str(PYTHON), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "--upgrade", "pip"], check=True)
    pins = ["--constraint", str(LOCK)] if lock else []
    subprocess.run([*pip, *pins, "-e", f"{ROOT}{extras}"], check=True)
    STAMP.write_text("\n".join([*have, want]))


LAB_HOME = "notebooks/00_tour.ipynb"  # the page the lab opens on
ROOT_OPTIONS = ("--ServerApp.root_dir", "--ServerApp.notebook_dir", "--notebook-dir")
URL_OPTIONS = ("--ServerApp.default_url", "--LabApp.default_url")


def lab_command(*extra: str) -> list[str]:
    """JupyterLab serving the repository root (so chapters link to exercises/ and solutions/)
    and opening the tour, from the .venv Python; the lab test starts it the same way.

    The caller's own arguments win: a root folder given with one of ROOT_OPTIONS replaces the
    repository root (and then the lab opens on that folder), a default URL replaces the tour.
    """
    given = {arg.split("=", 1)[0] for arg in extra}
    own_root = not given.isdisjoint(ROOT_OPTIONS)
    root = [] if own_root else [f"--ServerApp.root_dir={ROOT}"]
    home = (
        []
        if own_root or not given.isdisjoint(URL_OPTIONS)
        else [f"--LabApp.default_url=/lab/tree/{LAB_HOME}"]
    )
    as_root = ["--allow-root"] if getattr(os, "geteuid", lambda: 1)() == 0 else []  # containers
    return [str(PYTHON), "-m", "jupyter", "lab", *root, *home, *as_root, *extra]


def test_command(*extra: str) -> list[str]:
    """pytest on every core, one worker per notebook group, unless the caller chose `-n`."""
    parallel = (
        []
        if any(a.startswith(("-n", "--numprocesses")) for a in extra)
        else ["-n", "auto", "--dist", "loadgroup"]
    )
    return [str(PYTHON), "-m", "pytest", *parallel, *extra]


def main(argv: list[str]) -> int:
    command = argv[0] if argv else ""
    if command not in EXTRAS:
        print(__doc__)
        return 2
    ensure_venv(EXTRAS[command])
    os.chdir(ROOT)
    build = lab_command if command == "lab" else test_command
    return subprocess.call(build(*argv[1:]))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
