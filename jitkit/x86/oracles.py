"""Assemblers and disassemblers nobody here wrote, to check ours against (notebook 01).

Takes Intel assembly text or bytes; gives keystone's bytes or capstone's decoding. Both load on
first use: keystone-engine has wheels only for Linux x86-64 and Windows, so elsewhere the kit
still imports and these calls say what is missing.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from jitkit.errors import EncodeError, MissingDependencyError


@functools.cache
def _keystone():
    try:
        import keystone
    except ImportError as exc:  # pragma: no cover - depends on the platform
        raise MissingDependencyError(
            "keystone-engine is not installed; it ships wheels for Linux x86-64 and Windows "
            "only. Checking against keystone needs it; everything else works without it."
        ) from exc
    return keystone.Ks(keystone.KS_ARCH_X86, keystone.KS_MODE_64), keystone.KsError


@functools.cache
def _capstone():
    try:
        import capstone
    except ImportError as exc:  # pragma: no cover - capstone is a required dependency
        raise MissingDependencyError("capstone is not installed: pip install capstone") from exc
    return capstone.Cs(capstone.CS_ARCH_X86, capstone.CS_MODE_64)


def keystone_assemble(text: str, address: int = 0) -> bytes:
    """keystone's bytes for Intel-syntax `text` (one instruction or a program with labels)."""
    ks, error = _keystone()
    try:
        encoding, _count = ks.asm(text, address)
    except error as exc:
        raise EncodeError(f"keystone rejects {text!r}: {exc}") from exc
    return bytes(encoding or b"")


@dataclass(frozen=True)
class Decoded:
    """One instruction as capstone decodes it."""

    address: int
    data: bytes
    mnemonic: str
    op_str: str

    @property
    def text(self) -> str:
        return f"{self.mnemonic} {self.op_str}".strip()


def capstone_disassemble(code: bytes, address: int = 0) -> list[Decoded]:
    """Every instruction capstone finds in `code`, stopping at the first byte it can't decode."""
    return [
        Decoded(i.address, bytes(i.bytes), i.mnemonic, i.op_str)
        for i in _capstone().disasm(code, address)
    ]


_TOKEN = re.compile(r"0x[0-9a-f]+|\d+|[a-z_.][a-z0-9_.]*|\S")


def normalize(text: str, bits: int = 64) -> tuple:
    """Compare-ready Intel text: numbers as values (immediates modulo 2**bits, since capstone
    prints `mov eax, -1` as `0xffffffff`), spacing and hex/decimal spelling ignored."""
    out: list = []
    depth = 0
    for token in _TOKEN.findall(text.lower()):
        depth += token == "["
        depth -= token == "]"
        if token[0].isdigit():
            value = int(token, 0)
            if depth == 0:
                if out and out[-1] == "-":  # a negative immediate
                    out.pop()
                    value = -value
                value %= 2**bits
            out.append(value)
        else:
            out.append(token)
    return tuple(out)
