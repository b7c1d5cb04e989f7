"""The SSA IR's one text form, QBE style: `format(fn)` writes it, `parse(text)` reads it back
(notebook 07).

Takes a `Function` or its text; gives the other. The two are exact inverses on formatted text:

    function i64 $fib(i64 %n) {
    @entry
        %c =bool lt %n, 2
        br %c, @base, @rec
    @base
        ret %n
    @rec
        %a =i64 sub %n, 1
        %r =i64 call $fib(%a)
        %s =i64 add_ovf %r, %n deopt 8 locals(%n) stack(%r, %n)
        ret %s
    }

Phis read `%s =i64 phi @entry 0, @loop %s2`. A double constant is `d_` and its repr
(`d_0.5`, `d_-0.0`, `d_1e+16`, `d_inf`, `d_nan`). `#` starts a comment. Every block ends in an
explicit `jmp`, `br` or `ret` (no fall-through), so block order never changes meaning.
A malformed line raises `VerifyError` naming its line number.
"""

from __future__ import annotations

import re

from jitkit.errors import VerifyError
from jitkit.ssa.ir import Block, Const, Deopt, Function, Global, Instr, Temp, Value
from jitkit.ssa.ops import OPS, TYPES

NAME = r"[A-Za-z_][A-Za-z0-9_.]*"

# --- printing --------------------------------------------------------------------------------


def format_instr(i: Instr) -> str:
    """One instruction as a line of IR text (without indentation)."""
    head = f"{i.result} ={i.type} " if i.result is not None else ""
    if i.op == "phi":
        ops = ", ".join(f"@{lab} {v}" for lab, v in zip(i.labels, i.args, strict=True))
    elif i.op == "call":
        ops = f"{i.args[0]}({', '.join(map(str, i.args[1:]))})"
    else:
        ops = ", ".join([str(a) for a in i.args] + [f"@{lab}" for lab in i.labels])
    text = f"{head}{i.op} {ops}".rstrip()
    return f"{text} {i.deopt}" if i.deopt is not None else text


def format(fn: Function) -> str:
    """The whole function as IR text, ending in a newline."""
    params = ", ".join(f"{t} {p}" for t, p in fn.params)
    lines = [f"function {fn.ret} ${fn.name}({params}) {{"]
    for b in fn.blocks:
        lines.append(f"@{b.label}")
        lines += [f"    {format_instr(i)}" for i in b.instrs()]
    lines.append("}")
    return "\n".join(lines) + "\n"


# --- parsing ---------------------------------------------------------------------------------

HEADER = re.compile(rf"function\s+(\w+)\s+\$({NAME})\s*\((.*)\)\s*\{{$")
PARAM = re.compile(rf"(\w+)\s+%({NAME})$")
RESULT = re.compile(rf"%({NAME})\s*=(\w+)\s+(.*)$")
DEOPT = re.compile(r"(.*?)\s+deopt\s+(-?\d+)\s+locals\((.*?)\)\s+stack\((.*?)\)$")
CALL = re.compile(rf"\$({NAME})\s*\((.*)\)$")


class _Parser:
    """Line by line; `self.line` is the 1-based number of the line being read."""

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()
        self.line = 0

    def error(self, message: str) -> VerifyError:
        text = self.lines[self.line - 1].strip() if 0 < self.line <= len(self.lines) else ""
        return VerifyError(f"line {self.line}: {message}: {text!r}")

    def next_line(self) -> str | None:
        """The next non-blank line with its comment removed, or None at the end."""
        while self.line < len(self.lines):
            self.line += 1
            text = self.lines[self.line - 1].split("#", 1)[0].strip()
            if text:
                return text
        return None

    # function ::= 'function' type '$'name '(' params ')' '{' block* '}'
    def parse_function(self) -> Function:
        text = self.next_line()
        m = HEADER.match(text or "")
        if m is None:
            raise self.error("expected 'function TYPE $name(PARAMS) {'")
        fn = Function(m[2], self.parse_params(m[3]), self.parse_type(m[1]))
        block: Block | None = None
        while (text := self.next_line()) != "}":
            if text is None:
                raise self.error("missing '}' at the end of the function")
            if text.startswith("@"):
                block = Block(self.parse_label(text))
                fn.blocks.append(block)
            elif block is None:
                raise self.error("instruction before the first block label")
            else:
                self.add(block, self.parse_instr(text))
        if self.next_line() is not None:
            raise self.error("text after the end of the function")
        return fn

    def add(self, block: Block, i: Instr) -> None:
        """Phis first, then the body, then one terminator: anything else is refused here."""
        if block.term is not None:
            raise self.error(f"instruction after the terminator of @{block.label}")
        if OPS[i.op].terminator:
            block.term = i
        elif i.op == "phi":
            if block.body:
                raise self.error("phi after an ordinary instruction")
            block.phis.append(i)
        else:
            block.body.append(i)

    # params ::= (type '%'name (',' type '%'name)*)?
    def parse_params(self, text: str) -> list[tuple[str, Temp]]:
        params = []
        for part in filter(None, (p.strip() for p in text.split(","))):
            m = PARAM.match(part)
            if m is None:
                raise self.error(f"bad parameter {part!r}")
            params.append((self.parse_type(m[1]), Temp(m[2])))
        return params

    def parse_type(self, text: str) -> str:
        if text not in TYPES:
            raise self.error(f"unknown type {text!r}")
        return text

    def parse_label(self, text: str) -> str:
        if not re.fullmatch(rf"@{NAME}", text):
            raise self.error("bad block label")
        return text[1:]

    # instr ::= ('%'name '=' type)? opcode operands
    #           ('deopt' N 'locals(' values ')' 'stack(' values ')')?
    def parse_instr(self, text: str) -> Instr:
        result = type_ = deopt = None
        if m := RESULT.match(text):
            result, type_, text = Temp(m[1]), self.parse_type(m[2]), m[3]
        elif text.startswith("%"):
            raise self.error("expected '%name =type opcode ...'")
        if m := DEOPT.match(text):
            text = m[1]
            deopt = Deopt(int(m[2]), self.parse_values(m[3]), self.parse_values(m[4]))
        op, _, rest = text.partition(" ")
        if op not in OPS:
            raise self.error(f"unknown opcode {op!r}")
        instr = Instr(op, result=result, type=type_, deopt=deopt)
        if op == "phi":
            for pair in self.split(rest):
                label, _, value = pair.partition(" ")
                instr.labels.append(self.parse_label(label))
                instr.args.append(self.parse_value(value.strip()))
        elif op == "call":
            m = CALL.match(rest.strip())
            if m is None:
                raise self.error("expected 'call $f(args)'")
            instr.args = [Global(m[1]), *self.parse_values(m[2])]
        else:
            for part in self.split(rest):
                if part.startswith("@"):
                    instr.labels.append(self.parse_label(part))
                else:
                    instr.args.append(self.parse_value(part))
        return instr

    def split(self, text: str) -> list[str]:
        return [p.strip() for p in text.split(",")] if text.strip() else []

    def parse_values(self, text: str) -> list[Value]:
        return [self.parse_value(p) for p in self.split(text)]

    # value ::= '%'name | '$'name | integer | 'd_'double
    def parse_value(self, text: str) -> Value:
        if text.startswith("d_"):
            try:
                return Const(float(text[2:]))
            except ValueError:
                raise self.error(f"bad double {text!r}") from None
        if re.fullmatch(rf"%{NAME}", text):
            return Temp(text[1:])
        if re.fullmatch(rf"\${NAME}", text):
            return Global(text[1:])
        if re.fullmatch(r"-?\d+", text):
            return Const(int(text))
        raise self.error(f"bad operand {text!r}")


def parse(text: str) -> Function:
    """Read one function; raises `VerifyError` with the line number on malformed text."""
    return _Parser(text).parse_function()
