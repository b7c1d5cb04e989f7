"""How kit values and failures look in the generated LLVM IR (notebook 08 LLVM mini compiler).

In: nothing; every lowering module imports these definitions. Out: the value representation,
the error sites and the `Program` the code generator gives back.

Values are dynamically typed, so each kit value is two LLVM values: a tag (i8: INT, BOOL,
NONE, FLOAT, LIST; the numbers are `jitkit.exact.rerun.Tag`'s, the C tier's too) and a 64-bit
payload (a float's IEEE bits, a list's address); LLVM's
SROA and instcombine fold the tags away wherever the types are known. A kit function `f` becomes
`{i8, i64} @"py.f"(i64 left, i8, i64, ...)`, `left` the calls it may still make
before the recursion limit (the module code: no `left`). In process, a function the source
proves returns ints when given ints also has untagged copies `@"py.f.int0"(i64 left, i64, ...)`
whose callers know the result's tag is INT or ERROR (`facts.int_functions`, `codegen`).

Every place that can fail (overflow, division by zero, unbound local, bad operand types, range
step 0, too deep recursion, too little native stack left, an interrupt, ...) is an error
*site* with a number. Failing returns the tag ERROR with the site number as payload; callers
pass it up unchanged, so the first failure ends the run before any later side effect.
"""

from __future__ import annotations

from dataclasses import dataclass

from llvmlite import ir

from jitkit.exact.rerun import Tag
from jitkit.lang import nodes as n
from jitkit.llvm.runtime import I8, I64

INT, BOOL, NONE = int(Tag.INT), int(Tag.BOOL), int(Tag.NONE)
UNBOUND, FLOAT, LIST, ERROR = int(Tag.UNBOUND), int(Tag.FLOAT), int(Tag.LIST), int(Tag.ERROR)
VALUE = ir.LiteralStructType([I8, I64])  # what every kit function returns: {tag, payload}
MAIN = "py.<module>"

# kind -> the Python exception it stands for (message text comes with each site)
KINDS = {
    "overflow": "OverflowError",
    "zerodiv": "ZeroDivisionError",
    "unbound": "UnboundLocalError",
    "name": "NameError",  # a module-level name read before it is bound (module_globals)
    "type": "TypeError",
    "index": "IndexError",
    "attribute": "AttributeError",
    "value": "ValueError",
    "recursion": "RecursionError",
    "stack": "RecursionError",  # in process only: the native stack limit (re-run, not raised)
    "unsupported": "UnsupportedError",
    "encode": "UnicodeEncodeError",  # print of a lone surrogate (see printing)
    "interrupt": "KeyboardInterrupt",  # in process only: Ctrl-C seen on a loop back-edge
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
    kind: int | None = None  # a list whose element kind is known when compiling (its tag)


def const(typ: ir.Type, value: int) -> ir.Constant:
    return ir.Constant(typ, value)


def lval(tag: int, payload: int) -> Val:
    """A compile-time constant kit value."""
    return Val(const(I8, tag), const(I64, payload))
