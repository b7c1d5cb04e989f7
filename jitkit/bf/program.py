"""Brainfuck programs as a list of folded operations (notebook 06).

Takes brainfuck source; gives `Op`s in which runs are folded (`+++` is one ADD 3), `[-]` is
one CLEAR, and loops that only move values (`[->+>++<<]`) are one MULTIPLY: the same
"find the bigger operation" step every optimizing interpreter and JIT starts with. Brackets
are matched here, so no later stage meets an unbalanced program.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from jitkit.errors import JitkitError

TAPE_SIZE = 30_000


class BrainfuckError(JitkitError):
    """Unbalanced brackets, or a run that leaves the tape."""


@dataclass(frozen=True)
class Op:
    """One folded operation. `arg` is the count (ADD, MOVE), the matching bracket's index
    (OPEN, CLOSE), or for MULTIPLY the (offset, factor) pairs of the loop's targets."""

    kind: str  # ADD MOVE OUT IN OPEN CLOSE CLEAR MULTIPLY
    arg: object = 0
    offset: int = field(default=0, compare=False)  # position in the source, for errors

    def __str__(self) -> str:
        if self.kind == "MULTIPLY":
            pairs = ", ".join(f"p[{o:+d}] += p*{f}" for o, f in self.arg)
            return f"MULTIPLY   {pairs}; p = 0"
        if self.kind in ("ADD", "MOVE", "OPEN", "CLOSE"):
            return f"{self.kind:<10} {self.arg}"
        return self.kind


def naive_ops(source: str) -> list[Op]:
    """One op per brainfuck character (comments dropped), brackets matched."""
    kinds = {"+": "ADD", "-": "ADD", ">": "MOVE", "<": "MOVE", ".": "OUT", ",": "IN"}
    ops: list[Op] = []
    for pos, ch in enumerate(source):
        if ch in kinds:
            ops.append(Op(kinds[ch], -1 if ch in "-<" else 1, pos))
        elif ch in "[]":
            ops.append(Op("OPEN" if ch == "[" else "CLOSE", 0, pos))
    return match_brackets(ops, source)


def parse(source: str) -> list[Op]:
    """Folded ops: runs of +- and <> merged, clear loops and multiply loops recognised."""
    folded: list[Op] = []
    opens: list[int] = []  # where each loop still open starts in `folded`
    for op in naive_ops(source):
        last = folded[-1] if folded else None
        if op.kind in ("ADD", "MOVE") and last is not None and last.kind == op.kind:
            total = last.arg + op.arg
            folded.pop()
            if total:
                folded.append(Op(op.kind, total, last.offset))
            continue
        if op.kind == "OPEN":
            opens.append(len(folded))
        folded.append(Op(op.kind, 0, op.offset) if op.kind in ("OPEN", "CLOSE") else op)
        if op.kind == "CLOSE":
            _fold_loop(folded, opens.pop())
    return match_brackets(folded, source)


def _fold_loop(ops: list[Op], start: int) -> None:
    """Replace the loop ops[start:] that just closed by CLEAR or MULTIPLY when it only shuffles
    values: its body is ADDs and MOVEs, it ends where it started, and adds -1 to its own cell."""
    body = ops[start + 1 : -1]
    if not all(op.kind in ("ADD", "MOVE") for op in body):
        return
    position, deltas = 0, {}
    for op in body:
        if op.kind == "MOVE":
            position += op.arg
        else:
            deltas[position] = deltas.get(position, 0) + op.arg
    if position != 0 or deltas.get(0, 0) % 256 != 255:
        return
    targets = tuple((o, f % 256) for o, f in sorted(deltas.items()) if o != 0 and f % 256)
    offset = ops[start].offset
    del ops[start:]
    ops.append(Op("MULTIPLY", targets, offset) if targets else Op("CLEAR", 0, offset))


def match_brackets(ops: list[Op], source: str) -> list[Op]:
    """Fill each OPEN/CLOSE with the index of its partner; name the line of a stray one."""
    out, stack = list(ops), []
    for i, op in enumerate(out):
        if op.kind == "OPEN":
            stack.append(i)
        elif op.kind == "CLOSE":
            if not stack:
                raise BrainfuckError(f"unmatched ']' at {_where(source, op.offset)}")
            j = stack.pop()
            out[j] = Op("OPEN", i, out[j].offset)
            out[i] = Op("CLOSE", j, op.offset)
    if stack:
        raise BrainfuckError(f"unmatched '[' at {_where(source, out[stack[-1]].offset)}")
    return out


def _where(source: str, offset: int) -> str:
    line = source.count("\n", 0, offset) + 1
    col = offset - (source.rfind("\n", 0, offset) + 1) + 1
    return f"line {line}, col {col}"


def listing(ops: list[Op]) -> str:
    """The folded program, indented by loop depth, one op per line."""
    out, depth = [], 0
    for i, op in enumerate(ops):
        depth -= op.kind == "CLOSE"
        out.append(f"{i:5d}  {'  ' * depth}{op}")
        depth += op.kind == "OPEN"
    return "\n".join(out)
