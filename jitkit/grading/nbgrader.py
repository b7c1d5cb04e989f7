"""`python -m jitkit.grading.nbgrader ARGS...`: real nbgrader, with this Python's scripts found.

nbgrader runs helper scripts by name (`alembic` when it creates a gradebook), so plain
`python -m nbgrader generate_assignment` fails unless the virtual environment's `bin/` is on
PATH. This runs `python -m nbgrader ARGS...` with that folder put first on PATH; arguments,
output and exit status are nbgrader's own.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def environment(env: dict[str, str] | None = None) -> dict[str, str]:
    """`env` (default: this process's) with this Python's scripts folder first on PATH."""
    env = dict(os.environ if env is None else env)
    scripts = str(Path(sys.executable).parent)
    env["PATH"] = os.pathsep.join(p for p in (scripts, env.get("PATH", "")) if p)
    return env


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    return subprocess.call([sys.executable, "-m", "nbgrader", *args], env=environment())


if __name__ == "__main__":
    sys.exit(main())
