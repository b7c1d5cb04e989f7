"""The partial evaluator's reading of LLVM IR text (notebook 09 partial evaluation).

In: module text as LLVM's own printer writes it (`str(llvm.parse_assembly(...))`: opaque
`ptr`, one instruction per line, `switch` cases on their own lines). Out: a `ModuleText` of
globals (type, initializer text, kind), function declarations and definitions, each body a
list of `Block`s of `Instr`s already decoded for the interpreter (opcode, destination,
operands as local names or constants, types). Values: ints are unsigned Python ints masked
to their width, aggregates tuples, pointers `Ptr(object, offset)`.

Why our own parser of the printed text rather than llvmlite's binding objects: the
evaluator needs fields the binding does not give (icmp predicates, phi incoming labels,
struct literals, call targets as names), and the residual module is written as text anyway;
LLVM's printer normalizes the module to one regular format, which this small parser reads.
The binding still parses and verifies every module going in and coming out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from typing import NamedTuple

from jitkit.errors import JitkitError


class PartialEvalError(JitkitError):
    """The evaluator cannot read this IR (a construct outside what it understands)."""


class Ptr(NamedTuple):
    """A pointer value: an object (a global's `@name` or an alloca's id) and a byte offset."""

    obj: str
    off: int


class Const(NamedTuple):
    """An operand known when the IR was written (a literal or a global's address)."""

    value: object


Operand = str | Const  # a str names a local SSA value of the current function

NAME = r'(?:"[^"]*"|[-\w$.]+)'
LOCAL = re.compile(r"%" + NAME)


def strip_name(token: str) -> str:
    """`%"a b"` / `@x` -> `a b` / `x` (quotes and sigil removed)."""
    token = token[1:]
    return token[1:-1] if token.startswith('"') else token


def quote(sigil: str, name: str) -> str:
    return sigil + (name if re.fullmatch(r"[-\w$.]+", name) else f'"{name}"')


SPECIAL = re.compile(r'[{}\[\]()<>",]')  # the characters split_top looks at
SPECIAL_OPEN = re.compile(r'[{\[(<"]')


def split_top(text: str, sep: str = ",") -> list[str]:
    """Split at `sep` outside brackets and quotes: `{ i8 1, i64 2 }, i64 3` -> 2 parts.
    (Most operand lists have no brackets or quotes: `str.split`; else only the special
    characters are visited, so the 35,000-entry phi of a huge function stays cheap.)"""
    if SPECIAL_OPEN.search(text) is None:
        return [p for p in map(str.strip, text.split(sep)) if p]
    parts, depth, start, quoted = [], 0, 0, False
    for m in SPECIAL.finditer(text):
        ch = m[0]
        if ch == '"':
            quoted = not quoted
        elif quoted:
            continue
        elif ch in "{[(<":
            depth += 1
        elif ch in "}])>":
            depth -= 1
        elif ch == sep and depth == 0:
            i = m.start()
            parts.append(text[start:i].strip())
            start = i + 1
    parts.append(text[start:].strip())
    return [p for p in parts if p]


def split_type(text: str) -> tuple[str, str]:
    """`{ i8, i64 } %x` -> (`{ i8, i64 }`, `%x`): a leading type and the rest."""
    text = text.strip()
    if text[0] in "{[<":
        depth = 0
        for i, ch in enumerate(text):
            depth += ch in "{[<"
            depth -= ch in "}]>"
            if depth == 0:
                return text[: i + 1], text[i + 1 :].strip()
    head, _, rest = text.partition(" ")
    return head, rest.strip()


@cache
def layout(ty: str) -> tuple[int, int]:
    """(size, alignment) in bytes of a type, as the x86-64 data layout has them."""
    ty = ty.strip()
    if ty == "ptr":
        return 8, 8
    if re.fullmatch(r"i\d+", ty):
        size = max(1, (int(ty[1:]) + 7) // 8)
        return size, min(size, 8)
    if ty.startswith("["):
        count, _, elem = ty[1:-1].partition(" x ")
        size, align = layout(elem)
        return int(count) * size, align
    if ty.startswith("{"):
        offsets, size, align = struct_offsets(ty)
        return size, align
    raise PartialEvalError(f"type {ty!r} is not in what the evaluator reads")


@cache
def struct_offsets(ty: str) -> tuple[tuple[int, ...], int, int]:
    """Field offsets, size and alignment of a `{ ... }` struct type."""
    offsets, offset, align = [], 0, 1
    for field_ty in fields(ty):
        size, a = layout(field_ty)
        offset = (offset + a - 1) // a * a
        offsets.append(offset)
        offset += size
        align = max(align, a)
    return tuple(offsets), (offset + align - 1) // align * align, align


@cache
def fields(ty: str) -> tuple[str, ...]:
    return tuple(split_top(ty.strip()[1:-1]))


INT_TYPE = re.compile(r"i\d+")
INT = re.compile(r"-?\d+")


@cache
def bits(ty: str) -> int:
    return int(ty[1:]) if INT_TYPE.fullmatch(ty) else 64


def zero(ty: str) -> object:
    if ty.startswith("{"):
        return tuple(zero(f) for f in fields(ty))
    if ty == "ptr":
        return Ptr("", 0)
    return 0


def constant(ty: str, text: str) -> object:
    """A literal operand's value (ints masked to the type's width)."""
    text = text.strip()
    if INT.fullmatch(text):  # the common case first
        return int(text) & ((1 << bits(ty)) - 1)
    if text in ("undef", "poison", "zeroinitializer"):
        return zero(ty)
    if text in ("true", "false"):
        return int(text == "true")
    if text == "null":
        return Ptr("", 0)
    if text.startswith("@"):
        return Ptr(text, 0)
    if text.startswith("{") and ty.startswith("{"):
        items = split_top(text[1:-1])
        return tuple(constant(*split_type(item)) for item in items)
    raise PartialEvalError(f"constant {text!r} of type {ty} is not in what the evaluator reads")


def operand(ty: str, text: str) -> Operand:
    text = text.strip()
    if text.startswith("%"):
        return strip_name(text)
    return Const(constant(ty, text))


def global_bytes(ty: str, init: str) -> bytearray:
    """A global's initializer as bytes (ints, zeroinitializer, `c"..."` strings)."""
    init = init.strip()
    size, _ = layout(ty)
    if init in ("zeroinitializer", "undef", "poison"):
        return bytearray(size)
    if init.startswith('c"'):
        body = init[2:-1]
        data = re.sub(rb"\\([0-9A-Fa-f]{2})", lambda m: bytes([int(m[1], 16)]), body.encode())
        return bytearray(data.replace(b"\\\\", b"\\"))
    if re.fullmatch(r"-?\d+|true|false", init):
        value = constant(ty, init)
        return bytearray(int(value).to_bytes(size, "little"))
    if init.startswith("[") and ty.startswith("["):  # [N x T] [T a, T b, ...]: each at its slot
        elem_size = layout(ty[1:-1].partition(" x ")[2])[0]
        data = bytearray(size)
        for i, item in enumerate(split_top(init[1:-1])):
            item_ty, item_init = split_type(item)
            if INT.fullmatch(item_init) and INT_TYPE.fullmatch(item_ty):  # a table's ints
                value = int(item_init) & ((1 << bits(item_ty)) - 1)
                item_bytes = value.to_bytes(elem_size, "little")
            else:
                item_bytes = global_bytes(item_ty, item_init)
            data[i * elem_size : (i + 1) * elem_size] = item_bytes
        return data
    raise PartialEvalError(f"initializer {init!r} is not in what the evaluator reads")


class Instr(NamedTuple):
    """One decoded instruction: `op`, its destination name (or ""), the fields it needs,
    the type of its result and its text (what the residual copies)."""

    op: str
    dest: str
    args: tuple
    text: str
    ty: str = ""


@dataclass
class Block:
    name: str
    instrs: list[Instr] = field(default_factory=list)


@dataclass
class Function:
    """A definition; its body is decoded the first time `blocks` or `index` is asked for
    (the evaluator runs the init and what it calls: the other bodies are never decoded)."""

    name: str
    ret: str
    params: list[tuple[str, str]]  # (type, name)
    header: str  # the `define ... {` line
    body: list[str]  # the lines between the header and the closing `}`
    _blocks: list[Block] | None = field(default=None, repr=False)
    _index: dict[str, Block] = field(default_factory=dict, repr=False)

    @property
    def blocks(self) -> list[Block]:
        return self.decoded()[0]

    @property
    def index(self) -> dict[str, Block]:
        return self.decoded()[1]

    def decoded(self) -> tuple[list[Block], dict[str, Block]]:
        if self._blocks is None:
            self._blocks = decode_body(self.body)
            self._index = {block.name: block for block in self._blocks}
        return self._blocks, self._index


@dataclass
class Global:
    name: str
    line: str
    head: str  # everything up to and including `global`/`constant`
    kind: str  # "global" or "constant"
    ty: str
    init: str
    tail: str  # `, align 8` and the like


@dataclass
class ModuleText:
    lines: list[str]
    globals: dict[str, Global]
    functions: dict[str, Function]
    declared: set[str]
    fn_spans: dict[str, tuple[int, int]]  # function name -> (first line, last line) in lines


GLOBAL = re.compile(r"^(@" + NAME + r") = (.*?\b(global|constant)) (.*)$")
DEFINE = re.compile(r"^define (.*?) (@" + NAME + r")\((.*)\).*\{$")
DECLARE = re.compile(r"^declare .*?(@" + NAME + r")\(")
LABEL = re.compile(r"^(" + NAME + r"):")
ASSIGN = re.compile(r"^(%" + NAME + r") = (.*)$")
CALL = re.compile(r"^(?:tail |musttail |notail )?call (?:\w+ )*?(.*?) (@" + NAME + r")\((.*)\)")


def parse_module(text: str) -> ModuleText:
    """Module text (LLVM's printer's format) -> globals and decoded functions."""
    lines = text.splitlines()
    mod = ModuleText(lines, {}, {}, set(), {})
    i = 0
    while i < len(lines):
        line = lines[i]
        if m := GLOBAL.match(line):
            ty, rest = split_type(m[4])
            init, _, tail = rest.partition(", align")
            mod.globals[m[1]] = Global(
                m[1], line, m[2], m[3], ty, init, ", align" + tail if tail else ""
            )
        elif m := DECLARE.match(line):
            mod.declared.add(m[1])
        elif line.startswith("define "):
            start = i
            while lines[i] != "}":
                i += 1
            fn = parse_function(lines[start : i + 1])
            mod.functions[fn.name] = fn
            mod.fn_spans[fn.name] = (start, i)
        i += 1
    return mod


def parse_function(lines: list[str]) -> Function:
    m = DEFINE.match(lines[0])
    if m is None:
        raise PartialEvalError(f"cannot read function header {lines[0]!r}")
    params = [split_type(p) for p in split_top(m[3])]
    params = [(ty, strip_name(name.split()[-1]) if name else "") for ty, name in params]
    prefix = m[1]
    ret = prefix[prefix.index("{") :] if prefix.endswith("}") else prefix.split()[-1]
    return Function(m[2], ret, params, lines[0], lines[1:-1])


def decode_body(lines: list[str]) -> list[Block]:
    """A function's body lines -> its blocks of decoded instructions."""
    blocks: list[Block] = []
    block: Block | None = None
    pending = ""
    for raw in lines:
        line = strip_comment(raw)
        if not line.strip():
            continue
        if pending:  # a switch's case lines, up to its `]`
            pending += " " + line.strip()
            if line.strip() == "]":
                block.instrs.append(decode(pending))  # type: ignore[union-attr]
                pending = ""
            continue
        if (m := LABEL.match(line)) and not line.startswith(" "):
            block = Block(strip_name("%" + m[1]))
            blocks.append(block)
            continue
        if block is None:  # an unnamed first block
            block = Block("0")
            blocks.append(block)
        if line.strip().startswith("switch") and not line.rstrip().endswith("]"):
            pending = line.strip()
            continue
        block.instrs.append(decode(line.strip()))
    return blocks


def strip_comment(line: str) -> str:
    """Drop a trailing `; ...` comment (outside string literals)."""
    if ";" not in line:
        return line.rstrip()
    quoted = False
    for i, ch in enumerate(line):
        if ch == '"':
            quoted = not quoted
        elif ch == ";" and not quoted:
            return line[:i].rstrip()
    return line.rstrip()


BINOPS = {"add", "sub", "mul", "sdiv", "srem", "udiv", "urem", "shl", "ashr", "lshr", "and"}
BINOPS |= {"or", "xor"}
FLAGS = {"nuw", "nsw", "exact", "disjoint", "inbounds", "nusw", "nneg", "samesign", "volatile"}
ORDERINGS = {"monotonic", "unordered", "acquire", "release", "acq_rel", "seq_cst"}


def words(text: str) -> tuple[str, str]:
    """(opcode, rest) with flags such as `nsw` dropped."""
    op, _, rest = text.partition(" ")
    while (head := rest.split(" ", 1)[0]) in FLAGS:
        rest = rest[len(head) + 1 :]
    return op, rest


def decode(text: str) -> Instr:
    """One instruction's text -> an `Instr` the interpreter can run (or, for what it
    cannot read, such as inline assembly, one that stops the call when it is reached)."""
    try:
        return decode_known(text)
    except (PartialEvalError, ValueError, IndexError) as error:
        dest = m[1] if (m := ASSIGN.match(text)) else ""
        return Instr("unsupported: " + str(error), strip_name(dest) if dest else "", (), text)


def decode_known(text: str) -> Instr:
    dest = ""
    if m := ASSIGN.match(text):
        dest, body = strip_name(m[1]), m[2]
    else:
        body = text
    op, rest = words(body)
    args: tuple
    if op in BINOPS:
        ty, operands = split_type(rest)
        a, b = split_top(operands)
        args = (ty, operand(ty, a), operand(ty, b))
    elif op == "icmp":
        pred, rest = rest.split(" ", 1)
        ty, operands = split_type(rest)
        a, b = split_top(operands)
        args = (pred, ty, operand(ty, a), operand(ty, b))
    elif op == "select":
        c, a, b = (split_type(p) for p in split_top(rest))
        args = (operand(*c), a[0], operand(*a), operand(*b))
    elif op == "phi":
        ty, incoming = split_type(rest)
        pairs = []
        for item in split_top(incoming):
            value, label = split_top(item.strip()[1:-1])
            pairs.append((strip_name(label), operand(ty, value)))
        args = (ty, tuple(pairs))
    elif op in ("call", "tail", "musttail", "notail"):
        m = CALL.match(body)
        if m is None:
            raise PartialEvalError(f"cannot read call {text!r}")
        op = "call"
        actuals = tuple((t, operand(t, v)) for t, v in (split_type(p) for p in split_top(m[3])))
        args = (m[1], m[2], actuals)
    elif op == "extractvalue":
        ty, rest2 = split_type(rest)
        agg, *idx = split_top(rest2)
        args = (ty, operand(ty, agg), tuple(int(i) for i in idx))
    elif op == "insertvalue":
        ty, rest2 = split_type(rest)
        agg, elem, *idx = split_top(rest2)
        ety, evalue = split_type(elem)
        args = (ty, operand(ty, agg), ety, operand(ety, evalue), tuple(int(i) for i in idx))
    elif op in ("zext", "sext", "trunc"):
        src, _, to = rest.rpartition(" to ")
        ty, value = split_type(src)
        args = (ty, operand(ty, value), to.strip())
    elif op == "alloca":
        ty, _ = split_type(split_top(rest)[0])
        args = (ty,)
    elif op == "load":
        parts = split_top(rest.removeprefix("atomic ").removeprefix("volatile "))
        ty = parts[0]
        pointer = " ".join(w for w in parts[1].split() if w not in ORDERINGS)
        args = (ty, operand(*split_type(pointer)))
    elif op == "store":
        parts = split_top(rest.removeprefix("atomic ").removeprefix("volatile "))
        ty, value = split_type(parts[0])
        pointer = " ".join(w for w in parts[1].split() if w not in ORDERINGS)
        args = (ty, operand(ty, value), operand(*split_type(pointer)))
    elif op == "getelementptr":
        ty, *rest_parts = split_top(rest)
        base = operand(*split_type(rest_parts[0]))
        idx = tuple((t, operand(t, v)) for t, v in (split_type(p) for p in rest_parts[1:]))
        args = (ty, base, idx)
    elif op == "br":
        parts = split_top(rest)
        if len(parts) == 1:
            args = (strip_name(parts[0].split()[-1]),)
        else:
            cond = operand(*split_type(parts[0]))
            args = (cond, strip_name(parts[1].split()[-1]), strip_name(parts[2].split()[-1]))
            op = "cbr"
    elif op == "switch":
        head, _, cases = rest.partition("[")
        value, default = split_top(head)
        ty, vtext = split_type(value)
        table = []
        for m in re.finditer(r"(\S+) (-?\d+), label (%" + NAME + ")", cases):
            table.append((constant(m[1], m[2]), strip_name(m[3])))
        args = (operand(ty, vtext), strip_name(default.split()[-1]), tuple(table))
    elif op == "ret":
        if rest.strip() == "void":
            args = ("void", Const(None))
        else:
            ty, value = split_type(rest)
            args = (ty, operand(ty, value))
    elif op == "unreachable":
        args = ()
    else:  # not evaluated (floats, casts to pointers, ...): its type still lets it cross blocks
        args = ()
        op = "unsupported:" + op
        return Instr(op, dest, args, text, unsupported_type(op, rest))
    return Instr(op, dest, args, text, result_type(op, args))


def unsupported_type(op: str, rest: str) -> str:
    """The result type of an instruction the evaluator does not run, read from its text:
    a cast's target type, `i1` for fcmp, else the first operand's type ("" if unknown)."""
    if op == "unsupported:fcmp":
        return "i1"
    if " to " in rest:
        return rest.rsplit(" to ", 1)[1].split(",")[0].strip()
    first = split_top(rest)[0].split() if rest.strip() else []
    words = [w for w in first if w not in ("fast", "nnan", "ninf", "nsz", "arcp", "contract")]
    return words[0] if len(words) >= 2 else ""


def result_type(op: str, args: tuple) -> str:
    if op in BINOPS or op in ("select", "phi", "insertvalue", "load"):
        return args[1] if op == "select" else args[0]
    if op == "icmp":
        return "i1"
    if op == "call":
        return args[0]
    if op in ("zext", "sext", "trunc"):
        return args[2]
    if op in ("alloca", "getelementptr"):
        return "ptr"
    if op == "extractvalue":
        ty = args[0]
        for i in args[2]:
            ty = fields(ty)[i] if ty.startswith("{") else ty[1:-1].partition(" x ")[2]
        return ty
    return ""


read_ir = parse_module  # the name notebook 09 imports it by (beside the kit's `parse_module`)
