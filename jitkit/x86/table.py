"""The x86-64 instruction forms jitkit can encode, one row each, in the Intel manual's notation
(notebook 01).

Takes nothing in; gives `FORMS`, a mnemonic -> rows mapping read by the encoder, the assembler,
the tests (every row against keystone and capstone) and the docs. A row is
`(mnemonic, operands, encoding)`, e.g. `("add", "r/m64, r64", "REX.W 01 /r")`, with the
notation of the Intel SDM vol. 2, section 3.1: `/r` and `/0`-`/7` the ModRM reg field, `+rd`
a register in the opcode's low bits, `ib/iw/id/io` immediates, `cb/cd` relative offsets.
Rows are tried in order and the first whose operand kinds match wins, so shorter forms
come first (the same choices keystone and GNU as make).
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Condition codes in opcode order (the low nibble of Jcc, SETcc, CMOVcc), named as capstone
# prints them; ALIASES map the other names of the same condition onto these.
CONDITIONS = "o no b ae e ne be a s ns p np l ge le g".split()
ALIASES = {
    "c": "b", "nae": "b", "nb": "ae", "nc": "ae", "z": "e", "nz": "ne", "na": "be", "nbe": "a",
    "pe": "p", "po": "np", "nge": "l", "nl": "ge", "ng": "le", "nle": "g",
}  # fmt: skip


@dataclass(frozen=True)
class Form:
    """One row of the table, with its encoding string parsed into the parts `encode` needs."""

    mnemonic: str
    operands: tuple[str, ...]
    encoding: str
    prefixes: bytes = field(init=False)  # legacy prefixes (66, F2, F3) that precede REX
    rex_w: bool = field(init=False)
    opcode: bytes = field(init=False)
    plus_reg: bool = field(init=False)  # "+rd": register number in the opcode's low 3 bits
    modrm: str | None = field(init=False)  # "r", a digit "0"-"7", or None
    immediates: tuple[str, ...] = field(init=False)  # "ib", "iw", "id", "io", "cb", "cd"
    # where the operands go: the r/m operand, the register operands, the immediates
    rm_at: int | None = field(init=False)
    regs_at: tuple[int, ...] = field(init=False)
    imms_at: tuple[int, ...] = field(init=False)

    def __post_init__(self) -> None:
        prefixes, opcode, immediates = bytearray(), bytearray(), []
        rex_w = plus_reg = False
        modrm = None
        for token in self.encoding.split():
            if token == "REX.W":
                rex_w = True
            elif token.startswith("/"):
                modrm = token[1:]
            elif token in ("ib", "iw", "id", "io", "cb", "cd"):
                immediates.append(token)
            elif token.endswith(("+rd", "+rb", "+rq")):
                opcode.append(int(token[:2], 16))
                plus_reg = True
            elif not opcode and not rex_w and token in ("66", "F2", "F3"):
                prefixes.append(int(token, 16))
            else:
                opcode.append(int(token, 16))
        set_ = object.__setattr__
        set_(self, "prefixes", bytes(prefixes))
        set_(self, "rex_w", rex_w)
        set_(self, "opcode", bytes(opcode))
        set_(self, "plus_reg", plus_reg)
        set_(self, "modrm", modrm)
        set_(self, "immediates", tuple(immediates))
        kinds = self.operands
        set_(self, "rm_at", next((i for i, k in enumerate(kinds) if is_rm(k)), None))
        set_(self, "regs_at", tuple(i for i, k in enumerate(kinds) if is_reg(k)))
        set_(self, "imms_at", tuple(i for i, k in enumerate(kinds) if k.startswith(("imm", "rel"))))

    @property
    def syntax(self) -> str:
        return f"{self.mnemonic} {', '.join(self.operands)}".strip()


def is_rm(kind: str) -> bool:
    """A register-or-memory operand (r/m64, xmm/m64) or a memory operand (m, m64)."""
    return "/m" in kind or kind.startswith("m")


def is_reg(kind: str) -> bool:
    """A register operand named by the ModRM reg field or the opcode's low bits."""
    return kind in ("r64", "r32", "r16", "r8", "xmm")


def _rows() -> list[tuple[str, str, str]]:
    rows: list[tuple[str, str, str]] = []
    add = rows.append

    # --- data movement ------------------------------------------------------------------
    add(("mov", "r/m64, r64", "REX.W 89 /r"))
    add(("mov", "r64, r/m64", "REX.W 8B /r"))
    add(("mov", "r/m64, imm32", "REX.W C7 /0 id"))
    add(("movabs", "r64, imm64", "REX.W B8+rd io"))  # `mov` with an imm64 picks this row too
    add(("mov", "r/m32, r32", "89 /r"))
    add(("mov", "r32, r/m32", "8B /r"))
    add(("mov", "r32, imm32", "B8+rd id"))
    add(("mov", "r/m32, imm32", "C7 /0 id"))
    add(("mov", "r/m8, r8", "88 /r"))
    add(("mov", "r8, r/m8", "8A /r"))
    add(("mov", "r8, imm8", "B0+rb ib"))
    add(("mov", "r/m8, imm8", "C6 /0 ib"))
    add(("lea", "r64, m", "REX.W 8D /r"))
    for name, op in (("movzx", 0xB6), ("movsx", 0xBE)):
        add((name, "r64, r/m8", f"REX.W 0F {op:02X} /r"))
        add((name, "r32, r/m8", f"0F {op:02X} /r"))
        add((name, "r64, r/m16", f"REX.W 0F {op + 1:02X} /r"))
        add((name, "r32, r/m16", f"0F {op + 1:02X} /r"))
    add(("movsxd", "r64, r/m32", "REX.W 63 /r"))
    add(("push", "r64", "50+rd"))
    add(("push", "imm8", "6A ib"))
    add(("push", "imm32", "68 id"))
    add(("push", "r/m64", "FF /6"))
    add(("pop", "r64", "58+rd"))
    add(("pop", "r/m64", "8F /0"))

    # --- integer arithmetic ---------------------------------------------------------------
    for digit, name in enumerate(["add", "or", "adc", "sbb", "and", "sub", "xor", "cmp"]):
        base = digit * 8
        add((name, "r/m64, r64", f"REX.W {base + 1:02X} /r"))
        add((name, "r64, r/m64", f"REX.W {base + 3:02X} /r"))
        add((name, "r/m64, imm8", f"REX.W 83 /{digit} ib"))
        add((name, "rax, imm32", f"REX.W {base + 5:02X} id"))
        add((name, "r/m64, imm32", f"REX.W 81 /{digit} id"))
        add((name, "r/m32, r32", f"{base + 1:02X} /r"))
        add((name, "r32, r/m32", f"{base + 3:02X} /r"))
        add((name, "r/m32, imm8", f"83 /{digit} ib"))
        add((name, "eax, imm32", f"{base + 5:02X} id"))
        add((name, "r/m32, imm32", f"81 /{digit} id"))
        add((name, "r/m8, r8", f"{base:02X} /r"))
        add((name, "r8, r/m8", f"{base + 2:02X} /r"))
        add((name, "al, imm8", f"{base + 4:02X} ib"))
        add((name, "r/m8, imm8", f"80 /{digit} ib"))
    add(("test", "r/m64, r64", "REX.W 85 /r"))
    add(("test", "rax, imm32", "REX.W A9 id"))
    add(("test", "r/m64, imm32", "REX.W F7 /0 id"))
    add(("test", "r/m32, r32", "85 /r"))
    add(("test", "eax, imm32", "A9 id"))
    add(("test", "r/m32, imm32", "F7 /0 id"))
    add(("test", "r/m8, r8", "84 /r"))
    add(("test", "al, imm8", "A8 ib"))
    add(("test", "r/m8, imm8", "F6 /0 ib"))
    add(("imul", "r64, r/m64", "REX.W 0F AF /r"))
    add(("imul", "r64, r/m64, imm8", "REX.W 6B /r ib"))
    add(("imul", "r64, r/m64, imm32", "REX.W 69 /r id"))
    add(("imul", "r32, r/m32", "0F AF /r"))
    for digit, name in ((2, "not"), (3, "neg"), (4, "mul"), (5, "imul"), (6, "div"), (7, "idiv")):
        add((name, "r/m64", f"REX.W F7 /{digit}"))
        add((name, "r/m32", f"F7 /{digit}"))
    add(("inc", "r/m64", "REX.W FF /0"))
    add(("dec", "r/m64", "REX.W FF /1"))
    add(("inc", "r/m32", "FF /0"))
    add(("dec", "r/m32", "FF /1"))
    add(("inc", "r/m8", "FE /0"))
    add(("dec", "r/m8", "FE /1"))
    add(("cqo", "", "REX.W 99"))
    add(("cdq", "", "99"))
    for digit, name in ((4, "shl"), (5, "shr"), (7, "sar")):
        add((name, "r/m64, 1", f"REX.W D1 /{digit}"))
        add((name, "r/m64, imm8", f"REX.W C1 /{digit} ib"))
        add((name, "r/m64, cl", f"REX.W D3 /{digit}"))
        add((name, "r/m32, 1", f"D1 /{digit}"))
        add((name, "r/m32, imm8", f"C1 /{digit} ib"))
        add((name, "r/m32, cl", f"D3 /{digit}"))

    # --- conditions -----------------------------------------------------------------------
    for cc, name in enumerate(CONDITIONS):
        add((f"set{name}", "r/m8", f"0F {0x90 + cc:02X} /0"))
        add((f"cmov{name}", "r64, r/m64", f"REX.W 0F {0x40 + cc:02X} /r"))
        add((f"cmov{name}", "r32, r/m32", f"0F {0x40 + cc:02X} /r"))
        add((f"j{name}", "rel8", f"{0x70 + cc:02X} cb"))
        add((f"j{name}", "rel32", f"0F {0x80 + cc:02X} cd"))

    # --- control flow and system ----------------------------------------------------------
    add(("jmp", "rel8", "EB cb"))
    add(("jmp", "rel32", "E9 cd"))
    add(("jmp", "r/m64", "FF /4"))
    add(("call", "rel32", "E8 cd"))
    add(("call", "r/m64", "FF /2"))
    add(("ret", "", "C3"))
    add(("nop", "", "90"))
    add(("syscall", "", "0F 05"))
    add(("ud2", "", "0F 0B"))
    add(("int3", "", "CC"))

    # --- SSE2 scalar doubles ----------------------------------------------------------------
    add(("movsd", "xmm, xmm/m64", "F2 0F 10 /r"))
    add(("movsd", "m64, xmm", "F2 0F 11 /r"))
    add(("movq", "xmm, m64", "F3 0F 7E /r"))  # the SSE2 forms for memory come first
    add(("movq", "m64, xmm", "66 0F D6 /r"))
    add(("movq", "xmm, r/m64", "66 REX.W 0F 6E /r"))
    add(("movq", "r/m64, xmm", "66 REX.W 0F 7E /r"))
    for name, op in (("addsd", 0x58), ("mulsd", 0x59), ("subsd", 0x5C), ("divsd", 0x5E)):
        add((name, "xmm, xmm/m64", f"F2 0F {op:02X} /r"))
    add(("sqrtsd", "xmm, xmm/m64", "F2 0F 51 /r"))
    add(("ucomisd", "xmm, xmm/m64", "66 0F 2E /r"))
    add(("cvtsi2sd", "xmm, r/m64", "F2 REX.W 0F 2A /r"))
    add(("cvttsd2si", "r64, xmm/m64", "F2 REX.W 0F 2C /r"))
    add(("xorpd", "xmm, xmm/m128", "66 0F 57 /r"))
    add(("movapd", "xmm, xmm/m128", "66 0F 28 /r"))  # a whole-register copy: no merge
    return rows


ROWS: list[Form] = [
    Form(mnemonic, tuple(k.strip() for k in operands.split(",") if k.strip()), encoding)
    for mnemonic, operands, encoding in _rows()
]
FORMS: dict[str, list[Form]] = {}
for _form in ROWS:
    FORMS.setdefault(_form.mnemonic, []).append(_form)
FORMS["mov"].insert(3, FORMS["movabs"][0])  # `mov rax, 2**40` needs the imm64 row
