"""`python -m jitkit doctor`: can this machine run the JIT notebooks? (notebook 00)

Takes nothing; gives a report of the platform, an executable-memory probe, the versions of
the native packages and which toolchain programs are on PATH. The probe maps `mov eax, 42;
ret` read-write, flips it to read-execute and calls it, in a subprocess so a crash there
cannot kill the caller. It uses only ctypes, not `jitkit.native`, so it checks the machine,
not the kit.
"""

from __future__ import annotations

import json
import platform
import shutil
import subprocess
import sys
from importlib import metadata
from typing import Any

PROBE_CODE = b"\xb8\x2a\x00\x00\x00\xc3"  # mov eax, 42 ; ret

PROBE = f"""
import ctypes, mmap
libc = ctypes.CDLL(None, use_errno=True)
libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int,
                      ctypes.c_int, ctypes.c_long]
libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
code = {PROBE_CODE!r}
page = libc.mmap(None, mmap.PAGESIZE, mmap.PROT_READ | mmap.PROT_WRITE,
                 mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS, -1, 0)
if page in (None, ctypes.c_void_p(-1).value):
    raise SystemExit("mmap failed, errno %d" % ctypes.get_errno())
ctypes.memmove(page, code, len(code))
if libc.mprotect(page, mmap.PAGESIZE, mmap.PROT_READ | mmap.PROT_EXEC) != 0:
    raise SystemExit("mprotect(PROT_READ|PROT_EXEC) failed, errno %d" % ctypes.get_errno())
print(ctypes.CFUNCTYPE(ctypes.c_int)(page)())
"""

PACKAGES = {"capstone": "capstone", "keystone": "keystone-engine", "llvmlite": "llvmlite"}
TOOLS = ("cc", "ld", "as", "readelf")
NEEDS = {
    "x86-64": "every JIT notebook emits x86-64 machine code",
    "exec_memory": "notebooks 01, 05, 06, 07 call the code they generate",
    "capstone": "disassembly in every notebook",
    "llvmlite": "notebooks 08-10",
    "keystone": "notebook 01 checks the encoder against it (optional)",
    "cc": "notebook 04 compiles C, 08 links executables (optional)",
    "ld": "notebook 02 links ELF files with the system linker (optional)",
    "as": "GNU as cross-checks the encoder (optional)",
    "readelf": "notebook 02 inspects ELF files (optional)",
}
REQUIRED = ("x86-64", "exec_memory", "capstone", "llvmlite")


def probe_exec_memory(timeout: float = 30) -> tuple[bool, str]:
    """(works, detail): map, flip and call `mov eax, 42; ret` in a child Python."""
    if platform.machine().lower() not in ("x86_64", "amd64"):
        return False, f"the probe is x86-64 code and this machine is {platform.machine()}"
    if sys.platform == "win32":
        return False, "the probe uses POSIX mmap/mprotect; this is Windows"
    try:
        run = subprocess.run(
            [sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired:
        return False, f"the probe did not finish in {timeout:g}s"
    if run.returncode == 0 and run.stdout.strip() == "42":
        return True, "mapped RW, flipped to RX, called: returned 42"
    if run.returncode < 0:
        return False, f"the probe was killed by signal {-run.returncode}"
    detail = (run.stderr.strip().splitlines() or [run.stdout.strip()])[-1]
    return False, f"the probe failed: {detail}"


def package_version(module: str) -> str | None:
    """The installed distribution version, or None when the module does not import."""
    try:
        __import__(module)
    except ImportError:
        return None
    try:
        return metadata.version(PACKAGES[module])
    except metadata.PackageNotFoundError:
        return "unknown"


def llvm_version() -> str | None:
    """The LLVM inside llvmlite, e.g. "20.1.8"."""
    try:
        from llvmlite import binding
    except ImportError:
        return None
    return ".".join(map(str, binding.llvm_version_info))


def diagnose() -> dict[str, Any]:
    """Everything `doctor` knows, as plain data (the `--json` document)."""
    exec_ok, exec_detail = probe_exec_memory()
    machine = platform.machine()
    report: dict[str, Any] = {
        "platform": {
            "system": platform.system(),
            "machine": machine,
            "python": platform.python_version(),
            "executable": sys.executable,
        },
        "exec_memory": {"ok": exec_ok, "detail": exec_detail},
        "packages": {name: package_version(name) for name in PACKAGES},
        "llvm": llvm_version(),
        "toolchain": {tool: shutil.which(tool) for tool in TOOLS},
    }
    found = {
        "x86-64": machine.lower() in ("x86_64", "amd64"),
        "exec_memory": exec_ok,
        **{name: version is not None for name, version in report["packages"].items()},
        **{tool: path is not None for tool, path in report["toolchain"].items()},
    }
    report["checks"] = {name: {"ok": ok, "needed_for": NEEDS[name]} for name, ok in found.items()}
    report["ok"] = all(found[name] for name in REQUIRED)
    return report


def format_report(report: dict[str, Any]) -> str:
    """The human-readable report: one line per check, then a verdict."""
    plat = report["platform"]
    lines = [
        f"platform     {plat['system']} {plat['machine']}, Python {plat['python']}",
        f"python       {plat['executable']}",
        f"exec memory  {'ok' if report['exec_memory']['ok'] else 'FAILED'}: "
        f"{report['exec_memory']['detail']}",
    ]
    for name, version in report["packages"].items():
        lines.append(f"{name:<12} {version or 'MISSING'}")
    lines.append(f"{'LLVM':<12} {report['llvm'] or 'MISSING'}")
    for tool, path in report["toolchain"].items():
        lines.append(f"{tool:<12} {path or 'not found'}")
    missing = [name for name, check in report["checks"].items() if not check["ok"]]
    for name in missing:
        lines.append(
            f"  {'required' if name in REQUIRED else 'optional'}: {name} - "
            f"{report['checks'][name]['needed_for']}"
        )
    verdict = (
        "ready: the JIT notebooks can run here"
        if report["ok"]
        else ("NOT ready: the JIT notebooks cannot run here")
    )
    return "\n".join([*lines, verdict])


def main(as_json: bool = False) -> int:
    """Print the report; 0 when the JIT notebooks can run."""
    report = diagnose()
    print(json.dumps(report, indent=2) if as_json else format_report(report))
    return 0 if report["ok"] else 1
