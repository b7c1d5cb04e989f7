"""SSA construction: verified kit bytecode -> an SSA `Function` (notebook 07).

Takes a `jitkit.bytecode.code.Code` and the module's code objects (for the types of callees);
gives the IR the passes optimize. API:

    build_function(code, codes, dump=...) -> Function  # raises UnsupportedError: the reason
    build(codes, name) -> Function                      # the same, by name
    build_module(codes) -> {name: Function | UnsupportedError}
    traffic(code, fn) -> Traffic                 # pushes/pops of the bytecode vs SSA size

How. Abstract interpretation of the operand stack: walking the bytecode, the builder keeps
a list of SSA *values* where the VM keeps objects, so `LOAD_LOCAL a; LOAD_LOCAL b;
BINARY_ADD` becomes one `%t =i64 add_ovf %a, %b` and the pushes and pops disappear (that
is the "push/pop elimination"). Locals and the stack slots live across basic blocks are
variables of Braun et al.'s on-the-fly SSA construction ("Simple and Efficient
Construction of Static Single Assignment Form", CC 2013): reading a variable looks up the
block's last write, else its predecessors', placing a phi where they meet; a loop header is
"sealed" once its last back edge is built, and a phi found trivial (`phi(x, x, itself)`) is
removed at once.

Types. The builder accepts exactly the functions the stack tier's type check accepts
(`jitkit.stackjit.compiler.check`), so every value the interpreter may see has one static
type, and a deopt state means what the stack tier's record means: the types at its offset
(`analyse_module(codes)[name].states`) turn each word back into a Python object. IR values
are `i64` or `bool`; a slot holding None, a string or a function is `Const 0` (its type
says which object). A function returning None returns 0.

Deopt. Every operation that may leave int64 or raise in Python deopts into the VM with the
state *before* its bytecode instruction: the offset to re-execute, every local (unassigned
ones 0) and the whole operand stack. `+ - * // % -` become `_ovf` opcodes; `**`, `abs`,
`min`, `max` and the range opcodes are lowered to branches, loops and phis of existing
opcodes (`jitkit.ssa.lower`); a `range` step of 0 is a `guard`; each `call` carries the
caller's state after the CALL (the callee's VM frame pushes the result); each loop back
edge has a `poll` (Ctrl-C).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from jitkit.bytecode.code import Code
from jitkit.bytecode.disasm import dis
from jitkit.bytecode.opcodes import OPCODES, TERMINATORS, Op, stack_effect
from jitkit.bytecode.verify import stack_depths
from jitkit.errors import UnsupportedError
from jitkit.jitrt.types import (
    UNDEF,
    FunctionTypes,
    NotCompilable,
    State,
    analyse_module,
    exact,
)
from jitkit.ssa.braun import Var, Variables
from jitkit.ssa.floats import FloatLowerings
from jitkit.ssa.ir import Block, Const, Deopt, Function, Global, Instr, Temp, Value
from jitkit.ssa.lists import ListLowerings
from jitkit.ssa.lower import MultiBlockLowerings, ir_type
from jitkit.ssa.text import format
from jitkit.stackjit.compiler import check

COMPARE = {
    Op.COMPARE_LT: "lt",
    Op.COMPARE_LE: "le",
    Op.COMPARE_EQ: "eq",
    Op.COMPARE_NE: "ne",
    Op.COMPARE_GT: "gt",
    Op.COMPARE_GE: "ge",
}
CHECKED = {
    Op.BINARY_ADD: "add_ovf",
    Op.BINARY_SUB: "sub_ovf",
    Op.BINARY_MUL: "mul_ovf",
    Op.BINARY_FLOORDIV: "div_ovf",
    Op.BINARY_MOD: "mod_ovf",
}
MOVES = {Op.LOAD_CONST, Op.LOAD_LOCAL, Op.STORE_LOCAL, Op.LOAD_FUNC, Op.POP, Op.DUP, Op.COPY,
         Op.SWAP}  # fmt: skip


def ir_name(name: str) -> str:
    """An IR name for a local or function (`.range0.i` -> `range0.i`, `<module>` -> `_module_`)."""
    name = re.sub(r"[^A-Za-z0-9_.]", "_", name.lstrip("."))
    return name if re.match(r"[A-Za-z_]", name) else f"v{name}"


class _Builder(ListLowerings, FloatLowerings, MultiBlockLowerings, Variables):
    """Builds one function: blocks in bytecode order, variables by Braun et al."""

    def __init__(self, code: Code, types: FunctionTypes, analysis: dict[str, FunctionTypes]):
        self.code, self.analysis = code, analysis
        self.states: list[State | None] = types.states
        first = types.states[0].locals if types.states[0] is not None else []
        params = [
            ("list" if ir_type(first[k]) == "list" else "i64", Temp(ir_name(code.varnames[k])))
            for k in range(code.argcount)
        ]
        fn = Function(ir_name(code.name), params, ir_type(types.returns))
        super().__init__(fn, {p: t for t, p in params})
        self.block_pc: dict[str, int] = {}  # whose state types the block's phis
        self.stack: list[Value] = []
        self.current: Block | None = None

    # --- values and instructions ----------------------------------------------------------------

    def emit(self, op: str, args: list[Value], type_: str, deopt: Deopt | None = None) -> Temp:
        t = self.fresh("t")
        self.types[t] = type_
        self.current.body.append(Instr(op, args, t, type_, deopt=deopt))  # type: ignore[union-attr]
        return t

    def type_of(self, v: Value) -> str | None:
        """The IR type of a value; None for a constant (it takes the type its use wants)."""
        return self.types.get(self.resolve(v)) if isinstance(v, Temp) else None

    def i64(self, v: Value, block: Block | None = None) -> Value:
        """`v` as an i64: a bool temporary is zero-extended (at the end of `block`)."""
        v = self.resolve(v)
        if self.type_of(v) != "bool":
            return v
        t = self.fresh("t")
        self.types[t] = "i64"
        (block or self.current).body.append(Instr("zext", [v], t, "i64"))  # type: ignore[union-attr]
        return t

    def truth(self, v: Value) -> Value:
        """Python's truth of an int, bool or float (a NaN is true), as a bool."""
        v = self.resolve(v)
        if isinstance(v, Const):
            return Const(int(v.value != 0))
        if self.type_of(v) == "f64":
            return self.emit("fne", [v, Const(0.0)], "bool")
        if self.type_of(v) == "list":
            return self.list_truth(v)
        return v if self.type_of(v) == "bool" else self.emit("ne", [v, Const(0)], "bool")

    # --- blocks, and what Braun et al.'s construction asks of the builder --------------------

    def new_block(self, label: str, pc: int) -> Block:
        b = Block(label)
        self.fn.blocks.append(b)
        self.preds[label], self.block_pc[label] = [], pc
        return b

    def phi_type(self, var: Var, label: str) -> str:
        """The type the stack tier's analysis gives the local or stack slot there."""
        state = self.states[self.block_pc[label]]
        kind, k = var
        return ir_type(state.locals[k] if kind == "local" else state.stack[k])  # type: ignore[union-attr]

    def phi_hint(self, var: Var) -> str:
        kind, k = var
        return ir_name(self.code.varnames[k]) if kind == "local" else f"s{k}"

    def operand(self, value: Value, type_: str, pred: str) -> Value:
        """A bool reaching an i64 phi is zero-extended at the end of its block; an f64 phi
        takes doubles (the 0 standing for a local not assigned yet becomes 0.0)."""
        if type_ == "f64":
            value = self.resolve(value)
            if isinstance(value, Const):
                return Const(float(value.value))
            if self.type_of(value) != "f64":
                raise UnsupportedError(f"{self.code.name}: an int where the types say float")
            return value
        if self.type_of(value) == "f64":
            raise UnsupportedError(f"{self.code.name}: a float where the types say {type_}")
        if (type_ == "list") != (self.type_of(value) == "list") and value != Const(0):
            raise UnsupportedError(f"{self.code.name}: a list and a number in one slot")
        if type_ == "i64":
            return self.i64(value, self.block(pred))
        if self.type_of(value) == "i64":
            raise UnsupportedError(f"{self.code.name}: an int where the types say bool")
        return value

    # --- the walk over the bytecode -------------------------------------------------------------

    def build(self) -> Function:
        code, states = self.code, self.states
        n = len(code.ops)
        leaders, last_back = {0}, {}
        for pc, op in enumerate(code.ops):
            if states[pc] is None:
                continue
            if OPCODES[op].jump:
                leaders |= {code.args[pc], pc + 1}
            if op in TERMINATORS:
                leaders.add(pc + 1)
            if op == Op.JUMP_BACKWARD:
                last_back[code.args[pc]] = pc
        self.leaders = {pc for pc in leaders if pc < n and states[pc] is not None}
        self.last_back = last_back
        self.labels = {pc: f"pc{pc}" for pc in self.leaders}
        entry = self.new_block("entry", 0)
        self.sealed.add("entry")
        for k in range(len(code.varnames)):
            first = self.fn.params[k][1] if k < code.argcount else Const(0)
            self.write(("local", k), "entry", first)
        if 0 in last_back:  # the code starts with a loop: the entry only jumps there
            self.current = entry
        else:
            self.labels[0] = "entry"
            self.current, self.block_pc["entry"] = entry, 0
        for pc in range(n):
            if states[pc] is None:
                continue
            if pc in self.leaders:
                self.start(pc)
            self.lower(pc)
        return self.finish()

    def start(self, pc: int) -> None:
        """Enter the block of leader `pc`, falling through from the block before if open."""
        label = self.labels[pc]
        if label == "entry":
            return
        self.block_pc[label] = pc
        self.preds.setdefault(label, [])
        if self.current is not None:
            self.goto(label)
        block = Block(label)
        self.fn.blocks.append(block)
        self.current = block
        if pc not in self.last_back:
            self.seal(label)
        state = self.states[pc]
        assert state is not None
        for k, types in enumerate(state.locals):  # now, so no read recurses far back later
            if UNDEF not in types:
                self.read(("local", k), label)
        self.stack = [self.read(("stack", k), label) for k in range(len(state.stack))]

    def leave(self, targets: list[str]) -> Block:
        """End the current block: its stack becomes variables its successors read."""
        block = self.current
        assert block is not None
        for k, v in enumerate(self.stack):
            self.write(("stack", k), block.label, v)
        for t in targets:
            self.edge(block.label, t)
        self.current = None
        return block

    def goto(self, label: str) -> None:
        self.leave([label]).term = Instr("jmp", labels=[label])

    def state(self, pc: int, stack: list[Value] | None = None, offset: int | None = None) -> Deopt:
        """The interpreter's frame before instruction `pc`: every local and the stack."""
        types = self.states[pc]
        assert types is not None and self.current is not None
        local = [
            Const(0) if UNDEF in t else self.read(("local", k), self.current.label)
            for k, t in enumerate(types.locals)
        ]
        stack = list(self.stack if stack is None else stack)
        return Deopt(pc if offset is None else offset, local, [self.resolve(v) for v in stack])

    # --- one bytecode instruction ---------------------------------------------------------------

    def lower(self, pc: int) -> None:
        op, arg = self.code.ops[pc], self.code.args[pc]
        stack = self.stack
        if op == Op.LOAD_CONST:
            value = self.code.consts[arg]
            if isinstance(value, float):
                stack.append(Const(value))
            else:
                stack.append(Const(int(value) if isinstance(value, int) else 0))
        elif op == Op.LOAD_LOCAL:
            stack.append(self.read(("local", arg), self.current.label))  # type: ignore[union-attr]
        elif op == Op.STORE_LOCAL:
            self.write(("local", arg), self.current.label, stack.pop())  # type: ignore[union-attr]
        elif op == Op.LOAD_FUNC:
            stack.append(Const(0))  # the callee's name is in the types
        elif op == Op.POP:
            stack.pop()
        elif op in (Op.DUP, Op.COPY):
            stack.append(stack[-max(arg, 1) if op == Op.COPY else -1])
        elif op == Op.SWAP:
            stack[-1], stack[-arg] = stack[-arg], stack[-1]
        elif self.lower_list(pc, op) or self.lower_float(pc, op):
            pass
        elif op in CHECKED:
            deopt = self.state(pc)
            b, a = self.i64(stack.pop()), self.i64(stack.pop())
            stack.append(self.emit(CHECKED[op], [a, b], "i64", deopt))
        elif op in COMPARE:
            b, a = self.i64(stack.pop()), self.i64(stack.pop())
            stack.append(self.emit(COMPARE[op], [a, b], "bool"))
        elif op == Op.UNARY_NEG:
            deopt = self.state(pc)
            stack.append(self.emit("neg_ovf", [self.i64(stack.pop())], "i64", deopt))
        elif op == Op.UNARY_POS:
            stack.append(self.i64(stack.pop()))
        elif op == Op.UNARY_NOT:
            stack.append(self.emit("xor", [self.truth(stack.pop()), Const(1)], "bool"))
        elif op == Op.UNARY_ABS:
            self.lower_abs(pc)
        elif op in (Op.BINARY_MIN, Op.BINARY_MAX):
            self.lower_min_max(pc, op)
        elif op == Op.BINARY_POW:
            self.lower_pow(pc)
        elif op == Op.RANGE_CHECK:
            self.lower_range_check(pc)
        elif op == Op.RANGE_TEST:
            self.lower_range_test(pc)
        elif op in (Op.JUMP_IF_FALSE, Op.JUMP_IF_TRUE):
            cond = self.truth(stack.pop())
            go, on = self.labels[arg], self.labels[pc + 1]
            targets = [go, on] if op == Op.JUMP_IF_TRUE else [on, go]
            self.leave(targets).term = Instr("br", [cond], labels=targets)
        elif op == Op.JUMP:
            self.goto(self.labels[arg])
        elif op == Op.JUMP_BACKWARD:
            self.current.body.append(Instr("poll", deopt=self.state(pc)))  # type: ignore[union-attr]
            self.goto(self.labels[arg])
            if self.last_back[arg] == pc:
                self.seal(self.labels[arg])
        elif op == Op.CALL:
            self.lower_call(pc, arg)
        elif op == Op.PRINT:
            values = stack[len(stack) - arg - 2 :]
            del stack[len(stack) - arg - 2 :]
            self.current.body.append(Instr("print", [Const(pc), *values]))  # type: ignore[union-attr]
        elif op == Op.RETURN:
            value = stack.pop()
            value = self.i64(value) if self.fn.ret == "i64" else self.resolve(value)
            if self.fn.ret == "f64" and isinstance(value, Const):
                value = Const(float(value.value))
            self.current.term = Instr("ret", [value])  # type: ignore[union-attr]
            self.current = None
        else:
            raise UnsupportedError(f"{self.code.name}: no SSA form for {Op(op).name}")

    def lower_call(self, pc: int, argc: int) -> None:
        """`call $f(args)` with the state the caller resumes in if $f deopts: after the
        CALL, the stack below the callee (the callee's VM frame pushes the result)."""
        stack = self.stack
        callee = exact(self.states[pc].stack[-argc - 1], "callee")[1]  # type: ignore[index, union-attr]
        below = stack[: len(stack) - argc - 1]
        deopt = self.state(pc, below, pc + 1)
        args = [self.i64(v) for v in stack[len(stack) - argc :]]
        del stack[len(stack) - argc - 1 :]
        ret = ir_type(self.analysis[callee].returns)
        stack.append(self.emit("call", [Global(ir_name(callee)), *args], ret, deopt))


# --- the API -----------------------------------------------------------------------------------


def build_function(
    code: Code,
    codes: dict[str, Code],
    analysis: dict[str, FunctionTypes] | None = None,
    dump: set[str] | frozenset[str] = frozenset(),
) -> Function:
    """The SSA form of one verified code object; `codes` is its module (callees' types),
    `analysis` its types if already computed. Raises `UnsupportedError` naming the reason
    when the stack tier's type check refuses it (callees are not checked here:
    `build_module` refuses callers of refused functions). `dump` may hold "bytecode" and
    "ssa": each is printed under a banner, the SSA with its push/pop `traffic`."""
    analysis = analysis or analyse_module(codes)
    types = analysis[code.name]
    if "bytecode" in dump:
        print(f"--- bytecode ---\n{dis(code)}")
    try:
        check(types, analysis, {}, floats=True, lists=True)
    except NotCompilable as why:
        text = str(why)
        raise UnsupportedError(
            text if text.startswith(code.name) else f"{code.name}: {text}"
        ) from None
    stack_depths(code)  # the verifier's rule: one depth per instruction (raises otherwise)
    try:
        fn = _Builder(code, types, analysis).build()
    except RecursionError:
        raise UnsupportedError(f"{code.name}: too deeply nested for the SSA builder") from None
    if "ssa" in dump:
        print(f"--- ssa ---\n{format(fn)}{traffic(code, fn)}")
    return fn


def build(
    codes: dict[str, Code], name: str, dump: set[str] | frozenset[str] = frozenset()
) -> Function:
    """`build_function(codes[name], codes)`: the form the SSA tier calls."""
    return build_function(codes[name], codes, dump=dump)


def build_module(codes: dict[str, Code]) -> dict[str, Function | UnsupportedError]:
    """Every function's SSA form, or the `UnsupportedError` saying why not; a function that
    calls a refused one is refused too (compiled code only calls compiled code)."""
    analysis = analyse_module(codes)
    built: dict[str, Function | UnsupportedError] = {}
    for name, code in codes.items():
        try:
            built[name] = build_function(code, codes, analysis)
        except UnsupportedError as why:
            built[name] = why
    by_ir_name = {ir_name(name): name for name in codes}
    changed = True
    while changed:
        changed = False
        for name, fn in built.items():
            if not isinstance(fn, Function):
                continue
            for _, i in fn.instrs():
                callee = by_ir_name[i.args[0].name] if i.op == "call" else None  # type: ignore[union-attr]
                if callee is not None and not isinstance(built[callee], Function):
                    why = f"{name}: calls {callee}(), which stays in the VM"
                    built[name] = UnsupportedError(why)
                    changed = True
                    break
    return built


@dataclass(frozen=True)
class Traffic:
    """The push/pop elimination in numbers: what the bytecode moves through its operand stack,
    and how many instructions the SSA form needs instead."""

    instructions: int  # reachable bytecode instructions
    pushes: int
    pops: int
    slots: int  # the deepest the operand stack gets
    moves: int  # instructions that only move values (LOAD_*, STORE_LOCAL, POP, DUP, COPY, SWAP)
    ssa: int  # SSA instructions: phis, body and terminators
    phis: int

    def __str__(self) -> str:
        return (
            f"bytecode: {self.instructions} instructions, {self.pushes} pushes, {self.pops} pops "
            f"through {self.slots} stack slots ({self.moves} instructions only move values)\n"
            f"SSA:      {self.ssa} instructions ({self.phis} phis), no pushes, no pops"
        )


def traffic(code: Code, fn: Function) -> Traffic:
    """Count the stack traffic of `code` (reachable instructions) against `fn`'s size."""
    depths = stack_depths(code)
    reachable = [pc for pc, d in enumerate(depths) if d is not None]
    effects = [stack_effect(code.ops[pc], code.args[pc]) for pc in reachable]
    after = [depths[pc] - pop + push for pc, (pop, push) in zip(reachable, effects, strict=True)]
    return Traffic(
        instructions=len(reachable),
        pushes=sum(push for _, push in effects),
        pops=sum(pop for pop, _ in effects),
        slots=max(after, default=0),
        moves=sum(code.ops[pc] in MOVES for pc in reachable),
        ssa=sum(1 for _ in fn.instrs()),
        phis=sum(len(b.phis) for b in fn.blocks),
    )
