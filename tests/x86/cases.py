"""Operand sets for differential tests: every register, awkward bases and indexes, and the
boundary immediates and displacements, for each operand kind of the table."""

from __future__ import annotations

import itertools

from jitkit.errors import EncodeError
from jitkit.x86 import Mem, gpr, xmm
from jitkit.x86.encoder import find_form
from jitkit.x86.operands import REGISTERS
from jitkit.x86.table import Form

BOUNDARY_DISPS = [0, -128, 127, -(2**31), 2**31 - 1, 128, -129]
BOUNDARY_IMMS = [0, 1, -1, -128, 127, 128, -129, 255, -(2**31), 2**31 - 1, 2**31, 2**32 - 1]
IMM64 = [2**32, -(2**31) - 1, 2**63 - 1, -(2**63), 2**64 - 1, 0x1122334455667788]


def addresses(bits: int) -> list[Mem]:
    """Every base register at every boundary displacement, every index at every scale,
    no base at all, and rip-relative: the cases where x86 addressing is irregular."""
    rip = REGISTERS["rip"]
    out = [Mem(bits, gpr(b), None, 1, d) for b in range(16) for d in BOUNDARY_DISPS]
    out += [Mem(bits, gpr(b), gpr(i), s, 8) for b in (0, 4, 5, 12, 13) for i in range(16) if i != 4
            for s in (1, 8)]  # fmt: skip
    out += [Mem(bits, gpr(b), gpr(9), s, 0) for b in range(16) for s in (2, 4)]
    out += [Mem(bits, None, gpr(i), s, d) for i in (0, 5, 13, 15) for s in (1, 8) for d in (0, -8)]
    out += [Mem(bits, rip, None, 1, d) for d in BOUNDARY_DISPS]
    return out


def candidates(kind: str, form: Form) -> list:
    """Operands that might fill `kind`; `cases` keeps those that select this row."""
    if kind in ("r64", "r32", "r16", "r8"):
        return [gpr(c, int(kind[1:])) for c in range(16)]
    if kind.startswith("r/m"):
        bits = int(kind[3:])
        return [gpr(c, bits) for c in range(16)] + addresses(bits)
    if kind == "m":
        return addresses(0) + addresses(64)[::7]
    if kind.startswith("m"):
        return addresses(int(kind[1:]))
    if kind == "xmm":
        return [xmm(c) for c in range(16)]
    if kind.startswith("xmm/m"):
        return [xmm(c) for c in range(16)] + addresses(int(kind[5:]))
    if kind in ("rax", "eax", "al", "cl"):
        return [REGISTERS[kind]]
    if kind == "1":
        return [1]
    if kind.startswith("imm"):
        return BOUNDARY_IMMS + (IMM64 if kind == "imm64" else [])
    raise AssertionError(f"no candidates for operand kind {kind!r}")


def cases(form: Form) -> list[tuple]:
    """Operand tuples the encoder maps to exactly this row. Register pairs are all 16x16;
    a memory operand is paired with a spread of registers; immediates with a few operands."""
    pools = [candidates(kind, form) for kind in form.operands]
    if not pools:
        return [()]
    combos: list[tuple] = []
    regs_only = [[op for op in pool if not isinstance(op, Mem)] for pool in pools]
    combos += itertools.product(*regs_only)  # every register (pair)
    for i, pool in enumerate(pools):  # every address, with a spread of the other operands
        mems = [op for op in pool if isinstance(op, Mem)]
        others = [p[:: max(1, len(p) // 4)] if j != i else mems for j, p in enumerate(regs_only)]
        if mems:
            combos += itertools.product(*others)
    chosen = []
    for ops in dict.fromkeys(combos):
        try:
            if find_form(form.mnemonic, ops) is form:
                chosen.append(ops)
        except EncodeError:
            continue
    return chosen
