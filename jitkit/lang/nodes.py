"""Kit AST: the checked, name-resolved tree of the Python subset (notebook 03 interpreters).

In: nothing (plain data). Out: small dataclasses that `parse.py` builds and the tree-walk
interpreter, the bytecode compiler and later the LLVM and C back ends walk. Every node
carries its source `line` and `col`. Values are Python objects (int, bool, float, None, and
lists built at run time), so nothing here assumes "int only".
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
    """A literal: int, bool, float, None, or (as a print argument) a str."""

    value: object


@dataclass
class Local(Node):
    """A read of a local variable or parameter, resolved to its slot in `Function.varnames`."""

    name: str
    slot: int


@dataclass
class Global(Node):
    """A function's read of a module-level name, `Module.globals[index]`, at the moment it
    runs (CPython's rule): not yet bound by the top-level code is NameError."""

    name: str
    index: int


@dataclass
class BinOp(Node):
    """`left op right` with op one of + - * / // % ** (`*` also repeats a list: `[0] * n`);
    `inplace`: the `xs[i] op= v` form, CPython's in-place operator (a list item extends)."""

    op: str
    left: Node
    right: Node
    inplace: bool = False


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
    """A call of a function of the same module, resolved by name. `args` has one value per
    parameter, in parameter order: keyword arguments bound and defaults filled in (fresh
    `Const`s) by the front end. `order`: the indexes of `args` in the order the source
    evaluates them when that is not 0, 1, 2, ... (`f(b=g(), a=h())` is [1, 0]); every
    tier evaluates them in that order, then calls with them in parameter order."""

    func: str
    args: list[Node]
    order: list[int] | None = None


def evaluation_order(call: Call) -> list[int]:
    """The indexes of `call.args` in the order CPython evaluates them (source order)."""
    return list(range(len(call.args))) if call.order is None else call.order


@dataclass
class Builtin(Node):
    """A call of a supported builtin that computes a value: abs(x), min(a, b), max(a, b),
    len(xs), float() / float(x), int() / int(x) (truncates a float)."""

    func: str
    args: list[Node]


@dataclass
class ListDisplay(Node):
    """`[a, b, c]` (or `[]`): a new list of the items, evaluated left to right."""

    items: list[Node]


@dataclass
class Subscript(Node):
    """`value[index]` read: the list, then the index (negative counts from the end)."""

    value: Node
    index: Node


@dataclass
class Append(Node):
    """`value.append(item)`: the list, then the item; its value is None."""

    value: Node
    item: Node


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
    """`name op= value`: CPython's in-place operator (`xs += ys` extends the list itself)."""

    target: Local
    op: str
    value: Node


@dataclass
class StoreSubscript(Node):
    """`value[index] = item`: CPython evaluates the item first, then the list, then the index.
    `xs[i] op= v` (xs a local, i a local or constant) is `xs[i] = xs[i] op v`."""

    value: Node
    index: Node
    item: Node


@dataclass
class SetGlobal(Node):
    """Only in `Module.main`: store main's local `value` (always `Local(name)`) into module
    global `index`, right after each statement of main that binds `name` (so the two agree)."""

    name: str
    index: int
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
class ForEach(Node):
    """`for target in iterable: body` over a list, by index, re-reading its length each trip
    (an append inside the loop extends it, as CPython's list iterator does); `hidden` is the
    first of 2 private slots, the list and the index (`hidden_foreach_names`)."""

    target: Local
    iterable: Node
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
    """One function: parameters are the first `len(params)` entries of `varnames`; the last
    `len(defaults)` parameters have these constant default values (CPython's `__defaults__`)."""

    name: str
    params: list[str]
    varnames: list[str]
    body: list[Node]
    filename: str = "<string>"
    defaults: list[object] = field(default_factory=list)


@dataclass
class Module:
    """Every function of one source module; `main` holds top-level statements, if any.
    `globals` are the module-level names some function reads (index = global slot), in the
    order the top-level code first binds them."""

    functions: dict[str, Function]
    filename: str = "<string>"
    main: Function | None = None
    source: str = field(default="", repr=False)
    globals: list[str] = field(default_factory=list)


MODULE_CODE_NAME = "<module>"


def hidden_range_names(index: int) -> list[str]:
    """Names of the three private locals a `for ... in range` loop keeps: counter, stop, step."""
    return [f".range{index}.i", f".range{index}.stop", f".range{index}.step"]


def hidden_foreach_names(index: int) -> list[str]:
    """Names of the two private locals a `for x in xs` loop keeps: the list and the index."""
    return [f".foreach{index}.list", f".foreach{index}.i"]


FLOAT_BUILTINS = {"float"}
LIST_NODES = (ListDisplay, Subscript, StoreSubscript, Append, ForEach)
GLOBAL_NODES = (Global, SetGlobal)


def features(module: Module) -> set[str]:
    """Which of "floats", "lists" and "globals" a module's source uses (float literals, `/`,
    float(); list displays, subscripts, append, `for x in xs`, len(); reads and stores of
    module-level names): what a tier that does not compile them yet can refuse up front.
    Values that only appear at run time (`2 ** -1`, a list passed in from Python) are not
    seen here."""
    used: set[str] = set()
    functions = [*module.functions.values(), *([module.main] if module.main else [])]
    pending: list[object] = [f.body for f in functions]
    while pending:
        item = pending.pop()
        if isinstance(item, list):
            pending.extend(item)
            continue
        if not isinstance(item, Node):
            continue
        if isinstance(item, Const) and type(item.value) is float:
            used.add("floats")
        elif isinstance(item, BinOp) and item.op == "/":
            used.add("floats")
        elif isinstance(item, Builtin) and item.func in FLOAT_BUILTINS:
            used.add("floats")
        elif isinstance(item, LIST_NODES) or (isinstance(item, Builtin) and item.func == "len"):
            used.add("lists")
        elif isinstance(item, GLOBAL_NODES):
            used.add("globals")
        pending.extend(getattr(item, f) for f in item.__dataclass_fields__)
    return used


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
    if isinstance(node, BinOp):  # the in-place form shows as its source spelling, `*=`
        op = node.op + "=" if node.inplace else node.op
        return ["BinOp", op, sexpr(node.left), sexpr(node.right)]
    skip = {"line", "col", "filename", "varnames", "hidden", "slot"}
    names = [f for f in node.__dataclass_fields__ if f not in skip]
    names = [f for f in names if f not in ("order", "defaults") or getattr(node, f)]  # if set
    return [type(node).__name__] + [sexpr(getattr(node, f)) for f in names]
