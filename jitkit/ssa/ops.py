"""Every SSA opcode, defined once (notebook 07).

Takes nothing; gives `OPS`, one `Op` row per opcode, and `evaluate(op, args)`, the meaning of
each computing opcode on Python ints. The parser, printer, verifier, interpreter and passes all
read this table, so an opcode added here is known everywhere (a completeness test checks).

Integer semantics. Values of type `i64` are Python ints in [-2**63, 2**63). Plain arithmetic
(`add`, `mul`, `shl`...) wraps like the machine does. The `_ovf` opcodes compute the exact
Python result and *deoptimize* when it is not an int64 (or does not exist: a zero divisor), so
compiled code never computes a wrong Python answer. `div` and `mod` floor like Python's `//`
and `%`; they *fault* on a zero divisor or an overflowing quotient, which well-formed IR rules
out with a guard first: a faulting instruction is never moved above its guard or removed.

Float semantics. Values of type `f64` are Python floats, which are IEEE 754 doubles, so the
meaning here is SSE2's: `fadd`, `fsub`, `fmul` round to nearest and overflow to inf, and a
comparison with a NaN is false (`fne` true); `fmod` and `ffloordiv` are Python's float `%`
and `//`. Where Python raises or leaves the double world the opcode deoptimizes: `fdiv`,
`fmod` and `ffloordiv` by zero (either sign), `ftoi` of inf, NaN or a value whose truncation
is not an int64 above INT64_MIN, `itof_exact` of an int a double cannot hold exactly
(Python compares an int and a float exactly, and divides two ints with one rounding).

List semantics. A `list` value is a pointer to a list the runtime made (`jitkit.jitrt.layout`:
length, capacity, data, kind); in the interpreter it is a Python list of IR values. Its
element kind is in the opcode's last letter, as QBE's `loadub`/`storel`: `b` bool (a byte
0/1), `l` an i64, `d` an f64. These opcodes are of kind "memory": they read or write a list,
so no pass merges, moves or removes them (an append between two `len`s changes the answer).
`check_index` is the bounds check: it deopts unless `-len <= i < len`, and gives the index
from the front (`i + len` for a negative one); `load`/`store` then *fault* outside
`[0, len)`, so they always come after one (or after a pass proved it cannot fail). `new`,
`repeat` and `append` call the runtime (`list_new`, `list_grow`) and deopt when it has no
memory: the VM redoes the bytecode instruction. Lists never shrink in the subset (there is
no `pop`, `del` or slice), which `bounds` relies on: a length read once is a lower bound of
the length ever after.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

TYPES = ("i64", "bool", "f64", "list")
ELEMENT = {"b": "bool", "l": "i64", "d": "f64"}  # the last letter of a list opcode
I64_MIN, I64_MAX = -(2**63), 2**63 - 1


class Fault(ArithmeticError):
    """`div`/`mod` met a zero divisor or an overflowing quotient: the IR lacked a guard."""


class Overflow(ArithmeticError):
    """An `_ovf` opcode's exact result is not an int64 (or there is none): deoptimize."""


def wrap(x: int) -> int:
    """Two's complement int64, as a 64-bit register would hold it."""
    return ((x + 2**63) % 2**64) - 2**63


def fits(x: int) -> bool:
    return I64_MIN <= x <= I64_MAX


def _checked(x: int) -> int:
    if not fits(x):
        raise Overflow(x)
    return x


def _floor_div(a: int, b: int, error: type[ArithmeticError]) -> int:
    if b == 0 or not fits(a // b):
        raise error(f"{a} // {b}")
    return a // b


def _floor_mod(a: int, b: int, error: type[ArithmeticError]) -> int:
    if b == 0 or not fits(a // b):  # x86 idiv faults on MIN % -1 too
        raise error(f"{a} % {b}")
    return a % b


def _fdiv(a: float, b: float) -> float:
    if b == 0:
        raise Overflow(f"{a} / {b}")
    return a / b


def _python_float(op: Callable[[float, float], float]) -> Callable[[float, float], float]:
    def compute(a: float, b: float) -> float:
        if b == 0:
            raise Overflow(f"{a} {op.__name__} {b}")
        return op(a, b)

    return compute


def _ftoi(a: float) -> int:
    if math.isinf(a) or math.isnan(a) or not I64_MIN < int(a) <= I64_MAX:
        raise Overflow(f"int({a})")
    return int(a)


def _itof_exact(a: int) -> float:
    if int(float(a)) != a:
        raise Overflow(f"float({a}) is inexact")
    return float(a)


def _fabs(a: float) -> float:
    return math.copysign(a, 1.0)


def _narrow_div(a: int, b: int, op: Callable[[int], int]) -> int:
    if not (0 <= a < 2**32 and 0 < b < 2**32):
        raise Fault(f"32-bit divide of {a} by {b}")
    return op(b)


@dataclass(frozen=True)
class Op:
    """One opcode: how many operands, what type it yields, what it may do besides computing.

        `result` is a type name, "arg" (the type of the first operand), "any" (the type written
        on the instruction, for `copy`, `phi`, `call`) or None (no result). `kind` is one of
        "pure" (no side effect, fault or deopt: may be removed, merged or hoisted), "faults"
        (only defined where a guard before it holds), "deopt" (carries deopt state and may
        leave compiled code there), "effect" (prints or calls), "memory" (reads or writes a list:
    never merged, moved or removed; `deopts` if it carries deopt state) and "jump" (a
    terminator).
        `operand` is the operands' type, "arg" for the result's type, or "cond": a bool, then
        operands of the result's type."""

    name: str
    arity: int | None  # None: any number
    result: str | None
    kind: str
    doc: str
    fn: Callable[..., int | float] | None = None
    operand: str = "i64"
    commutative: bool = False
    operands: tuple[str, ...] | None = None  # per-operand types, where they differ
    deopts: bool = False  # a "memory" opcode that carries deopt state
    list_fn: Callable[..., object] | None = None  # a "memory" opcode's meaning (interp)

    @property
    def pure(self) -> bool:
        return self.kind == "pure"

    @property
    def faults(self) -> bool:
        return self.kind == "faults"

    @property
    def deopt(self) -> bool:
        return self.kind == "deopt"

    @property
    def memory(self) -> bool:
        return self.kind == "memory"

    @property
    def state(self) -> bool:
        """Does it carry deopt state (a call may too, optionally)?"""
        return self.kind == "deopt" or self.deopts

    @property
    def terminator(self) -> bool:
        return self.kind == "jump"


def _unsigned(x: int) -> int:
    return x % 2**64


# fmt: off
ROWS = [
    # name    arity result  kind      doc, then meaning on Python ints
    Op("add",     2, "i64",  "pure",   "a + b, wrapping", lambda a, b: wrap(a + b),
       commutative=True),
    Op("sub",     2, "i64",  "pure",   "a - b, wrapping", lambda a, b: wrap(a - b)),
    Op("mul",     2, "i64",  "pure",   "a * b, wrapping", lambda a, b: wrap(a * b),
       commutative=True),
    Op("neg",     1, "i64",  "pure",   "-a, wrapping", lambda a: wrap(-a)),
    Op("umulh",   2, "i64",  "pure",   "high half of the unsigned 128-bit product a * b",
       lambda a, b: wrap((_unsigned(a) * _unsigned(b)) >> 64), commutative=True),
    Op("div",     2, "i64",  "faults", "a // b (floor); faults if b == 0 or it overflows",
       lambda a, b: _floor_div(a, b, Fault)),
    Op("mod",     2, "i64",  "faults", "a % b (floor: sign of b); faults like div",
       lambda a, b: _floor_mod(a, b, Fault)),
    Op("udiv32",  2, "i64",  "faults", "a // b for 0 <= a < 2**32, 0 < b < 2**32 (32-bit)",
       lambda a, b: _narrow_div(a, b, a.__floordiv__)),
    Op("umod32",  2, "i64",  "faults", "a % b for 0 <= a < 2**32, 0 < b < 2**32 (32-bit)",
       lambda a, b: _narrow_div(a, b, a.__mod__)),
    # checked arithmetic: the exact Python result, or deopt
    Op("add_ovf", 2, "i64",  "deopt",  "a + b; deopt unless it fits int64",
       lambda a, b: _checked(a + b), commutative=True),
    Op("sub_ovf", 2, "i64",  "deopt",  "a - b; deopt unless it fits int64",
       lambda a, b: _checked(a - b)),
    Op("mul_ovf", 2, "i64",  "deopt",  "a * b; deopt unless it fits int64",
       lambda a, b: _checked(a * b), commutative=True),
    Op("neg_ovf", 1, "i64",  "deopt",  "-a; deopt unless it fits int64",
       lambda a: _checked(-a)),
    Op("div_ovf", 2, "i64",  "deopt",  "a // b; deopt if b == 0 or it overflows",
       lambda a, b: _floor_div(a, b, Overflow)),
    Op("mod_ovf", 2, "i64",  "deopt",  "a % b; deopt like div_ovf",
       lambda a, b: _floor_mod(a, b, Overflow)),
    # checked arithmetic run speculatively (if-conversion): the wrapped result when the bool
    # first operand is false (the arm did not run; a `select` drops it), else as `_ovf`
    Op("add_ovf_if", 3, "i64", "deopt", "add_ovf of b, c if a, else b + c wrapping",
       lambda p, a, b: _checked(a + b) if p else wrap(a + b), "cond", True),
    Op("sub_ovf_if", 3, "i64", "deopt", "sub_ovf of b, c if a, else b - c wrapping",
       lambda p, a, b: _checked(a - b) if p else wrap(a - b), "cond"),
    Op("mul_ovf_if", 3, "i64", "deopt", "mul_ovf of b, c if a, else b * c wrapping",
       lambda p, a, b: _checked(a * b) if p else wrap(a * b), "cond", True),
    # bits: and, or, xor also work on bool
    Op("and",     2, "arg",  "pure",   "bitwise and", lambda a, b: a & b, "arg", True),
    Op("or",      2, "arg",  "pure",   "bitwise or", lambda a, b: a | b, "arg", True),
    Op("xor",     2, "arg",  "pure",   "bitwise xor", lambda a, b: a ^ b, "arg", True),
    Op("shl",     2, "i64",  "pure",   "a << (b & 63), wrapping",
       lambda a, b: wrap(a << (b & 63))),
    Op("sar",     2, "i64",  "pure",   "a >> (b & 63), arithmetic",
       lambda a, b: a >> (b & 63)),
    Op("shr",     2, "i64",  "pure",   "a >> (b & 63), logical",
       lambda a, b: wrap(_unsigned(a) >> (b & 63))),
    # comparisons of i64, giving bool
    Op("eq",      2, "bool", "pure",   "a == b", lambda a, b: int(a == b), commutative=True),
    Op("ne",      2, "bool", "pure",   "a != b", lambda a, b: int(a != b), commutative=True),
    Op("lt",      2, "bool", "pure",   "a < b", lambda a, b: int(a < b)),
    Op("le",      2, "bool", "pure",   "a <= b", lambda a, b: int(a <= b)),
    Op("gt",      2, "bool", "pure",   "a > b", lambda a, b: int(a > b)),
    Op("ge",      2, "bool", "pure",   "a >= b", lambda a, b: int(a >= b)),
    # doubles: IEEE arithmetic as SSE2 does it (no reassociation: a + b + c is two roundings)
    Op("fadd",    2, "f64",  "pure",   "a + b", lambda a, b: a + b, "f64", True),
    Op("fsub",    2, "f64",  "pure",   "a - b", lambda a, b: a - b, "f64"),
    Op("fmul",    2, "f64",  "pure",   "a * b", lambda a, b: a * b, "f64", True),
    Op("fdiv",    2, "f64",  "deopt",  "a / b; deopt if b is 0.0 or -0.0 (ZeroDivisionError)",
       _fdiv, "f64"),
    Op("fmod",    2, "f64",  "deopt",  "a % b as Python's float (sign of b); deopt if b is 0 "
       "(calls libm's fmod)", _python_float(float.__mod__), "f64"),
    Op("ffloordiv", 2, "f64", "deopt", "a // b as Python's float; deopt if b is 0 "
       "(calls libm's fmod)", _python_float(float.__floordiv__), "f64"),
    Op("fneg",    1, "f64",  "pure",   "-a (flips the sign bit: -0.0 too)", lambda a: -a, "f64"),
    Op("fabs",    1, "f64",  "pure",   "abs(a) (clears the sign bit)", _fabs, "f64"),
    Op("itof",    1, "f64",  "pure",   "float(a), rounded to nearest", float),
    Op("itof_exact", 1, "f64", "deopt", "float(a); deopt unless the double is exactly a",
       _itof_exact),
    Op("ftoi",    1, "i64",  "deopt",  "int(a) (truncates); deopt on inf, NaN or past int64",
       _ftoi, "f64"),
    Op("feq",     2, "bool", "pure",   "a == b (false if either is NaN)",
       lambda a, b: int(a == b), "f64", True),
    Op("fne",     2, "bool", "pure",   "a != b (true if either is NaN)",
       lambda a, b: int(a != b), "f64", True),
    Op("flt",     2, "bool", "pure",   "a < b", lambda a, b: int(a < b), "f64"),
    Op("fle",     2, "bool", "pure",   "a <= b", lambda a, b: int(a <= b), "f64"),
    Op("fgt",     2, "bool", "pure",   "a > b", lambda a, b: int(a > b), "f64"),
    Op("fge",     2, "bool", "pure",   "a >= b", lambda a, b: int(a >= b), "f64"),
    # moving values
    Op("copy",    1, "any",  "pure",   "a, under a new name", lambda a: a, "arg"),
    Op("zext",    1, "i64",  "pure",   "a bool as an i64 (0 or 1)", lambda a: a, "bool"),
    Op("select",  3, "any",  "pure",   "b if the bool a is true, else c (a cmov)",
       lambda p, a, b: a if p else b, "cond"),
    Op("phi",  None, "any",  "pure",   "the value from the predecessor we came from",
       None, "arg"),
    # effects
    Op("call", None, "any",  "effect", "call $f with the operands; with deopt state, a deopt "
       "in $f (or a call too deep) leaves this frame too, resuming it after the call"),
    Op("print", None, None,  "effect", "`print %x`: the operand on a line of its own; "
       "`print PC, v1..vn, sep, end`: the kit PRINT at PC", None, "arg"),
    Op("guard",   1, None,   "deopt",  "deopt unless the bool operand is true", None, "bool"),
    Op("poll",    0, None,   "deopt",  "deopt if an interrupt (Ctrl-C) is pending"),
    # a self-recursive `return x + f(...)` run as a loop (passes/recursion.py): each trip
    # stands for one more frame of f, pending until it adds its x to what the next returns
    Op("enter",   1, None,   "deopt",  "one frame more (the tail call it replaces): deopt at "
       "that CALL past the recursion limit, else the pending frames are one more and their "
       "running sum is a"),
    Op("leave",   2, "i64",  "deopt",  "a + b, the value a frame returns plus the running sum "
       "of the pending frames (a), which end here; deopt (the innermost pending frame at its "
       "add) unless it fits int64", lambda a, b: _checked(a + b)),
    Op("fits",    0, "bool", "effect", "would one more frame fit under the recursion limit "
       "(no operands: the depth of the frames running)", None, "bool"),
    # terminators
    Op("jmp",     0, None,   "jump",   "go to the block"),
    Op("br",      1, None,   "jump",   "go to the first block if true, else the second",
       None, "bool"),
    Op("ret",     1, None,   "jump",   "return the operand", None, "arg"),
]
# fmt: on


def _in_bounds(xs: list, k: int, error: type[ArithmeticError]) -> int:
    if not 0 <= k < len(xs):
        raise error(f"index {k} of a list of {len(xs)}")
    return k


def _check_index(xs: list, i: int) -> int:
    return _in_bounds(xs, i + len(xs) if i < 0 else i, Overflow)


def _store(xs: list, k: int, v: object) -> None:
    xs[_in_bounds(xs, k, Fault)] = v


def _repeat(xs: list, n: int) -> list:
    if not fits(len(xs) * max(n, 0)):
        raise Overflow(f"a list of {len(xs)} * {n}")
    return xs * n


def _list_rows() -> list[Op]:
    """The list opcodes, one per element kind where the kind matters (see the docstring)."""
    rows = [
        Op("len", 1, "i64", "memory", "the list's length", operands=("list",), list_fn=len),
        Op("check_index", 2, "i64", "memory", "i, or i + len if i < 0; deopt unless that is "
           "in [0, len) (IndexError)", operands=("list", "i64"), deopts=True,
           list_fn=_check_index),
    ]  # fmt: skip
    for k, t in ELEMENT.items():
        rows += [
            Op(f"load{k}", 2, t, "memory", f"element b (a {t}); faults outside [0, len)",
               operands=("list", "i64"), list_fn=lambda xs, i: xs[_in_bounds(xs, i, Fault)]),
            Op(f"store{k}", 3, None, "memory", f"element b = c (a {t}); faults outside "
               "[0, len)", operands=("list", "i64", t), list_fn=_store),
            Op(f"new{k}", 2, "list", "memory", f"a new list of max(a, 0) {t}s, each b; "
               "deopt without memory", operands=("i64", t), deopts=True,
               list_fn=lambda n, v: [v] * max(n, 0)),
            Op(f"repeat{k}", 2, "list", "memory", f"a new list: the {t}s of a, b times "
               "(list * int); deopt past int64 or without memory", operands=("list", "i64"),
               deopts=True, list_fn=_repeat),
            Op(f"append{k}", 2, None, "memory", f"a.append(b) (a {t}); deopt without memory",
               operands=("list", t), deopts=True, list_fn=list.append),
        ]  # fmt: skip
    return rows


ROWS += _list_rows()
OPS: dict[str, Op] = {row.name: row for row in ROWS}
LIST_CALLS = {name for name in OPS if name[:-1] in ("new", "repeat", "append")}  # call the runtime
COMPARISONS = {"eq", "ne", "lt", "le", "gt", "ge"}
SWAPPED = {"eq": "eq", "ne": "ne", "lt": "gt", "le": "ge", "gt": "lt", "ge": "le"}
FLOAT_COMPARISONS = {"feq": "eq", "fne": "ne", "flt": "lt", "fle": "le", "fgt": "gt", "fge": "ge"}


def evaluate(op: str, args: list) -> int | float:
    """The value of a computing opcode; raises `Fault` or `Overflow` where the table says."""
    fn = OPS[op].fn
    if fn is None:
        raise ValueError(f"{op} does not compute a value from its operands alone")
    return fn(*args)
