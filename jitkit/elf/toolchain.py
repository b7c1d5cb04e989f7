"""The system toolchain as an oracle and a point of comparison (notebook 02).

Takes C or assembly source, objects, executables; gives files built by `gcc`, `as` and
`ld`, and `readelf`'s report. Tests use it to check the kit's files against tools nobody
here wrote; the notebook uses it for the size ladder and for `ld -e`. Each function raises
`MissingDependencyError` when its tool is not installed (`available()` asks first).
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from jitkit.errors import MissingDependencyError


@dataclass(frozen=True)
class Report:
    """A tool's output: what it printed and what it complained about."""

    stdout: str
    stderr: str


def available(tool: str) -> bool:
    """Whether `tool` (gcc, ld, as, readelf) is on the PATH."""
    return shutil.which(tool) is not None


def _call(tool: str, args: Sequence[str]) -> Report:
    if not available(tool):
        raise MissingDependencyError(f"{tool} is not installed (try: apt install binutils gcc)")
    done = subprocess.run([tool, *map(str, args)], capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{tool} {' '.join(map(str, args))} failed:\n{done.stderr}")
    return Report(done.stdout, done.stderr)


def gcc(source: str, output: Path, flags: Sequence[str] = ()) -> Path:
    """Compile C `source` into `output` with `flags` (e.g. `-c`, `-static`, `-nostdlib`)."""
    src = output.with_suffix(".c")
    src.write_text(source)
    _call("gcc", [*flags, str(src), "-o", str(output)])
    return output


def gas(source: str, output: Path) -> Path:
    """Assemble GNU `as` source (AT&T, or Intel after `.intel_syntax noprefix`) into an object."""
    src = output.with_suffix(".s")
    src.write_text(source)
    _call("as", [str(src), "-o", str(output)])
    return output


def ld(
    objects: Sequence[Path], output: Path, entry: str | None = None, flags: Sequence[str] = ()
) -> Report:
    """Link `objects` statically; `entry` names the first instruction (`ld -e`).
    Warnings are errors (`--fatal-warnings`): a well-formed object links silently."""
    args = ["--fatal-warnings", *flags, *(["-e", entry] if entry else [])]
    return _call("ld", [*args, *map(str, objects), "-o", str(output)])


def readelf(path: Path, flags: Sequence[str] = ("-a", "-W")) -> Report:
    """`readelf` on a file; a well-formed file leaves stderr empty."""
    return _call("readelf", [*flags, str(path)])
