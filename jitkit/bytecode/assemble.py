"""Assembler: `dis`-style listing text -> kit code objects (notebook 03 interpreters).

In: the text `disasm.dis` prints (or one written by hand in the same form). Out: a verified
`Code` per function, so `parse(dis(code))` gives `code` back and notebooks and exercises can
write bytecode by hand. A malformed line raises `VerifyError` naming its line number; the
verifier then checks the code as it checks every other front end's.

The form, one function after another:

    Disassembly of countdown(n):
      2  >>  L1:  LOAD_LOCAL      0 (n)
                  JUMP_IF_FALSE   6 (to L2)
      3           LOAD_LOCAL      0 (n)
                  ...
      4  >>  L2:  LOAD_CONST      1 (None)
                  RETURN

- The header names the function and its parameters (the first locals, in order).
- An instruction line is `[line] [>>] [label:] OPNAME [index] [(value)]`. A line number
  holds until the next one; `>>` is decoration; a label is any `name:`.
- Operands as the listing shows them: a constant `0 (None)` (the value is a Python literal),
  a local `0 (n)`, a callee `0 (fib)`, a module global `0 (LIMIT)`, a jump `6 (to L2)`, a
  count or stack depth `2`. By hand the index may be left out (`LOAD_CONST (2)`, `JUMP (to
  L2)`): constants, locals, callees and globals then get the next free index in order of
  first use. The module's global names are gathered from all its functions' operands.
- Blank lines and lines starting with `#` are skipped. (Listings printed with
  `show_offset=True` are for reading only.)
Every local, constant and callee a function has must appear in its header or an operand
(true of all code from the compilers): the listing has nowhere else to say it.
"""

from __future__ import annotations

import ast
import re

from jitkit.bytecode.code import Code
from jitkit.bytecode.opcodes import OPCODES, Op
from jitkit.bytecode.verify import verify, verify_module
from jitkit.errors import VerifyError

HEADER = re.compile(r"^Disassembly of (?P<name>[^\s(]+)\((?P<params>[^)]*)\):\s*$")
INSTRUCTION = re.compile(
    r"^\s*(?P<line>\d+)?\s*(?:>>)?\s*(?:(?P<label>[A-Za-z_]\w*):)?\s*"
    r"(?P<opname>[A-Z][A-Z_]*)(?:\s+(?P<index>-?\d+))?\s*(?:\((?P<value>.*)\))?\s*$"
)
POOLS = {"const": "consts", "local": "varnames", "name": "names", "global": "globals"}


FLOAT_WORDS = {"inf", "-inf", "nan"}


class Pool:
    """One of a function's tables (constants, locals, callees) rebuilt from operands."""

    def __init__(self, items: list[object] | None = None) -> None:
        self.slots: dict[int, object] = dict(enumerate(items or []))

    def key(self, value: object) -> tuple[str, str]:
        return type(value).__name__, repr(value)  # 1 and True stay distinct, as in CodeBuilder

    def place(self, index: int | None, value: object) -> int:
        """The index of `value`: the one given (checked), else its earlier one, else the next."""
        if index is None:
            found = [i for i, v in self.slots.items() if self.key(v) == self.key(value)]
            index = found[0] if found else max(self.slots, default=-1) + 1
        if index < 0:
            raise ValueError(f"negative index {index}")
        if index in self.slots and self.key(self.slots[index]) != self.key(value):
            raise ValueError(f"index {index} is {self.slots[index]!r} elsewhere, not {value!r}")
        self.slots[index] = value
        return index

    def items(self) -> list[object]:
        missing = sorted(set(range(max(self.slots, default=-1) + 1)) - set(self.slots))
        if missing:
            raise ValueError(f"index {missing[0]} is never shown, so its value is unknown")
        return [self.slots[i] for i in range(len(self.slots))]


class FunctionParser:
    """Reads one function's listing, line by line (`at` numbers lines in the whole text)."""

    def __init__(self, name: str, params: list[str], filename: str, globals: Pool) -> None:
        self.code = Code(name, len(params), [], filename=filename)
        self.pools = {"const": Pool(), "local": Pool(params), "name": Pool(), "global": globals}
        self.labels: dict[str, int] = {}
        self.jumps: list[tuple[int, int, str, int | None]] = []  # (pc, at, label, index)
        self.line = 1

    # [line] [>>] [label:] OPNAME [index] [(value)]
    def parse_instruction(self, at: int, text: str) -> None:
        m = INSTRUCTION.match(text)
        if m is None:
            raise VerifyError(f"line {at}: not an instruction: {text.strip()!r}")
        if m["opname"] not in Op.__members__:
            raise VerifyError(f"line {at}: unknown opcode {m['opname']!r}")
        op, pc = Op[m["opname"]], len(self.code.ops)
        if m["line"]:
            self.line = int(m["line"])
        if m["label"]:
            if m["label"] in self.labels:
                raise VerifyError(f"line {at}: label {m['label']!r} defined twice")
            self.labels[m["label"]] = pc
        index = int(m["index"]) if m["index"] is not None else None
        self.code.ops.append(op)
        self.code.args.append(self.parse_operand(at, op, index, m["value"], pc))
        self.code.lines.append(self.line)

    def parse_operand(self, at: int, op: Op, index: int | None, value: str | None, pc: int) -> int:
        """The instruction's int operand, one rule per operand kind (as `describe_operand`)."""
        kind = OPCODES[op].operand
        if kind == "none":
            if index is not None or value is not None:
                raise VerifyError(f"line {at}: {op.name} takes no operand")
            return 0
        if kind == "jump":
            label = value[3:].strip() if value and value.startswith("to ") else None
            if value is not None and label is None:
                raise VerifyError(f"line {at}: a jump operand reads '(to LABEL)', not {value!r}")
            if label is None and index is None:
                raise VerifyError(f"line {at}: {op.name} needs a target")
            if label is not None:
                self.jumps.append((pc, at, label, index))
            return index if index is not None else -1
        if kind in POOLS:
            if value is None:
                raise VerifyError(f"line {at}: {op.name} needs its value in parentheses")
            try:
                item = self.parse_value(kind, value)
                return self.pools[kind].place(index, item)
            except ValueError as e:
                raise VerifyError(f"line {at}: {POOLS[kind]}: {e}") from None
        if index is None:  # count, depth
            raise VerifyError(f"line {at}: {op.name} needs a number")
        return index

    def parse_value(self, kind: str, text: str) -> object:
        if kind == "const":
            if text in FLOAT_WORDS:  # repr of a float that is no Python literal
                return float(text)
            try:
                return ast.literal_eval(text)
            except (ValueError, SyntaxError):
                raise ValueError(f"{text!r} is not a Python literal") from None
        if not text or any(c.isspace() for c in text):
            raise ValueError(f"{text!r} is not a name")  # hidden locals read `.range0.i`
        return text

    def finish(self) -> Code:
        """Resolve labels and rebuild the tables."""
        for pc, at, label, index in self.jumps:
            if label not in self.labels:
                raise VerifyError(f"line {at}: no label {label!r} in {self.code.name}")
            if index is not None and index != self.labels[label]:
                raise VerifyError(f"line {at}: {label} is instruction {self.labels[label]}")
            self.code.args[pc] = self.labels[label]
        for kind, attr in POOLS.items():
            if kind == "global":
                continue  # the module's, set when every function is read
            try:
                setattr(self.code, attr, self.pools[kind].items())
            except ValueError as e:
                raise VerifyError(f"{self.code.name}: {attr}: {e}") from None
        self.code.firstlineno = self.code.lines[0] if self.code.lines else 0
        return self.code


def parse_functions(text: str, filename: str, check: bool) -> dict[str, Code]:
    """Each function of the text, each verified on its own when `check`."""
    codes = parse_listing(text, filename)
    if check:
        for code in codes.values():
            verify(code)
    return codes


def parse_listing(text: str, filename: str) -> dict[str, Code]:
    """Each function of the text, its tables rebuilt from its operands; the module's global
    names from every function's (one table, so a listing shows each function's own only)."""
    codes: dict[str, Code] = {}
    globals = Pool()
    current: FunctionParser | None = None
    for at, raw in enumerate(text.splitlines(), 1):
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        header = HEADER.match(raw.strip())
        if header:
            if current is not None:
                codes[current.code.name] = current.finish()
            params = [p.strip() for p in header["params"].split(",") if p.strip()]
            current = FunctionParser(header["name"], params, filename, globals)
            if current.code.name in codes:
                raise VerifyError(f"line {at}: function {current.code.name!r} defined twice")
        elif current is None:
            raise VerifyError(f"line {at}: expected 'Disassembly of NAME(PARAMS):' first")
        else:
            current.parse_instruction(at, raw)
    if current is None:
        raise VerifyError("no 'Disassembly of NAME(PARAMS):' header: no function")
    codes[current.code.name] = current.finish()
    try:
        names = globals.items()
    except ValueError as e:
        raise VerifyError(f"globals: {e}") from None
    for code in codes.values():
        code.globals = list(names)
    return codes


def parse_module(text: str, filename: str = "<listing>", *, check: bool = True) -> dict[str, Code]:
    """Why: every function of a listing (as `JitFunction.dis` prints), verified as a module
    (so every callee is one of them), ready for `VM(codes)`. `check=False` skips the
    verifier, to hand malformed code to another one (an exercise writes its own)."""
    codes = parse_functions(text, filename, check)
    if check:
        verify_module(codes)
    return codes


def parse(text: str, filename: str = "<listing>", *, check: bool = True) -> Code:
    """Why: one hand-written or printed function back into a verified `Code`."""
    codes = parse_functions(text, filename, check)
    if len(codes) != 1:
        raise VerifyError(f"expected one function, found {len(codes)}: {', '.join(codes)}")
    return next(iter(codes.values()))
