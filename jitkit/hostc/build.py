"""C source -> a shared object in a cache directory, loaded with ctypes (notebook 04).

In: C text, the compiler (`$CC`, else `cc`) and its flags. Out: a `Build`: the loaded
library, the path of the `.so`, whether the cache already had it and how long this took.
The cache key is a SHA-256 of the compiler, its flags and the source, so the same module is
compiled once per machine (`~/.cache/jitkit/hostc`, or `$JITKIT_CACHE_DIR`); a new object is
written under a temporary name and renamed into place, so parallel builds never see half a file.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from jitkit.errors import JitkitError, MissingDependencyError

FLAGS = ("-shared", "-O2", "-fPIC")
COMPILES = 0  # times this process ran the C compiler (the cache tests read it)


class HostCompileError(JitkitError):
    """The C compiler refused the generated source (its diagnostics are in the message)."""


@dataclass
class Build:
    """A compiled, loaded module and what it cost."""

    library: ctypes.CDLL
    path: Path
    cached: bool  # found in the cache: no compiler run
    seconds: float  # wall time of this build (the compiler run, or the cache look-up and load)
    key: str


def cache_dir() -> Path:
    """Where objects are kept: $JITKIT_CACHE_DIR, else $XDG_CACHE_HOME/jitkit/hostc."""
    if os.environ.get("JITKIT_CACHE_DIR"):
        return Path(os.environ["JITKIT_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "jitkit" / "hostc"


def find_compiler(compiler: str | None = None) -> str:
    """The C compiler's path, or MissingDependencyError saying how to get one."""
    name = compiler or os.environ.get("CC") or "cc"
    path = shutil.which(name)
    if path is None:
        raise MissingDependencyError(
            f"the host-compiler JIT needs a C compiler, and {name!r} is not on PATH: install "
            "one (Debian/Ubuntu: apt-get install gcc) or set $CC to a compiler's name"
        )
    return path


def cache_key(source: str, compiler: str, flags: tuple[str, ...]) -> str:
    text = "\0".join([compiler, *flags, source])
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def build(
    source: str,
    compiler: str | None = None,
    flags: tuple[str, ...] = FLAGS,
    directory: str | Path | None = None,
) -> Build:
    """Why: compile `source` once into a cached shared object and load it."""
    global COMPILES
    start = time.perf_counter()
    cc = find_compiler(compiler)
    key = cache_key(source, cc, flags)
    folder = Path(directory) if directory is not None else cache_dir()
    target = folder / f"{key}.so"
    cached = target.exists()
    if not cached:  # every file is written under this process's own name, then renamed
        folder.mkdir(parents=True, exist_ok=True)
        mine = f"{key}.{os.getpid()}.tmp"
        c_file, partial = folder / f"{mine}.c", folder / f"{mine}.so"
        c_file.write_text(source)
        COMPILES += 1
        result = subprocess.run(
            [cc, *flags, "-o", str(partial), str(c_file)], capture_output=True, text=True
        )
        if result.returncode != 0:
            partial.unlink(missing_ok=True)
            raise HostCompileError(
                f"{cc} {' '.join(flags)} failed on {c_file}:\n{result.stderr.strip()}"
            )
        c_file.replace(folder / f"{key}.c")  # kept beside the object, to read
        partial.replace(target)
    library = ctypes.CDLL(str(target))
    return Build(library, target, cached, time.perf_counter() - start, key)


def assembly(source: str, compiler: str | None = None, flags: tuple[str, ...] = FLAGS) -> str:
    """What the compiler makes of `source` with the same flags, as assembly text (`cc -S`)."""
    cc = find_compiler(compiler)
    options = [f for f in flags if f != "-shared"] + ["-S", "-fno-asynchronous-unwind-tables"]
    result = subprocess.run(
        [cc, *options, "-x", "c", "-o", "-", "-"], input=source, capture_output=True, text=True
    )
    if result.returncode != 0:
        raise HostCompileError(f"{cc} -S failed:\n{result.stderr.strip()}")
    return result.stdout
