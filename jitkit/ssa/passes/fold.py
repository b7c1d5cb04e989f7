"""`fold`: sparse conditional constant propagation (Wegman and Zadeck, 1991) (notebook 07).

Takes a `Function`; replaces every temporary proven constant by its value, deletes the
instructions that computed it, turns branches on constants into jumps and deletes the blocks
no executable edge reaches. An instruction that would fault or deoptimize on its constant
operands is left alone: folding it away would change what the program does. Doubles fold
with Python's float arithmetic, which is IEEE's, one operation at a time (no reassociation).
"""

from __future__ import annotations

from jitkit.ssa.edit import jump, remove_unreachable
from jitkit.ssa.ir import Const, Function, Instr, Temp, Value
from jitkit.ssa.ops import OPS, Fault, Overflow, evaluate

BOTTOM = object()  # overdefined: not one constant; a missing entry is "top" (not yet seen)


def fold(fn: Function) -> bool:
    """Propagate constants along executable edges only; returns whether the IR changed.

    requires: nothing (finds def-use chains itself); invalidates: rpo, dominators,
    liveness, uses (blocks, edges and instructions may go)."""
    # 1. analysis: lattice values of temporaries, and the edges that can execute
    values, edges = _propagate(fn)
    executable = {dst for _, dst in edges} | {fn.blocks[0].label}
    changed = False
    # 2. substitute constants, delete their definitions and guards that always hold
    consts: dict[Temp, Value] = {t: Const(v) for t, v in values.items() if v is not BOTTOM}
    for b in fn.blocks:
        for group in (b.phis, b.body):
            keep = []
            for i in group:
                if i.result in consts and i.op != "call":
                    changed = True
                    continue
                if i.op == "guard" and _const(i.args[0], values) == 1:
                    changed = True
                    continue
                keep.append(i)
            group[:] = keep
    if consts:
        fn.replace_uses(consts)
    # 3. branches on constants become jumps; blocks nothing reaches go
    for b in fn.blocks:
        if b.label not in executable or b.term is None or b.term.op != "br":
            continue
        taken = [t for t in b.term.labels if (b.label, t) in edges]
        if len(set(taken)) == 1:
            jump(fn, b, taken[0])
            changed = True
    return remove_unreachable(fn) or changed


def _const(v: Value, values: dict) -> object:
    if isinstance(v, Const):
        return v.value
    return values.get(v, BOTTOM) if isinstance(v, Temp) else BOTTOM


def _propagate(fn: Function) -> tuple[dict[Temp, object], set[tuple[str, str]]]:
    """The Wegman-Zadeck fixed point: two worklists, CFG edges and SSA def-use edges."""
    blocks = fn.blockmap()
    users: dict[Temp, list[tuple[str, Instr]]] = {}
    for b, i in fn.instrs():
        for v in i.args:
            if isinstance(v, Temp):
                users.setdefault(v, []).append((b.label, i))
    values: dict[Temp, object] = {p: BOTTOM for _, p in fn.params}
    edges: set[tuple[str, str]] = set()
    reached: set[str] = set()
    flow: list[tuple[str | None, str]] = [(None, fn.blocks[0].label)]
    ssa: list[tuple[str, Instr]] = []

    def lookup(v: Value) -> object:
        if isinstance(v, Const):
            return v.value
        return values.get(v) if isinstance(v, Temp) else BOTTOM  # None: top

    def visit(label: str, i: Instr) -> None:
        if i.op == "phi":
            new = _meet(
                lookup(a) for a, p in zip(i.args, i.labels, strict=True) if (p, label) in edges
            )
        elif i.op == "br":
            c = lookup(i.args[0])
            targets = [] if c is None else i.labels if c is BOTTOM else [i.labels[1 - c]]
            flow.extend((label, t) for t in targets)
            return
        elif i.op == "jmp":
            flow.append((label, i.labels[0]))
            return
        elif i.result is None:
            return
        else:
            new = _evaluate(i, [lookup(a) for a in i.args])
        if new is not None and not _same(values.get(i.result), new):
            values[i.result] = new
            ssa.extend(users.get(i.result, []))  # type: ignore[arg-type]

    while flow or ssa:
        while flow:
            src, dst = flow.pop()
            if src is not None:
                if (src, dst) in edges:
                    continue
                edges.add((src, dst))
            first = dst not in reached
            reached.add(dst)
            for phi in blocks[dst].phis:
                visit(dst, phi)
            if first:
                for i in [*blocks[dst].body, blocks[dst].term]:
                    visit(dst, i)  # type: ignore[arg-type]
        while ssa:
            label, i = ssa.pop()
            if label in reached:
                visit(label, i)
    return {t: v for t, v in values.items() if v is not None}, edges


def _meet(items) -> object:
    """Top meets x is x; equal constants stay; anything else is overdefined."""
    out: object = None
    for v in items:
        if v is None:
            continue
        if v is BOTTOM or (out is not None and not _same(out, v)):
            return BOTTOM
        out = v
    return out


def _same(a: object, b: object) -> bool:
    """Lattice equality; constants compare as IR constants do (by type and bits: 0.0 is not
    -0.0, 1.0 is not 1, and a NaN is the same NaN), so a NaN reaches a fixed point."""
    if a is None or b is None or a is BOTTOM or b is BOTTOM:
        return a is b
    return Const(a) == Const(b)  # type: ignore[arg-type]


def _evaluate(i: Instr, args: list[object]) -> object:
    """The lattice value of a computing instruction (None while an operand is top)."""
    op = OPS[i.op]
    if op.fn is None:
        return BOTTOM
    if any(a is BOTTOM for a in args):
        return BOTTOM
    if any(a is None for a in args):
        return None
    try:
        return evaluate(i.op, args)  # type: ignore[arg-type]
    except (Fault, Overflow):
        return BOTTOM
