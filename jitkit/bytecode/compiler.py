"""Compiler: kit AST -> kit bytecode (notebook 03 interpreters).

In: a `nodes.Module` from `jitkit.lang.parse`. Out: one verified `Code` per function (and one
named `<module>` for top-level statements), keyed by name. One `lower_<Node>` per node kind;
`lowerings` replaces some of them with functions `(compiler, node) -> None` (an exercise
writes its own `While`).
"""

from __future__ import annotations

from collections.abc import Callable

from jitkit.bytecode.code import Code, CodeBuilder
from jitkit.bytecode.opcodes import (
    BINARY_OPS,
    BUILTIN_OPS,
    COMPARE_OPS,
    NO_ARGUMENT_BUILTINS,
    UNARY_OPS,
    Op,
)
from jitkit.bytecode.verify import verify
from jitkit.lang import nodes as n
from jitkit.lang.parse import deep


def reverse_top(b: CodeBuilder, count: int) -> None:
    """Emit SWAPs that reverse the top `count` stack items (for left-to-right tuple stores)."""
    permute_top(b, list(range(count))[::-1])


def permute_top(b: CodeBuilder, ranks: list[int]) -> None:
    """Emit SWAPs that sort the top `len(ranks)` items, `ranks[k]` being the rank of the
    item k places above the lowest of them (the top is last); at most two per item."""
    stack, want = list(ranks), sorted(ranks)
    for depth in range(len(stack), 1, -1):
        if stack[-depth] == want[-depth]:
            continue
        where = len(stack) - stack.index(want[-depth])
        if where != 1:
            b.emit(Op.SWAP, where)
            stack[-1], stack[-where] = stack[-where], stack[-1]
        b.emit(Op.SWAP, depth)
        stack[-1], stack[-depth] = stack[-depth], stack[-1]


# node class name -> a replacement for FunctionCompiler.lower_<name>
Lowerings = dict[str, Callable[["FunctionCompiler", n.Node], None]]


class FunctionCompiler:
    """Lowers one kit Function into one Code, statement by statement."""

    def __init__(
        self, fn: n.Function, lowerings: Lowerings | None = None, globals: list[str] | None = None
    ) -> None:
        self.fn = fn
        self.lowerings = lowerings or {}
        self.b = CodeBuilder(fn.name, len(fn.params), fn.varnames, fn.filename, fn.line, globals)
        self.loops: list[tuple[int, list[int]]] = []  # (continue target, break jumps)

    def compile(self) -> Code:
        self.lower_block(self.fn.body)
        if not (self.fn.body and isinstance(self.fn.body[-1], n.Return)):
            self.b.emit(Op.LOAD_CONST, self.b.add_constant(None))
            self.b.emit(Op.RETURN)
        return self.b.code

    def lower_block(self, body: list[n.Node]) -> None:
        for stmt in body:
            self.lower(stmt)

    def lower(self, node: n.Node) -> None:
        self.b.line = node.line
        kind = type(node).__name__
        if kind in self.lowerings:
            self.lowerings[kind](self, node)
        else:
            getattr(self, f"lower_{kind}")(node)

    # ------------------------------------------------------------ statements

    def lower_Assign(self, s: n.Assign) -> None:
        self.lower(s.value)
        self.b.emit(Op.STORE_LOCAL, s.target.slot)

    def lower_TupleAssign(self, s: n.TupleAssign) -> None:
        for v in s.values:
            self.lower(v)
        self.b.line = s.line
        reverse_top(self.b, len(s.targets))
        for t in s.targets:
            self.b.emit(Op.STORE_LOCAL, t.slot)

    def lower_AugAssign(self, s: n.AugAssign) -> None:
        self.lower(s.target)
        self.lower(s.value)
        self.b.line = s.line
        self.b.emit_inplace(BINARY_OPS[s.op])
        self.b.emit(Op.STORE_LOCAL, s.target.slot)

    def lower_SetGlobal(self, s: n.SetGlobal) -> None:
        self.lower(s.value)
        self.b.line = s.line
        self.b.emit(Op.STORE_GLOBAL, s.index)

    # CPython's order: the item, then the list, then the index
    def lower_StoreSubscript(self, s: n.StoreSubscript) -> None:
        for e in (s.item, s.value, s.index):
            self.lower(e)
        self.b.line = s.line
        self.b.emit(Op.STORE_SUBSCR)

    def lower_If(self, s: n.If) -> None:
        self.lower(s.test)
        to_else = self.b.emit_jump(Op.JUMP_IF_FALSE)
        self.lower_block(s.body)
        if s.orelse:
            to_end = self.b.emit_jump(Op.JUMP)
            self.b.patch_jump(to_else)
            self.lower_block(s.orelse)
            self.b.patch_jump(to_end)
        else:
            self.b.patch_jump(to_else)

    def lower_While(self, s: n.While) -> None:
        top = self.b.here()
        self.lower(s.test)
        to_end = self.b.emit_jump(Op.JUMP_IF_FALSE)
        self.lower_loop_body(s.body, top)
        self.b.line = s.line
        self.b.emit(Op.JUMP_BACKWARD, top)
        self.end_loop([to_end])

    def lower_ForRange(self, s: n.ForRange) -> None:
        i, stop, step = s.hidden, s.hidden + 1, s.hidden + 2
        for e in (s.start, s.stop, s.step):
            self.lower(e)
        self.b.line = s.line
        self.b.emit(Op.RANGE_CHECK)
        for slot in (step, stop, i):
            self.b.emit(Op.STORE_LOCAL, slot)
        top = self.b.here()
        for slot in (i, stop, step):
            self.b.emit(Op.LOAD_LOCAL, slot)
        self.b.emit(Op.RANGE_TEST)
        to_end = self.b.emit_jump(Op.JUMP_IF_FALSE)
        for op, arg in [
            (Op.LOAD_LOCAL, i),
            (Op.STORE_LOCAL, s.target.slot),
            (Op.LOAD_LOCAL, i),
            (Op.LOAD_LOCAL, step),
            (Op.BINARY_ADD, 0),
            (Op.STORE_LOCAL, i),
        ]:
            self.b.emit(op, arg)
        self.lower_loop_body(s.body, top)
        self.b.line = s.line
        self.b.emit(Op.JUMP_BACKWARD, top)
        self.end_loop([to_end])

    # for x in xs: by index, reading len(xs) again on every trip (appends extend the loop)
    def lower_ForEach(self, s: n.ForEach) -> None:
        xs, i = s.hidden, s.hidden + 1
        self.lower(s.iterable)
        self.b.line = s.line
        self.b.emit(Op.CHECK_ITER)
        self.b.emit(Op.STORE_LOCAL, xs)
        self.b.emit(Op.LOAD_CONST, self.b.add_constant(0))
        self.b.emit(Op.STORE_LOCAL, i)
        top = self.b.here()
        for op, arg in [(Op.LOAD_LOCAL, i), (Op.LOAD_LOCAL, xs), (Op.UNARY_LEN, 0)]:
            self.b.emit(op, arg)
        self.b.emit(Op.COMPARE_LT)
        to_end = self.b.emit_jump(Op.JUMP_IF_FALSE)
        for op, arg in [
            (Op.LOAD_LOCAL, xs),
            (Op.LOAD_LOCAL, i),
            (Op.BINARY_SUBSCR, 0),
            (Op.STORE_LOCAL, s.target.slot),
            (Op.LOAD_LOCAL, i),
            (Op.LOAD_CONST, self.b.add_constant(1)),
            (Op.BINARY_ADD, 0),
            (Op.STORE_LOCAL, i),
        ]:
            self.b.emit(op, arg)
        self.lower_loop_body(s.body, top)
        self.b.line = s.line
        self.b.emit(Op.JUMP_BACKWARD, top)
        self.end_loop([to_end])

    def lower_loop_body(self, body: list[n.Node], top: int) -> None:
        self.loops.append((top, []))
        self.lower_block(body)

    def end_loop(self, exits: list[int]) -> None:
        _, breaks = self.loops.pop()
        for at in exits + breaks:
            self.b.patch_jump(at)

    def lower_Break(self, s: n.Break) -> None:
        self.loops[-1][1].append(self.b.emit_jump(Op.JUMP))

    def lower_Continue(self, s: n.Continue) -> None:
        self.b.emit(Op.JUMP_BACKWARD, self.loops[-1][0])

    def lower_Pass(self, s: n.Pass) -> None:
        pass

    def lower_Return(self, s: n.Return) -> None:
        self.lower(s.value)
        self.b.emit(Op.RETURN)

    def lower_ExprStmt(self, s: n.ExprStmt) -> None:
        self.lower(s.value)
        self.b.emit(Op.POP)

    def lower_Print(self, s: n.Print) -> None:
        for a in s.args:
            self.lower(a)
        self.b.line = s.line
        self.b.emit(Op.LOAD_CONST, self.b.add_constant(s.sep))
        self.b.emit(Op.LOAD_CONST, self.b.add_constant(s.end))
        self.b.emit(Op.PRINT, len(s.args))

    # ----------------------------------------------------------- expressions

    def lower_Const(self, e: n.Const) -> None:
        self.b.emit(Op.LOAD_CONST, self.b.add_constant(e.value))

    def lower_Local(self, e: n.Local) -> None:
        self.b.emit(Op.LOAD_LOCAL, e.slot)

    def lower_Global(self, e: n.Global) -> None:
        self.b.emit(Op.LOAD_GLOBAL, e.index)

    def lower_BinOp(self, e: n.BinOp) -> None:
        self.lower(e.left)
        self.lower(e.right)
        self.b.line = e.line
        (self.b.emit_inplace if e.inplace else self.b.emit)(BINARY_OPS[e.op])

    def lower_UnaryOp(self, e: n.UnaryOp) -> None:
        self.lower(e.operand)
        self.b.line = e.line
        self.b.emit(UNARY_OPS[e.op])

    # a < b < c: keep b for the next link; on a false link drop it and keep the False
    def lower_Compare(self, e: n.Compare) -> None:
        self.lower(e.operands[0])
        cleanups = []
        for op, right in zip(e.ops[:-1], e.operands[1:-1], strict=True):
            self.lower(right)
            for o, a in [(Op.SWAP, 2), (Op.COPY, 2), (COMPARE_OPS[op], 0), (Op.COPY, 1)]:
                self.b.emit(o, a)
            cleanups.append(self.b.emit_jump(Op.JUMP_IF_FALSE))
            self.b.emit(Op.POP)
        self.lower(e.operands[-1])
        self.b.line = e.line
        self.b.emit(COMPARE_OPS[e.ops[-1]])
        if cleanups:
            to_end = self.b.emit_jump(Op.JUMP)
            for at in cleanups:
                self.b.patch_jump(at)
            self.b.emit(Op.SWAP, 2)
            self.b.emit(Op.POP)
            self.b.patch_jump(to_end)

    def lower_BoolOp(self, e: n.BoolOp) -> None:
        jump = Op.JUMP_IF_FALSE if e.op == "and" else Op.JUMP_IF_TRUE
        ends = []
        for v in e.values[:-1]:
            self.lower(v)
            self.b.emit(Op.DUP)
            ends.append(self.b.emit_jump(jump))
            self.b.emit(Op.POP)
        self.lower(e.values[-1])
        for at in ends:
            self.b.patch_jump(at)

    def lower_IfExp(self, e: n.IfExp) -> None:
        self.lower(e.test)
        to_else = self.b.emit_jump(Op.JUMP_IF_FALSE)
        self.lower(e.body)
        to_end = self.b.emit_jump(Op.JUMP)
        self.b.patch_jump(to_else)
        self.lower(e.orelse)
        self.b.patch_jump(to_end)

    # f(b=x, a=y): the arguments in source order, then SWAPs put them in parameter order
    def lower_Call(self, e: n.Call) -> None:
        self.b.emit(Op.LOAD_FUNC, self.b.add_name(e.func))
        for i in n.evaluation_order(e):
            self.lower(e.args[i])
        self.b.line = e.line
        permute_top(self.b, n.evaluation_order(e))
        self.b.emit(Op.CALL, len(e.args))

    def lower_Builtin(self, e: n.Builtin) -> None:
        if not e.args:  # float() and int()
            self.b.emit(Op.LOAD_CONST, self.b.add_constant(NO_ARGUMENT_BUILTINS[e.func]))
            return
        for a in e.args:
            self.lower(a)
        self.b.line = e.line
        self.b.emit(BUILTIN_OPS[e.func])

    def lower_ListDisplay(self, e: n.ListDisplay) -> None:
        for item in e.items:
            self.lower(item)
        self.b.line = e.line
        self.b.emit(Op.BUILD_LIST, len(e.items))

    def lower_Subscript(self, e: n.Subscript) -> None:
        self.lower(e.value)
        self.lower(e.index)
        self.b.line = e.line
        self.b.emit(Op.BINARY_SUBSCR)

    # xs.append(v): the method is looked up (CHECK_APPEND) before v is evaluated
    def lower_Append(self, e: n.Append) -> None:
        self.lower(e.value)
        self.b.line = e.line
        self.b.emit(Op.CHECK_APPEND)
        self.lower(e.item)
        self.b.line = e.line
        self.b.emit(Op.LIST_APPEND)


@deep
def compile_function(
    fn: n.Function, lowerings: Lowerings | None = None, globals: list[str] | None = None
) -> Code:
    """Why: one kit Function becomes one verified code object (`globals`: its module's)."""
    code = FunctionCompiler(fn, lowerings, globals).compile()
    verify(code)
    return code


def compile_module(module: n.Module, lowerings: Lowerings | None = None) -> dict[str, Code]:
    """Why: the VM runs a whole module; every function (and `<module>`) compiled and verified."""
    names = module.globals
    codes = {name: compile_function(fn, lowerings, names) for name, fn in module.functions.items()}
    if module.main is not None:
        codes[n.MODULE_CODE_NAME] = compile_function(module.main, lowerings, names)
    return codes
