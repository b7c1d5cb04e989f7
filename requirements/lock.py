#!/usr/bin/env python3
"""Write the locks from pyproject.toml: `python3 requirements/lock.py` (needs uv: `pip install uv`).

- `requirements/lock.txt`: jitkit[test,instructor]'s whole dependency tree at exact versions,
  one resolution for Python 3.11-3.13 on every platform (uv's universal mode adds a marker
  where versions differ, e.g. numpy by Python version). `dev.py` installs through it as pip
  constraints, so every venv, CI's included, gets these versions.
- `binder/requirements.txt`: the runtime dependencies only, for Binder's Python (3.11.14, see
  BINDER_PYTHON) on Linux x86-64, as plain `==` pins taken from the same resolution (`lock.txt`
  is its constraint).

uv, not pip-tools: pip-compile resolves for the Python that runs it only, and one lock must
serve three Pythons. Existing pins are kept; `python3 requirements/lock.py --upgrade` moves
everything to the newest versions. Run it after changing pyproject.toml's dependencies:
`tests/test_binder.py` fails while a lock no longer satisfies pyproject.toml.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "requirements" / "lock.txt"
BINDER = ROOT / "binder" / "requirements.txt"
COMMAND = "python3 requirements/lock.py"
# The Python of repo2docker's base environment for runtime.txt's python-3.11 (its
# environment.py-3.11-linux-64.lock; tests/test_binder.py checks they agree). The patch level
# matters: some packages pin differently before and after 3.11.5.
BINDER_PYTHON = "3.11.14"


def uv() -> list[str]:
    """uv on PATH, else the one pip installed beside this Python."""
    found = shutil.which("uv") or shutil.which("uv", path=str(Path(sys.executable).parent))
    if not found:
        sys.exit("requirements/lock.py needs uv: `python3 -m pip install uv`")
    return [found]


def compile_lock(*options: str, output: Path) -> None:
    """`uv pip compile pyproject.toml` with our options into `output` (its pins are kept
    unless the command line says `--upgrade` or `--upgrade-package NAME`)."""
    command = [*uv(), "pip", "compile", "--quiet", "pyproject.toml", *sys.argv[1:]]
    command += ["--custom-compile-command", COMMAND, "--output-file", str(output), *options]
    subprocess.run(command, cwd=ROOT, check=True)


def main() -> None:
    compile_lock(
        *("--extra", "test", "--extra", "instructor"),
        *("--universal", "--python-version", "3.11"),
        output=LOCK,
    )
    compile_lock(
        *("--python-version", BINDER_PYTHON, "--python-platform", "x86_64-unknown-linux-gnu"),
        *("--constraint", str(LOCK.relative_to(ROOT)), "--no-annotate"),
        output=BINDER,
    )
    print(f"wrote {LOCK.relative_to(ROOT)} and {BINDER.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
