"""What kind of value each stack slot and local holds, at every instruction (notebook 05).

Takes verified kit code objects; gives, per function, the types of locals and stack slots
before each instruction, and the function's return type. Compiled code keeps every value as
an int64, so the type is only needed where a value becomes visible: `print(True)` is not
`print(1)`, a function returning `n < 2` returns a bool, and a deopt hands the interpreter
real Python objects. Types: "int", "bool", "none", "undef" (not yet assigned), ("str", s)
and ("func", name); a slot's type is a set of them (a join of all paths).
"""

from __future__ import annotations

from dataclasses import dataclass

from jitkit.bytecode.code import Code
from jitkit.bytecode.opcodes import OPCODES, TERMINATORS, Op, stack_effect

Type = str | tuple
INT, BOOL, NONE, UNDEF = "int", "bool", "none", "undef"

ALWAYS = {
    **{op: INT for op in (Op.BINARY_ADD, Op.BINARY_SUB, Op.BINARY_MUL, Op.BINARY_FLOORDIV,
                          Op.BINARY_MOD, Op.BINARY_POW, Op.UNARY_NEG, Op.UNARY_POS,
                          Op.UNARY_ABS)},
    **{op: BOOL for op in (Op.COMPARE_LT, Op.COMPARE_LE, Op.COMPARE_EQ, Op.COMPARE_NE,
                           Op.COMPARE_GT, Op.COMPARE_GE, Op.UNARY_NOT, Op.RANGE_TEST)},
}  # fmt: skip


class NotCompilable(Exception):
    """Why the stack tier leaves a function to the interpreter (shown to the learner)."""


@dataclass
class State:
    """Types before one instruction: one set per local, one set per stack slot."""

    locals: list[frozenset]
    stack: list[frozenset]

    def join(self, other: State) -> State:
        """Slot by slot union; `self` itself when nothing grows (the fixed point's test)."""
        if self.locals is other.locals or self.locals == other.locals:
            local = self.locals
        else:
            local = [a | b for a, b in zip(self.locals, other.locals, strict=True)]
        if self.stack == other.stack:
            return self if local is self.locals else State(local, self.stack)
        return State(local, [a | b for a, b in zip(self.stack, other.stack, strict=True)])


@dataclass
class FunctionTypes:
    """The analysis of one function: states[pc] (None where unreachable) and its return type."""

    code: Code
    states: list[State | None]
    returns: frozenset


def analyse_module(codes: dict[str, Code]) -> dict[str, FunctionTypes]:
    """Every function's types. Return types feed calls, so iterate until nothing changes
    (recursion starts from "returns nothing yet" and grows)."""
    returns = {name: frozenset() for name in codes}
    while True:
        result = {name: analyse(code, returns) for name, code in codes.items()}
        new = {name: ft.returns for name, ft in result.items()}
        if new == returns:
            return result
        returns = new


def analyse(code: Code, returns: dict[str, frozenset]) -> FunctionTypes:
    """Abstract interpretation of one function over the type sets, to a fixed point."""
    n = len(code.ops)
    params = [frozenset({INT})] * code.argcount
    undef = [frozenset({UNDEF})] * (len(code.varnames) - code.argcount)
    states: list[State | None] = [None] * n
    states[0] = State(params + undef, [])
    returned: frozenset = frozenset()
    work = [0]
    while work:
        pc = work.pop()
        after = step(code, pc, states[pc], returns)
        op, arg = code.ops[pc], code.args[pc]
        if op == Op.RETURN:
            returned |= states[pc].stack[-1]
        targets = [] if op in TERMINATORS else [pc + 1]
        if OPCODES[op].jump:
            targets.append(arg)
        for target in targets:
            if target >= n:
                continue
            old = states[target]
            new = after if old is None else old.join(after)
            if new != old:
                states[target] = new
                work.append(target)
    return FunctionTypes(code, states, returned)


def step(code: Code, pc: int, state: State, returns: dict[str, frozenset]) -> State:
    """The types after instruction `pc`, from the types before it."""
    op, arg = code.ops[pc], code.args[pc]
    # only a store changes the locals: the other states share one list (no copy per
    # instruction, which made a function with many locals quadratic)
    local, stack = state.locals, list(state.stack)
    if op == Op.STORE_LOCAL:
        local = list(local)
    pops, pushes = stack_effect(op, arg)
    if op == Op.LOAD_CONST:
        stack.append(frozenset({type_of(code.consts[arg])}))
    elif op == Op.LOAD_LOCAL:
        stack.append(local[arg])
    elif op == Op.STORE_LOCAL:
        local[arg] = stack.pop()
    elif op == Op.LOAD_FUNC:
        stack.append(frozenset({("func", code.names[arg])}))
    elif op == Op.DUP:
        stack.append(stack[-1])
    elif op == Op.COPY:
        stack.append(stack[-arg])
    elif op == Op.SWAP:
        stack[-1], stack[-arg] = stack[-arg], stack[-1]
    elif op == Op.CALL:
        callee = stack[-arg - 1]
        del stack[-arg - 1 :]
        names = [t[1] for t in callee if isinstance(t, tuple) and t[0] == "func"]
        stack.append(frozenset().union(*(returns.get(name, frozenset()) for name in names)))
    elif op in (Op.BINARY_MIN, Op.BINARY_MAX):
        right, left = stack.pop(), stack.pop()
        stack.append(left | right)  # min/max return one of the operands themselves
    elif op == Op.RANGE_CHECK:
        stack[-3:] = [frozenset({INT})] * 3
    else:
        del stack[len(stack) - pops :]
        stack.extend([frozenset({ALWAYS.get(op, ("value", Op(op).name))})] * pushes)
    return State(local, stack)


def type_of(value: object) -> Type:
    """The type of a constant."""
    if isinstance(value, bool):
        return BOOL
    if isinstance(value, int):
        return INT
    if value is None:
        return NONE
    if isinstance(value, str):
        return ("str", value)
    return ("value", type(value).__name__)  # a float: `check` leaves its function to the VM


def exact(types: frozenset, what: str) -> Type:
    """The one type a visible value has, or NotCompilable when paths disagree."""
    if len(types) != 1:
        shown = " or ".join(sorted(map(str, types))) or "nothing"
        raise NotCompilable(f"{what} may be {shown}; the stack tier needs one type")
    return next(iter(types))
