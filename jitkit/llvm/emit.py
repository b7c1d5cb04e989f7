"""Machine code out of LLVM: assembly text, object files, linked executables (notebook 08).

In: an IR module (text or `llvmlite.ir.Module`). Out: assembly text for notebooks, ELF
relocatable bytes (`emit_object`), and executables linked either by `cc` (with libc: the IR
defines `main`) or by `ld -static -e _start` (runtime-free: the IR defines its own `_start`
and makes system calls itself).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Iterable
from pathlib import Path

from llvmlite import ir

from jitkit.errors import JitkitError, MissingDependencyError
from jitkit.llvm.optimize import optimize
from jitkit.llvm.target import target_machine
from jitkit.llvm.verify import verify_ir


class LinkError(JitkitError):
    """The system linker refused the object file (its stderr is the message)."""


def compile_ir(
    module: ir.Module | str, opt_level: int = 2, passes: str | Iterable[str] | None = None
):
    """Verify and optimize: the common first step of every emitter."""
    return optimize(verify_ir(module), opt_level, passes)


def emit_assembly(
    module: ir.Module | str, opt_level: int = 2, passes: str | Iterable[str] | None = None
) -> str:
    """x86-64 assembly text (AT&T syntax) of the optimized module, for reading."""
    return target_machine(opt_level).emit_assembly(compile_ir(module, opt_level, passes))


def emit_object(
    module: ir.Module | str,
    opt_level: int = 2,
    passes: str | Iterable[str] | None = None,
    reloc: str = "pic",
) -> bytes:
    """An ELF relocatable object (`.o` bytes) of the optimized module."""
    ref = compile_ir(module, opt_level, passes)
    return target_machine(opt_level, reloc).emit_object(ref)


def tool(name: str) -> str:
    """Path of a system tool, or a MissingDependencyError saying what to install."""
    path = shutil.which(name)
    if path is None:
        raise MissingDependencyError(f"'{name}' is not installed (apt-get install gcc binutils)")
    return path


def link_executable(obj: bytes, output: str | Path, libc: bool = True) -> Path:
    """Link one object into an executable: `cc` with libc, else `ld -static -e _start`."""
    output = Path(output)
    with tempfile.TemporaryDirectory(prefix="jitkit-llvm-") as tmp:
        obj_path = Path(tmp) / "prog.o"
        obj_path.write_bytes(obj)
        if libc:
            command = [tool("cc"), "-o", str(output), str(obj_path), "-lm"]
        else:
            command = [
                tool("ld"),
                "-static",
                "-e",
                "_start",
                "-s",
                "--gc-sections",
                "-z",
                "noseparate-code",
                "--build-id=none",
                "-o",
                str(output),
                str(obj_path),
            ]
        done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise LinkError(f"{' '.join(command)} failed:\n{done.stderr}")
    return output
