"""The kit VM: runs verified kit bytecode and profiles it (notebook 03 interpreters).

In: code objects keyed by function name (from the compiler or the CPython front end), a
function name and arguments. Out: the return value, `print` output on stdout, CPython's
exception types with a note naming the kit source line, and a `Profile` (calls per function,
back edges per loop) that later tiers read to decide what is hot.
Frames live on an explicit stack, so deep kit recursion raises RecursionError at
`sys.getrecursionlimit()` without touching the C stack.
"""

from __future__ import annotations

import os
import sys
import types
from collections import Counter
from dataclasses import dataclass, field

from jitkit.bytecode.code import Code
from jitkit.bytecode.disasm import format_instruction, instructions
from jitkit.bytecode.opcodes import Op
from jitkit.bytecode.verify import verify_module
from jitkit.lang import runtime as rt

# Plain-int opcode names for the dispatch loop: `case O.LOAD_LOCAL` is a fast lookup.
OPS = types.SimpleNamespace(**{op.name: int(op) for op in Op})


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
    """One activation: its code, where it is, its locals and its operand stack."""

    __slots__ = ("code", "ops", "pc", "locals", "stack")

    def __init__(self, code: Code, ops: list[int], args: list[object]) -> None:
        self.code, self.ops = code, ops
        self.pc = 0
        self.locals = args + [rt.UNBOUND] * (len(code.varnames) - len(args))
        self.stack: list[object] = []

    def registers(self) -> tuple:
        """What the dispatch loop keeps in local variables while this frame runs."""
        return self.ops, self.code.args, self.stack, self.locals, self.pc


class VM:
    """A stack VM for kit bytecode: verify once, then `call(name, *args)` any function."""

    def __init__(self, codes: dict[str, Code], *, trace: bool = False) -> None:
        verify_module(codes)
        self.codes = codes
        self.trace = trace
        self.profile = Profile()
        self.frames: list[Frame] = []
        self.listings = {name: instructions(code) for name, code in codes.items()}
        self.plain_ops = {id(c): [int(op) for op in c.ops] for c in codes.values()}
        self.limit = sys.getrecursionlimit()

    def call(self, name: str, *args: object) -> object:
        """Why: the public entry; runs `name(*args)` to completion on a fresh frame stack."""
        self.frames, self.limit = [], sys.getrecursionlimit()
        self.push_frame(self.codes[name], list(args))
        return self.run()

    def run(self) -> object:
        """The dispatch loop: one case per opcode, anything bigger in a named method."""
        frame, trace, O = self.frames[-1], self.trace, OPS  # noqa: E741 (opcode namespace)
        ops, args, stack, local, pc = frame.registers()
        push, pop = stack.append, stack.pop
        try:
            while True:
                op, arg = ops[pc], args[pc]
                if trace:
                    self.trace_instruction(frame, pc)
                pc += 1
                match op:
                    case O.LOAD_LOCAL:
                        value = local[arg]
                        push(value if value is not rt.UNBOUND else self.unbound(frame, arg))
                    case O.LOAD_CONST:
                        push(frame.code.consts[arg])
                    case O.STORE_LOCAL:
                        local[arg] = pop()
                    case O.JUMP_IF_FALSE:
                        if not pop():
                            pc = arg
                    case O.BINARY_ADD:
                        right = pop()
                        stack[-1] = stack[-1] + right
                    case O.BINARY_SUB:
                        right = pop()
                        stack[-1] = stack[-1] - right
                    case O.COMPARE_LT:
                        right = pop()
                        stack[-1] = stack[-1] < right
                    case O.LOAD_FUNC:
                        push(self.codes[frame.code.names[arg]])
                    case O.CALL:
                        frame.pc = pc
                        frame = self.call_function(stack, arg)
                        ops, args, stack, local, pc = frame.registers()
                        push, pop = stack.append, stack.pop
                    case O.RETURN:
                        frame, value = self.return_from(pop())
                        if frame is None:
                            return value
                        ops, args, stack, local, pc = frame.registers()
                        push, pop = stack.append, stack.pop
                    case O.JUMP_BACKWARD:
                        self.count_back_edge(frame.code, arg)
                        pc = arg
                    case O.JUMP:
                        pc = arg
                    case O.JUMP_IF_TRUE:
                        if pop():
                            pc = arg
                    case O.BINARY_MUL:
                        right = pop()
                        stack[-1] = stack[-1] * right
                    case O.BINARY_FLOORDIV:
                        right = pop()
                        stack[-1] = stack[-1] // right
                    case O.BINARY_MOD:
                        right = pop()
                        stack[-1] = stack[-1] % right
                    case O.BINARY_POW:
                        right = pop()
                        stack[-1] = rt.power(stack[-1], right)
                    case O.BINARY_MIN:
                        right = pop()
                        stack[-1] = min(stack[-1], right)
                    case O.BINARY_MAX:
                        right = pop()
                        stack[-1] = max(stack[-1], right)
                    case O.COMPARE_LE:
                        right = pop()
                        stack[-1] = stack[-1] <= right
                    case O.COMPARE_EQ:
                        right = pop()
                        stack[-1] = stack[-1] == right
                    case O.COMPARE_NE:
                        right = pop()
                        stack[-1] = stack[-1] != right
                    case O.COMPARE_GT:
                        right = pop()
                        stack[-1] = stack[-1] > right
                    case O.COMPARE_GE:
                        right = pop()
                        stack[-1] = stack[-1] >= right
                    case O.UNARY_NEG:
                        stack[-1] = -stack[-1]
                    case O.UNARY_POS:
                        stack[-1] = +stack[-1]
                    case O.UNARY_NOT:
                        stack[-1] = not stack[-1]
                    case O.UNARY_ABS:
                        stack[-1] = abs(stack[-1])
                    case O.RANGE_CHECK:
                        stack[-3:] = rt.range_check(*stack[-3:])
                    case O.RANGE_TEST:
                        step, stop = pop(), pop()
                        stack[-1] = rt.range_test(stack[-1], stop, step)
                    case O.POP:
                        pop()
                    case O.DUP:
                        push(stack[-1])
                    case O.COPY:
                        push(stack[-arg])
                    case O.SWAP:
                        stack[-1], stack[-arg] = stack[-arg], stack[-1]
                    case O.PRINT:
                        self.print_values(stack, arg)
        except Exception as e:
            frame.pc = pc - 1
            self.annotate(e)
            raise

    # ------------------------------------------------- the cases' named helpers

    def push_frame(self, code: Code, args: list[object]) -> Frame:
        """Enter a function: count the call, check the depth, make its frame."""
        if len(self.frames) >= self.limit:
            raise RecursionError("maximum recursion depth exceeded")
        self.profile.calls[code.name] += 1
        frame = Frame(code, self.plain_ops[id(code)], args)
        self.frames.append(frame)
        return frame

    def call_function(self, stack: list, argc: int) -> Frame:
        """CALL: take the callee and its arguments off the stack and enter it."""
        args = stack[len(stack) - argc :]
        del stack[len(stack) - argc :]
        code = stack.pop()
        if argc != code.argcount:
            raise TypeError(
                f"{code.name}() takes {code.argcount} positional arguments but {argc} were given"
            )
        return self.push_frame(code, args)

    def return_from(self, value: object) -> tuple[Frame | None, object]:
        """RETURN: drop the frame; the caller (if any) gets the value pushed."""
        self.frames.pop()
        if not self.frames:
            return None, value
        caller = self.frames[-1]
        caller.stack.append(value)
        return caller, value

    def count_back_edge(self, code: Code, header: int) -> None:
        """Profile one trip around a loop (keyed by its header instruction)."""
        self.profile.loops[(code.name, header, code.lines[header])] += 1

    def unbound(self, frame: Frame, slot: int) -> object:
        raise rt.unbound_local(frame.code.varnames[slot])

    def print_values(self, stack: list, argc: int) -> None:
        """PRINT: `argc` values, then sep and end, all popped."""
        values = stack[len(stack) - argc - 2 :]
        del stack[len(stack) - argc - 2 :]
        rt.print_values(values[:argc], values[-2], values[-1])

    def trace_instruction(self, frame: Frame, pc: int) -> None:
        """trace=True: the stack, then the instruction, through the one listing formatter."""
        print(f"{'':>12}[{', '.join(map(repr, frame.stack))}]")
        print(f"{frame.code.name:>10}  {format_instruction(self.listings[frame.code.name][pc])}")

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
