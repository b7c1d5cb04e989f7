"""`python -m jitkit doctor`: can this machine run the JIT notebooks? (notebook 00)

Takes nothing; gives a report of the platform, an executable-memory probe, the versions of
the native packages, which toolchain programs are on PATH, and whether every tier works. The
memory probe maps `mov eax, 42; ret` read-write, flips it to read-execute and calls it using
only ctypes, not `jitkit.native`, so it checks the machine, not the kit. The tier probe then
checks the kit: each tier of `jitkit.tiers.TIERS` compiles and runs a small program and must
give CPython's results. Every probe runs in a child Python, so a crash cannot kill the caller.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import sysconfig
import time
from importlib import metadata
from pathlib import Path
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

# Loops, a call, a branch, and a product past 2**63 that every tier must keep exact.
TIER_PROGRAM = """
def square(x):
    return x * x


def sum_squares(n):
    total = 0
    for i in range(n):
        if i % 3 != 0:
            total += square(i)
    return total


def power(base, exponent):
    result = 1
    while exponent > 0:
        result = result * base
        exponent -= 1
    return result
"""
TIER_CALLS = (("sum_squares", 10), ("sum_squares", 1000), ("power", 3, 50))

TIER_PROBE = f"""
import json, sys
from jitkit.tiers import load
program = load({TIER_PROGRAM!r}, sys.argv[1])
print(json.dumps([program.call(*call) for call in {TIER_CALLS!r}]))
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
    "treewalk": "notebook 03 interprets the kit's Python subset",
    "interp": "notebook 03 runs kit bytecode on the VM",
    "stack": "notebook 05 compiles bytecode with the template JIT",
    "auto": "notebook 05 tiers up from the VM as functions get hot",
    "ssa": "notebook 07 compiles through SSA",
    "llvm": "notebook 08 compiles through LLVM",
    "hostc": "notebook 04 compiles generated C with cc (optional)",
}
OPTIONAL_TIERS = ("hostc",)  # needs a C compiler, as cc is optional


def required(check: str) -> bool:
    """Whether the JIT notebooks cannot run without this check passing."""
    optional = {"keystone", *TOOLS, *OPTIONAL_TIERS}
    return check not in optional


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


def probe_tiers(timeout: float = 120) -> dict[str, dict[str, Any]]:
    """tier -> {"ok", "detail"}: each tier runs TIER_PROGRAM's calls in its own
    child Python (all at once) and must give CPython's results, computed here."""
    try:
        from jitkit.tiers import TIERS
    except Exception as error:  # a kit that does not import has no tier that works
        return {"tiers": {"ok": False, "detail": f"jitkit.tiers: {error!r}"}}
    namespace: dict[str, Any] = {}
    exec(TIER_PROGRAM, namespace)
    expected = [namespace[name](*args) for name, *args in TIER_CALLS]
    env = dict(os.environ)
    kit = str(Path(__file__).resolve().parent.parent)  # the children import this jitkit
    if kit not in {sysconfig.get_path("purelib"), sysconfig.get_path("platlib")}:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [kit, env.get("PYTHONPATH")]))
    start = time.perf_counter()
    children = {
        tier: subprocess.Popen(
            [sys.executable, "-c", TIER_PROBE, tier],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for tier in TIERS
    }
    results = {}
    for tier, child in children.items():
        try:
            out, err = child.communicate(timeout=max(1.0, start + timeout - time.perf_counter()))
        except subprocess.TimeoutExpired:
            child.kill()
            child.communicate()
            results[tier] = {"ok": False, "detail": f"did not finish in {timeout:g}s"}
            continue
        results[tier] = tier_verdict(child.returncode, out, err, expected)
    return results


def tier_verdict(returncode: int, out: str, err: str, expected: list[int]) -> dict[str, Any]:
    """Judge one tier's child: it must exit 0 and print CPython's results."""
    if returncode < 0:
        return {"ok": False, "detail": f"killed by signal {-returncode}"}
    if returncode != 0:
        return {"ok": False, "detail": (err.strip().splitlines() or ["no message"])[-1]}
    try:
        got = json.loads(out)
    except ValueError:
        return {"ok": False, "detail": f"printed {out.strip()[:80]!r}, not results"}
    if got != expected:
        return {"ok": False, "detail": f"gave {got}, CPython gives {expected}"}
    return {"ok": True, "detail": "CPython's results"}


def package_version(module: str) -> str | None:
    """The installed distribution version, or None when the module does not import."""
    try:
        __import__(module)
    except Exception:  # ImportError, or a package that is there but broken
        return None
    try:
        return metadata.version(PACKAGES[module])
    except metadata.PackageNotFoundError:
        return "unknown"


def llvm_version() -> str | None:
    """The LLVM inside llvmlite, e.g. "20.1.8"."""
    try:
        from llvmlite import binding
    except Exception:
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
        "tiers": probe_tiers(),
    }
    found = {
        "x86-64": machine.lower() in ("x86_64", "amd64"),
        "exec_memory": exec_ok,
        **{name: version is not None for name, version in report["packages"].items()},
        **{tool: path is not None for tool, path in report["toolchain"].items()},
        **{tier: result["ok"] for tier, result in report["tiers"].items()},
    }
    report["checks"] = {
        name: {"ok": ok, "required": required(name), "needed_for": NEEDS.get(name, "the tiers")}
        for name, ok in found.items()
    }
    report["ok"] = all(ok for name, ok in found.items() if required(name))
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
    calls = ", ".join(f"{name}{tuple(args)}".replace(",)", ")") for name, *args in TIER_CALLS)
    lines.append(f"tiers        {calls} in a child Python per tier:")
    for tier, result in report["tiers"].items():
        status = "ok" if result["ok"] else "FAILED"
        lines.append(f"  {tier:<10} {status}: {result['detail']}")
    missing = [name for name, check in report["checks"].items() if not check["ok"]]
    for name in missing:
        check = report["checks"][name]
        kind = "required" if check["required"] else "optional"
        lines.append(f"  {kind}: {name} - {check['needed_for']}")
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
