"""The x86-64 layer: operands, the instruction table, the encoder and the assembler (notebook 01).

Every register is a module attribute: `from jitkit.x86 import rax, r12d, sil, xmm3`.
"""

from jitkit.x86.assembler import Assembler, Code, Line, Relocation
from jitkit.x86.encoder import Encoding, encode, encode_instruction
from jitkit.x86.operands import (
    REGISTERS,
    Mem,
    Reg,
    byte,
    dword,
    gpr,
    mem,
    qword,
    word,
    xmm,
    xmmword,
)
from jitkit.x86.table import CONDITIONS, FORMS, ROWS, Form

globals().update(REGISTERS)

__all__ = [
    "Assembler",
    "Code",
    "Line",
    "Relocation",
    "CONDITIONS",
    "FORMS",
    "REGISTERS",
    "ROWS",
    "Encoding",
    "Form",
    "Mem",
    "Reg",
    "byte",
    "dword",
    "encode",
    "encode_instruction",
    "gpr",
    "mem",
    "qword",
    "word",
    "xmm",
    "xmmword",
    *REGISTERS,
]
