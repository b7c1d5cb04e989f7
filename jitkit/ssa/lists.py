"""The bytecode instructions on lists, in SSA (notebook 07).

Takes nothing by itself: `ListLowerings` is mixed into the builder of `jitkit.ssa.build` and
uses its state (the abstract operand stack, `emit`, `state`, `i64`, the types of the native
tier's analysis, where a list is `("list", kind)`). Gives `lower_list(pc, op)`, which lowers
an instruction that makes, reads or writes a list and says whether it did.

Every access is two instructions: `check_index` (the bounds check: Python's negative index
counts from the end, anything else out of range deopts with the state before the bytecode
instruction, so the VM raises the IndexError) and then the plain `load`/`store`, which
`jitkit.ssa.passes.bounds` leaves alone when it removes the check. A list literal is `new`
and a store per element; `list * n` is `repeat`; `append` may grow the list. What Python
does that compiled code does not (printing a list, `==` on lists, `+` of lists) is refused
here, and the function gets the stack tier's templates.
"""

from __future__ import annotations

from jitkit.bytecode.opcodes import Op, stack_effect
from jitkit.errors import UnsupportedError
from jitkit.jitrt.types import BOOL, FLOAT, INT
from jitkit.ssa.ir import Const, Instr, Value

SUFFIX = {INT: "l", BOOL: "b", FLOAT: "d"}  # element kind -> the opcodes' last letter
ZERO = {"l": Const(0), "b": Const(0), "d": Const(0.0)}
LIST_OPS = {Op.BUILD_LIST, Op.BINARY_SUBSCR, Op.STORE_SUBSCR, Op.UNARY_LEN, Op.CHECK_APPEND,
            Op.LIST_APPEND, Op.CHECK_ITER}  # fmt: skip


def list_kind(types: frozenset) -> str | None:
    """The opcode suffix of a slot that holds lists of one kind; None if it holds no list."""
    kinds = {t[1] for t in types if isinstance(t, tuple) and t[0] == "list"}
    if not kinds:
        return None
    if len(kinds) != 1 or next(iter(kinds)) not in SUFFIX:
        raise UnsupportedError(f"a list whose elements may be {' or '.join(map(str, kinds))}")
    return SUFFIX[next(iter(kinds))]


class ListLowerings:
    """`lower_list`, and `list_truth` for `if xs:` (the builder's `truth` asks it)."""

    def slot_kind(self, pc: int, depth: int) -> str | None:
        """The list suffix of the operand `depth` from the top (1 = the top) before `pc`."""
        try:
            return list_kind(self.states[pc].stack[-depth])  # type: ignore[attr-defined]
        except UnsupportedError as why:
            raise UnsupportedError(f"{self.code.name}: {why}") from None  # type: ignore[attr-defined]

    def element(self, v: Value, k: str) -> Value:
        """A value stored into a list of suffix `k`, in the element's IR type."""
        v = self.resolve(v)  # type: ignore[attr-defined]
        if k == "d":
            if not self.is_f64(v):  # type: ignore[attr-defined]
                raise UnsupportedError(f"{self.code.name}: an int stored in a float list")  # type: ignore[attr-defined]
            return v
        if self.is_f64(v):  # type: ignore[attr-defined]
            raise UnsupportedError(f"{self.code.name}: a float stored in an int list")  # type: ignore[attr-defined]
        return self.i64(v) if k == "l" else v  # type: ignore[attr-defined]

    def index(self, pc: int, xs: Value, i: Value) -> Value:
        """The bounds check of `xs[i]`: the index from the front, or deopt before `pc`."""
        deopt = self.state(pc)  # type: ignore[attr-defined]
        return self.emit("check_index", [xs, self.i64(i)], "i64", deopt)  # type: ignore[attr-defined]

    def list_truth(self, xs: Value) -> Value:
        """`if xs:` is `len(xs) != 0`."""
        n = self.emit("len", [xs], "i64")  # type: ignore[attr-defined]
        return self.emit("ne", [n, Const(0)], "bool")  # type: ignore[attr-defined]

    def refuse_lists(self, pc: int, op: Op) -> None:
        """What compiled code does not do with a list: arithmetic, comparison, printing..."""
        if op in (Op.JUMP_IF_FALSE, Op.JUMP_IF_TRUE, Op.CALL, Op.RETURN, Op.JUMP,
                  Op.JUMP_BACKWARD):  # fmt: skip
            return
        stack = self.states[pc].stack  # type: ignore[attr-defined]
        depth = stack_effect(op, self.code.args[pc])[0]  # type: ignore[attr-defined]
        for k in range(1, min(depth, len(stack)) + 1):
            if self.slot_kind(pc, k) is not None:
                raise UnsupportedError(f"{self.code.name}: {op.name} on a list")  # type: ignore[attr-defined]

    def lower_list(self, pc: int, op: Op) -> bool:
        """Lower `op` at `pc` if it makes, reads or writes a list; False leaves it alone."""
        stack, code = self.stack, self.code  # type: ignore[attr-defined]
        if op == Op.BINARY_MUL:
            a, b = self.slot_kind(pc, 2), self.slot_kind(pc, 1)
            if a is None and b is None:
                return False
            if a is not None and b is not None:
                raise UnsupportedError(f"{code.name}: a list times a list")
            deopt = self.state(pc)  # type: ignore[attr-defined]
            n, xs = (stack.pop(), stack.pop()) if a is not None else (stack[-2], stack[-1])
            if a is None:
                del stack[-2:]
            kind = a or b
            stack.append(self.emit(f"repeat{kind}", [xs, self.i64(n)], "list", deopt))  # type: ignore[attr-defined]
            return True
        if op not in LIST_OPS:
            self.refuse_lists(pc, op)
            return False
        if op == Op.BUILD_LIST:
            kind = list_kind(self.states[pc + 1].stack[-1])  # type: ignore[attr-defined]
            n = code.args[pc]
            if kind is None:
                raise UnsupportedError(f"{code.name}: a list of unknown kind")
            values = [self.element(v, kind) for v in stack[len(stack) - n :]]
            deopt = self.state(pc)  # type: ignore[attr-defined]
            del stack[len(stack) - n :]
            xs = self.emit(f"new{kind}", [Const(n), ZERO[kind]], "list", deopt)  # type: ignore[attr-defined]
            for k, v in enumerate(values):
                self.current.body.append(Instr(f"store{kind}", [xs, Const(k), v]))  # type: ignore[attr-defined]
            stack.append(xs)
        elif op == Op.BINARY_SUBSCR:
            kind = self.slot_kind(pc, 2)
            k = self.index(pc, stack[-2], stack[-1])
            xs = stack[-2]
            del stack[-2:]
            t = {"l": "i64", "b": "bool", "d": "f64"}[kind]  # type: ignore[index]
            stack.append(self.emit(f"load{kind}", [xs, k], t))  # type: ignore[attr-defined]
        elif op == Op.STORE_SUBSCR:
            kind = self.slot_kind(pc, 2)
            v, xs, i = stack[-3:]
            value = self.element(v, kind)  # type: ignore[arg-type]
            k = self.index(pc, xs, i)
            del stack[-3:]
            self.current.body.append(Instr(f"store{kind}", [xs, k, value]))  # type: ignore[attr-defined]
        elif op == Op.UNARY_LEN:
            if self.slot_kind(pc, 1) is None:
                raise UnsupportedError(f"{code.name}: len() of something not a list")
            stack.append(self.emit("len", [stack.pop()], "i64"))  # type: ignore[attr-defined]
        elif op == Op.LIST_APPEND:
            kind = self.slot_kind(pc, 2)
            value = self.element(stack[-1], kind)  # type: ignore[arg-type]
            deopt = self.state(pc)  # type: ignore[attr-defined]
            xs = stack[-2]
            del stack[-2:]
            self.current.body.append(Instr(f"append{kind}", [xs, value], deopt=deopt))  # type: ignore[attr-defined]
            stack.append(Const(0))  # None
        elif self.slot_kind(pc, 1) is None:  # CHECK_APPEND, CHECK_ITER: the types made sure
            raise UnsupportedError(f"{code.name}: {op.name} of something not a list")
        return True
