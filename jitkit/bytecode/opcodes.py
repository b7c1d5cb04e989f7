"""Every kit opcode, defined once (notebook 03 interpreters).

In: nothing. Out: `Op` (the opcode numbers) and `OPCODES` (one `OpInfo` row per opcode). The
verifier, the stack-depth computation, the disassembler, the VM's completeness test and the
later template JIT and SSA builder all read this table; nothing computes a stack effect from
code. `pops`/`pushes` are an int or a formula of the operand, "arg" or "arg+N".

Operand kinds: none, const (index into `consts`), local (index into `varnames`), name
(index into `names`, a module function), global (index into `globals`, the module's global
names), jump (instruction index), count (number of arguments), depth (a stack position,
1 = top).

Guard rule (for the JITs, written once here): an opcode flagged `deopt` is one whose compiled
code may hand its frame to the interpreter: a guard fails (int64 overflow, a zero divisor,
range(..., 0)), the loop's back edge sees Ctrl-C (JUMP_BACKWARD), or the callee deopted
(CALL). The guard runs before any side effect of the instruction, so resuming in the
interpreter at that instruction repeats nothing. For an opcode no native tier compiles yet,
the flag says whether its compiled form would need a guard (it can raise). The flag holds
whatever the operands' kinds; a guard a tier adds at some sites only, for some kinds (an int
compared with a float), is that tier's own. The stack tier's `GUARDED` is this column;
`tests/test_opcode_completeness.py` checks it against the templates and the SSA builder.
Only JUMP_BACKWARD jumps backwards; every other jump goes forward. The VM counts
JUMP_BACKWARD executions per loop (the hot-loop counter).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


@dataclass(frozen=True)
class OpInfo:
    """One row of the table: everything any consumer needs to know about an opcode."""

    name: str
    operand: str
    pops: int | str
    pushes: int | str
    jump: bool
    deopt: bool
    doc: str


# name, operand, pops, pushes, jump, deopt, doc
TABLE = [
    ("LOAD_CONST", "const", 0, 1, False, False, "push consts[arg]"),
    ("LOAD_LOCAL", "local", 0, 1, False, False, "push local arg (UnboundLocalError if unset)"),
    ("STORE_LOCAL", "local", 1, 0, False, False, "pop into local arg"),
    ("LOAD_FUNC", "name", 0, 1, False, False, "push the module function names[arg]"),
    ("POP", "none", 1, 0, False, False, "drop the top of the stack"),
    ("DUP", "none", 1, 2, False, False, "push a copy of the top"),
    ("COPY", "depth", 0, 1, False, False, "push a copy of the arg-th item (1 = top)"),
    ("SWAP", "depth", 0, 0, False, False, "swap the top with the arg-th item (2 = second)"),
    ("BINARY_ADD", "none", 2, 1, False, True, "a b -- a + b"),
    ("BINARY_SUB", "none", 2, 1, False, True, "a b -- a - b"),
    ("BINARY_MUL", "none", 2, 1, False, True, "a b -- a * b"),
    ("BINARY_FLOORDIV", "none", 2, 1, False, True, "a b -- a // b (floors; ZeroDivisionError)"),
    ("BINARY_MOD", "none", 2, 1, False, True, "a b -- a % b (sign of b; ZeroDivisionError)"),
    ("BINARY_POW", "none", 2, 1, False, True, "a b -- a ** b (b >= 0)"),
    ("BINARY_MIN", "none", 2, 1, False, False, "a b -- min(a, b)"),
    ("BINARY_MAX", "none", 2, 1, False, False, "a b -- max(a, b)"),
    ("UNARY_NEG", "none", 1, 1, False, True, "a -- -a"),
    ("UNARY_POS", "none", 1, 1, False, False, "a -- +a"),
    ("UNARY_NOT", "none", 1, 1, False, False, "a -- not a (a bool)"),
    ("UNARY_ABS", "none", 1, 1, False, True, "a -- abs(a)"),
    ("COMPARE_LT", "none", 2, 1, False, False, "a b -- a < b"),
    ("COMPARE_LE", "none", 2, 1, False, False, "a b -- a <= b"),
    ("COMPARE_EQ", "none", 2, 1, False, False, "a b -- a == b"),
    ("COMPARE_NE", "none", 2, 1, False, False, "a b -- a != b"),
    ("COMPARE_GT", "none", 2, 1, False, False, "a b -- a > b"),
    ("COMPARE_GE", "none", 2, 1, False, False, "a b -- a >= b"),
    ("RANGE_CHECK", "none", 3, 3, False, True, "start stop step -- ints; ValueError if step 0"),
    ("RANGE_TEST", "none", 3, 1, False, False, "i stop step -- does the range loop go on?"),
    ("JUMP", "jump", 0, 0, True, False, "jump forward to arg"),
    ("JUMP_BACKWARD", "jump", 0, 0, True, True, "jump back to arg (a loop; counted)"),
    ("JUMP_IF_FALSE", "jump", 1, 0, True, False, "pop; jump forward to arg if falsy"),
    ("JUMP_IF_TRUE", "jump", 1, 0, True, False, "pop; jump forward to arg if truthy"),
    ("CALL", "count", "arg+1", 1, False, True, "f a1..an -- f(a1..an)"),
    ("PRINT", "count", "arg+2", 0, False, False, "a1..an sep end -- ; print(a1..an)"),
    ("RETURN", "none", 1, 0, False, False, "return the top to the caller"),
    # floats and lists (issue #17): Python's own semantics; a native tier guards the kinds
    ("BINARY_TRUEDIV", "none", 2, 1, False, True, "a b -- a / b (a float; ZeroDivisionError)"),
    ("UNARY_FLOAT", "none", 1, 1, False, False, "a -- float(a) (OverflowError for huge ints)"),
    ("UNARY_INT", "none", 1, 1, False, True, "a -- int(a) (truncates; inf, nan raise)"),
    # a native tier compiles a list opcode only on a list the types know (no kind check);
    # making or growing a list may find memory exhausted, and an index may be out of range
    ("UNARY_LEN", "none", 1, 1, False, False, "xs -- len(xs)"),
    ("BUILD_LIST", "count", "arg", 1, False, True, "a1..an -- [a1, .., an] (MemoryError)"),
    ("BINARY_SUBSCR", "none", 2, 1, False, True, "xs i -- xs[i] (i < 0 from the end; IndexError)"),
    ("STORE_SUBSCR", "none", 3, 0, False, True, "v xs i -- ; xs[i] = v (IndexError)"),
    ("CHECK_APPEND", "none", 1, 1, False, False, "xs -- xs; AttributeError unless a list"),
    ("LIST_APPEND", "none", 2, 1, False, True, "xs v -- None; xs.append(v) (MemoryError)"),
    ("CHECK_ITER", "none", 1, 1, False, False, "xs -- xs; TypeError unless a list (for x in xs)"),
    # module-level names (#16): read at call time; the module's top-level code stores them
    ("LOAD_GLOBAL", "global", 0, 1, False, True, "push module global arg (NameError if unset)"),
    ("STORE_GLOBAL", "global", 1, 0, False, False, "pop into module global arg"),
]

Op = enum.IntEnum("Op", [row[0] for row in TABLE], start=0)
OPCODES: dict[Op, OpInfo] = {Op[row[0]]: OpInfo(*row) for row in TABLE}

# Instructions after which control never falls through to the next one.
TERMINATORS = frozenset({Op.JUMP, Op.JUMP_BACKWARD, Op.RETURN})

BINARY_OPS = {
    "+": Op.BINARY_ADD,
    "-": Op.BINARY_SUB,
    "*": Op.BINARY_MUL,
    "/": Op.BINARY_TRUEDIV,
    "//": Op.BINARY_FLOORDIV,
    "%": Op.BINARY_MOD,
    "**": Op.BINARY_POW,
}
UNARY_OPS = {"-": Op.UNARY_NEG, "+": Op.UNARY_POS, "not": Op.UNARY_NOT}
COMPARE_OPS = {
    "<": Op.COMPARE_LT,
    "<=": Op.COMPARE_LE,
    "==": Op.COMPARE_EQ,
    "!=": Op.COMPARE_NE,
    ">": Op.COMPARE_GT,
    ">=": Op.COMPARE_GE,
}
BUILTIN_OPS = {
    "abs": Op.UNARY_ABS,
    "min": Op.BINARY_MIN,
    "max": Op.BINARY_MAX,
    "len": Op.UNARY_LEN,
    "float": Op.UNARY_FLOAT,
    "int": Op.UNARY_INT,
}
NO_ARGUMENT_BUILTINS = {"float": 0.0, "int": 0}  # float() and int(): constants


def count(formula: int | str, arg: int) -> int:
    """Evaluate a declared pops/pushes entry: 2, "arg" or "arg+2"."""
    if isinstance(formula, int):
        return formula
    base, _, extra = formula.partition("+")
    assert base == "arg", formula
    return arg + int(extra or 0)


def stack_effect(op: Op, arg: int) -> tuple[int, int]:
    """(pops, pushes) of one instruction, read from the table."""
    info = OPCODES[op]
    return count(info.pops, arg), count(info.pushes, arg)


def min_depth(op: Op, arg: int) -> int:
    """Stack items the instruction needs before it runs (pops, or arg for COPY/SWAP)."""
    pops = stack_effect(op, arg)[0]
    return max(pops, arg) if OPCODES[op].operand == "depth" else pops
