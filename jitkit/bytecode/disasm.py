"""Disassembler: kit bytecode -> records -> `dis`-style text (notebook 03 interpreters).

In: a `Code`. Out: `instructions(code)`, one `Instruction` record per instruction (like
`dis.get_instructions`), and `format_instruction`, the one formatter that listings, the VM's
trace and error messages share. A listing line copies CPython's `dis` columns:
`  3  >>  L2:  LOAD_LOCAL      0 (n)`.
"""

from __future__ import annotations

from dataclasses import dataclass

from jitkit.bytecode.code import Code
from jitkit.bytecode.opcodes import OPCODES, Op


@dataclass(frozen=True)
class Instruction:
    """One decoded instruction: what `dis.Instruction` gives, for kit bytecode."""

    offset: int
    opname: str
    arg: int | None
    argval: object
    argrepr: str
    line: int | None  # set only where a new source line starts
    label: str | None  # "L1", "L2", ... where some jump lands


def jump_labels(code: Code) -> dict[int, str]:
    """Names L1, L2, ... for jump targets, in code order."""
    targets = sorted({code.args[pc] for pc, op in enumerate(code.ops) if OPCODES[op].jump})
    return {t: f"L{i}" for i, t in enumerate(targets, 1)}


def describe_operand(code: Code, op: Op, arg: int, labels: dict[int, str]) -> tuple[object, str]:
    """The operand's value and how the listing shows it, one rule per operand kind."""
    kind = OPCODES[op].operand
    if kind == "const":
        return code.consts[arg], repr(code.consts[arg])
    if kind == "local":
        return code.varnames[arg], code.varnames[arg]
    if kind == "name":
        return code.names[arg], code.names[arg]
    if kind == "global":
        return code.globals[arg], code.globals[arg]
    if kind == "jump":
        return arg, f"to {labels.get(arg, arg)}"
    return arg, ""


def instructions(code: Code) -> list[Instruction]:
    """Why: records first, formatting second, so notebooks and tests can use the data."""
    labels = jump_labels(code)
    records, last_line = [], None
    for pc, (op, arg) in enumerate(zip(code.ops, code.args, strict=True)):
        op = Op(op)
        has_arg = OPCODES[op].operand != "none"
        argval, argrepr = describe_operand(code, op, arg, labels) if has_arg else (None, "")
        line = code.lines[pc] if code.lines[pc] != last_line else None
        last_line = code.lines[pc]
        records.append(
            Instruction(
                pc, op.name, arg if has_arg else None, argval, argrepr, line, labels.get(pc)
            )
        )
    return records


def format_instruction(ins: Instruction, *, show_offset: bool = False) -> str:
    """One listing line: line, jump mark, label, opname, raw operand, (resolved value)."""
    line = "" if ins.line is None else str(ins.line)
    mark = ">>" if ins.label else "  "
    label = f"{ins.label}:" if ins.label else ""
    offset = f"{ins.offset:>4} " if show_offset else ""
    text = f"{line:>3}  {mark}  {label:<4} {offset}{ins.opname:<15}"
    if ins.arg is not None:
        text += f"{ins.arg:>2}" + (f" ({ins.argrepr})" if ins.argrepr else "")
    return text.rstrip()


def dis(code: Code, *, show_offset: bool = False) -> str:
    """Why: the listing learners compare with `dis.dis`; a blank line before each new line.
    `jitkit.bytecode.assemble` parses it back (the header names the parameters for that)."""
    params = ", ".join(code.varnames[: code.argcount])
    out = [f"Disassembly of {code.name}({params}):"]
    for ins in instructions(code):
        if ins.line is not None and ins.offset:
            out.append("")
        out.append(format_instruction(ins, show_offset=show_offset))
    return "\n".join(out)


def code_info(code: Code) -> str:
    """Constants, locals and names as numbered lists, to look operands up (like `dis`)."""
    parts = [
        f"Name:              {code.name}",
        f"Argument count:    {code.argcount}",
        f"Stack size:        {code.stacksize}",
    ]
    for title, items in (
        ("Constants", code.consts),
        ("Variable names", code.varnames),
        ("Names", code.names),
        *([("Global names", code.globals)] if code.globals else []),
    ):
        parts.append(f"{title}:")
        parts += [
            f"{i:>5}: {v!r}" if title == "Constants" else f"{i:>5}: {v}"
            for i, v in enumerate(items)
        ]
    return "\n".join(parts)
