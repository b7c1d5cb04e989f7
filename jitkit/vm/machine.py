"""The kit VM: runs verified kit bytecode and profiles it (notebook 03 interpreters).

In: code objects keyed by function name (from the compiler or the CPython front end), a
function name and arguments. Out: the return value, `print` output on stdout, CPython's
exception types with a note naming the kit source line, and a `Profile` (calls per function,
back edges per loop) that later tiers read to decide what is hot.
Frames live on an explicit stack, so deep kit recursion raises RecursionError at
`sys.getrecursionlimit()` without touching the C stack.

Speed comes from doing work once, before the loop, instead of once per instruction (the
habits of clox's `run()`): each code object is decoded, on its first run, into (opcode,
operand) pairs of plain ints with constants and callees already looked up; the loop keeps
the running frame's instructions, stack and locals in local variables; and one if-chain
tests the opcodes that run most (loads, stores, branches) first. A code the VM never runs
(a tier above compiled it) is never decoded.
"""

from __future__ import annotations

import os
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from jitkit.bytecode.code import Code
from jitkit.bytecode.disasm import format_instruction, instructions
from jitkit.bytecode.opcodes import BINARY_OPS, Op
from jitkit.bytecode.verify import verify_module
from jitkit.lang import runtime as rt
from jitkit.lang.runtime import UNBOUND, power, range_check, range_test, store_subscript

# Opcode numbers as plain-int globals, in table order (checked just below): `op == LOAD_LOCAL`
# is then one int comparison, where an IntEnum member would go through the Enum machinery.
(LOAD_CONST, LOAD_LOCAL, STORE_LOCAL, LOAD_FUNC, POP, DUP, COPY, SWAP,
 BINARY_ADD, BINARY_SUB, BINARY_MUL, BINARY_FLOORDIV, BINARY_MOD, BINARY_POW, BINARY_MIN,
 BINARY_MAX, UNARY_NEG, UNARY_POS, UNARY_NOT, UNARY_ABS,
 COMPARE_LT, COMPARE_LE, COMPARE_EQ, COMPARE_NE, COMPARE_GT, COMPARE_GE,
 RANGE_CHECK, RANGE_TEST, JUMP, JUMP_BACKWARD, JUMP_IF_FALSE, JUMP_IF_TRUE,
 CALL, PRINT, RETURN,
 BINARY_TRUEDIV, UNARY_FLOAT, UNARY_INT, UNARY_LEN, BUILD_LIST, BINARY_SUBSCR, STORE_SUBSCR,
 CHECK_APPEND, LIST_APPEND, CHECK_ITER, LOAD_GLOBAL, STORE_GLOBAL) = range(len(Op))  # fmt: skip
assert all(globals()[op.name] == op for op in Op), "opcode table reordered: update this list"
SPELLING = {op: spelling for spelling, op in BINARY_OPS.items()}  # Op.BINARY_SUB -> "-"
REPLACED = -1  # an opcode whose handler `VM(handlers=...)` replaced (an exercise writes some)

Instruction = tuple[int, object]  # (opcode, operand decoded for the loop)
# handler(stack, arg, pc) -> the next pc (pc already points past the instruction)
Handler = Callable[[list, int, int], int]


def decode(code: Code, codes: dict[str, Code], handlers: dict[Op, Handler]) -> list[Instruction]:
    """The loop's form of one code object, made once: LOAD_CONST carries its constant and
    LOAD_FUNC its callee's Code; an opcode with a replaced handler becomes REPLACED carrying
    (handler, operand); the binary operator of an `x op= v` carries 1 (in place); every other
    operand stays the int it was."""
    decoded: list[Instruction] = []
    for pc, (op, arg) in enumerate(zip(code.ops, code.args, strict=True)):
        if op in handlers:
            decoded.append((REPLACED, (handlers[op], arg)))
            continue
        if op == LOAD_CONST:
            arg = code.consts[arg]
        elif op == LOAD_FUNC:
            arg = codes[code.names[arg]]
        elif pc in code.inplace:
            arg = 1
        decoded.append((int(op), arg))
    return decoded


def loop_keys(code: Code) -> dict[int, tuple[str, int, int]]:
    """Each loop header's key in `Profile.loops`: (function, header index, source line)."""
    headers = {arg for op, arg in zip(code.ops, code.args, strict=True) if op == JUMP_BACKWARD}
    return {pc: (code.name, pc, code.lines[pc]) for pc in sorted(headers)}


class PerCode(dict):
    """id(code) -> what `make(code)` gives for it, made on the first lookup: a module whose
    functions all run as machine code never pays for the VM's form of them."""

    def __init__(self, codes: dict[str, Code], make: Callable[[Code], object]) -> None:
        super().__init__()
        self.by_id = {id(code): code for code in codes.values()}
        self.make = make

    def __missing__(self, key: int) -> object:
        value = self[key] = self.make(self.by_id[key])
        return value


@dataclass
class Profile:
    """Counters a run leaves behind: calls per function, back edges per loop header."""

    calls: Counter = field(default_factory=Counter)
    loops: Counter = field(default_factory=Counter)  # (function, header index, line) -> count

    def __str__(self) -> str:
        rows = [f"calls  {name:<20} {count:>10}" for name, count in self.calls.most_common()]
        rows += [
            f"loop   {f'{fn} line {line} @{pc}':<20} {count:>10}"
            for (fn, pc, line), count in self.loops.most_common()
        ]
        return "\n".join(rows)


class Frame:
    """One activation: its code, its decoded instructions, where it is, its locals and its
    operand stack."""

    __slots__ = ("code", "instructions", "pc", "locals", "stack")

    def __init__(self, code: Code, instructions: list[Instruction], args: list[object]) -> None:
        self.code, self.instructions = code, instructions
        self.pc = 0
        self.locals = args + [UNBOUND] * (len(code.varnames) - len(args))
        self.stack: list[object] = []

    def registers(self) -> tuple:
        """What the dispatch loop keeps in local variables while this frame runs."""
        stack = self.stack
        return self.instructions, stack, self.locals, self.pc, stack.append, stack.pop


class RunState(threading.local):
    """Per thread: the frame stack of the run in progress and its recursion limit, so two
    threads calling into one VM never share frames."""

    def __init__(self) -> None:
        self.frames: list[Frame] = []
        self.limit = rt.recursion_limit()


class VM:
    """A stack VM for kit bytecode: verify once, then `call(name, *args)` any function
    (from any thread). `handlers` replaces the loop's case of some opcodes with functions
    (see `Handler`). `verified=True`: the caller vouches that `verify_module(codes)` passes
    (the bytecode compiler's `compile_module` verifies what it makes), so it is not run twice."""

    def __init__(
        self,
        codes: dict[str, Code],
        *,
        trace: bool = False,
        handlers: dict[Op, Handler] | None = None,
        verified: bool = False,
    ) -> None:
        if not verified:
            verify_module(codes)
        self.codes = codes
        # the module's globals (every code has the one list of names): unbound until stored
        self.global_names = next(iter(codes.values())).globals if codes else []
        self.globals = rt.global_store(self.global_names)
        self.trace = trace
        self.profile = Profile()
        self.state = RunState()
        handlers = dict(handlers or {})  # as given now: a code decodes on its first run
        # id(code) -> its decoded instructions: what a Frame of that code runs
        self.plain_ops = PerCode(codes, lambda code: decode(code, codes, handlers))
        # id(code) -> {loop header: its key in profile.loops}: counting a trip builds no key
        self.loop_keys = PerCode(codes, loop_keys)
        self.listings = PerCode(codes, instructions)  # id(code) -> its lines, for `trace`

    @property
    def frames(self) -> list[Frame]:
        """This thread's frame stack, innermost last."""
        return self.state.frames

    @frames.setter
    def frames(self, frames: list[Frame]) -> None:
        self.state.frames = frames

    @property
    def limit(self) -> int:
        """How many frames this thread's run may hold (the recursion limit, less the frames
        a caller below it already holds)."""
        return self.state.limit

    @limit.setter
    def limit(self, limit: int) -> None:
        self.state.limit = limit

    def set_globals(self, values: list[object]) -> None:
        """Set the module's globals from outside (`@jit`): values[i] for `Code.globals[i]`,
        `rt.UNBOUND` for a name not bound."""
        self.globals[:] = rt.check_globals(self.global_names, values)  # in place: runs see it

    def call(self, name: str, *args: object) -> object:
        """Why: the public entry; runs `name(*args)` to completion on a fresh frame stack."""
        self.frames, self.limit = [], rt.recursion_limit()
        code = self.codes[name]
        if len(args) != code.argcount:
            raise rt.arity_error(name, code.varnames[: code.argcount], len(args))
        self.push_frame(code, list(args))
        return self.run()

    def run(self) -> object:
        """The dispatch loop: one case per opcode, the busiest first; anything bigger than a
        few lines is a named method. Runs the top frame until the bottom one returns."""
        frame, trace, module_globals = self.frames[-1], self.trace, self.globals
        decoded, stack, local, pc, push, pop = frame.registers()
        right = None
        try:
            while True:
                op, arg = decoded[pc]
                if trace:
                    self.trace_instruction(frame, pc)
                pc += 1
                if op == LOAD_LOCAL:
                    value = local[arg]
                    push(value if value is not UNBOUND else self.unbound(frame, arg))
                elif op == LOAD_CONST:
                    push(arg)  # decoded: the constant itself
                elif op == STORE_LOCAL:
                    local[arg] = pop()
                elif op == JUMP_IF_FALSE:
                    if not pop():
                        pc = arg
                elif op == BINARY_ADD:
                    right = pop()
                    if arg:  # xs += ys extends xs
                        stack[-1] += right
                    else:
                        stack[-1] = stack[-1] + right
                elif op == JUMP_BACKWARD:
                    self.count_back_edge(frame.code, arg)
                    pc = arg
                elif op == BINARY_SUB:
                    right = pop()
                    stack[-1] = stack[-1] - right
                elif op == BINARY_MUL:
                    right = pop()
                    if arg:  # xs *= n repeats xs itself
                        stack[-1] *= right
                    else:
                        stack[-1] = stack[-1] * right
                elif op == BINARY_MOD:
                    right = pop()
                    stack[-1] = stack[-1] % right
                elif op == BINARY_FLOORDIV:
                    right = pop()
                    stack[-1] = stack[-1] // right
                elif op == COMPARE_LT:
                    right = pop()
                    stack[-1] = stack[-1] < right
                elif op == COMPARE_LE:
                    right = pop()
                    stack[-1] = stack[-1] <= right
                elif op == COMPARE_EQ:
                    right = pop()
                    stack[-1] = stack[-1] == right
                elif op == COMPARE_NE:
                    right = pop()
                    stack[-1] = stack[-1] != right
                elif op == COMPARE_GT:
                    right = pop()
                    stack[-1] = stack[-1] > right
                elif op == COMPARE_GE:
                    right = pop()
                    stack[-1] = stack[-1] >= right
                elif op == JUMP:
                    pc = arg
                elif op == JUMP_IF_TRUE:
                    if pop():
                        pc = arg
                elif op == RANGE_TEST:
                    step, stop = pop(), pop()
                    stack[-1] = range_test(stack[-1], stop, step)
                elif op == LOAD_FUNC:
                    push(arg)  # decoded: the callee's Code
                elif op == CALL:
                    frame.pc = pc
                    frame = self.call_function(stack, arg)
                    decoded, stack, local, pc, push, pop = frame.registers()
                elif op == RETURN:
                    frame, value = self.return_from(pop())
                    if frame is None:
                        return value
                    decoded, stack, local, pc, push, pop = frame.registers()
                elif op == POP:
                    pop()
                elif op == DUP:
                    push(stack[-1])
                elif op == COPY:
                    push(stack[-arg])
                elif op == SWAP:
                    stack[-1], stack[-arg] = stack[-arg], stack[-1]
                # floats and lists (#17): after the int cases, which keep their speed
                elif op == BINARY_SUBSCR:
                    index = pop()
                    stack[-1] = stack[-1][index]
                elif op == STORE_SUBSCR:
                    store_subscript(*stack[-3:])
                    del stack[-3:]
                elif op == UNARY_LEN:
                    stack[-1] = len(stack[-1])
                elif op == BINARY_TRUEDIV:
                    right = pop()
                    stack[-1] = stack[-1] / right
                elif op == BINARY_POW:
                    right = pop()
                    stack[-1] = power(stack[-1], right)
                elif op == BINARY_MIN:
                    right = pop()
                    stack[-1] = min(stack[-1], right)
                elif op == BINARY_MAX:
                    right = pop()
                    stack[-1] = max(stack[-1], right)
                elif op == UNARY_NEG:
                    stack[-1] = -stack[-1]
                elif op == UNARY_POS:
                    stack[-1] = +stack[-1]
                elif op == UNARY_NOT:
                    stack[-1] = not stack[-1]
                elif op == UNARY_ABS:
                    stack[-1] = abs(stack[-1])
                elif op == RANGE_CHECK:
                    stack[-3:] = range_check(*stack[-3:])
                elif op == PRINT:
                    self.print_values(stack, arg)
                elif op == UNARY_FLOAT:
                    stack[-1] = float(stack[-1])
                elif op == UNARY_INT:
                    stack[-1] = int(stack[-1])
                elif op == BUILD_LIST:
                    self.build_list(stack, arg)
                elif op == CHECK_APPEND:
                    rt.check_append(stack[-1])
                elif op == LIST_APPEND:
                    item = pop()
                    stack[-1] = stack[-1].append(item)  # None, the value of the call
                elif op == CHECK_ITER:
                    rt.check_iterable(stack[-1])
                elif op == LOAD_GLOBAL:
                    value = module_globals[arg]
                    push(value if value is not UNBOUND else self.undefined(arg))
                elif op == STORE_GLOBAL:
                    module_globals[arg] = pop()
                elif op == REPLACED:
                    handler, arg = arg
                    pc = handler(stack, arg, pc)
        except Exception as e:
            frame.pc = pc - 1
            if type(e) is TypeError and frame.pc in frame.code.inplace:
                e = self.inplace_error(frame.code.ops[frame.pc], stack[-1], right)
                self.annotate(e)
                raise e from None
            self.annotate(e)
            raise

    # ------------------------------------------------- the cases' named helpers

    def push_frame(self, code: Code, args: list[object]) -> Frame:
        """Enter a function: count the call, check the depth, make its frame."""
        state = self.state
        if len(state.frames) >= state.limit:
            raise RecursionError("maximum recursion depth exceeded")
        self.profile.calls[code.name] += 1
        frame = Frame(code, self.plain_ops[id(code)], args)
        state.frames.append(frame)
        return frame

    def call_function(self, stack: list, argc: int) -> Frame:
        """CALL: take the callee and its arguments off the stack and enter it."""
        first = len(stack) - argc
        code, args = stack[first - 1], stack[first:]
        if argc != code.argcount:
            raise rt.arity_error(code.name, code.varnames[: code.argcount], argc)
        del stack[first - 1 :]
        return self.push_frame(code, args)

    def return_from(self, value: object) -> tuple[Frame | None, object]:
        """RETURN: drop the frame; the caller (if any) gets the value pushed."""
        frames = self.state.frames
        frames.pop()
        if not frames:
            return None, value
        caller = frames[-1]
        caller.stack.append(value)
        return caller, value

    def count_back_edge(self, code: Code, header: int) -> None:
        """Profile one trip around a loop (keyed by its header instruction)."""
        self.profile.loops[self.loop_keys[id(code)][header]] += 1

    def unbound(self, frame: Frame, slot: int) -> object:
        raise rt.unbound_local(frame.code.varnames[slot])

    def undefined(self, index: int) -> object:
        raise rt.name_error(self.global_names[index])

    def print_values(self, stack: list, argc: int) -> None:
        """PRINT: `argc` values, then sep and end, all popped."""
        values = stack[len(stack) - argc - 2 :]
        del stack[len(stack) - argc - 2 :]
        rt.print_values(values[:argc], values[-2], values[-1])

    def build_list(self, stack: list, count: int) -> None:
        """BUILD_LIST: the top `count` values, deepest first, become one new list."""
        items = stack[len(stack) - count :]
        del stack[len(stack) - count :]
        stack.append(items)

    def trace_instruction(self, frame: Frame, pc: int) -> None:
        """trace=True: the stack, then the instruction, through the one listing formatter."""
        print(f"{'':>12}[{', '.join(map(repr, frame.stack))}]")
        print(f"{frame.code.name:>10}  {format_instruction(self.listings[id(frame.code)][pc])}")

    def inplace_error(self, op: Op, left: object, right: object) -> Exception:
        """The TypeError of `left op= right` (CPython names the `op=` form: `for -=:`), made
        again off the fast path from the operands the binary operator left behind."""
        try:
            rt.inplace(SPELLING[op], left, right)
        except TypeError as e:
            return e
        raise AssertionError(f"{op.name} failed as a binary operator but not in place")

    def annotate(self, error: Exception) -> None:
        """Attach the kit call stack with source lines (innermost last, at most 5 frames)."""
        if len(self.frames) > 5:
            error.add_note(f"  ... {len(self.frames) - 5} more kit frames")
        for frame in self.frames[-5:]:
            code = frame.code
            line = code.lines[min(frame.pc, len(code.lines) - 1)]
            error.add_note(
                f'  File "{os.path.basename(code.filename)}", line {line}, in {code.name} (kit VM)'
            )
