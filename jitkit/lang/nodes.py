"""Kit AST: the checked, name-resolved tree of the Python subset (notebook 03 interpreters).

In: nothing (plain data). Out: small dataclasses that `parse.py` builds and the tree-walk
interpreter, the bytecode compiler and later the LLVM and C back ends walk. Every node
carries its source `line` and `col`. Values are Python objects (int and bool now, float
later), so nothing here assumes "int only".
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Node:
    """Base of every kit AST node: where it came from in the source."""

    line: int
    col: int


# ---------------------------------------------------------------- expressions


@dataclass
class Const(Node):
    """A literal: int, bool, None, or (as a print argument) a str."""

    value: object


@dataclass
class Local(Node):
    """A read of a local variable or parameter, resolved to its slot in `Function.varnames`."""

    name: str
    slot: int


@dataclass
class BinOp(Node):
    """`left op right` with op one of + - * // % ** (and later /)."""

    op: str
    left: Node
    right: Node


@dataclass
class UnaryOp(Node):
    """`op operand` with op one of - + not."""

    op: str
    operand: Node


@dataclass
class Compare(Node):
    """A comparison chain `a < b <= c`: ops[i] compares operands[i] and operands[i + 1]."""

    ops: list[str]
    operands: list[Node]


@dataclass
class BoolOp(Node):
    """`a and b and c` / `a or b`: short-circuit, yields the deciding operand (Python semantics)."""

    op: str
    values: list[Node]


@dataclass
class IfExp(Node):
    """`body if test else orelse`."""

    test: Node
    body: Node
    orelse: Node


@dataclass
class Call(Node):
    """A call of a function of the same module, resolved by name."""

    func: str
    args: list[Node]


@dataclass
class Builtin(Node):
    """A call of a supported builtin that computes a value: abs(x), min(a, b), max(a, b)."""

    func: str
    args: list[Node]


# ----------------------------------------------------------------- statements


@dataclass
class Assign(Node):
    """`name = value`."""

    target: Local
    value: Node


@dataclass
class TupleAssign(Node):
    """`a, b = x, y`: every value is evaluated before any target is stored, left to right."""

    targets: list[Local]
    values: list[Node]


@dataclass
class AugAssign(Node):
    """`name op= value`."""

    target: Local
    op: str
    value: Node


@dataclass
class If(Node):
    """`if test: body else: orelse` (elif is a nested If in orelse)."""

    test: Node
    body: list[Node]
    orelse: list[Node]


@dataclass
class While(Node):
    """`while test: body`."""

    test: Node
    body: list[Node]


@dataclass
class ForRange(Node):
    """`for target in range(start, stop, step): body`; `hidden` is the first of 3 private slots."""

    target: Local
    start: Node
    stop: Node
    step: Node
    body: list[Node]
    hidden: int


@dataclass
class Break(Node):
    """`break`."""


@dataclass
class Continue(Node):
    """`continue`."""


@dataclass
class Pass(Node):
    """`pass`."""


@dataclass
class Return(Node):
    """`return value` (value is Const(None) for a bare `return`)."""

    value: Node


@dataclass
class ExprStmt(Node):
    """An expression evaluated for its effect; the value is dropped."""

    value: Node


@dataclass
class Print(Node):
    """`print(*args, sep=sep, end=end)` with sep and end string literals (or None)."""

    args: list[Node]
    sep: str | None = " "
    end: str | None = "\n"


# ------------------------------------------------------------------ top level


@dataclass
class Function(Node):
    """One function: parameters are the first `len(params)` entries of `varnames`."""

    name: str
    params: list[str]
    varnames: list[str]
    body: list[Node]
    filename: str = "<string>"


@dataclass
class Module:
    """Every function of one source module; `main` holds top-level statements, if any."""

    functions: dict[str, Function]
    filename: str = "<string>"
    main: Function | None = None
    source: str = field(default="", repr=False)


MODULE_CODE_NAME = "<module>"


def hidden_range_names(index: int) -> list[str]:
    """Names of the three private locals a `for ... in range` loop keeps: counter, stop, step."""
    return [f".range{index}.i", f".range{index}.stop", f".range{index}.step"]


def sexpr(node: object) -> object:
    """A compact nested-list form of a tree, for tests and notebooks (s-expression style)."""
    if isinstance(node, list):
        return [sexpr(n) for n in node]
    if isinstance(node, Const):
        return node.value
    if isinstance(node, Local):
        return node.name
    if not isinstance(node, Node):
        return node
    skip = {"line", "col", "filename", "varnames", "hidden", "slot"}
    names = [f for f in node.__dataclass_fields__ if f not in skip]
    return [type(node).__name__] + [sexpr(getattr(node, f)) for f in names]
