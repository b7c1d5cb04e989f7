"""Run a produced executable and see what it did (notebook 02).

Takes an executable (its bytes, an `Image`, or a path) and arguments; gives a `Result` with
stdout, stderr and the exit status (negative: killed by that signal, as in `subprocess`).
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol


class _HasBytes(Protocol):
    def to_bytes(self) -> bytes: ...


Executable = bytes | str | os.PathLike | _HasBytes


@dataclass(frozen=True)
class Result:
    """What a run left behind: output streams and exit status."""

    stdout: bytes
    stderr: bytes
    status: int

    @property
    def text(self) -> str:
        """stdout decoded as UTF-8."""
        return self.stdout.decode()


def save(executable: Executable, path: str | os.PathLike) -> Path:
    """Write the bytes to `path` and make the file executable (mode 755)."""
    data = executable.to_bytes() if hasattr(executable, "to_bytes") else executable
    path = Path(path)
    path.write_bytes(data)
    path.chmod(0o755)
    return path


def run(
    executable: Executable, args: Sequence[str] = (), timeout: float = 10, argv0: str | None = None
) -> Result:
    """Run it (bytes are saved to a temporary file first) and capture everything."""
    with tempfile.TemporaryDirectory(prefix="jitkit-") as tmp:
        if isinstance(executable, (str, os.PathLike)):
            path = Path(executable)
        else:
            path = save(executable, Path(tmp) / "a.out")
        cmd = [str(path.resolve()), *map(str, args)]
        argv = cmd if argv0 is None else [argv0, *cmd[1:]]
        done = subprocess.run(argv, executable=cmd[0], capture_output=True, timeout=timeout)
    return Result(done.stdout, done.stderr, done.returncode)
