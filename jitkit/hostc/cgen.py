"""Kit AST -> C source, the host-compiler JIT's code generator (notebook 04).

In: a `jitkit.lang.nodes.Module` (from `jitkit.lang.parse.parse_module` or `parse_function`)
and optional runtime helper overrides. Out: a `CModule`: one C translation unit (the runtime
prelude of `jitkit.hostc.runtime`, one `JK_FUNCTION jk_val py_<name>(jk_ctx *cx, ...)` per kit
function, and the exported entry `jk_run(cx, index, args, out)`), plus the function indexes.

Every kit value is a tagged `jk_val`; each Python operation is one call of a runtime helper
(`jk_add(cx, a, b)`, `jk_floordiv`, `jk_lt`, ...), so the C reads like the source. C leaves
the order of function arguments unspecified, Python does not: when two operands of one
operation contain calls (which may print), or one does and another reads a list (which the
call may change), they are evaluated into temporaries in source order with the comma
operator. Short-circuit (`and`, `or`, chains, `x if c else y`) maps to
C's `&&` and `?:`, which are sequenced too. Function entry and every loop back-edge poll the
interrupt flag; `jk_enter`/`jk_leave` keep the depth counter.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

from jitkit.hostc.runtime import prelude
from jitkit.lang import nodes as n
from jitkit.lang.parse import deep
from jitkit.lang.runtime import INT64_MAX, INT64_MIN

ARITH = {"+": "jk_add", "-": "jk_sub", "*": "jk_mul", "//": "jk_floordiv", "%": "jk_mod"}
ARITH |= {"**": "jk_pow", "/": "jk_truediv"}
COMPARE = {"<": "jk_lt", "<=": "jk_le", ">": "jk_gt", ">=": "jk_ge"}
EQUALITY = {"==": "jk_eq", "!=": "jk_ne"}
UNARY = {"-": "jk_neg", "+": "jk_pos"}
BUILTINS = {"abs": "jk_abs", "min": "jk_min", "max": "jk_max", "len": "jk_len"}
BUILTINS |= {"float": "jk_to_float", "int": "jk_to_int"}
NO_ARGUMENTS = {"float": "jk_from_double(0.0)", "int": "jk_int(0)"}  # float() and int()


@dataclass
class CModule:
    """The generated translation unit and the index `jk_run` knows each function by."""

    source: str
    indexes: dict[str, int]
    params: dict[str, list[str]] = field(default_factory=dict)

    def function_source(self, name: str) -> str:
        """The C of one kit function (its definition, from the comment naming it)."""
        start = self.source.index(f"/* def {name}(")
        end = self.source.index("\n}\n", start)
        return self.source[start : end + 3]


def c_name(prefix: str, name: str) -> str:
    """A C identifier for a kit name: `py_fib`, `v_n`. Non-ASCII names are hex-coded under
    `pyu_`/`vu_` and the module's top level is `pym_module`: no two names can meet."""
    if name == n.MODULE_CODE_NAME:
        return f"{prefix}m_module"
    if name.isascii():
        return f"{prefix}_{name}"
    return f"{prefix}u_{name.encode().hex()}"


def c_int(value: int) -> str:
    """An int64 literal C parses as one (INT64_MIN has no literal of its own)."""
    if value == INT64_MIN:
        return "INT64_MIN"
    return str(value) if -(2**31) <= value < 2**31 else f"INT64_C({value})"


def c_string(text: str) -> tuple[str, int]:
    """A C string literal of text's UTF-8 bytes and its length (3-digit octal escapes for
    anything unusual: no ambiguity with a digit that follows)."""
    data = text.encode(
        "utf-8", "surrogatepass"
    )  # a lone surrogate fails when printed, as in CPython
    named = {10: "\\n", 9: "\\t"}
    body = "".join(
        named.get(b) or (chr(b) if 32 <= b < 127 and chr(b) not in '"\\?' else f"\\{b:03o}")
        for b in data
    )
    return f'"{body}"', len(data)


def c_double(value: float) -> str:
    """A C double literal of exactly this value: its repr (`0.1`, `1e+16`, `-0.0`), which C
    compilers read correctly rounded, as Python does; HUGE_VAL for infinity, NAN."""
    if math.isnan(value):
        return "NAN"
    if math.isinf(value):
        return "HUGE_VAL" if value > 0 else "-HUGE_VAL"
    return repr(value)


def literal(value: object) -> str:
    """The C of a literal value (None, a bool, an int or a float)."""
    if value is None:
        return "jk_none"
    if isinstance(value, bool):
        return f"jk_bool({int(value)})"
    if isinstance(value, float):
        return f"jk_from_double({c_double(value)})"
    if isinstance(value, int) and INT64_MIN <= value <= INT64_MAX:
        return f"jk_int({c_int(value)})"
    return "jk_fail(cx, JK_OVERFLOW)"  # a literal beyond int64: the VM has big ints


def constant(node: n.Node) -> int | None:
    """The int a literal with unary minus or plus signs denotes (-True is -1), else None."""
    if isinstance(node, n.Const) and type(node.value) in (int, bool):
        return int(node.value)
    if isinstance(node, n.UnaryOp) and node.op in UNARY:
        value = constant(node.operand)
        if value is not None:
            return -value if node.op == "-" else value
    return None


def contains_call(node: object) -> bool:
    """Does evaluating this expression call a kit function (which may print, or change a
    list) or append to a list? A walk with a worklist, so expressions nested as deep as
    CPython's parser allows need no deep stack."""
    return contains(node, lambda item: isinstance(item, n.Call | n.Append))


def reads_list(node: object) -> bool:
    """Does evaluating this expression read what is in a list (`xs[i]`, `len(xs)`)?"""
    return contains(
        node,
        lambda item: (
            isinstance(item, n.Subscript) or (isinstance(item, n.Builtin) and item.func == "len")
        ),
    )


def contains(node: object, match: Callable[[object], bool]) -> bool:
    """Is there a node `match` accepts in this tree (a worklist walk)?"""
    pending = [node]
    while pending:
        item = pending.pop()
        if match(item):
            return True
        if isinstance(item, list):
            pending += item
        elif isinstance(item, n.Node):
            pending += [getattr(item, f) for f in item.__dataclass_fields__]
    return False


class CGen:
    """Lowers one kit module: `lower_<Stmt>` emits statements, `lower_<Expr>` returns C text."""

    def __init__(self, kit: n.Module, overrides: dict[str, str] | None = None) -> None:
        self.kit = kit
        self.overrides = overrides or {}
        self.functions: dict[str, n.Function] = dict(kit.functions)
        if kit.main is not None:
            self.functions[n.MODULE_CODE_NAME] = kit.main
        self.source_lines = kit.source.splitlines()
        self.lines: list[str] = []
        self.temps = 0
        self.indent = 1

    # ----------------------------------------------------------------- helpers

    def emit(self, text: str) -> None:
        self.lines.append("    " * self.indent + text)

    def temp(self) -> str:
        """A fresh `jk_val` temporary of the current function (declared at its top)."""
        self.temps += 1
        return f"t{self.temps}"

    def comment(self, node: n.Node) -> None:
        """The source line a statement comes from, as a C comment."""
        text = ""
        if 0 < node.line <= len(self.source_lines):
            text = " " + self.source_lines[node.line - 1].strip().replace("*/", "* /")
        self.emit(f"/* line {node.line}:{text} */")

    def sequenced(self, nodes: list[n.Node]) -> tuple[list[str], list[str]]:
        """C for several operands, evaluated left to right when their order can be seen: more
        than one contains a call, or one does and another reads a list (which the call may
        change). Out: (assignments to run first, with the comma operator; the operands' C)."""
        exprs = [self.expr(x) for x in nodes]
        calls = [contains_call(x) for x in nodes]
        reads = any(reads_list(x) for x, call in zip(nodes, calls, strict=True) if not call)
        if sum(calls) < 2 and not (any(calls) and reads):
            return [], exprs
        temps = [self.temp() for _ in exprs]
        return [f"{t} = {e}" for t, e in zip(temps, exprs, strict=True)], temps

    @staticmethod
    def comma(first: list[str], last: str) -> str:
        return f"({', '.join([*first, last])})" if first else last

    def local(self, target: n.Local) -> str:
        return c_name("v", target.name)

    # ------------------------------------------------------------ functions

    @deep
    def lower_module(self) -> CModule:
        indexes = {name: i for i, name in enumerate(self.functions)}
        out = [prelude(self.overrides), *self.module_globals()]
        out += ["/* ---- the module's functions ---- */"]
        out += [self.signature(f) + ";" for f in self.functions.values()]
        for f in self.functions.values():
            out.append(self.lower_function(f))
        out.append(self.entry(indexes))
        params = {name: list(f.params) for name, f in self.functions.items()}
        return CModule("\n\n".join(out) + "\n", indexes, params)

    def module_globals(self) -> list[str]:
        """A C static per module-level name a function reads, unbound until the top-level
        code (or Python, `HostModule.set_globals`) stores it, and the exported table of
        their addresses Python finds them by (`jk_globals[i]` for `Module.globals[i]`)."""
        if not self.kit.globals:
            return []
        names = [c_name("g", g) for g in self.kit.globals]
        statics = "\n".join(f"static jk_val {c} = {{0, JK_UNBOUND}};" for c in names)
        table = ", ".join(f"&{c}" for c in names)
        return [
            "/* ---- module-level names ---- */\n" + statics,
            f"jk_val *const jk_globals[{len(names)}] = {{{table}}};",
        ]

    def signature(self, f: n.Function) -> str:
        params = "".join(f", jk_val {c_name('v', p)}" for p in f.params)
        return f"JK_FUNCTION jk_val {c_name('py', f.name)}(jk_ctx *cx{params})"

    def lower_function(self, f: n.Function) -> str:
        self.lines, self.temps, self.indent = [], 0, 1
        self.lower_block(f.body)
        if not f.body or not isinstance(f.body[-1], n.Return):
            self.emit("return jk_leave(cx, jk_none);")
        body = self.lines
        params = ", ".join(f.params)
        head = [f"/* def {f.name}({params}) */", self.signature(f) + " {"]
        # locals start unbound; a loop's hidden slots are C variables inside its own block
        hidden = (".range", ".foreach")
        names = [v for v in f.varnames[len(f.params) :] if not v.startswith(hidden)]
        decls = [f"    jk_val {c_name('v', v)} = jk_unbound;" for v in names]
        if self.temps:
            temps = ", ".join(f"t{i}" for i in range(1, self.temps + 1))
            decls.append(f"    jk_val {temps};")
        return "\n".join([*head, *decls, "    jk_enter(cx);", *body, "}"])

    def entry(self, indexes: dict[str, int]) -> str:
        """`jk_run`: set the bail-out point, call function `index` with `args`."""
        cases = []
        for name, index in indexes.items():
            count = len(self.functions[name].params)
            args = "".join(f", args[{i}]" for i in range(count))
            cases.append(f"    case {index}: *out = {c_name('py', name)}(cx{args}); break;")
        keep = []  # ... and the lists module-level names hold (HostModule.read_globals)
        if self.kit.globals:
            count = len(self.kit.globals)
            keep = [
                f"    for (int g = 0; g < {count}; g++)",
                "        if (jk_globals[g]->t == JK_LIST) return JK_OK;",
            ]
        return "\n".join(
            [
                "/* The one exported entry: 0 when the call ended normally, else a status. */",
                "int jk_run(jk_ctx *cx, int64_t index, const jk_val *args, jk_val *out) {",
                "    jmp_buf bail;",
                "    int status = setjmp(bail);",
                "    if (status) return jk_free_lists(cx), status;",
                "    cx->bail = &bail;",
                "    /* the budget's end, or the thread's own stack floor if that comes first */",
                "    uintptr_t end = (uintptr_t)__builtin_frame_address(0) - cx->stack_budget;",
                "    if (end > cx->stack_floor) cx->stack_floor = end;",
                "    switch (index) {",
                *cases,
                "    default: return JK_TYPE;",
                "    }",
                "    /* Python reads a list result, and copies lists it passed back */",
                *keep,
                "    if (out->t != JK_LIST && !cx->imported) jk_free_lists(cx);",
                "    return JK_OK;",
                "}",
                "",
                "/* The call's lists belong to this library's malloc: freed here (its output",
                "   buffer is Python's: jitkit.exact.rerun.Output). */",
                "void jk_release(jk_ctx *cx) {",
                "    cx->len = 0;",
                "    jk_free_lists(cx);",
                "}",
                "",
                "/* A list argument from Python: its n items copied into a new list of the call",
                "   (0 past the byte budget or out of memory: the call then goes to the VM). */",
                "jk_list *jk_import(jk_ctx *cx, int64_t n, const jk_val *items) {",
                "    if (n + 2 > (cx->heap_limit - cx->heap) / (int64_t)sizeof(jk_val)) return 0;",
                "    jk_list *list = calloc(1, sizeof *list);",
                "    if (!list) return 0;",
                "    list->next = cx->lists, cx->lists = list, cx->imported++;",
                "    if (n > 0 && !(list->items = malloc((size_t)n * sizeof(jk_val)))) return 0;",
                "    if (n > 0) memcpy(list->items, items, (size_t)n * sizeof(jk_val));",
                "    list->len = list->cap = n, cx->heap += (n + 2) * (int64_t)sizeof(jk_val);",
                "    return list;",
                "}",
            ]
        )

    def lower_block(self, body: list[n.Node]) -> None:
        for stmt in body:
            getattr(self, f"lower_{type(stmt).__name__}")(stmt)

    def expr(self, node: n.Node) -> str:
        return getattr(self, f"lower_{type(node).__name__}")(node)

    # ------------------------------------------------------------ statements

    def lower_Assign(self, s: n.Assign) -> None:
        self.comment(s)
        self.emit(f"{self.local(s.target)} = {self.expr(s.value)};")

    def lower_TupleAssign(self, s: n.TupleAssign) -> None:
        self.comment(s)
        temps = []
        for value in s.values:  # every value first, then every store
            temps.append(self.temp())
            self.emit(f"{temps[-1]} = {self.expr(value)};")
        for target, t in zip(s.targets, temps, strict=True):
            self.emit(f"{self.local(target)} = {t};")

    def lower_AugAssign(self, s: n.AugAssign) -> None:
        self.comment(s)
        old = self.lower_Local(s.target)
        value = f"{ARITH[s.op]}(cx, {old}, {self.expr(s.value)})"
        if s.op == "*":  # xs *= n repeats xs itself (CPython's in-place operator)
            value = f"jk_repeat_in_place({self.local(s.target)}, {value})"
        self.emit(f"{self.local(s.target)} = {value};")

    def lower_If(self, s: n.If) -> None:
        self.comment(s)
        self.emit(f"if ({self.condition(s.test)}) {{")
        self.nested(s.body)
        if s.orelse:
            self.emit("} else {")
            self.nested(s.orelse)
        self.emit("}")

    def nested(self, body: list[n.Node]) -> None:
        self.indent += 1
        self.lower_block(body)
        self.indent -= 1

    # while ::= poll Ctrl-C on every trip, test, body
    def lower_While(self, s: n.While) -> None:
        self.comment(s)
        self.emit("for (;;) {")
        self.indent += 1
        self.emit("jk_poll(cx);")
        self.emit(f"if (!({self.condition(s.test)})) break;")
        self.lower_block(s.body)
        self.indent -= 1
        self.emit("}")

    # for x in range(start, stop, step): bounds evaluated once, in order; the counter is a
    # plain int64 that stops when the next value would pass int64 (it has passed stop then)
    def lower_ForRange(self, s: n.ForRange) -> None:
        self.comment(s)
        first, (start, stop, step) = self.sequenced([s.start, s.stop, s.step])
        h = f"r{s.hidden}"
        self.emit("{")
        self.indent += 1
        for assignment in first:
            self.emit(f"{assignment};")
        self.emit(f"int64_t {h}_i = jk_number(cx, {start});")
        self.emit(f"int64_t {h}_stop = jk_number(cx, {stop});")
        self.emit(f"int64_t {h}_step = jk_number(cx, {step});")
        self.emit(f"int {h}_last = 0;")
        self.emit(f"jk_range_check(cx, {h}_step);")
        self.emit("for (;;) {")
        self.indent += 1
        self.emit("jk_poll(cx);")
        self.emit(f"if ({h}_last || !jk_range_more({h}_i, {h}_stop, {h}_step)) break;")
        self.emit(f"{self.local(s.target)} = jk_int({h}_i);")
        self.emit(f"{h}_last = __builtin_add_overflow({h}_i, {h}_step, &{h}_i);")
        self.lower_block(s.body)
        self.indent -= 1
        self.emit("}")
        self.indent -= 1
        self.emit("}")

    # for x in xs: the list evaluated once; its length re-read on every trip, so an append
    # in the body extends the loop, as CPython's list iterator does
    def lower_ForEach(self, s: n.ForEach) -> None:
        self.comment(s)
        h = f"f{s.hidden}"
        self.emit("{")
        self.indent += 1
        self.emit(f"jk_list *{h}_list = jk_iterable(cx, {self.expr(s.iterable)});")
        self.emit(f"for (int64_t {h}_i = 0;; {h}_i++) {{")
        self.indent += 1
        self.emit("jk_poll(cx);")
        self.emit(f"if ({h}_i >= {h}_list->len) break;")
        self.emit(f"{self.local(s.target)} = {h}_list->items[{h}_i];")
        self.lower_block(s.body)
        self.indent -= 1
        self.emit("}")
        self.indent -= 1
        self.emit("}")

    # xs[i] = v ::= v, then xs, then i (CPython's order), then the store
    def lower_StoreSubscript(self, s: n.StoreSubscript) -> None:
        self.comment(s)
        first, (item, xs, i) = self.sequenced([s.item, s.value, s.index])
        for assignment in first:
            self.emit(f"{assignment};")
        self.emit(f"jk_setitem(cx, {xs}, {i}, {item});")

    def lower_Break(self, s: n.Break) -> None:
        self.emit("break;")

    def lower_Continue(self, s: n.Continue) -> None:
        self.emit("continue;")

    def lower_Pass(self, s: n.Pass) -> None:
        self.emit(";")

    def lower_SetGlobal(self, s: n.SetGlobal) -> None:
        self.emit(f"{c_name('g', s.name)} = {self.expr(s.value)};")

    def lower_Return(self, s: n.Return) -> None:
        self.comment(s)
        self.emit(f"return jk_leave(cx, {self.expr(s.value)});")

    def lower_ExprStmt(self, s: n.ExprStmt) -> None:
        self.comment(s)
        self.emit(f"(void){self.expr(s.value)};")

    # print ::= every argument evaluated first, then written with sep between and end after
    def lower_Print(self, s: n.Print) -> None:
        self.comment(s)
        sep = " " if s.sep is None else s.sep
        end = "\n" if s.end is None else s.end
        parts: list[tuple[str, str]] = []
        for arg in s.args:
            if isinstance(arg, n.Const) and isinstance(arg.value, str):
                parts.append(("text", arg.value))
            else:
                t = self.temp()
                self.emit(f"{t} = {self.expr(arg)};")
                parts.append(("value", t))
        for i, (kind, what) in enumerate(parts):
            if i:
                self.write(sep)
            if kind == "text":
                self.write(what)
            else:
                self.emit(f"jk_print(cx, {what});")
        self.write(end)

    def write(self, text: str) -> None:
        if text:
            literal, length = c_string(text)
            self.emit(f"jk_write(cx, {literal}, {length});")

    # ----------------------------------------------------------- expressions

    def lower_Const(self, e: n.Const) -> str:
        return literal(e.value)

    def lower_Local(self, e: n.Local) -> str:
        return f"jk_load(cx, {self.local(e)})"

    def lower_Global(self, e: n.Global) -> str:
        """Unbound: the VM re-runs the call and raises CPython's NameError (or has the value,
        one C cannot hold)."""
        return f"jk_load(cx, {c_name('g', e.name)})"

    def lower_BinOp(self, e: n.BinOp) -> str:
        first, (a, b) = self.sequenced([e.left, e.right])
        return self.comma(first, f"{ARITH[e.op]}(cx, {a}, {b})")

    def lower_UnaryOp(self, e: n.UnaryOp) -> str:
        if e.op == "not":
            return f"jk_not({self.expr(e.operand)})"
        value = constant(e)
        if value is not None:  # -9223372036854775808 is INT64_MIN, not -(2**63) overflowing
            return literal(value)
        return f"{UNARY[e.op]}(cx, {self.expr(e.operand)})"

    def comparison(self, op: str, a: str, b: str) -> str:
        return f"{(EQUALITY | COMPARE)[op]}(cx, {a}, {b})"

    # compare ::= a op1 b op2 c: each middle operand evaluated once, stop at the first false
    def compare_bits(self, e: n.Compare) -> str:
        """The comparison as a C int (0 or 1)."""
        if len(e.ops) == 1:
            first, (a, b) = self.sequenced(e.operands)
            return self.comma(first, self.comparison(e.ops[0], a, b))
        temps = [self.temp() for _ in e.operands]
        links = []
        for i, op in enumerate(e.ops):
            left, right = temps[i], temps[i + 1]
            step = f"({right} = {self.expr(e.operands[i + 1])}, {self.comparison(op, left, right)})"
            links.append(step)
        return f"({temps[0]} = {self.expr(e.operands[0])}, {' && '.join(links)})"

    def lower_Compare(self, e: n.Compare) -> str:
        return f"jk_bool({self.compare_bits(e)})"

    def condition(self, node: n.Node) -> str:
        """A test (`if`, `while`, `x if c else y`) as a C int: comparisons need no bool box."""
        if isinstance(node, n.Compare):
            return self.compare_bits(node)
        if isinstance(node, n.UnaryOp) and node.op == "not":
            return f"!{self.condition(node.operand)}"
        return f"jk_truth({self.expr(node)})"

    # boolop ::= a and b: the first falsy operand, else the last (`or`: the first truthy)
    def lower_BoolOp(self, e: n.BoolOp) -> str:
        result = self.expr(e.values[-1])
        for value in reversed(e.values[:-1]):
            t = self.temp()
            test = f"jk_truth({t} = {self.expr(value)})"
            result = f"({test} ? {t} : {result})" if e.op == "or" else f"({test} ? {result} : {t})"
        return result

    def lower_IfExp(self, e: n.IfExp) -> str:
        test, body, orelse = self.condition(e.test), self.expr(e.body), self.expr(e.orelse)
        return f"({test} ? {body} : {orelse})"

    def lower_Call(self, e: n.Call) -> str:
        order = n.evaluation_order(e)  # source order; the C function takes parameter order
        first, evaluated = self.sequenced([e.args[i] for i in order])
        args = [evaluated[order.index(i)] for i in range(len(order))]
        callee = self.functions[e.func]
        if len(args) != len(callee.params):  # TypeError, after the arguments ran
            return self.comma([*first, *args], "jk_fail(cx, JK_TYPE)")
        call = f"{c_name('py', e.func)}(cx{''.join(', ' + a for a in args)})"
        return self.comma(first, call)

    def lower_Builtin(self, e: n.Builtin) -> str:
        if not e.args:
            return NO_ARGUMENTS[e.func]
        first, args = self.sequenced(e.args)
        return self.comma(first, f"{BUILTINS[e.func]}(cx, {', '.join(args)})")

    # [a, b, c] ::= the items in order, then one new list
    def lower_ListDisplay(self, e: n.ListDisplay) -> str:
        if not e.items:
            return "jk_list_display(cx, 0, 0)"
        first, items = self.sequenced(e.items)
        array = f"(const jk_val[]){{{', '.join(items)}}}"
        return self.comma(first, f"jk_list_display(cx, {len(items)}, {array})")

    def lower_Subscript(self, e: n.Subscript) -> str:
        first, (xs, i) = self.sequenced([e.value, e.index])
        return self.comma(first, f"jk_getitem(cx, {xs}, {i})")

    def lower_Append(self, e: n.Append) -> str:
        first, (xs, item) = self.sequenced([e.value, e.item])
        return self.comma(first, f"jk_append(cx, {xs}, {item})")


def generate(kit: n.Module, overrides: dict[str, str] | None = None) -> CModule:
    """Why: one call from a parsed kit module to a C translation unit."""
    return CGen(kit, overrides).lower_module()
