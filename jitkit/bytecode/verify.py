"""Verifier: reject malformed kit bytecode before anything runs it (notebook 03 interpreters).

In: a `Code` (from the compiler, the CPython front end, or a learner's hands). Out: nothing,
and `code.stacksize` filled in; or `VerifyError` naming the instruction and the broken rule:
  1. every opcode is in the table, every operand is an int, and every constant is a value of
     the language (int, bool, float, str, None);
  2. operands are in range (constants, locals, names, depths, counts, jump targets);
  3. only JUMP_BACKWARD jumps backwards, every other jump goes forward;
  4. the stack never underflows, and has one depth at each instruction on every path;
  5. no path runs off the end of the code (every path returns);
  6. a function value (pushed by LOAD_FUNC) is only called or moved on the stack, and CALL
     calls only a function value.
"""

from __future__ import annotations

from collections.abc import Callable

from jitkit.bytecode.code import Code
from jitkit.bytecode.opcodes import OPCODES, TERMINATORS, Op, min_depth, stack_effect
from jitkit.errors import VerifyError


def fail(code: Code, pc: int, why: str) -> VerifyError:
    """A VerifyError that names the function, the instruction and the rule it breaks."""
    where = f"{code.name}, instruction {pc}"
    if 0 <= pc < len(code.ops) and code.ops[pc] in OPCODES:
        where += f" ({Op(code.ops[pc]).name} {code.args[pc]})"
    return VerifyError(f"{where}: {why}")


def check_operand(code: Code, pc: int) -> None:
    """Rules 1 to 3 for one instruction."""
    op, arg = code.ops[pc], code.args[pc]
    if op not in OPCODES:
        raise fail(code, pc, f"unknown opcode {op!r}")
    if type(arg) is not int:
        raise fail(code, pc, f"operand {arg!r} is not an int")
    limits = {
        "const": len(code.consts),
        "local": len(code.varnames),
        "name": len(code.names),
        "global": len(code.globals),
        "jump": len(code.ops),
    }
    kind = OPCODES[op].operand
    if kind in limits and not 0 <= arg < limits[kind]:
        raise fail(code, pc, f"{kind} index {arg} out of range 0..{limits[kind] - 1}")
    if kind == "depth" and arg < 1:
        raise fail(code, pc, "stack position must be at least 1")
    if kind == "count" and arg < 0:
        raise fail(code, pc, "negative argument count")
    if kind == "jump" and (arg <= pc) != (op == Op.JUMP_BACKWARD):
        raise fail(code, pc, f"jump to {arg}: only JUMP_BACKWARD may jump backwards")


def successors(code: Code, pc: int) -> list[int]:
    """Instructions control may reach next (fall-through first, then the jump target)."""
    op = code.ops[pc]
    nxt = [] if op in TERMINATORS else [pc + 1]
    return nxt + [code.args[pc]] if OPCODES[op].jump else nxt


def stack_depths(code: Code) -> list[int | None]:
    """Rules 4 and 5: the stack depth before each instruction (None where unreachable)."""
    depths: list[int | None] = [None] * len(code.ops)
    work = [(0, 0)] if code.ops else []
    if not code.ops:
        raise VerifyError(f"{code.name}: empty code (every path must return)")
    while work:
        pc, depth = work.pop()
        if pc >= len(code.ops):
            raise fail(code, pc - 1, "control runs off the end of the code without RETURN")
        if depths[pc] is not None:
            if depths[pc] != depth:
                raise fail(code, pc, f"stack depth {depth} here, {depths[pc]} on another path")
            continue
        depths[pc] = depth
        op, arg = code.ops[pc], code.args[pc]
        if depth < min_depth(op, arg):
            raise fail(code, pc, f"stack underflow: needs {min_depth(op, arg)}, has {depth}")
        pops, pushes = stack_effect(op, arg)
        work.extend((s, depth - pops + pushes) for s in successors(code, pc))
    return depths


def check_callees(code: Code) -> None:
    """Rule 6, by abstract interpretation of the stack (run after rules 4 and 5, so depths
    are consistent and nothing underflows). A state is the depth and the positions that hold
    a function value: only LOAD_FUNC makes one and CALL consumes it, so that tuple is as
    long as calls are nested, and the walk stays linear in the operand stack's depth."""
    seen: dict[int, tuple[int, tuple[int, ...]]] = {}
    work: list[tuple[int, int, tuple[int, ...]]] = [(0, 0, ())]
    while work:
        pc, depth, funcs = work.pop()
        if pc in seen:
            if seen[pc] != (depth, funcs):
                raise fail(code, pc, "a function value here on one path and not on another")
            continue
        seen[pc] = (depth, funcs)
        op, arg = code.ops[pc], code.args[pc]
        pops, pushes = stack_effect(op, arg)
        if op == Op.LOAD_FUNC:
            funcs += (depth,)
        elif op == Op.DUP or op == Op.COPY:
            if depth - (arg if op == Op.COPY else 1) in funcs:
                funcs += (depth,)
        elif op == Op.SWAP:
            top, other = depth - 1, depth - arg
            if (top in funcs) != (other in funcs):
                moved = {top: other, other: top}
                funcs = tuple(sorted(moved.get(p, p) for p in funcs))
        else:
            bottom = depth - pops
            taken = [p for p in funcs if p >= bottom]
            if op == Op.CALL:
                if bottom not in taken:
                    raise fail(code, pc, "CALL of something that is not a function")
                taken.remove(bottom)
            if taken:
                raise fail(code, pc, "a function value used as an operand")
            funcs = tuple(p for p in funcs if p < bottom)
        after = depth - pops + pushes
        work.extend((s, after, funcs) for s in successors(code, pc))


def verify(code: Code, *, depths: Callable[[Code], list[int | None]] = stack_depths) -> None:
    """Why: bad bytecode must become a VerifyError here, never a crash in the VM or a JIT.
    `depths` is the rules 4 and 5 analysis (an exercise writes its own)."""
    n = len(code.ops)
    if not (len(code.args) == len(code.lines) == n):
        raise VerifyError(f"{code.name}: ops, args and lines differ in length")
    if not 0 <= code.argcount <= len(code.varnames):
        raise VerifyError(f"{code.name}: argcount {code.argcount} exceeds the locals")
    for i, value in enumerate(code.consts):
        if type(value) not in (int, bool, float, str, type(None)):
            raise VerifyError(
                f"{code.name}: constant {i} is {value!r}, a {type(value).__name__}; the kit's "
                "constants are int, bool, float, str and None"
            )
    for pc in range(n):
        check_operand(code, pc)
    found = depths(code)
    check_callees(code)
    code.stacksize = max((d + 1 for d in found if d is not None), default=0)


def verify_module(codes: dict[str, Code]) -> None:
    """Verify every code object, that every LOAD_FUNC names a function of the module, and
    that every code has the module's one list of global names."""
    names = next(iter(codes.values())).globals if codes else []
    for code in codes.values():
        verify(code)
        if code.globals != names:
            raise VerifyError(f"{code.name}: globals {code.globals} differ from {names}")
        for pc, op in enumerate(code.ops):
            if op == Op.LOAD_FUNC and code.names[code.args[pc]] not in codes:
                raise fail(code, pc, f"no function {code.names[code.args[pc]]!r} in module")
