"""Front end: Python source (or a live function) -> checked kit AST (notebook 03 interpreters).

In: source text parsed by Python's own `ast`, or a function object (its source via
`inspect.getsource`, plus every module-level function it calls, found in `fn.__globals__`).
Out: a `nodes.Module` whose names are resolved to local slots, module functions or builtins,
and whose calls are bound: keyword arguments to the callee's parameters, constant defaults
filled in (`calls.bind_source`, docs/calls.md).
Anything outside the subset raises `UnsupportedError("file, line L, col C: '...' is not
supported by jitkit (supported: ...)")`; nothing is executed here.
"""

from __future__ import annotations

import ast
import builtins
import functools
import inspect
import os
import textwrap
from collections.abc import Callable

from jitkit.errors import UnsupportedError
from jitkit.lang import calls
from jitkit.lang import nodes as n
from jitkit.lang import runtime as rt

SUPPORTED = (
    "def with parameters and constant defaults (def f(n, acc=0)), return, =, a, b = x, y, +=, "
    "if/elif/else, while, for x in range(...), for x in xs, break, continue, pass, print(...), "
    "int, float and bool literals, + - * / // % **, unary - + not, comparisons, and/or, "
    "x if c else y, abs, min, max, len, float, int, lists [a, b], xs[i], xs[i] = v, "
    "xs.append(v), calls of functions of the same module with positional and keyword "
    "arguments (f(1, b=2)), reads of module-level names bound by top-level code"
)
BINOPS = {
    ast.Add: "+",
    ast.Sub: "-",
    ast.Mult: "*",
    ast.Div: "/",
    ast.FloorDiv: "//",
    ast.Mod: "%",
    ast.Pow: "**",
}
UNARYOPS = {ast.USub: "-", ast.UAdd: "+", ast.Not: "not"}
CMPOPS = {ast.Lt: "<", ast.LtE: "<=", ast.Eq: "==", ast.NotEq: "!=", ast.Gt: ">", ast.GtE: ">="}
VALUE_BUILTINS = {
    "abs": (1,),
    "min": (2,),
    "max": (2,),
    "len": (1,),
    "float": (0, 1),
    "int": (0, 1),
}
BUILTINS = {"print", "range", *VALUE_BUILTINS}
CONSTRUCT_NAMES = {
    "Try": "try",
    "With": "with",
    "ClassDef": "class",
    "Lambda": "lambda",
    "ListComp": "list comprehension",
    "Dict": "dict",
    "Set": "set",
    "Global": "global",
    "Nonlocal": "nonlocal",
    "Raise": "raise",
    "Assert": "assert",
    "Delete": "del",
    "Import": "import",
    "ImportFrom": "import",
    "Attribute": "attribute access",
    "Slice": "slice",
    "Yield": "yield",
    "Await": "await",
    "AsyncFunctionDef": "async def",
    "JoinedStr": "f-string",
    "Starred": "starred expression",
    "NamedExpr": "walrus operator ':='",
    "Match": "match",
    "GeneratorExp": "generator expression",
    "DictComp": "dict comprehension",
    "SetComp": "set comprehension",
    "Tuple": "tuple",
}


# CPython's parser takes expressions about 1,000 levels deep (`x + 1 + 1 ...`, `- - x`); the
# kit's front end and every tier's lowering walk the tree recursively, a few Python frames per
# level, so they run with the limit raised this far (and put back after; kit programs still
# see the user's limit, through `rt.recursion_limit`).
NESTING = 1_000
FRAMES_PER_LEVEL = 8


def deep(walk: Callable) -> Callable:
    """Run a recursive tree walk with room for `NESTING` levels of expression."""

    @functools.wraps(walk)
    def walker(*args, **kwargs):
        with rt.deep_python_stack(NESTING, FRAMES_PER_LEVEL):
            return walk(*args, **kwargs)

    return walker


def unsupported(filename: str, node: ast.AST, what: str) -> UnsupportedError:
    """The one error format for code outside the subset: file, line, col, construct."""
    line, col = getattr(node, "lineno", 0), getattr(node, "col_offset", 0)
    reason = f"{what} is not supported by jitkit (supported: {SUPPORTED})"
    error = UnsupportedError(f"{os.path.basename(filename)}, line {line}, col {col}: {reason}")
    # the location as SyntaxError has it (1-based offset), for `file:line:col:` messages
    error.filename, error.lineno, error.offset, error.reason = filename, line, col + 1, reason
    return error


def construct_name(node: ast.AST) -> str:
    """How an error names a Python construct: 'try', 'list comprehension', "operator '/'"."""
    kind = type(node).__name__
    return repr(CONSTRUCT_NAMES.get(kind, kind))


def assigned_names(body: list[ast.stmt]) -> list[str]:
    """Names a function body assigns, in first-assignment order (they are its locals)."""
    names: list[str] = []
    for node in ast.walk(ast.Module(body=body, type_ignores=[])):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            if node.id not in names:
                names.append(node.id)
    return names


def bound_names(body: list[ast.stmt]) -> list[str]:
    """Names top-level statements bind, in the order of their first binding in the source
    (the order of the module's global slots)."""
    stores = [
        (node.lineno, node.col_offset, node.id)
        for node in ast.walk(ast.Module(body=body, type_ignores=[]))
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store)
    ]
    return list(dict.fromkeys(name for _, _, name in sorted(stores)))


def number_globals(reads: list[n.Global], order: list[str]) -> list[str]:
    """The module's global slots: the names some function reads, in `order`; every read's
    `index` is set to its slot."""
    read = {g.name for g in reads}
    names = [name for name in order if name in read]
    slots = {name: i for i, name in enumerate(names)}
    for g in reads:
        g.index = slots[g.name]
    return names


# What a call needs to know of a module function: its parameters and its default values.
Signature = tuple[list[str], list[object]]


def signature(filename: str, fdef: ast.FunctionDef) -> Signature:
    """A `def`'s parameters and the values of its defaults, which must be constants: CPython
    evaluates a default once, when the `def` runs; for a constant that is the value a call
    site can fill in itself."""
    a = fdef.args
    if a.vararg or a.kwarg or a.kwonlyargs or a.posonlyargs:
        what = "'*args, **kwargs, positional-only or keyword-only parameters'"
        raise unsupported(filename, fdef, what)
    return [arg.arg for arg in a.args], [default_value(filename, d) for d in a.defaults]


def default_value(filename: str, node: ast.expr) -> object:
    """A default's value: an int, float, bool or None literal, signed (`-1`, `-0.5`)."""
    signs = []
    while isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        signs.append(node.op)
        node = node.operand
    literal = isinstance(node, ast.Constant) and type(node.value) in (int, float, bool)
    if not (literal or (isinstance(node, ast.Constant) and node.value is None and not signs)):
        why = "a default must be an int, float, bool or None constant such as 0, -1 or None"
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            why = "a str: the kit's values are ints, floats, bools, None and lists"
        raise unsupported(filename, node, f"default value {ast.unparse(node)} ({why})")
    value = node.value
    for op in reversed(signs):  # the innermost sign first, as Python applies them
        value = -value if isinstance(op, ast.USub) else +value
    return value


class FunctionParser:
    """Lowers one Python `def` (or the module's top-level statements) into a kit Function.

    `module_names` are the module-level names a read resolves to (a `Global`, collected in
    `global_reads`) when the function does not assign them; `stores` (main only) maps the
    global names main binds to their slots, so each binding is followed by a `SetGlobal`;
    `signatures` are the module functions' parameters and defaults, which calls bind to."""

    def __init__(
        self,
        filename: str,
        module_functions: set[str],
        module_names: set[str] | None = None,
        global_reads: list[n.Global] | None = None,
        stores: dict[str, int] | None = None,
        signatures: dict[str, Signature] | None = None,
    ) -> None:
        self.filename = filename
        self.module_functions = module_functions
        self.signatures = signatures or {}
        self.module_names = module_names or set()
        self.global_reads = global_reads if global_reads is not None else []
        self.stores = stores or {}
        self.varnames: list[str] = []
        self.loops = 0
        self.ranges = 0
        self.foreachs = 0

    def fail(self, node: ast.AST, what: str | None = None) -> UnsupportedError:
        return unsupported(self.filename, node, what or construct_name(node))

    # funcdef ::= 'def' NAME '(' NAME, ... [NAME '=' constant, ...] ')' ':' body
    def parse_FunctionDef(self, fdef: ast.FunctionDef) -> n.Function:
        params, defaults = signature(self.filename, fdef)
        body = fdef.body
        if body and is_docstring(body[0]):
            body = body[1:] or [ast.Pass(lineno=fdef.lineno, col_offset=fdef.col_offset)]
        function = self.parse_body_as_function(fdef, fdef.name, params, body)
        function.defaults = defaults
        return function

    def parse_body_as_function(
        self, at: ast.AST, name: str, params: list[str], body: list[ast.stmt]
    ) -> n.Function:
        self.varnames = params + [v for v in assigned_names(body) if v not in params]
        stmts = self.parse_block(body)
        return n.Function(
            at.lineno, at.col_offset, name, params, self.varnames, stmts, self.filename
        )

    def parse_block(self, body: list[ast.stmt]) -> list[n.Node]:
        if not self.stores:
            return [self.parse_stmt(s) for s in body]
        stmts: list[n.Node] = []
        for node in body:
            stmt = self.parse_stmt(node)
            stmts.append(stmt)
            if isinstance(stmt, n.ForRange | n.ForEach):
                stmt.body[:0] = self.set_globals([stmt.target])  # each trip binds the target
            elif isinstance(stmt, n.Assign | n.AugAssign):
                stmts += self.set_globals([stmt.target])
            elif isinstance(stmt, n.TupleAssign):
                stmts += self.set_globals(stmt.targets)
        return stmts

    def set_globals(self, targets: list[n.Local]) -> list[n.Node]:
        """Main's stores of the global names among `targets` (fresh nodes: no tree shares one)."""
        return [
            n.SetGlobal(
                t.line, t.col, t.name, self.stores[t.name], n.Local(t.line, t.col, t.name, t.slot)
            )
            for t in targets
            if t.name in self.stores
        ]

    def parse_stmt(self, node: ast.stmt) -> n.Node:
        method = getattr(self, f"parse_{type(node).__name__}", None)
        if method is None or isinstance(node, ast.FunctionDef):
            what = "nested 'def'" if isinstance(node, ast.FunctionDef) else None
            raise self.fail(node, what)
        return method(node)

    def parse_expr(self, node: ast.expr) -> n.Node:
        method = getattr(self, f"parse_{type(node).__name__}", None)
        if method is None:
            raise self.fail(node)
        return method(node)

    def local(self, node: ast.Name) -> n.Local:
        return n.Local(node.lineno, node.col_offset, node.id, self.varnames.index(node.id))

    def store_target(self, node: ast.expr) -> n.Local:
        if not isinstance(node, ast.Name):
            raise self.fail(node, f"assignment to {construct_name(node)}")
        return self.local(node)

    # ------------------------------------------------------------ statements

    # assign ::= NAME '=' expr | NAME ',' NAME ... '=' expr ',' expr ...
    def parse_Assign(self, node: ast.Assign) -> n.Node:
        if len(node.targets) != 1:
            raise self.fail(node, "chained assignment 'a = b = ...'")
        target = node.targets[0]
        if isinstance(target, ast.Tuple):
            value = node.value
            if not isinstance(value, ast.Tuple) or len(value.elts) != len(target.elts):
                raise self.fail(node, "tuple assignment other than 'a, b = x, y'")
            targets = [self.store_target(t) for t in target.elts]
            values = [self.parse_expr(v) for v in value.elts]
            return n.TupleAssign(node.lineno, node.col_offset, targets, values)
        if isinstance(target, ast.Subscript):
            value, index = self.subscript_parts(target)
            item = self.parse_expr(node.value)
            return n.StoreSubscript(node.lineno, node.col_offset, value, index, item)
        return n.Assign(
            node.lineno, node.col_offset, self.store_target(target), self.parse_expr(node.value)
        )

    # augassign ::= NAME op'=' expr | NAME '[' (NAME | ['-'] INT) ']' op'=' expr
    def parse_AugAssign(self, node: ast.AugAssign) -> n.Node:
        op = BINOPS.get(type(node.op))
        if op is None:
            raise self.fail(node, f"operator {type(node.op).__name__!r}")
        if isinstance(node.target, ast.Subscript):
            return self.parse_subscript_augassign(node, op)
        return n.AugAssign(
            node.lineno,
            node.col_offset,
            self.store_target(node.target),
            op,
            self.parse_expr(node.value),
        )

    def parse_subscript_augassign(self, node: ast.AugAssign, op: str) -> n.Node:
        """`xs[i] op= v` as `xs[i] = xs[i] op v`: the same as CPython only because reading
        a local or a constant (or `-1`) twice cannot differ from reading it once."""
        target = node.target
        index = target.slice
        if isinstance(index, ast.UnaryOp) and isinstance(index.op, ast.USub | ast.UAdd):
            index = index.operand  # xs[-1] op= v
        simple = isinstance(target.value, ast.Name) and isinstance(index, ast.Name | ast.Constant)
        if not simple:
            raise self.fail(node, "'xs[i] op= v' other than with a local list and index")
        read = n.Subscript(target.lineno, target.col_offset, *self.subscript_parts(target))
        value = self.parse_expr(node.value)
        combined = n.BinOp(node.lineno, node.col_offset, op, read, value, inplace=True)
        value, index = self.subscript_parts(target)  # fresh nodes: no tree shares a node
        return n.StoreSubscript(node.lineno, node.col_offset, value, index, combined)

    # if ::= 'if' expr ':' body ('elif' ...)* ['else' ':' body]
    def parse_If(self, node: ast.If) -> n.Node:
        return n.If(
            node.lineno,
            node.col_offset,
            self.parse_expr(node.test),
            self.parse_block(node.body),
            self.parse_block(node.orelse),
        )

    # while ::= 'while' expr ':' body
    def parse_While(self, node: ast.While) -> n.Node:
        if node.orelse:
            raise self.fail(node, "'while ... else'")
        self.loops += 1
        body = self.parse_block(node.body)
        self.loops -= 1
        return n.While(node.lineno, node.col_offset, self.parse_expr(node.test), body)

    # for ::= 'for' NAME 'in' 'range' '(' expr [',' expr [',' expr]] ')' ':' body
    #        | 'for' NAME 'in' expr ':' body
    def parse_For(self, node: ast.For) -> n.Node:
        it = node.iter
        is_range = (
            isinstance(it, ast.Call)
            and isinstance(it.func, ast.Name)
            and it.func.id == "range"
            and "range" not in self.varnames
            and "range" not in self.module_names
        )
        if node.orelse:
            raise self.fail(node, "'for ... else'")
        if not is_range:
            return self.parse_foreach(node)
        if it.keywords or not 1 <= len(it.args) <= 3:
            raise self.fail(node, "'for' other than 'for x in range(...)' with 1 to 3 args")
        args = [self.parse_expr(a) for a in it.args]
        zero, one = (n.Const(it.lineno, it.col_offset, v) for v in (0, 1))
        start, stop, step = {1: [zero, args[0], one], 2: [*args, one], 3: args}[len(args)]
        hidden = len(self.varnames)
        self.varnames.extend(n.hidden_range_names(self.ranges))
        self.ranges += 1
        target = self.store_target(node.target)
        self.loops += 1
        body = self.parse_block(node.body)
        self.loops -= 1
        return n.ForRange(node.lineno, node.col_offset, target, start, stop, step, body, hidden)

    def parse_foreach(self, node: ast.For) -> n.Node:
        iterable = self.parse_expr(node.iter)
        hidden = len(self.varnames)
        self.varnames.extend(n.hidden_foreach_names(self.foreachs))
        self.foreachs += 1
        target = self.store_target(node.target)
        self.loops += 1
        body = self.parse_block(node.body)
        self.loops -= 1
        return n.ForEach(node.lineno, node.col_offset, target, iterable, body, hidden)

    def parse_Break(self, node: ast.Break) -> n.Node:
        if not self.loops:
            raise self.fail(node, "'break' outside a loop")
        return n.Break(node.lineno, node.col_offset)

    def parse_Continue(self, node: ast.Continue) -> n.Node:
        if not self.loops:
            raise self.fail(node, "'continue' outside a loop")
        return n.Continue(node.lineno, node.col_offset)

    def parse_Global(self, node: ast.Global) -> n.Node:
        what = "'global' statement (only the module's top-level code binds module-level names)"
        raise self.fail(node, what)

    def parse_Pass(self, node: ast.Pass) -> n.Node:
        return n.Pass(node.lineno, node.col_offset)

    # return ::= 'return' [expr]
    def parse_Return(self, node: ast.Return) -> n.Node:
        value = n.Const(node.lineno, node.col_offset, None)
        if node.value is not None:
            value = self.parse_expr(node.value)
        return n.Return(node.lineno, node.col_offset, value)

    # exprstmt ::= expr | 'print' '(' args [',' 'sep' '=' STR] [',' 'end' '=' STR] ')'
    def parse_Expr(self, node: ast.Expr) -> n.Node:
        call = node.value
        if isinstance(call, ast.Call) and isinstance(call.func, ast.Name):
            name = call.func.id
            if name == "print" and name not in self.varnames and name not in self.module_names:
                return self.parse_print(call)
        return n.ExprStmt(node.lineno, node.col_offset, self.parse_expr(node.value))

    def parse_print(self, call: ast.Call) -> n.Print:
        args = [self.parse_print_arg(a) for a in call.args]
        options: dict[str, str | None] = {"sep": " ", "end": "\n"}
        for kw in call.keywords:
            v = kw.value
            ok = isinstance(v, ast.Constant) and (v.value is None or isinstance(v.value, str))
            if kw.arg not in options or not ok:
                raise self.fail(kw.value, "print keyword other than sep=/end= string literals")
            options[kw.arg] = v.value
        return n.Print(call.lineno, call.col_offset, args, options["sep"], options["end"])

    def parse_print_arg(self, node: ast.expr) -> n.Node:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return n.Const(node.lineno, node.col_offset, node.value)
        return self.parse_expr(node)

    # ----------------------------------------------------------- expressions

    # atom ::= INT | FLOAT | 'True' | 'False' | 'None'   (str only as a print argument)
    def parse_Constant(self, node: ast.Constant) -> n.Node:
        if type(node.value) not in (int, bool, float) and node.value is not None:
            raise self.fail(node, f"{type(node.value).__name__} literal {node.value!r}")
        return n.Const(node.lineno, node.col_offset, node.value)

    # atom ::= NAME   (a local or parameter, else a module-level name)
    def parse_Name(self, node: ast.Name) -> n.Node:
        if node.id in self.varnames:
            return self.local(node)
        if node.id in BUILTINS and node.id in self.module_names:
            # CPython reads the builtin until the top-level code binds the name: two values
            raise self.fail(node, f"reading {node.id!r}, a builtin the top-level code rebinds")
        if node.id in self.module_functions or node.id in BUILTINS:
            raise self.fail(node, f"using function {node.id!r} as a value")
        if node.id in self.module_names:
            read = n.Global(node.lineno, node.col_offset, node.id, -1)  # slot set by the module
            self.global_reads.append(read)
            return read
        raise self.fail(node, f"global variable {node.id!r} (no top-level statement binds it)")

    # binop ::= expr ('+' | '-' | '*' | '//' | '%' | '**') expr
    def parse_BinOp(self, node: ast.BinOp) -> n.Node:
        op = BINOPS.get(type(node.op))
        if op is None:
            raise self.fail(node, f"operator {type(node.op).__name__!r}")
        return n.BinOp(
            node.lineno,
            node.col_offset,
            op,
            self.parse_expr(node.left),
            self.parse_expr(node.right),
        )

    # unary ::= ('-' | '+' | 'not') expr
    def parse_UnaryOp(self, node: ast.UnaryOp) -> n.Node:
        op = UNARYOPS.get(type(node.op))
        if op is None:
            raise self.fail(node, f"operator {type(node.op).__name__!r}")
        return n.UnaryOp(node.lineno, node.col_offset, op, self.parse_expr(node.operand))

    # compare ::= expr (cmpop expr)+
    def parse_Compare(self, node: ast.Compare) -> n.Node:
        ops = []
        for op in node.ops:
            if type(op) not in CMPOPS:
                raise self.fail(node, f"comparison {type(op).__name__!r}")
            ops.append(CMPOPS[type(op)])
        operands = [self.parse_expr(e) for e in [node.left, *node.comparators]]
        return n.Compare(node.lineno, node.col_offset, ops, operands)

    # boolop ::= expr ('and' | 'or') expr
    def parse_BoolOp(self, node: ast.BoolOp) -> n.Node:
        op = "and" if isinstance(node.op, ast.And) else "or"
        return n.BoolOp(node.lineno, node.col_offset, op, [self.parse_expr(v) for v in node.values])

    # ifexp ::= expr 'if' expr 'else' expr
    def parse_IfExp(self, node: ast.IfExp) -> n.Node:
        return n.IfExp(
            node.lineno,
            node.col_offset,
            self.parse_expr(node.test),
            self.parse_expr(node.body),
            self.parse_expr(node.orelse),
        )

    # list ::= '[' [expr (',' expr)*] ']'
    def parse_List(self, node: ast.List) -> n.Node:
        items = [self.parse_expr(e) for e in node.elts]
        return n.ListDisplay(node.lineno, node.col_offset, items)

    # subscript ::= expr '[' expr ']'
    def parse_Subscript(self, node: ast.Subscript) -> n.Node:
        return n.Subscript(node.lineno, node.col_offset, *self.subscript_parts(node))

    def subscript_parts(self, node: ast.Subscript) -> tuple[n.Node, n.Node]:
        if isinstance(node.slice, ast.Slice | ast.Tuple):
            raise self.fail(node.slice)
        return self.parse_expr(node.value), self.parse_expr(node.slice)

    # append ::= expr '.' 'append' '(' expr ')'
    def parse_method_call(self, node: ast.Call) -> n.Node:
        func = node.func
        assert isinstance(func, ast.Attribute)
        if func.attr != "append" or len(node.args) != 1:
            what = f"method call '.{func.attr}(...)' (lists have only .append(x))"
            raise self.fail(node, what)
        value = self.parse_expr(func.value)
        return n.Append(node.lineno, node.col_offset, value, self.parse_expr(node.args[0]))

    # float ::= 'float' '(' STR ')'   (a literal such as "inf" or "nan", read here)
    def parse_float_of_str(self, node: ast.Call) -> n.Node | None:
        arg = node.args[0] if len(node.args) == 1 else None
        if not (isinstance(arg, ast.Constant) and isinstance(arg.value, str)):
            return None
        try:
            value = float(arg.value)
        except ValueError:
            raise self.fail(arg, f"float({arg.value!r}) (not a number)") from None
        return n.Const(node.lineno, node.col_offset, value)

    # call ::= NAME '(' expr, ... [NAME '=' expr, ...] ')'   (a module function)
    #        | NAME '(' expr, ... ')'   (a value builtin)
    #        | expr '.' 'append' '(' expr ')'
    def parse_Call(self, node: ast.Call) -> n.Node:
        func = node.func
        if any(isinstance(a, ast.Starred) for a in node.args) or any(
            kw.arg is None for kw in node.keywords
        ):
            raise self.fail(node, "starred arguments 'f(*xs)' or 'f(**kw)'")
        if isinstance(func, ast.Attribute):
            if node.keywords:
                raise self.fail(node, "keyword arguments in a method call")
            return self.parse_method_call(node)
        if not isinstance(func, ast.Name) or func.id in self.varnames:
            raise self.fail(node, "call of something other than a module function")
        if func.id in self.module_names:
            raise self.fail(node, f"call of {func.id!r}, a module-level variable")
        if func.id in self.module_functions:
            return self.parse_module_call(node, func.id)
        if node.keywords:
            raise self.fail(node, f"keyword arguments in a call of {func.id}()")
        if func.id == "float":
            folded = self.parse_float_of_str(node)
            if folded is not None:
                return folded
        args = [self.parse_expr(a) for a in node.args]
        if func.id in VALUE_BUILTINS and len(args) in VALUE_BUILTINS[func.id]:
            return n.Builtin(node.lineno, node.col_offset, func.id, args)
        if func.id in BUILTINS:
            raise self.fail(node, f"{func.id}() with {len(args)} argument(s) here")
        raise self.fail(node, f"call of {func.id!r} (not a function of this module)")

    def parse_module_call(self, node: ast.Call, name: str) -> n.Call:
        """A call of a module function, its keywords bound and its defaults filled in here:
        the callee is known (module function names are never rebound). A call that cannot
        bind always raises CPython's TypeError: with only positional arguments and no
        defaults the call does, when it runs, on every tier (each has that argument-count
        check); any other is refused here, with CPython's message (docs/calls.md says why)."""
        sources = [*node.args, *(kw.value for kw in node.keywords)]
        values = [self.parse_expr(e) for e in sources]
        params, defaults = self.signatures.get(name, (None, []))
        if not node.keywords and not defaults:
            return n.Call(node.lineno, node.col_offset, name, values)
        if params is None:
            raise self.fail(node, f"keyword arguments in a call of {name!r} (its def is not known)")
        keywords = [kw.arg or "" for kw in node.keywords]
        try:
            bound, order = calls.bind_source(name, params, defaults, len(node.args), keywords)
        except TypeError as e:
            raise self.fail(node, f"a call that always raises TypeError ({e})") from None
        args = [
            values[b] if b >= 0 else n.Const(node.lineno, node.col_offset, defaults[-1 - b])
            for b in bound
        ]
        return n.Call(node.lineno, node.col_offset, name, args, order)


def is_jit_decorator(node: ast.expr) -> bool:
    """`@jit`, `@jitkit.jit`, `@jit(tier=...)`: decorations the front end may ignore."""
    target = node.func if isinstance(node, ast.Call) else node
    name = target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", "")
    return name == "jit"


def parse_module(source: str, filename: str = "<string>") -> n.Module:
    """Why: one call turns a whole program (defs plus top-level statements) into a kit AST."""
    tree = ast.parse(source, filename)
    return lower_module_tree(tree, filename, source)


def check_module_bindings(tree: ast.Module, filename: str) -> None:
    """The kit binds each module function name once, before any top-level code runs; CPython
    binds names as its statements execute. Refuse the programs where that differs: a name
    defined twice or also assigned, a builtin redefined, and a top-level statement that can
    reach (through the calls in function bodies) a function whose `def` comes later."""
    defs: dict[str, ast.FunctionDef] = {}
    for stmt in tree.body:
        if isinstance(stmt, ast.FunctionDef):
            if stmt.name in BUILTINS:
                raise unsupported(filename, stmt, f"redefining the builtin {stmt.name!r}")
            if stmt.name in defs:
                first = defs[stmt.name].lineno
                raise unsupported(
                    filename, stmt, f"a second 'def {stmt.name}' (first: line {first})"
                )
            defs[stmt.name] = stmt
    calls = {name: called_names(fdef.body) & defs.keys() for name, fdef in defs.items()}
    defined: set[str] = set()
    for stmt in tree.body:
        if isinstance(stmt, ast.FunctionDef):
            defined.add(stmt.name)
            continue
        for node in ast.walk(stmt):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store) and node.id in defs:
                raise unsupported(filename, node, f"rebinding the function name {node.id!r}")
        reached, pending = set(), list(called_names([stmt]) & defs.keys())
        while pending:
            name = pending.pop()
            if name not in reached:
                reached.add(name)
                pending += calls[name]
        early = sorted(reached - defined, key=lambda name: defs[name].lineno)
        if early:
            line = defs[early[0]].lineno
            raise unsupported(
                filename, stmt, f"code that can call {early[0]!r} before its def (line {line}) runs"
            )


def is_docstring(stmt: ast.stmt) -> bool:
    """A string literal standing alone as the first statement of a module or function."""
    return (
        isinstance(stmt, ast.Expr)
        and isinstance(stmt.value, ast.Constant)
        and isinstance(stmt.value.value, str)
    )


def called_names(body: list[ast.stmt]) -> set[str]:
    """The plain names called anywhere in `body` (`f(...)`, not `x.f(...)`)."""
    return {
        node.func.id
        for stmt in body
        for node in ast.walk(stmt)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
    }


@deep
def lower_module_tree(tree: ast.Module, filename: str, source: str = "") -> n.Module:
    """Split a Python module into its functions and its top-level statements."""
    check_module_bindings(tree, filename)
    defs = [s for s in tree.body if isinstance(s, ast.FunctionDef)]
    names = {d.name for d in defs}
    rest = [s for s in tree.body if not isinstance(s, ast.FunctionDef)]
    if rest and rest[0] is tree.body[0] and is_docstring(rest[0]):
        rest = rest[1:]  # the module's docstring: CPython stores it in __doc__, prints nothing
    bound = bound_names(rest)
    reads: list[n.Global] = []
    functions = {}
    signatures = {d.name: signature(filename, d) for d in defs}
    for d in defs:
        bad = [dec for dec in d.decorator_list if not is_jit_decorator(dec)]
        if bad:
            raise unsupported(filename, bad[0], "decorator other than @jit")
        parser = FunctionParser(filename, names, set(bound), reads, signatures=signatures)
        functions[d.name] = parser.parse_FunctionDef(d)
    module_globals = number_globals(reads, bound)
    stores = {name: i for i, name in enumerate(module_globals)}
    main = None
    if rest:
        parser = FunctionParser(filename, names, stores=stores, signatures=signatures)
        main = parser.parse_body_as_function(rest[0], n.MODULE_CODE_NAME, [], rest)
    return n.Module(functions, filename, main, source, module_globals)


def function_tree(fn: Callable) -> tuple[ast.FunctionDef, str]:
    """The `def` of a live function, with line numbers of its real file, and that file."""
    try:
        source = textwrap.dedent(inspect.getsource(fn))
    except (OSError, TypeError) as e:
        raise UnsupportedError(f"cannot read the source of {fn!r}: {e}") from None
    filename = fn.__code__.co_filename
    tree = ast.parse(source, filename)
    ast.increment_lineno(tree, fn.__code__.co_firstlineno - 1)
    fdef = tree.body[0]
    if not isinstance(fdef, ast.FunctionDef):
        raise unsupported(filename, fdef, construct_name(fdef))
    return fdef, filename


def unwrap(obj: object) -> object:
    """The plain Python function behind a `@jit` wrapper (or the object itself)."""
    return getattr(obj, "__wrapped__", obj)


@deep
def parse_function(fn: Callable) -> n.Module:
    """Why: `@jit` sees a function object; collect it and every module function it calls."""
    fn = unwrap(fn)
    pending, trees = [fn], {}
    while pending:
        f = pending.pop()
        if f.__name__ in trees:
            continue
        fdef, filename = function_tree(f)
        trees[f.__name__] = (f, fdef, filename)
        for node in ast.walk(ast.Module(body=fdef.body, type_ignores=[])):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                if node.func.id in BUILTINS and node.func.id in f.__globals__:
                    what = f"calling {node.func.id!r}, which this module redefines"
                    raise unsupported(filename, node, what)
                callee = unwrap(f.__globals__.get(node.func.id))
                if inspect.isfunction(callee) and node.func.id not in trees:
                    pending.append(callee)
    names = set(trees)
    signatures = {
        name: live_signature(f, fdef, filename) for name, (f, fdef, filename) in trees.items()
    }
    functions = {}
    reads: list[n.Global] = []
    for name, (f, fdef, filename) in trees.items():
        module_names = python_globals(f, fdef, names)
        if module_names and f.__globals__ is not fn.__globals__:
            first = sorted(module_names)[0]
            what = (
                f"reading {first!r}, a module-level name of another module than {fn.__name__!r}'s"
            )
            raise unsupported(filename, fdef, what)
        parser = FunctionParser(
            filename, names | python_functions(f, fdef), module_names, reads, signatures=signatures
        )
        functions[name] = parser.parse_FunctionDef(fdef)
    order = list(dict.fromkeys(g.name for g in reads))  # first read first
    module_globals = number_globals(reads, order)
    return n.Module(functions, trees[fn.__name__][2], globals=module_globals)


def live_signature(f: Callable, fdef: ast.FunctionDef, filename: str) -> Signature:
    """The signature of a live function's `def`, whose defaults must still be the ones the
    source spells (`f.__defaults__` can be assigned after the `def` ran)."""
    params, defaults = signature(filename, fdef)
    live = getattr(f, "__defaults__", None) or ()
    if [(type(v), repr(v)) for v in live] != [(type(v), repr(v)) for v in defaults]:
        what = f"{f.__name__}.__defaults__ {live!r}, set to other values than its def's"
        raise unsupported(filename, fdef, what)
    return params, defaults


def python_functions(f: Callable, fdef: ast.FunctionDef) -> set[str]:
    """Names `f` reads that its module binds to a function (as a value: refused as such)."""
    scope = f.__globals__
    return {
        node.id
        for node in ast.walk(ast.Module(body=fdef.body, type_ignores=[]))
        if isinstance(node, ast.Name) and inspect.isfunction(unwrap(scope.get(node.id)))
    }


def python_globals(f: Callable, fdef: ast.FunctionDef, functions: set[str]) -> set[str]:
    """The names `f` reads from its module's globals that are not functions: those bound
    there to something else, or not bound yet (not a Python builtin either), which the call
    finds missing (NameError) unless the module binds them first."""
    local = {arg.arg for arg in fdef.args.args} | set(assigned_names(fdef.body))
    found = set()
    for node in ast.walk(ast.Module(body=fdef.body, type_ignores=[])):
        if not isinstance(node, ast.Name) or not isinstance(node.ctx, ast.Load):
            continue
        name = node.id
        if name in local or name in functions or name in BUILTINS:
            continue
        if name not in f.__globals__:
            if not hasattr(builtins, name):
                found.add(name)
        elif not inspect.isfunction(unwrap(f.__globals__[name])):
            found.add(name)
    return found
