"""Kit AST -> LLVM IR, the mini compiler's code generator (notebook 08 LLVM mini compiler).

In: a `jitkit.lang.nodes.Module` (from `jitkit.lang.parse.parse_module`) and a target
("inprocess", "libc", "nolibc"). Out: a `Program`: the `llvmlite.ir.Module` plus the table
of error sites. Values are dynamically typed, so each kit value is two LLVM values: a tag
(i8: INT, BOOL, NONE) and a 64-bit payload; LLVM's SROA and instcombine fold the tags away
wherever the types are known. A kit function `f` becomes `{i8, i64} @"py.f"(i8, i64, ...)`.

Errors: every place that can fail (overflow, division by zero, unbound local, bad operand
types, range step 0, too deep recursion, ...) is an error *site* with a number. Failing
returns the tag ERROR with the site number as payload; callers pass it up unchanged, so the
first failure ends the run before any later side effect. In process, Python decides what the
site means (raise it, or re-run in the interpreter); in an executable, `main` prints the
site's message to stderr and exits 1.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from llvmlite import ir

from jitkit.lang import nodes as n
from jitkit.llvm.runtime import (
    BYTES,
    I1,
    I8,
    I32,
    I64,
    Runtime,
    emit_entry,
    emit_runtime,
    string_constant,
)
from jitkit.llvm.runtime import function as new_function
from jitkit.llvm.target import new_module

INT, BOOL, NONE, ERROR, UNBOUND = 0, 1, 2, 3, 4
VALUE = ir.LiteralStructType([I8, I64])
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
ARITH = {"+": "sadd_with_overflow", "-": "ssub_with_overflow", "*": "smul_with_overflow"}
SIGNED = {"<": "<", "<=": "<=", ">": ">", ">=": ">=", "==": "==", "!=": "!="}
MAIN = "py.<module>"

# kind -> the Python exception it stands for (message text comes with each site)
KINDS = {
    "overflow": "OverflowError",
    "zerodiv": "ZeroDivisionError",
    "unbound": "UnboundLocalError",
    "type": "TypeError",
    "value": "ValueError",
    "recursion": "RecursionError",
    "unsupported": "UnsupportedError",
}


@dataclass
class Site:
    """One place where compiled code can fail: what, why, and where in the source."""

    kind: str
    message: str
    line: int
    function: str

    def report(self, filename: str) -> str:
        """The stderr text of an executable that stops here (CPython's last two lines)."""
        return (
            f'  File "{filename}", line {self.line}, in {self.function}\n'
            f"{KINDS[self.kind]}: {self.message}\n"
        )


@dataclass
class Program:
    """The compiled module: IR, the error sites, and the kit functions it defines."""

    module: ir.Module
    sites: list[Site]
    functions: dict[str, n.Function]
    filename: str
    target: str

    def __str__(self) -> str:
        return str(self.module)


@dataclass
class Val:
    """A kit value inside generated code: an i8 tag and an i64 payload."""

    tag: ir.Value
    payload: ir.Value


def const(typ: ir.Type, value: int) -> ir.Constant:
    return ir.Constant(typ, value)


def lval(tag: int, payload: int) -> Val:
    """A compile-time constant kit value."""
    return Val(const(I8, tag), const(I64, payload))


@dataclass
class Loop:
    """Where `continue` and `break` of the innermost loop jump."""

    next: ir.Block
    exit: ir.Block


@dataclass
class FunctionState:
    """Per-function code generation state: the function, its locals, its loops."""

    kit: n.Function
    fn: ir.Function
    slots: list[tuple[ir.Value, ir.Value]] = field(default_factory=list)
    loops: list[Loop] = field(default_factory=list)


class CodeGen:
    """Lowers a kit module: `lower_<Stmt>` for statements, `lower_<Expr>` for expressions."""

    def __init__(self, kit: n.Module, target: str) -> None:
        self.kit, self.target = kit, target
        self.module = new_module(kit.filename)
        self.rt: Runtime = emit_runtime(self.module, target)
        self.sites: list[Site] = []
        self.strings: dict[str, tuple[ir.Value, int]] = {}
        self.functions: dict[str, n.Function] = dict(kit.functions)
        if kit.main is not None:
            self.functions[n.MODULE_CODE_NAME] = kit.main
        self.llvm: dict[str, ir.Function] = {}
        for name, f in self.functions.items():
            ftype = ir.FunctionType(VALUE, [I8, I64] * len(f.params))
            fn = ir.Function(self.module, ftype, f"py.{name}")
            fn.linkage = "internal"
            self.llvm[name] = fn
        self.b = ir.IRBuilder()
        self.print_value = self.emit_print_value()
        self.pow = self.emit_pow()
        self.f: FunctionState

    # ----------------------------------------------------------------- helpers

    def string(self, text: str) -> tuple[ir.Value, int]:
        """Pointer and length of a UTF-8 string constant (one global per distinct text)."""
        if text not in self.strings:
            data = text.encode()
            var = string_constant(self.module, data, f"str.{len(self.strings)}")
            self.strings[text] = (var.bitcast(BYTES), len(data))
        return self.strings[text]

    def write_text(self, text: str | None, fd: int = 1) -> None:
        if text:
            ptr, length = self.string(text)
            self.b.call(self.rt.write, [ptr, const(I64, length), const(I32, fd)])

    def site(self, kind: str, message: str, node: n.Node) -> int:
        self.sites.append(Site(kind, message, node.line, self.f.kit.name))
        return len(self.sites) - 1

    def ret(self, value: ir.Value) -> None:
        """Leave the function: one call level less, then return the {tag, payload} pair."""
        b = self.b
        b.store(b.sub(b.load(self.rt.depth), const(I64, 1)), self.rt.depth)
        b.ret(value)

    def fail(self, kind: str, message: str, node: n.Node) -> None:
        """Return ERROR(site) from here; later code goes to a fresh, unreachable block."""
        self.ret(ir.Constant(VALUE, [ERROR, self.site(kind, message, node)]))
        self.b.position_at_end(self.f.fn.append_basic_block("dead"))

    def guard(self, ok: ir.Value, kind: str, message: str, node: n.Node) -> None:
        """Continue when `ok` holds; otherwise fail at a new error site."""
        fail_block = self.f.fn.append_basic_block(f"fail.{kind}")
        cont = self.f.fn.append_basic_block("ok")
        self.b.cbranch(ok, cont, fail_block)
        self.b.position_at_end(fail_block)
        self.ret(ir.Constant(VALUE, [ERROR, self.site(kind, message, node)]))
        self.b.position_at_end(cont)

    def number(self, v: Val, what: str, node: n.Node) -> ir.Value:
        """The payload of an int or bool; anything else (None) is a TypeError site."""
        ok = self.b.icmp_unsigned("<=", v.tag, const(I8, BOOL))
        self.guard(ok, "type", f"unsupported operand type(s) for {what}", node)
        return v.payload

    def truth(self, v: Val) -> ir.Value:
        """Python truthiness as an i1: 0, False and None (payload 0) are false."""
        return self.b.icmp_signed("!=", v.payload, const(I64, 0))

    def boolean(self, bit: ir.Value) -> Val:
        return Val(const(I8, BOOL), self.b.zext(bit, I64))

    def temp(self) -> tuple[ir.Value, ir.Value]:
        """A tag/payload stack slot in the entry block (SROA turns it into registers)."""
        with self.b.goto_entry_block():
            self.b.position_at_start(self.f.fn.entry_basic_block)
            return self.b.alloca(I8), self.b.alloca(I64)

    def store(self, slot: tuple[ir.Value, ir.Value], v: Val) -> None:
        self.b.store(v.tag, slot[0])
        self.b.store(v.payload, slot[1])

    def load(self, slot: tuple[ir.Value, ir.Value]) -> Val:
        return Val(self.b.load(slot[0]), self.b.load(slot[1]))

    def block(self, name: str) -> ir.Block:
        return self.f.fn.append_basic_block(name)

    # ------------------------------------------------------------ functions

    def lower_module(self) -> Program:
        for name, kit_fn in self.functions.items():
            self.lower_function(kit_fn, self.llvm[name])
        self.emit_entries()
        return Program(self.module, self.sites, self.functions, self.kit.filename, self.target)

    def lower_function(self, kit_fn: n.Function, fn: ir.Function) -> None:
        self.f = FunctionState(kit_fn, fn)
        self.b = b = ir.IRBuilder(fn.append_basic_block("entry"))
        self.f.slots = [
            (b.alloca(I8, name=f"{v}.tag"), b.alloca(I64, name=v)) for v in kit_fn.varnames
        ]
        for i, slot in enumerate(self.f.slots):
            if i < len(kit_fn.params):
                self.store(slot, Val(fn.args[2 * i], fn.args[2 * i + 1]))
            else:
                self.store(slot, lval(UNBOUND, 0))
        depth = b.add(b.load(self.rt.depth), const(I64, 1))
        b.store(depth, self.rt.depth)
        self.guard(
            b.icmp_signed("<=", depth, b.load(self.rt.depth_limit)),
            "recursion",
            "maximum recursion depth exceeded",
            kit_fn,
        )
        self.lower_block(kit_fn.body)
        if not b.block.is_terminated:
            self.ret(ir.Constant(VALUE, [NONE, 0]))

    def lower_block(self, body: list[n.Node]) -> None:
        for stmt in body:
            getattr(self, f"lower_{type(stmt).__name__}")(stmt)

    def expr(self, node: n.Node) -> Val:
        return getattr(self, f"lower_{type(node).__name__}")(node)

    # ------------------------------------------------------------ statements

    def lower_Assign(self, s: n.Assign) -> None:
        self.store(self.f.slots[s.target.slot], self.expr(s.value))

    def lower_TupleAssign(self, s: n.TupleAssign) -> None:
        values = [self.expr(v) for v in s.values]
        for target, value in zip(s.targets, values, strict=True):
            self.store(self.f.slots[target.slot], value)

    def lower_AugAssign(self, s: n.AugAssign) -> None:
        old = self.lower_Local(s.target)
        self.store(self.f.slots[s.target.slot], self.binary(s.op, old, self.expr(s.value), s))

    def lower_If(self, s: n.If) -> None:
        then, orelse, done = self.block("then"), self.block("else"), self.block("endif")
        self.b.cbranch(self.truth(self.expr(s.test)), then, orelse)
        for block, body in ((then, s.body), (orelse, s.orelse)):
            self.b.position_at_end(block)
            self.lower_block(body)
            if not self.b.block.is_terminated:
                self.b.branch(done)
        self.b.position_at_end(done)

    def lower_While(self, s: n.While) -> None:
        test, body, done = self.block("while.test"), self.block("while.body"), self.block("wend")
        self.b.branch(test)
        self.b.position_at_end(test)
        self.b.cbranch(self.truth(self.expr(s.test)), body, done)
        self.loop_body(s.body, body, Loop(test, done))

    def loop_body(self, stmts: list[n.Node], body: ir.Block, loop: Loop) -> None:
        self.b.position_at_end(body)
        self.f.loops.append(loop)
        self.lower_block(stmts)
        self.f.loops.pop()
        if not self.b.block.is_terminated:
            self.b.branch(loop.next)
        self.b.position_at_end(loop.exit)

    # for ::= counter = start; while (step > 0 ? counter < stop : counter > stop): ...
    def lower_ForRange(self, s: n.ForRange) -> None:
        b = self.b
        bounds = [self.expr(e) for e in (s.start, s.stop, s.step)]
        start, stop, step = (self.number(v, "range()", s) for v in bounds)
        self.guard(
            b.icmp_signed("!=", step, const(I64, 0)), "value", "range() arg 3 must not be zero", s
        )
        counter = self.temp()[1]
        b.store(start, counter)
        test, body = self.block("for.test"), self.block("for.body")
        step_block, done = self.block("for.next"), self.block("for.end")
        b.branch(test)
        b.position_at_end(test)
        c = b.load(counter)
        more = b.select(
            b.icmp_signed(">", step, const(I64, 0)),
            b.icmp_signed("<", c, stop),
            b.icmp_signed(">", c, stop),
        )
        b.cbranch(more, body, done)
        b.position_at_end(step_block)
        # past INT64_MAX (or MIN) is past `stop` too: overflow just ends the loop
        pair = b.sadd_with_overflow(b.load(counter), step)
        b.store(b.extract_value(pair, 0), counter)
        b.cbranch(b.extract_value(pair, 1), done, test)
        b.position_at_end(body)
        self.store(self.f.slots[s.target.slot], Val(const(I8, INT), c))
        self.loop_body(s.body, body, Loop(step_block, done))

    def lower_Break(self, s: n.Break) -> None:
        self.b.branch(self.f.loops[-1].exit)
        self.b.position_at_end(self.block("after.break"))

    def lower_Continue(self, s: n.Continue) -> None:
        self.b.branch(self.f.loops[-1].next)
        self.b.position_at_end(self.block("after.continue"))

    def lower_Pass(self, s: n.Pass) -> None:
        pass

    def lower_Return(self, s: n.Return) -> None:
        v = self.expr(s.value)
        pair = self.b.insert_value(ir.Constant(VALUE, ir.Undefined), v.tag, 0)
        self.ret(self.b.insert_value(pair, v.payload, 1))
        self.b.position_at_end(self.block("after.return"))

    def lower_ExprStmt(self, s: n.ExprStmt) -> None:
        self.expr(s.value)

    # print ::= values separated by `sep`, then `end`, formatted as Python's str()
    def lower_Print(self, s: n.Print) -> None:
        sep = " " if s.sep is None else s.sep
        end = "\n" if s.end is None else s.end
        values = [
            a.value if isinstance(a, n.Const) and isinstance(a.value, str) else self.expr(a)
            for a in s.args
        ]
        for i, value in enumerate(values):
            if i:
                self.write_text(sep)
            if isinstance(value, str):
                self.write_text(value)
            else:
                self.b.call(self.print_value, [value.tag, value.payload])
        self.write_text(end)

    # ----------------------------------------------------------- expressions

    def lower_Const(self, e: n.Const) -> Val:
        v = e.value
        if v is None:
            return lval(NONE, 0)
        if isinstance(v, bool):
            return lval(BOOL, int(v))
        if isinstance(v, int) and INT64_MIN <= v <= INT64_MAX:
            return lval(INT, v)
        self.fail("overflow", f"the literal {v} does not fit in 64 bits", e)
        return lval(INT, 0)

    def lower_Local(self, e: n.Local) -> Val:
        v = self.load(self.f.slots[e.slot])
        self.guard(
            self.b.icmp_unsigned("!=", v.tag, const(I8, UNBOUND)),
            "unbound",
            f"cannot access local variable {e.name!r} where it is not associated with a value",
            e,
        )
        return v

    def lower_BinOp(self, e: n.BinOp) -> Val:
        return self.binary(e.op, self.expr(e.left), self.expr(e.right), e)

    def binary(self, op: str, left: Val, right: Val, node: n.Node) -> Val:
        """One arithmetic operator on ints with Python's results, or an error site."""
        a, c = self.number(left, op, node), self.number(right, op, node)
        b = self.b
        if op in ARITH:
            pair = getattr(b, ARITH[op])(a, c)
            self.overflow_guard(b.extract_value(pair, 1), op, node)
            return Val(const(I8, INT), b.extract_value(pair, 0))
        if op == "**":
            self.guard(
                b.icmp_signed(">=", c, const(I64, 0)),
                "unsupported",
                "a negative exponent gives a float, and jitkit has no floats",
                node,
            )
            pair = b.call(self.pow, [a, c])
            self.overflow_guard(b.extract_value(pair, 1), op, node)
            return Val(const(I8, INT), b.extract_value(pair, 0))
        message = "integer division or modulo by zero" if op == "//" else "integer modulo by zero"
        self.guard(b.icmp_signed("!=", c, const(I64, 0)), "zerodiv", message, node)
        minus_one = b.icmp_signed("==", c, const(I64, -1))
        if op == "//":
            self.overflow_guard(
                b.and_(minus_one, b.icmp_signed("==", a, const(I64, INT64_MIN))), op, node
            )
        safe = b.select(minus_one, const(I64, 1), c)  # x // -1 is -x, x % -1 is 0: no trap
        q, r = b.sdiv(a, safe), b.srem(a, safe)
        q = b.select(minus_one, b.neg(a), q)
        # C truncates toward zero; Python floors: fix up when the signs of r and c differ
        adjust = b.and_(
            b.icmp_signed("!=", r, const(I64, 0)), b.icmp_signed("<", b.xor(r, c), const(I64, 0))
        )
        if op == "//":
            return Val(const(I8, INT), b.sub(q, b.zext(adjust, I64)))
        return Val(const(I8, INT), b.select(adjust, b.add(r, c), r))

    def overflow_guard(self, overflowed: ir.Value, op: str, node: n.Node) -> None:
        self.guard(
            self.b.not_(overflowed),
            "overflow",
            f"result of {op!r} does not fit in 64 bits (jitkit executables use int64)",
            node,
        )

    def lower_UnaryOp(self, e: n.UnaryOp) -> Val:
        v = self.expr(e.operand)
        if e.op == "not":
            return self.boolean(self.b.not_(self.truth(v)))
        x = self.number(v, f"unary {e.op}", e)
        if e.op == "+":
            return Val(const(I8, INT), x)
        pair = self.b.ssub_with_overflow(const(I64, 0), x)
        self.overflow_guard(self.b.extract_value(pair, 1), "-", e)
        return Val(const(I8, INT), self.b.extract_value(pair, 0))

    def compare(self, op: str, left: Val, right: Val, node: n.Node) -> ir.Value:
        """One comparison as an i1; == and != also accept None (equal only to None)."""
        b = self.b
        if op in ("==", "!="):
            none_l = b.icmp_unsigned("==", left.tag, const(I8, NONE))
            none_r = b.icmp_unsigned("==", right.tag, const(I8, NONE))
            same = b.and_(
                b.icmp_unsigned("==", none_l, none_r),
                b.icmp_signed("==", left.payload, right.payload),
            )
            return same if op == "==" else b.not_(same)
        a, c = self.number(left, op, node), self.number(right, op, node)
        return b.icmp_signed(SIGNED[op], a, c)

    # compare ::= a op1 b op2 c ...: stops at the first false link, like Python
    def lower_Compare(self, e: n.Compare) -> Val:
        result = self.temp()[1]
        done = self.block("cmp.end")
        left = self.expr(e.operands[0])
        for i, (op, right_node) in enumerate(zip(e.ops, e.operands[1:], strict=True)):
            right = self.expr(right_node)
            bit = self.b.zext(self.compare(op, left, right, e), I64)
            self.b.store(bit, result)
            if i == len(e.ops) - 1:
                self.b.branch(done)
            else:
                more = self.block("cmp.more")
                self.b.cbranch(self.b.trunc(bit, I1), more, done)
                self.b.position_at_end(more)
            left = right
        self.b.position_at_end(done)
        return Val(const(I8, BOOL), self.b.load(result))

    # boolop ::= a and b ...: the first falsy operand (or the last); `or`: the first truthy
    def lower_BoolOp(self, e: n.BoolOp) -> Val:
        result = self.temp()
        done = self.block("boolop.end")
        for i, value_node in enumerate(e.values):
            v = self.expr(value_node)
            self.store(result, v)
            if i == len(e.values) - 1:
                self.b.branch(done)
            else:
                more = self.block("boolop.more")
                t = self.truth(v)
                self.b.cbranch(t, done if e.op == "or" else more, more if e.op == "or" else done)
                self.b.position_at_end(more)
        self.b.position_at_end(done)
        return self.load(result)

    def lower_IfExp(self, e: n.IfExp) -> Val:
        result = self.temp()
        then, orelse, done = self.block("ifx.then"), self.block("ifx.else"), self.block("ifx.end")
        self.b.cbranch(self.truth(self.expr(e.test)), then, orelse)
        for block, node in ((then, e.body), (orelse, e.orelse)):
            self.b.position_at_end(block)
            self.store(result, self.expr(node))
            self.b.branch(done)
        self.b.position_at_end(done)
        return self.load(result)

    def lower_Call(self, e: n.Call) -> Val:
        args = [self.expr(a) for a in e.args]
        callee = self.functions[e.func]
        if len(args) != len(callee.params):
            self.fail(
                "type",
                f"{e.func}() takes {len(callee.params)} positional arguments "
                f"but {len(args)} were given",
                e,
            )
            return lval(NONE, 0)
        pair = self.b.call(self.llvm[e.func], [x for v in args for x in (v.tag, v.payload)])
        tag = self.b.extract_value(pair, 0)
        failed, cont = self.block("call.failed"), self.block("call.ok")
        self.b.cbranch(self.b.icmp_unsigned("==", tag, const(I8, ERROR)), failed, cont)
        self.b.position_at_end(failed)
        self.ret(pair)  # pass the callee's error site up unchanged
        self.b.position_at_end(cont)
        return Val(tag, self.b.extract_value(pair, 1))

    def lower_Builtin(self, e: n.Builtin) -> Val:
        args = [self.expr(a) for a in e.args]
        b = self.b
        if e.func == "abs":
            x = self.number(args[0], "abs()", e)
            self.overflow_guard(b.icmp_signed("==", x, const(I64, INT64_MIN)), "abs", e)
            negative = b.icmp_signed("<", x, const(I64, 0))
            return Val(const(I8, INT), b.select(negative, b.neg(x), x))
        first, second = args
        # min(a, b) is b only if b < a (ties keep a, and a's type: min(True, 1) is True)
        take_second = self.compare("<" if e.func == "min" else ">", second, first, e)
        return Val(
            b.select(take_second, second.tag, first.tag),
            b.select(take_second, second.payload, first.payload),
        )

    # ------------------------------------------------------- runtime pieces

    def emit_print_value(self) -> ir.Function:
        """`jk_print_value(tag, payload)`: str() of an int, bool or None."""
        fn, b = new_function(self.module, "jk_print_value", ir.VoidType(), [I8, I64])
        tag, payload = fn.args
        blocks = {k: fn.append_basic_block(k) for k in ("int", "true", "false", "none")}
        is_bool = b.icmp_unsigned("==", tag, const(I8, BOOL))
        bool_block = fn.append_basic_block("bool")
        other = fn.append_basic_block("other")
        b.cbranch(is_bool, bool_block, other)
        b.position_at_end(bool_block)
        b.cbranch(b.icmp_signed("!=", payload, const(I64, 0)), blocks["true"], blocks["false"])
        b.position_at_end(other)
        b.cbranch(b.icmp_unsigned("==", tag, const(I8, NONE)), blocks["none"], blocks["int"])
        saved = self.b
        for key, text in (("true", "True"), ("false", "False"), ("none", "None")):
            self.b = ir.IRBuilder(blocks[key])
            self.write_text(text)
            self.b.ret_void()
        self.b = saved
        b.position_at_end(blocks["int"])
        b.call(self.rt.print_int, [payload])
        b.ret_void()
        return fn

    def emit_pow(self) -> ir.Function:
        """`jk_pow(base, exp) -> {result, overflowed}`: square-and-multiply, exp >= 0."""
        fn, b = new_function(self.module, "jk_pow", ir.LiteralStructType([I64, I1]), [I64, I64])
        base0, exp0 = fn.args
        result, base, exp, over = (b.alloca(t) for t in (I64, I64, I64, I1))
        for slot, value in (
            (result, const(I64, 1)),
            (base, base0),
            (exp, exp0),
            (over, const(I1, 0)),
        ):
            b.store(value, slot)
        test, body, done = (fn.append_basic_block(x) for x in ("test", "body", "done"))
        b.branch(test)
        b.position_at_end(test)
        b.cbranch(b.icmp_signed(">", b.load(exp), const(I64, 0)), body, done)
        b.position_at_end(body)
        e = b.load(exp)
        with b.if_then(b.trunc(e, I1)):
            pair = b.smul_with_overflow(b.load(result), b.load(base))
            b.store(b.extract_value(pair, 0), result)
            b.store(b.or_(b.load(over), b.extract_value(pair, 1)), over)
        e = b.ashr(e, const(I64, 1))
        b.store(e, exp)
        with b.if_then(b.icmp_signed(">", e, const(I64, 0))):
            pair = b.smul_with_overflow(b.load(base), b.load(base))
            b.store(b.extract_value(pair, 0), base)
            b.store(b.or_(b.load(over), b.extract_value(pair, 1)), over)
        b.branch(test)
        b.position_at_end(done)
        out = b.insert_value(ir.Constant(fn.ftype.return_type, ir.Undefined), b.load(result), 0)
        b.ret(b.insert_value(out, b.load(over), 1))
        return fn

    def emit_entries(self) -> None:
        """In process: `jk_call.<f>(i64* frame)` per function; executables: main/_start."""
        if self.target == "inprocess":
            for name, fn in self.llvm.items():
                self.emit_call_entry(name, fn)
            return
        if MAIN not in {f.name for f in self.llvm.values()}:
            return self.emit_exe_main(None)
        return self.emit_exe_main(self.llvm[n.MODULE_CODE_NAME])

    def emit_call_entry(self, name: str, fn: ir.Function) -> None:
        """`void @"jk_call.f"(i64* frame)`: [tag0, arg0, tag1, arg1, ...] -> [tag, value]."""
        entry = ir.Function(
            self.module, ir.FunctionType(ir.VoidType(), [I64.as_pointer()]), f"jk_call.{name}"
        )
        b = ir.IRBuilder(entry.append_basic_block("entry"))
        (frame,) = entry.args
        count = len(self.functions[name].params)
        args = []
        for i in range(count):
            args.append(b.trunc(b.load(b.gep(frame, [const(I32, 2 * i)])), I8))
            args.append(b.load(b.gep(frame, [const(I32, 2 * i + 1)])))
        pair = b.call(fn, args)
        b.store(b.zext(b.extract_value(pair, 0), I64), b.gep(frame, [const(I32, 0)]))
        b.store(b.extract_value(pair, 1), b.gep(frame, [const(I32, 1)]))
        b.ret_void()

    def emit_exe_main(self, module_fn: ir.Function | None) -> None:
        """`jk_main() -> i64 status`: run the top-level code; on an error site print its report."""
        fn, b = new_function(self.module, "jk_main", I64, [])
        if module_fn is None:
            b.ret(const(I64, 0))
        else:
            pair = b.call(module_fn, [])
            ok, failed = fn.append_basic_block("ok"), fn.append_basic_block("failed")
            site = b.extract_value(pair, 1)
            b.cbranch(b.icmp_unsigned("==", b.extract_value(pair, 0), const(I8, ERROR)), failed, ok)
            b.position_at_end(ok)
            b.ret(const(I64, 0))
            b.position_at_end(failed)
            self.b = b
            b.call(self.rt.flush, [])
            self.write_text("Traceback (most recent call last):\n", fd=2)
            switch = b.switch(site, fn.append_basic_block("unknown"))
            filename = self.kit.filename
            for number, s in enumerate(self.sites):
                block = fn.append_basic_block(f"site.{number}")
                switch.add_case(const(I64, number), block)
                b.position_at_end(block)
                self.write_text(s.report(filename), fd=2)
                b.ret(const(I64, 1))
            b.position_at_end(switch.default)
            b.ret(const(I64, 1))
        emit_entry(self.module, self.target, fn, self.rt)


def compile_module(kit: n.Module, target: str = "inprocess") -> Program:
    """Why: one call from a parsed kit module to an LLVM IR program for one target."""
    return CodeGen(kit, target).lower_module()
