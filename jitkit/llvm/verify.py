"""IR verification with readable errors (notebook 08 LLVM mini compiler).

In: LLVM IR as text or an `llvmlite.ir.Module`. Out: a verified `llvmlite.binding.ModuleRef`,
or a `jitkit.errors.VerifyError` whose message quotes the IR line LLVM complained about.
"""

from __future__ import annotations

import re

import llvmlite.binding as llvm
from llvmlite import ir

from jitkit.errors import VerifyError
from jitkit.llvm.target import initialize_native


def parse_ir(module: ir.Module | str) -> llvm.ModuleRef:
    """Why: llvmlite builds IR as text; LLVM must parse it back before anything else."""
    initialize_native()
    text = str(module)
    try:
        return llvm.parse_assembly(text)
    except RuntimeError as e:
        raise VerifyError(describe(str(e), text)) from None


def verify_ir(module: ir.Module | str) -> llvm.ModuleRef:
    """Parse and verify; a malformed module is a VerifyError naming the offending line."""
    ref = parse_ir(module)
    try:
        ref.verify()
    except RuntimeError as e:
        raise VerifyError(describe(str(e), str(module))) from None
    return ref


def describe(message: str, text: str) -> str:
    """LLVM's message plus the IR line it points at (by number or by quoted instruction)."""
    message = message.strip()
    lines = text.splitlines()
    found = re.search(r"<string>:(\d+):(\d+)", message)
    if found and 0 < int(found.group(1)) <= len(lines):
        return f"{message}\n  IR line {found.group(1)}: {lines[int(found.group(1)) - 1].strip()}"
    for quoted in re.findall(r"^\s+(%.*|call .*|ret .*|br .*|store .*)$", message, re.M):
        for number, line in enumerate(lines, 1):
            if line.strip() == quoted.strip():
                return f"{message}\n  IR line {number}: {line.strip()}"
    return message
