"""The SSA IR's data types: functions, blocks, instructions, values (notebook 07).

Takes nothing; gives the classes the parser builds, the passes rewrite and the printer
writes. Values carry QBE's sigils: `Temp("x")` prints `%x`, `Global("f")` prints `$f`, a
`Const` is a plain integer, or a double written QBE's way (`d_1.5`, `d_-0.0`, `d_nan`).
A block is a label, its phis, its instructions and exactly one terminator. An instruction
that may deoptimize carries a `Deopt`: the bytecode offset to resume at, and the values of
the interpreter's locals and operand stack there.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Temp:
    """An SSA temporary, defined exactly once."""

    name: str

    def __str__(self) -> str:
        return f"%{self.name}"


@dataclass(frozen=True, eq=False)
class Const:
    """An integer constant (a bool is 0 or 1) or a double. Equal means the same type and the
    same bits: 1.0 is not 1, -0.0 is not 0.0, and a NaN is itself (passes compare operands
    by `==`, so Python's float equality would merge values that differ)."""

    value: int | float

    def key(self) -> tuple[type, int]:
        v = self.value
        return (float, double_bits(v)) if isinstance(v, float) else (int, v)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Const) and self.key() == other.key()

    def __hash__(self) -> int:
        return hash(self.key())

    def __str__(self) -> str:
        return f"d_{self.value!r}" if isinstance(self.value, float) else str(self.value)


def double_bits(x: float) -> int:
    """The IEEE 754 bits of a double, as the signed int64 a register word holds."""
    return struct.unpack("<q", struct.pack("<d", x))[0]


def bits_double(word: int) -> float:
    """The double whose bits are the int64 `word` (the inverse of `double_bits`)."""
    return struct.unpack("<d", struct.pack("<q", word))[0]


@dataclass(frozen=True)
class Global:
    """A function or global symbol, by name."""

    name: str

    def __str__(self) -> str:
        return f"${self.name}"


Value = Temp | Const | Global


@dataclass
class Deopt:
    """Where the interpreter resumes if a guard fails: bytecode offset, locals, operand stack."""

    offset: int
    locals: list[Value] = field(default_factory=list)
    stack: list[Value] = field(default_factory=list)

    def __str__(self) -> str:
        loc = ", ".join(map(str, self.locals))
        stk = ", ".join(map(str, self.stack))
        return f"deopt {self.offset} locals({loc}) stack({stk})"


@dataclass
class Instr:
    """`result =type op args`; `labels` are branch targets (jmp, br) or a phi's predecessors,
    parallel to its args."""

    op: str
    args: list[Value] = field(default_factory=list)
    result: Temp | None = None
    type: str | None = None
    labels: list[str] = field(default_factory=list)
    deopt: Deopt | None = None

    def uses(self) -> Iterator[Value]:
        """Every operand, deopt state included (it keeps values alive too)."""
        yield from self.args
        if self.deopt is not None:
            yield from self.deopt.locals
            yield from self.deopt.stack

    def replace_uses(self, f: Callable[[Value], Value]) -> None:
        """Rewrite every operand through `f` (deopt state included)."""
        self.args = [f(a) for a in self.args]
        if self.deopt is not None:
            self.deopt.locals = [f(v) for v in self.deopt.locals]
            self.deopt.stack = [f(v) for v in self.deopt.stack]

    def phi_value(self, label: str) -> Value:
        return self.args[self.labels.index(label)]

    def __str__(self) -> str:
        from jitkit.ssa.text import format_instr

        return format_instr(self)


@dataclass
class Block:
    """A label, then phis, then instructions, then one terminator."""

    label: str
    phis: list[Instr] = field(default_factory=list)
    body: list[Instr] = field(default_factory=list)
    term: Instr | None = None

    def instrs(self) -> Iterator[Instr]:
        """Phis, body and terminator, in order."""
        yield from self.phis
        yield from self.body
        if self.term is not None:
            yield self.term

    def successors(self) -> list[str]:
        return list(self.term.labels) if self.term is not None else []


@dataclass
class Function:
    """`function type $name(params) { blocks }`; the first block is the entry."""

    name: str
    params: list[tuple[str, Temp]]
    ret: str
    blocks: list[Block] = field(default_factory=list)

    def block(self, label: str) -> Block:
        for b in self.blocks:
            if b.label == label:
                return b
        raise KeyError(label)

    def blockmap(self) -> dict[str, Block]:
        return {b.label: b for b in self.blocks}

    def instrs(self) -> Iterator[tuple[Block, Instr]]:
        for b in self.blocks:
            for i in b.instrs():
                yield b, i

    def replace_uses(self, mapping: dict[Temp, Value]) -> None:
        """Substitute values everywhere, following chains (`%a -> %b -> 3`)."""

        def resolve(v: Value) -> Value:
            seen = 0
            while isinstance(v, Temp) and v in mapping and seen <= len(mapping):
                v, seen = mapping[v], seen + 1
            return v

        for _, i in self.instrs():
            i.replace_uses(resolve)

    def fresh(self, hint: str = "t") -> Temp:
        """A temporary name not used yet in this function."""
        taken = {p.name for _, p in self.params}
        taken |= {i.result.name for _, i in self.instrs() if i.result is not None}
        n = 0
        while f"{hint}{n}" in taken:
            n += 1
        return Temp(f"{hint}{n}")

    def fresh_label(self, hint: str) -> str:
        taken = {b.label for b in self.blocks}
        n = 0
        while f"{hint}{n}" in taken:
            n += 1
        return f"{hint}{n}"

    def __str__(self) -> str:
        from jitkit.ssa.text import format

        return format(self)
