"""The program suite's files, and which engine runs which part of the subset: the one table the
differential tests read (issue #17: floats and lists; #16: module-level names, "globals").

A program file names what it uses in a `# features: floats lists` line. For each engine a
feature is NATIVE (compiled or interpreted by the engine itself), VM (the engine leaves the
functions that use it to the VM, its exact fallback) or REFUSED (not taught to it yet: loading
must raise UnsupportedError, or the program must run exactly as in CPython). A back end that
learns a feature flips its row here, and the suite then holds it to CPython's results.
"""

from __future__ import annotations

import ast
import re

from jitkit.bench import kernel_source

NATIVE, VM, REFUSED = "native", "vm", "refused"
FEATURES = ("floats", "lists", "globals")

SUPPORT: dict[str, dict[str, str]] = {
    "cpython": {"floats": NATIVE, "lists": NATIVE, "globals": NATIVE},
    "treewalk": {"floats": NATIVE, "lists": NATIVE, "globals": NATIVE},
    "vm-ast": {"floats": NATIVE, "lists": NATIVE, "globals": NATIVE},
    "vm-dis": {"floats": NATIVE, "lists": NATIVE, "globals": NATIVE},
    "stack": {"floats": NATIVE, "lists": VM, "globals": VM},
    "ssa": {"floats": NATIVE, "lists": VM, "globals": VM},
    "auto": {"floats": NATIVE, "lists": VM, "globals": VM},
    "llvm": {"floats": NATIVE, "lists": NATIVE, "globals": NATIVE},
    "hostc": {"floats": NATIVE, "lists": NATIVE, "globals": NATIVE},
}

DECLARATION = re.compile(r"^# features:(.*)$", re.MULTILINE)


def features(source: str) -> set[str]:
    """The features a program declares in its `# features:` line (none if it has none)."""
    declared = {word for line in DECLARATION.findall(source) for word in line.split()}
    unknown = declared - set(FEATURES)
    assert not unknown, f"unknown features {unknown}; known: {FEATURES}"
    return declared


def refused(engine: str, used: set[str]) -> bool:
    """May `engine` refuse (UnsupportedError at load time) a program using `used`?"""
    return any(SUPPORT[engine][f] == REFUSED for f in used)


def kernel_function(name: str) -> str:
    """One benchmark kernel's source, from `jitkit/kernels/kernels.py` (the one copy), for tests
    that run it beside functions of their own."""
    source = kernel_source()
    fn = next(
        node
        for node in ast.parse(source).body
        if isinstance(node, ast.FunctionDef) and node.name == name
    )
    return ast.get_source_segment(source, fn) + "\n"
