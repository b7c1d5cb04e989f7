"""C source -> a shared object in a cache directory, loaded with ctypes (notebook 04).

In: C text, the compiler (`$CC`, else `cc`) and its flags. Out: a `Build`: the loaded
library, the path of the `.so`, whether the cache already had it and how long this took.
The cache key is a SHA-256 of the compiler, its flags and libraries and the source, so the
same module is compiled once per machine (`~/.cache/jitkit/hostc`, or `$JITKIT_CACHE_DIR`).
Builds are safe in parallel: threads of one process building the same key wait for one another
(a lock per key) and the second finds the first's object; every build, in any thread or
process, writes its files under unique temporary names (`tempfile.mkstemp`) and renames them
into place, so no build ever sees or loads half a file; the temporaries are removed whether
the compiler succeeds or fails.
The library is unloaded (`dlclose`) once nothing refers to it any more: not the `CDLL`, not a
function pointer taken from it (ctypes' function pointers keep their library alive).
"""

from __future__ import annotations

import _ctypes
import ctypes
import hashlib
import os
import shutil
import subprocess
import tempfile
import threading
import time
import weakref
from dataclasses import dataclass
from pathlib import Path

from jitkit.errors import JitkitError, MissingDependencyError

FLAGS = ("-shared", "-O2", "-fPIC")
LIBRARIES = ("-lm",)  # after the source: the runtime's floor, fmod, pow
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


_KEY_LOCKS: dict[str, threading.Lock] = {}  # one per cache key: a build at a time
_KEY_LOCKS_GUARD = threading.Lock()


def key_lock(key: str) -> threading.Lock:
    with _KEY_LOCKS_GUARD:
        return _KEY_LOCKS.setdefault(key, threading.Lock())


def load(path: Path) -> ctypes.CDLL:
    """dlopen `path`; dlclose it when the returned library is garbage collected. Take
    functions with `library["name"]`: attribute access caches them on the library, a cycle
    only the cycle collector frees."""
    library = ctypes.CDLL(str(path))
    unload = weakref.finalize(library, _ctypes.dlclose, library._handle)
    unload.atexit = False  # at exit the process unmaps everything anyway
    return library


def build(
    source: str,
    compiler: str | None = None,
    flags: tuple[str, ...] = FLAGS,
    directory: str | Path | None = None,
) -> Build:
    """Why: compile `source` once into a cached shared object and load it."""
    start = time.perf_counter()
    cc = find_compiler(compiler)
    key = cache_key(source, cc, (*flags, *LIBRARIES))
    folder = Path(directory) if directory is not None else cache_dir()
    target = folder / f"{key}.so"
    cached = target.exists()
    if not cached:
        with key_lock(key):  # another thread may have built it while we waited
            cached = target.exists()
            if not cached:
                compile_into(source, cc, flags, folder, key)
    return Build(load(target), target, cached, time.perf_counter() - start, key)


def compile_into(source: str, cc: str, flags: tuple[str, ...], folder: Path, key: str) -> None:
    """Run the compiler on `source` into `folder/{key}.so` (and keep `{key}.c` beside it)."""
    global COMPILES
    folder.mkdir(parents=True, exist_ok=True)
    temporaries = []
    try:
        for suffix in (".tmp.c", ".tmp.so"):
            handle, name = tempfile.mkstemp(suffix, f"{key}.", folder)
            os.close(handle)
            temporaries.append(Path(name))
        c_file, partial = temporaries
        c_file.write_text(source)
        COMPILES += 1
        result = subprocess.run(
            [cc, *flags, "-o", str(partial), str(c_file), *LIBRARIES],
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            raise HostCompileError(
                f"{cc} {' '.join(flags)} failed on module {key}:\n{result.stderr.strip()}"
            )
        c_file.chmod(0o644)  # mkstemp makes 0600 files; these are ordinary cache files
        partial.chmod(0o755)
        c_file.replace(folder / f"{key}.c")  # kept beside the object, to read
        partial.replace(folder / f"{key}.so")  # last: the object's presence means "built"
    finally:
        for path in temporaries:
            path.unlink(missing_ok=True)


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
