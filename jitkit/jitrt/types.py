"""What kind of value each stack slot and local holds, at every instruction (notebook 05).

Takes verified kit code objects; gives, per function, the types of locals and stack slots
before each instruction, and the function's return type. Compiled code keeps every value as
an int64, so the type is only needed where a value becomes visible: `print(True)` is not
`print(1)`, a function returning `n < 2` returns a bool, and a deopt hands the interpreter
real Python objects. Types: "int", "bool", "float" (the word holds the double's bits),
"none", "undef" (not yet assigned), ("str", s), ("func", name) and ("list", K); a slot's type
is a set of them (a join of all paths). Numbers combine as Python promotes them: bool and int
to int, any float operand to float, `/` and `float()` always float, `int()` always int.

Lists (#17): ("list", K) is a list whose elements are all of kind K. The native tiers compile
K in `ELEMENT_KINDS` (int, bool, float: one machine word or byte per element); any other K
(None, a string, a list, "mixed" for `[1, 2.0]` or `[1, True]`) is a type `check` refuses
with a reason, so the function stays in the VM. `[a, b]` takes its items' kind, `[v] * n`
its item's. The kind of `[]` is the kind of the value of its first `append` (the lowest pc
appending to a list made there, within the function); a `[]` nothing in the function appends
to is a list of ints (it is empty either way; a callee appending floats to it is refused).
A parameter is a list where a call in the module passes one (the union of what the calls
in the module pass: callers that disagree leave it with no one type; from Python such a
function runs in the VM). `xs[i]` gives K, `len(xs)` an int,
`xs.append(v)` None; storing or appending a value of another kind is refused by `check`.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import product

from jitkit.bytecode.code import Code
from jitkit.bytecode.opcodes import OPCODES, TERMINATORS, Op, stack_effect

Type = str | tuple
INT, BOOL, FLOAT, NONE, UNDEF = "int", "bool", "float", "none", "undef"
LIST = "list"
LIST_INT, LIST_BOOL, LIST_FLOAT = (LIST, INT), (LIST, BOOL), (LIST, FLOAT)
ELEMENT_KINDS = (INT, BOOL, FLOAT)  # what a natively compiled list may hold
MIXED = "mixed"  # the element kind of a list whose items are of more than one kind
# Opcodes that take or make a list (`check` refuses them in a tier without list templates)
LIST_OPCODES = frozenset({Op.BUILD_LIST, Op.BINARY_SUBSCR, Op.STORE_SUBSCR, Op.UNARY_LEN,
                          Op.CHECK_APPEND, Op.LIST_APPEND, Op.CHECK_ITER})  # fmt: skip

# Arithmetic: int on ints and bools, float when an operand is a float (Python's promotion).
# An int ** int with a negative exponent is a float in Python: its template deopts there.
ARITHMETIC = {Op.BINARY_ADD, Op.BINARY_SUB, Op.BINARY_MUL, Op.BINARY_FLOORDIV, Op.BINARY_MOD,
              Op.BINARY_POW, Op.UNARY_NEG, Op.UNARY_POS, Op.UNARY_ABS}  # fmt: skip
# Opcodes the per-instruction loops test, as plain globals: `Op.X` looks the member up
# through the Enum class each time (~0.2 µs), once per instruction per test.
BINARY_MAX, BINARY_MIN, CALL = Op.BINARY_MAX, Op.BINARY_MIN, Op.CALL
COPY, DUP, LOAD_CONST = Op.COPY, Op.DUP, Op.LOAD_CONST
LOAD_FUNC, LOAD_LOCAL, RANGE_CHECK = Op.LOAD_FUNC, Op.LOAD_LOCAL, Op.RANGE_CHECK
RETURN, STORE_LOCAL, SWAP = Op.RETURN, Op.STORE_LOCAL, Op.SWAP
BINARY_MUL, BINARY_SUBSCR, BUILD_LIST = Op.BINARY_MUL, Op.BINARY_SUBSCR, Op.BUILD_LIST
CHECK_APPEND, CHECK_ITER, LIST_APPEND = Op.CHECK_APPEND, Op.CHECK_ITER, Op.LIST_APPEND
UNARY_LEN = Op.UNARY_LEN
UNARY = {op for op in ARITHMETIC if stack_effect(op, 0)[0] == 1}  # one operand
ALWAYS = {
    **{op: INT for op in ARITHMETIC},
    **{op: BOOL for op in (Op.COMPARE_LT, Op.COMPARE_LE, Op.COMPARE_EQ, Op.COMPARE_NE,
                           Op.COMPARE_GT, Op.COMPARE_GE, Op.UNARY_NOT, Op.RANGE_TEST)},
    Op.BINARY_TRUEDIV: FLOAT, Op.UNARY_FLOAT: FLOAT, Op.UNARY_INT: INT,
}  # fmt: skip


class NotCompilable(Exception):
    """Why the stack tier leaves a function to the interpreter (shown to the learner)."""


class Stack(Sequence):
    """The operand stack's type sets, bottom first, sharing everything below its top with
    the states it grew from: a push or pop makes one node, so a function whose stack is
    4,000 deep keeps 4,000 nodes, not 4,000 lists of up to 4,000 sets. Indexing from the
    top walks down; `kinds` holds the distinct sets on the stack (few, however deep)."""

    __slots__ = ("top", "below", "size", "kinds", "_items")

    def __init__(self, top: frozenset | None = None, below: Stack | None = None) -> None:
        self.top, self.below = top, below
        self.size = 0 if below is None else below.size + 1
        kinds = frozenset() if below is None else below.kinds
        self.kinds = kinds if below is None or top in kinds else kinds | {top}
        self._items: tuple | None = None

    def push(self, *types: frozenset) -> Stack:
        stack = self
        for t in types:
            stack = Stack(t, stack)
        return stack

    def pop(self, n: int = 1) -> Stack:
        stack = self
        for _ in range(n):
            stack = stack.below
        return stack

    def peek(self, k: int) -> frozenset:
        """The k-th set from the top (1 = the top)."""
        return self.pop(k - 1).top

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, i):
        if isinstance(i, slice):
            start, stop, step = i.indices(self.size)
            if stop == self.size and step == 1 and self.size - start <= 64:
                tops, node = [], self
                for _ in range(self.size - start):
                    tops.append(node.top)
                    node = node.below
                return tops[::-1]
            return list(self.items()[i])
        if i < 0:
            i += self.size
        if not 0 <= i < self.size:
            raise IndexError("stack index out of range")
        k = self.size - i
        return self.peek(k) if k <= 64 else self.items()[i]

    def items(self) -> tuple:
        """Every set, bottom first (kept once indexed from the bottom)."""
        if self._items is None:
            self._items = tuple(self.walk())
        return self._items

    def walk(self) -> list:
        out, node = [], self
        while node.below is not None:
            out.append(node.top)
            node = node.below
        return out[::-1]

    def __iter__(self):
        return iter(self._items if self._items is not None else self.walk())

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Stack):
            return list(self) == other
        a, b = self, other
        if a.size != b.size:
            return False
        while a is not b:
            if a.top != b.top:
                return False
            a, b = a.below, b.below
        return True

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Stack({list(self)!r})"

    def join(self, other: Stack) -> Stack:
        """Set by set union; `self` itself when nothing grows. Walks only down to the part
        both share."""
        a, b, tops, grew = self, other, [], False
        while a is not b:
            tops.append(a.top | b.top)
            grew = grew or not b.top <= a.top
            a, b = a.below, b.below
        return a.push(*reversed(tops)) if grew else self


EMPTY = Stack()


@dataclass
class State:
    """Types before one instruction: one set per local, one set per stack slot."""

    locals: list[frozenset]
    stack: Stack

    def join(self, other: State) -> State:
        """Slot by slot union; `self` itself when nothing grows (the fixed point's test:
        `analyse` asks `is`, so an equal state is never a new one)."""
        if self.locals is other.locals or self.locals == other.locals:
            local = self.locals
        else:
            local = [a | b for a, b in zip(self.locals, other.locals, strict=True)]
            if local == self.locals:
                local = self.locals
        stack = self.stack.join(other.stack)
        if stack is self.stack and local is self.locals:
            return self
        return State(local, stack)


@dataclass
class FunctionTypes:
    """The analysis of one function: states[pc] (None where unreachable) and its return type."""

    code: Code
    states: list[State | None]
    returns: frozenset


ROUNDS = 50  # parameter types that have not settled by then: every parameter an int


def analyse_module(
    codes: dict[str, Code], float_params: bool = False, list_params: bool = True
) -> dict[str, FunctionTypes]:
    """Every function's types. Return types feed calls, so iterate until nothing changes
    (recursion starts from "returns nothing yet" and grows). Parameters are ints, or with
    `float_params` floats where every call in the module passes a float there, or with
    `list_params` lists where a call passes a list (`parameter_types`)."""
    list_params = list_params and any(BUILD_LIST in code.ops for code in codes.values())
    inferred = float_params or list_params
    returns = {name: frozenset() for name in codes}
    params: dict[str, tuple] = {name: () for name in codes}
    # a function's analysis reads only its parameters and its callees' return types: when
    # neither changed since the last round, the last round's analysis stands
    callees = {name: [c for c in set(code.names) if c in codes] for name, code in codes.items()}
    done: dict[str, tuple] = {}  # name -> (the inputs, the analysis made from them)
    for _ in range(ROUNDS if inferred else 10**9):
        result = {}
        for name, code in codes.items():
            inputs = (params[name], [returns[c] for c in callees[name]])
            if name not in done or done[name][0] != inputs:
                done[name] = (inputs, analyse(code, returns, params[name]))
            result[name] = done[name][1]
        new = {name: ft.returns for name, ft in result.items()}
        found = params
        if inferred:
            found = parameter_types(codes, result, float_params, list_params, params)
        if new == returns and found == params:
            return result
        if found != params:  # return types found under other parameters: start again
            new = {name: frozenset() for name in codes}
        returns, params = new, found
    return analyse_module(codes, list_params=False)


def parameter_types(
    codes: dict[str, Code],
    result: dict[str, FunctionTypes],
    floats: bool,
    lists: bool,
    before: dict[str, tuple],
) -> dict[str, tuple]:
    """Per function, the parameters that are not ints, as (position, types) pairs: a float
    where every call site passes a float (`floats`); where a call passes a list (`lists`),
    the union of what the calls pass, as a fixed point of its own: such a parameter starts
    again from nothing when found (what a recursive call passed while it was an int does
    not count) and then only grows (`before`: the last round's)."""
    passed: dict[str, list] = {name: [set() for _ in range(codes[name].argcount)] for name in codes}
    for types in result.values():
        for pc, state in enumerate(types.states):
            if state is None or types.code.ops[pc] != Op.CALL:
                continue
            argc = types.code.args[pc]
            for kind in state.stack.peek(argc + 1):
                if isinstance(kind, tuple) and kind[0] == "func" and kind[1] in codes:
                    if codes[kind[1]].argcount == argc:
                        for k in range(argc):
                            passed[kind[1]][k] |= state.stack.peek(argc - k)
    out = {}
    for name, ts in passed.items():
        old = {k: t for k, t in before.get(name, ()) if not t or any(map(is_list, t))}
        pairs = []
        for k, t in enumerate(ts):
            if k in old:  # a list parameter: grows
                pairs.append((k, old[k] | t))
            elif lists and any(is_list(x) for x in t):
                pairs.append((k, frozenset()))  # found: from nothing, the next round says
            elif floats and t == {FLOAT}:
                pairs.append((k, frozenset(t)))
        out[name] = tuple(pairs)
    return out


def analyse(code: Code, returns: dict[str, frozenset], params: tuple = ()) -> FunctionTypes:
    """Abstract interpretation of one function over the type sets, to a fixed point;
    parameters are ints but those `params` gives as (position, types) pairs (a bare
    position: a float). Runs again while `[]`s get their kind from a first append."""
    given = {k: frozenset({FLOAT}) for k in params if type(k) is int}
    given.update(p for p in params if type(p) is not int)
    lists = Lists()
    while True:
        types = fixed_point(code, returns, given, lists)
        if not lists.decide():
            return types


class Lists:
    """The element kinds of the `[]`s of one function (by the pc of their BUILD_LIST 0), and
    what the analysis saw appended to those not yet decided."""

    def __init__(self) -> None:
        self.kinds: dict[int, Type] = {}
        self.appended: dict[int, dict[int, frozenset]] = {}  # site -> {append pc: types}
        self.open: set[int] = set()  # sites whose lists the last run met undecided

    def empty(self, pc: int) -> Type:
        """The type of the list `[]` at `pc` makes."""
        if pc in self.kinds:
            return (LIST, self.kinds[pc])
        self.open.add(pc)
        return (LIST, ("empty", pc))

    def append(self, pc: int, lists: frozenset, values: frozenset) -> None:
        for t in lists:
            if is_list(t) and isinstance(t[1], tuple) and t[1][0] == "empty":
                self.appended.setdefault(t[1][1], {})[pc] = values

    def decide(self) -> bool:
        """Give each open site the kind of its first append (or int: nothing appends to
        it); whether any was given (the analysis then runs again)."""
        new = False
        for site in sorted(self.open):
            if site in self.kinds:
                continue
            appends = self.appended.get(site)
            values = appends[min(appends)] if appends else frozenset({INT})
            self.kinds[site] = element_kind(values)
            new = True
        self.open, self.appended = set(), {}
        return new


def fixed_point(
    code: Code, returns: dict[str, frozenset], given: dict[int, frozenset], lists: Lists
) -> FunctionTypes:
    """One run of the abstract interpretation to its fixed point."""
    n = len(code.ops)
    params = [given.get(k, frozenset({INT})) for k in range(code.argcount)]
    undef = [frozenset({UNDEF})] * (len(code.varnames) - code.argcount)
    states: list[State | None] = [None] * n
    states[0] = State(params + undef, EMPTY)
    returned: frozenset = frozenset()
    # where control goes after each instruction (fall-through first, then the jump target)
    successors = [
        ([] if op in TERMINATORS else [pc + 1]) + ([arg] if OPCODES[op].jump else [])
        for pc, (op, arg) in enumerate(zip(code.ops, code.args, strict=True))
    ]
    work = [0]
    while work:
        pc = work.pop()
        after = step(code, pc, states[pc], returns, lists)
        if code.ops[pc] == RETURN:
            returned |= states[pc].stack.top
        for target in successors[pc]:
            if target >= n:
                continue
            old = states[target]
            new = after if old is None else old.join(after)
            if new is not old:  # `join` gives the old state itself when nothing grew
                states[target] = new
                work.append(target)
    return FunctionTypes(code, states, returned)


def step(
    code: Code, pc: int, state: State, returns: dict[str, frozenset], lists: Lists | None = None
) -> State:
    """The types after instruction `pc`, from the types before it."""
    op, arg = code.ops[pc], code.args[pc]
    # only a store changes the locals: the other states share one list (no copy per
    # instruction, which made a function with many locals quadratic); stacks share too
    local, stack = state.locals, state.stack
    if op == LOAD_CONST:
        stack = stack.push(frozenset({type_of(code.consts[arg])}))
    elif op == LOAD_LOCAL:
        stack = stack.push(local[arg])
    elif op == STORE_LOCAL:
        local = list(local)
        local[arg] = stack.top
        stack = stack.below
    elif op == LOAD_FUNC:
        stack = stack.push(frozenset({("func", code.names[arg])}))
    elif op in (DUP, COPY):
        stack = stack.push(stack.peek(1 if op == DUP else arg))
    elif op == SWAP:
        moved = [stack.peek(k) for k in range(arg, 0, -1)]  # the top `arg`, bottom first
        moved[0], moved[-1] = moved[-1], moved[0]
        stack = stack.pop(arg).push(*moved)
    elif op == CALL:
        callee = stack.peek(arg + 1)
        names = [t[1] for t in callee if isinstance(t, tuple) and t[0] == "func"]
        result = frozenset().union(*(returns.get(name, frozenset()) for name in names))
        stack = stack.pop(arg + 1).push(result)
    elif op in (BINARY_MIN, BINARY_MAX):
        # min/max return one of the operands themselves
        stack = stack.pop(2).push(stack.peek(1) | stack.peek(2))
    elif op == RANGE_CHECK:
        stack = stack.pop(3).push(*[frozenset({INT})] * 3)
    elif op in ARITHMETIC:
        if op in UNARY:
            operands = [stack.top]
        else:
            operands = [stack.below.top, stack.top]
        stack = stack.pop(len(operands)).push(arithmetic(op, operands))
    elif op in LIST_OPCODES:
        stack = list_step(op, arg, pc, stack, lists if lists is not None else Lists())
    else:
        pops, pushes = stack_effect(op, arg)
        kind = frozenset({ALWAYS.get(op, ("value", Op(op).name))})  # new opcodes: refused later
        stack = stack.pop(pops).push(*([kind] * pushes if pushes else []))
    return State(local, stack)


def list_step(op: Op, arg: int, pc: int, stack: Stack, lists: Lists) -> Stack:
    """The stack after a list opcode (types in the module docstring)."""
    if op == BUILD_LIST:
        if arg == 0:
            return stack.push(frozenset({lists.empty(pc)}))
        items = frozenset().union(*(stack.peek(k) for k in range(1, arg + 1)))
        return stack.pop(arg).push(frozenset({(LIST, element_kind(items))}))
    if op == BINARY_SUBSCR:
        xs = stack.below.top
        return stack.pop(2).push(frozenset(t[1] if is_list(t) else ("value", "[]") for t in xs))
    if op == UNARY_LEN:
        return stack.pop(1).push(frozenset({INT}))
    if op in (CHECK_APPEND, CHECK_ITER):
        return stack  # the list itself stays on the stack
    if op == LIST_APPEND:
        lists.append(pc, stack.below.top, stack.top)
        return stack.pop(2).push(frozenset({NONE}))
    return stack.pop(3)  # STORE_SUBSCR


def element_kind(items: frozenset) -> Type:
    """The element kind of a list holding values of the types `items`."""
    return next(iter(items)) if len(items) == 1 else MIXED


def is_list(t: Type) -> bool:
    return isinstance(t, tuple) and t[0] == LIST


def describe(t: Type) -> str:
    """A type as a learner reads it: "a list of floats", "None", "an int"."""
    if is_list(t):
        kind = t[1]
        if kind == MIXED:
            return "a list mixing kinds of elements"
        if is_list(kind):
            return "a list of lists"
        plural = {INT: "ints", BOOL: "bools", FLOAT: "floats", NONE: "None"}
        if isinstance(kind, tuple) and kind[0] == "str":
            return "a list of strings"
        return f"a list of {plural.get(kind, str(kind))}" if isinstance(kind, str) else "a list"
    return {INT: "an int", BOOL: "a bool", FLOAT: "a float", NONE: "None"}.get(t, str(t))


def arithmetic(op: Op, operands: list[frozenset]) -> frozenset:
    """The result types of an arithmetic opcode: float if an operand is a float, else int
    (an operand that is not a number, or not yet assigned, is refused by `check`); a list
    times an int (either way round) is a list of the same kind."""
    if all(type(t) is str for ts in operands for t in ts):  # numbers (or refused): fast
        return frozenset(FLOAT if FLOAT in kinds else INT for kinds in product(*operands))
    out = set()
    for kinds in product(*operands):
        found = [t for t in kinds if is_list(t)]
        if not found:
            out.add(FLOAT if FLOAT in kinds else INT)
        elif op == BINARY_MUL and len(found) == 1 and {*kinds} - {found[0]} <= {INT, BOOL}:
            out.add(found[0])
        else:
            out.add(("value", f"{Op(op).name} of a list"))
    return frozenset(out)


def type_of(value: object) -> Type:
    """The type of a constant."""
    if isinstance(value, bool):
        return BOOL
    if isinstance(value, int):
        return INT
    if isinstance(value, float):
        return FLOAT
    if value is None:
        return NONE
    if isinstance(value, str):
        return ("str", value)
    return ("value", type(value).__name__)


def double(word: int) -> float:
    """The float whose IEEE 754 bits an int64 word holds (how compiled code keeps floats)."""
    return struct.unpack("<d", struct.pack("<q", word))[0]


def word(value: float) -> int:
    """The int64 word holding a float's bits: `double`'s inverse."""
    return struct.unpack("<q", struct.pack("<d", value))[0]


def exact(types: frozenset, what: str) -> Type:
    """The one type a visible value has, or NotCompilable when paths disagree."""
    if len(types) != 1:
        shown = " or ".join(sorted(map(str, types))) or "nothing"
        raise NotCompilable(f"{what} may be {shown}; the stack tier needs one type")
    return next(iter(types))
