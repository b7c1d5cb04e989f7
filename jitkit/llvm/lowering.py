"""The code generator's shared state and helpers (notebook 08 LLVM mini compiler).

In: an `llvmlite.ir.Module` under construction, its `Runtime`, and one kit function at a
time. Out: `Lowering`, the base class of every lowering concern (`arith`, `expressions`,
`statements`, `printing`, `entries`): the IR builder, the current function's locals and
loops, string constants, error sites with guards, tag/payload slots, and the interrupt poll
that in-process loops run on their back-edges. Lowering dispatches by node class name:
`lower_<Node>` for each kit AST node, found by `expr` and `lower_block`, unless `handlers`
maps the node's class to a replacement (notebook 08's exercises replace one node type's
lowering this way and still compile and run the whole module).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from llvmlite import ir

from jitkit.lang import nodes as n
from jitkit.llvm.runtime import BYTES, I8, I32, I64, Runtime, string_constant
from jitkit.llvm.values import BOOL, ERROR, VALUE, Site, Val, const

# handler(codegen, node): a Val for an expression node, None for a statement
Handler = Callable[["Lowering", n.Node], "Val | None"]


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
    failed: ir.PhiInstr | None = None  # the site number in the one error exit, once made
    left: ir.Value | None = None  # i64: how many calls deeper this call may go
    list_kinds: dict[int, int] = field(default_factory=dict)  # slot -> element kind
    bounded: set[int] = field(default_factory=set)  # ids of `v += k` that cannot overflow
    sum: tuple[ir.Value, ir.Value, ir.Value] | None = None  # running sum, summing?, left
    start: ir.Block | None = None  # where a self-recursive `return x + f(...)` loops to
    ints: bool = False  # the untagged version: int arguments, returns only INT (or ERROR)
    copy: int = 0  # which of the untagged copies (only the first checks stack and interrupt)
    int_slots: set[int] = field(default_factory=set)  # untagged: params never assigned


class VolatileLoad(ir.LoadInstr):
    """`load volatile`: llvmlite's builder has no flag for it, and the interrupt poll needs it
    (a plain load of a byte nothing in the loop writes would be hoisted out of the loop)."""

    def descr(self, buf: list[str]) -> None:
        super().descr(buf)
        buf[-1] = buf[-1].replace("load ", "load volatile ", 1)


def constant_int(v: ir.Value) -> int | None:
    """The value of a plain integer constant (`const(I8, 0)`), else None."""
    if type(v) is ir.Constant and isinstance(v.type, ir.IntType) and type(v.constant) is int:
        return v.constant
    if type(v) is ir.Constant and v.type == ir.IntType(1) and type(v.constant) is bool:
        return int(v.constant)
    return None


def as_signed(value: int, bits: int) -> int:
    value &= (1 << bits) - 1
    return value - (1 << bits) if value >> (bits - 1) else value


COMPARE = {
    "==": lambda a, c: a == c,
    "!=": lambda a, c: a != c,
    "<": lambda a, c: a < c,
    "<=": lambda a, c: a <= c,
    ">": lambda a, c: a > c,
    ">=": lambda a, c: a >= c,
}


class FoldingBuilder(ir.IRBuilder):
    """An IR builder that folds what the lowering knows when compiling: a comparison of two
    constants (a tag check of a tag known to be INT), `and`/`or`/`select`/`zext` of a
    constant bit. Why: the lowering is generic (every `+` checks its operands' tags), and
    handing LLVM thousands of checks it folds first made each optimizer pass slower; here
    they cost nothing (fib's untagged copy: 40% fewer instructions)."""

    def _icmp(self, prefix, cmpop, lhs, rhs, name):  # noqa: ANN001, ANN202 (llvmlite's)
        a, c = constant_int(lhs), constant_int(rhs)
        if a is None or c is None or cmpop not in COMPARE:
            return super()._icmp(prefix, cmpop, lhs, rhs, name)
        bits = lhs.type.width
        if prefix == "s":
            a, c = as_signed(a, bits), as_signed(c, bits)
        else:
            a, c = a & ((1 << bits) - 1), c & ((1 << bits) - 1)
        return ir.Constant(ir.IntType(1), int(COMPARE[cmpop](a, c)))

    def and_(self, lhs, rhs, name=""):  # noqa: ANN001, ANN201
        if lhs.type == ir.IntType(1):
            for x, y in ((lhs, rhs), (rhs, lhs)):
                bit = constant_int(x)
                if bit is not None:
                    return y if bit else x
        return super().and_(lhs, rhs, name)

    def or_(self, lhs, rhs, name=""):  # noqa: ANN001, ANN201
        if lhs.type == ir.IntType(1):
            for x, y in ((lhs, rhs), (rhs, lhs)):
                bit = constant_int(x)
                if bit is not None:
                    return x if bit else y
        return super().or_(lhs, rhs, name)

    def not_(self, value, name=""):  # noqa: ANN001, ANN201
        bit = constant_int(value)
        if bit is not None and value.type == ir.IntType(1):
            return ir.Constant(value.type, 1 - (bit & 1))
        return super().not_(value, name)

    def select(self, cond, lhs, rhs, name="", flags=()):  # noqa: ANN001, ANN201
        bit = constant_int(cond)
        if bit is not None:
            return lhs if bit else rhs
        return super().select(cond, lhs, rhs, name, flags)

    def zext(self, value, typ, name=""):  # noqa: ANN001, ANN201
        known = constant_int(value)
        if known is not None:
            return ir.Constant(typ, known & ((1 << value.type.width) - 1))
        return super().zext(value, typ, name)


class Lowering:
    """What every lowering concern shares; `CodeGen` (codegen.py) sets these attributes."""

    module: ir.Module
    rt: Runtime
    b: ir.IRBuilder
    f: FunctionState
    sites: list[Site]
    strings: dict[str, tuple[ir.Value, int]]
    interrupt_address: int | None  # the flag byte compiled code polls, or None: no poll
    handlers: dict[type[n.Node], Handler]  # replacements for built-in `lower_<Node>` methods

    def lower_node(self, node: n.Node) -> Val | None:
        """Dispatch by node class: a handler given for it, else the built-in `lower_<Node>`."""
        handler = self.handlers.get(type(node))
        if handler is not None:
            return handler(self, node)
        return getattr(self, f"lower_{type(node).__name__}")(node)

    def lower_block(self, body: list[n.Node]) -> None:
        for stmt in body:
            self.lower_node(stmt)

    def expr(self, node: n.Node) -> Val:
        return self.lower_node(node)

    def string(self, text: str) -> tuple[ir.Value, int]:
        """Pointer and length of a UTF-8 string constant (one global per distinct text).
        print's strings are UTF-8 (`PrintLowering.print_text` checks); in the stderr report
        (a file name from a bytes path) a lone surrogate is escaped, as CPython's stderr does."""
        if text not in self.strings:
            data = text.encode("utf-8", "backslashreplace")
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
        """Leave the function: return the {tag, payload} pair (the depth is an argument)."""
        self.b.ret(value)

    def fail(self, kind: str, message: str, node: n.Node) -> None:
        """Return ERROR(site) from here; later code goes to a fresh, unreachable block."""
        self.ret(ir.Constant(VALUE, [ERROR, self.site(kind, message, node)]))
        self.b.position_at_end(self.f.fn.append_basic_block("dead"))

    def guard(self, ok: ir.Value, kind: str, message: str, node: n.Node) -> None:
        """Continue when `ok` holds; otherwise go to the function's one error exit with a
        new error site's number (an exit per site made IR, O2 and codegen grow badly).
        A check that holds when compiling (`FoldingBuilder` folded it to true) is left out."""
        if constant_int(ok) == 1:
            return
        exit = self.error_exit()
        cont = self.f.fn.append_basic_block("ok")
        self.b.cbranch(ok, cont, exit.parent)
        exit.add_incoming(const(I64, self.site(kind, message, node)), self.b.block)
        self.b.position_at_end(cont)

    def error_exit(self) -> ir.PhiInstr:
        """The block every guard of this function fails to: return ERROR(site)."""
        if self.f.failed is None:
            b = ir.IRBuilder(self.f.fn.append_basic_block("fail"))
            self.f.failed = b.phi(I64, "site")
            b.ret(b.insert_value(ir.Constant(VALUE, [ERROR, 0]), self.f.failed, 1))
        return self.f.failed

    def poll_interrupt(self, node: n.Node) -> None:
        """A loop back-edge's Ctrl-C check: a volatile load of the kit's interrupt flag byte
        (its address is a constant) and an exit at an "interrupt" site when it is set.
        Only in process: an executable keeps SIGINT's default action, so it emits nothing."""
        if self.interrupt_address is None:
            return
        self.guard(self.interrupt_quiet(), "interrupt", "interrupted in compiled code", node)

    def interrupt_quiet(self) -> ir.Value:
        """An i1 that is true while the interrupt flag byte is 0 (a volatile load of it)."""
        address = const(I64, self.interrupt_address).inttoptr(I8.as_pointer())
        flag = VolatileLoad(self.b.block, address, "interrupt.flag")
        self.b._insert(flag)  # what `IRBuilder.load` does with its own LoadInstr
        return self.b.icmp_unsigned("==", flag, const(I8, 0))

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
