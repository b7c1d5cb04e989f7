"""Tree-walk interpreter over the kit AST (notebook 03 interpreters).

In: a `nodes.Module`, a function name and arguments. Out: the function's return value, with
`print` output on stdout and CPython's exception types (ZeroDivisionError, RecursionError,
UnboundLocalError, ...). The simplest engine: the reference the VM is compared with.
"""

from __future__ import annotations

import threading

from jitkit.lang import nodes as n
from jitkit.lang import runtime as rt

FRAMES_PER_CALL = 12  # Python frames one kit call may use here, to size the recursion limit


class BreakLoop(Exception):
    """`break` unwinding to its loop."""


class ContinueLoop(Exception):
    """`continue` unwinding to its loop."""


class ReturnValue(Exception):
    """`return` unwinding to its call."""

    def __init__(self, value: object) -> None:
        self.value = value


class Calls(threading.local):
    """Per thread: kit frames active in this thread's run, and the limit it may reach."""

    def __init__(self) -> None:
        self.depth = 0
        self.limit = rt.recursion_limit()


class TreeWalker:
    """Evaluates kit AST nodes directly: `exec_<Stmt>` for statements, `eval_<Expr>` for values."""

    def __init__(self, module: n.Module) -> None:
        self.module = module
        self.calls = Calls()
        self.globals = rt.global_store(module.globals)  # shared by threads, as a module's are
        # node class -> its bound exec_/eval_ method, looked up once instead of per visit
        self.handlers = {
            getattr(n, name.split("_", 1)[1]): getattr(self, name)
            for name in dir(self)
            if name.startswith(("exec_", "eval_")) and hasattr(n, name.split("_", 1)[1])
        }

    def run(self, name: str, args: list[object]) -> object:
        """Call one function of the module (or `<module>`, the top-level statements)."""
        calls = self.calls
        outer = calls.depth == 0  # else a print inside this thread's run called back in
        if outer:
            calls.limit = rt.recursion_limit()
        with rt.deep_python_stack(calls.limit, FRAMES_PER_CALL):
            return self.call(name, list(args), None)

    def set_globals(self, values: list[object]) -> None:
        """Set the module's globals from outside (`@jit`): values[i] for `Module.globals[i]`,
        `rt.UNBOUND` for a name not bound."""
        self.globals[:] = rt.check_globals(self.module.globals, values)

    def run_main(self) -> object:
        """Run the module's top-level statements, like `python prog.py`."""
        return self.run(n.MODULE_CODE_NAME, []) if self.module.main else None

    def call(self, name: str, args: list[object], at: n.Node | None) -> object:
        fn = self.module.main if name == n.MODULE_CODE_NAME else self.module.functions[name]
        if len(args) != len(fn.params):
            raise rt.arity_error(name, fn.params, len(args))
        calls = self.calls
        if calls.depth >= calls.limit:
            raise RecursionError("maximum recursion depth exceeded")
        frame = args + [rt.UNBOUND] * (len(fn.varnames) - len(args))
        calls.depth += 1
        try:
            self.exec_block(fn.body, frame)
        except ReturnValue as r:
            return r.value
        finally:
            calls.depth -= 1
        return None

    def exec_block(self, body: list[n.Node], frame: list) -> None:
        handlers = self.handlers
        for stmt in body:
            handlers[type(stmt)](stmt, frame)

    def eval(self, node: n.Node, frame: list) -> object:
        return self.handlers[type(node)](node, frame)

    # ------------------------------------------------------------ statements

    def exec_Assign(self, s: n.Assign, frame: list) -> None:
        frame[s.target.slot] = self.eval(s.value, frame)

    def exec_TupleAssign(self, s: n.TupleAssign, frame: list) -> None:
        values = [self.eval(v, frame) for v in s.values]
        for target, value in zip(s.targets, values, strict=True):
            frame[target.slot] = value

    def exec_AugAssign(self, s: n.AugAssign, frame: list) -> None:
        old = self.eval_Local(s.target, frame)
        frame[s.target.slot] = rt.inplace(s.op, old, self.eval(s.value, frame))

    def exec_StoreSubscript(self, s: n.StoreSubscript, frame: list) -> None:
        item = self.eval(s.item, frame)
        xs = self.eval(s.value, frame)
        rt.store_subscript(item, xs, self.eval(s.index, frame))

    def exec_SetGlobal(self, s: n.SetGlobal, frame: list) -> None:
        self.globals[s.index] = self.eval(s.value, frame)

    def exec_If(self, s: n.If, frame: list) -> None:
        self.exec_block(s.body if self.eval(s.test, frame) else s.orelse, frame)

    def exec_While(self, s: n.While, frame: list) -> None:
        while self.eval(s.test, frame):
            if self.exec_loop_trip(s.body, frame):
                break

    def exec_ForRange(self, s: n.ForRange, frame: list) -> None:
        bounds = [self.eval(e, frame) for e in (s.start, s.stop, s.step)]
        counter, stop, step = rt.range_check(*bounds)
        while rt.range_test(counter, stop, step):
            frame[s.target.slot] = counter
            counter += step
            if self.exec_loop_trip(s.body, frame):
                break

    def exec_ForEach(self, s: n.ForEach, frame: list) -> None:
        xs = rt.check_iterable(self.eval(s.iterable, frame))
        index = 0
        while index < len(xs):  # re-read: an append in the body extends the loop
            frame[s.target.slot] = xs[index]
            index += 1
            if self.exec_loop_trip(s.body, frame):
                break

    def exec_loop_trip(self, body: list, frame: list) -> bool:
        """One trip round a loop body: True when it ended in `break` (`continue` only ends
        the trip)."""
        try:
            self.exec_block(body, frame)
        except BreakLoop:
            return True
        except ContinueLoop:
            pass
        return False

    def exec_Break(self, s: n.Break, frame: list) -> None:
        raise BreakLoop

    def exec_Continue(self, s: n.Continue, frame: list) -> None:
        raise ContinueLoop

    def exec_Pass(self, s: n.Pass, frame: list) -> None:
        pass

    def exec_Return(self, s: n.Return, frame: list) -> None:
        raise ReturnValue(self.eval(s.value, frame))

    def exec_ExprStmt(self, s: n.ExprStmt, frame: list) -> None:
        self.eval(s.value, frame)

    def exec_Print(self, s: n.Print, frame: list) -> None:
        rt.print_values([self.eval(a, frame) for a in s.args], s.sep, s.end)

    # ----------------------------------------------------------- expressions

    def eval_Const(self, e: n.Const, frame: list) -> object:
        return e.value

    def eval_Local(self, e: n.Local, frame: list) -> object:
        value = frame[e.slot]
        if value is rt.UNBOUND:
            raise rt.unbound_local(e.name)
        return value

    def eval_Global(self, e: n.Global, frame: list) -> object:
        value = self.globals[e.index]
        if value is rt.UNBOUND:
            raise rt.name_error(e.name)
        return value

    def eval_BinOp(self, e: n.BinOp, frame: list) -> object:
        operator = rt.inplace if e.inplace else rt.binary
        return operator(e.op, self.eval(e.left, frame), self.eval(e.right, frame))

    def eval_UnaryOp(self, e: n.UnaryOp, frame: list) -> object:
        return rt.UNARY[e.op](self.eval(e.operand, frame))

    def eval_Compare(self, e: n.Compare, frame: list) -> object:
        left = self.eval(e.operands[0], frame)
        for op, right_node in zip(e.ops, e.operands[1:], strict=True):
            right = self.eval(right_node, frame)
            result = rt.COMPARE[op](left, right)
            if not result:
                return result
            left = right
        return result

    def eval_BoolOp(self, e: n.BoolOp, frame: list) -> object:
        for value_node in e.values[:-1]:
            value = self.eval(value_node, frame)
            if bool(value) == (e.op == "or"):
                return value
        return self.eval(e.values[-1], frame)

    def eval_IfExp(self, e: n.IfExp, frame: list) -> object:
        return self.eval(e.body if self.eval(e.test, frame) else e.orelse, frame)

    def eval_Call(self, e: n.Call, frame: list) -> object:
        if e.order is None:
            return self.call(e.func, [self.eval(a, frame) for a in e.args], e)
        args: list[object] = [None] * len(e.args)
        for i in e.order:  # source order; the callee gets them in parameter order
            args[i] = self.eval(e.args[i], frame)
        return self.call(e.func, args, e)

    def eval_Builtin(self, e: n.Builtin, frame: list) -> object:
        return rt.BUILTINS[e.func](*[self.eval(a, frame) for a in e.args])

    def eval_ListDisplay(self, e: n.ListDisplay, frame: list) -> object:
        return [self.eval(item, frame) for item in e.items]

    def eval_Subscript(self, e: n.Subscript, frame: list) -> object:
        xs = self.eval(e.value, frame)
        return rt.subscript(xs, self.eval(e.index, frame))

    def eval_Append(self, e: n.Append, frame: list) -> object:
        xs = rt.check_append(self.eval(e.value, frame))
        rt.append(xs, self.eval(e.item, frame))


def run(module: n.Module, name: str, *args: object) -> object:
    """Why: one call to interpret a function of a parsed module."""
    return TreeWalker(module).run(name, list(args))
