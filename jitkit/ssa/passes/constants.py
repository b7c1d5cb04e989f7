"""`keep_constants`: 64-bit constants a loop uses are loaded into a register once, before it
(notebook 07).

Takes a `Function`; an integer constant that does not fit an imm32 (strength's magic
numbers, `% 7` in a loop) costs a 10-byte `movabs` each time an instruction uses it. For each
such operand inside a loop, a `copy` of the constant goes at the top of its innermost loop's
header (one per loop and value), then `hoist_invariants` moves it out to the preheaders: the
register allocator keeps it in a register across the loop, as gcc does. It runs last, after
copy propagation, which would fold the copy straight back.
"""

from __future__ import annotations

from jitkit.ssa.analysis import Loop, loops
from jitkit.ssa.ir import Const, Function, Instr, Temp
from jitkit.ssa.passes.licm import hoist_invariants

# Opcodes whose integer operands may be a register: ALU, comparisons, the magic multiply.
REGISTER_OPERANDS = frozenset(
    {"add", "sub", "and", "or", "xor", "mul", "umulh", "eq", "ne", "lt", "le", "gt", "ge"}
    | {"add_ovf", "sub_ovf", "mul_ovf"}
)


def wide(v: object) -> bool:
    """An integer constant an instruction cannot take as an imm32."""
    return (
        isinstance(v, Const) and type(v.value) is int and not -(2**31) <= v.value < 2**31  # noqa: PLR2004
    )


def keep_constants(fn: Function) -> bool:
    """Load each wide constant a loop uses into a temporary before the loop; returns whether
    any was.

    requires: loops; invalidates: dominators, loops, liveness (licm may add preheaders)."""
    if not any(i.op in REGISTER_OPERANDS and any(map(wide, i.args)) for _, i in fn.instrs()):
        return False  # most functions: no loop analysis at all
    innermost: dict[str, Loop] = {}
    for loop in loops(fn):  # outermost first: inner loops overwrite their blocks
        for label in loop.blocks:
            innermost[label] = loop
    blocks = fn.blockmap()
    made: dict[tuple[str, int], Temp] = {}
    for b in fn.blocks:
        loop = innermost.get(b.label)
        if loop is None:
            continue
        for i in b.body:
            if i.op not in REGISTER_OPERANDS:
                continue
            for k, v in enumerate(i.args):
                if not wide(v):
                    continue
                key = (loop.header, v.value)  # type: ignore[union-attr]
                if key not in made:
                    made[key] = fn.fresh("k")
                    load = Instr("copy", [Const(v.value)], made[key], "i64")  # type: ignore[union-attr]
                    loads = sum(1 for h, _ in made if h == loop.header) - 1  # in order of use
                    blocks[loop.header].body.insert(loads, load)
                i.args[k] = made[key]
    if made:
        hoist_invariants(fn)
    return bool(made)
