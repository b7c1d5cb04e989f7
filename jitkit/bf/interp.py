"""Two brainfuck interpreters in Python: one character at a time, and over folded ops
(notebook 06).

Takes source or ops and the input bytes; gives the output bytes. Cells are bytes that wrap;
reading past the end of the input stores 0. Leaving the tape raises BrainfuckError, as the
JIT does, so all three engines agree on every program.
"""

from __future__ import annotations

from jitkit.bf.program import TAPE_SIZE, BrainfuckError, Op, naive_ops, parse


def run_naive(source: str, data: bytes = b"", tape_size: int = TAPE_SIZE) -> bytes:
    """The textbook interpreter: one step per brainfuck character."""
    return _run(naive_ops(source), data, tape_size)


def run_optimized(source: str | list[Op], data: bytes = b"", tape_size: int = TAPE_SIZE) -> bytes:
    """The same loop over folded ops: fewer, bigger steps."""
    return _run(parse(source) if isinstance(source, str) else source, data, tape_size)


def _run(ops: list[Op], data: bytes, tape_size: int) -> bytes:
    tape = bytearray(tape_size)
    out = bytearray()
    p = pc = inp = 0
    end = len(ops)
    while pc < end:
        op = ops[pc]
        kind = op.kind
        if kind == "ADD":
            tape[p] = (tape[p] + op.arg) & 255
        elif kind == "MOVE":
            p += op.arg
            if not 0 <= p < tape_size:
                raise BrainfuckError(f"op {pc} moves the pointer to {p}, off the tape")
        elif kind == "OPEN":
            if not tape[p]:
                pc = op.arg
        elif kind == "CLOSE":
            if tape[p]:
                pc = op.arg
        elif kind == "CLEAR":
            tape[p] = 0
        elif kind == "MULTIPLY":
            _multiply(tape, p, op, pc)
        elif kind == "OUT":
            out.append(tape[p])
        else:  # IN
            tape[p] = data[inp] if inp < len(data) else 0
            inp += 1
        pc += 1
    return bytes(out)


def _multiply(tape: bytearray, p: int, op: Op, pc: int) -> None:
    value = tape[p]
    if value:
        for offset, factor in op.arg:
            if not 0 <= p + offset < len(tape):
                raise BrainfuckError(f"op {pc} reaches cell {p + offset}, off the tape")
            tape[p + offset] = (tape[p + offset] + value * factor) & 255
        tape[p] = 0
