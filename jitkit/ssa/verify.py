"""The SSA checker run between passes (notebook 07).

Takes a `Function`; returns None or raises `VerifyError` quoting the offending IR line. It
checks what every pass may assume: one terminator per block, branch targets that exist,
operand counts and types as `ops.OPS` says, each temporary defined once and every use
dominated by its definition, and phis that list exactly their block's predecessors.
"""

from __future__ import annotations

from jitkit.errors import VerifyError
from jitkit.ssa.analysis import Dominance, dominators, predecessors
from jitkit.ssa.ir import Block, Const, Function, Global, Instr, Temp, Value
from jitkit.ssa.ops import OPS, fits
from jitkit.ssa.text import format_instr


def _fail(b: Block, i: Instr | None, message: str) -> VerifyError:
    where = f"@{b.label}" + (f": {format_instr(i)}" if i is not None else "")
    return VerifyError(f"{where}: {message}")


def verify(fn: Function) -> None:
    """Raise `VerifyError` at the first broken rule; silent on well-formed IR."""
    # 1. blocks: labels unique, one terminator each, targets exist
    if not fn.blocks:
        raise VerifyError(f"${fn.name} has no blocks")
    labels = [b.label for b in fn.blocks]
    for b in fn.blocks:
        if labels.count(b.label) > 1:
            raise _fail(b, None, "block label defined twice")
        if b.term is None:
            raise _fail(b, None, "block has no terminator")
        if any(OPS[i.op].terminator for i in b.body) or any(i.op != "phi" for i in b.phis):
            raise _fail(b, None, "terminators go last and phis first")
        for target in b.term.labels:
            if target not in labels:
                raise _fail(b, b.term, f"no block @{target}")
            if target == labels[0]:
                raise _fail(b, b.term, "the entry block cannot be jumped to")
    # 2. each instruction's shape and single definitions
    types: dict[Temp, str] = {}
    for t, p in fn.params:
        types[p] = t
    for b, i in fn.instrs():
        _check_shape(b, i)
        if i.result is not None:
            if i.result in types:
                raise _fail(b, i, f"{i.result} is defined twice")
            types[i.result] = i.type  # type: ignore[assignment]
    # 3. operand types, and every used temporary defined
    for b, i in fn.instrs():
        _check_types(fn, b, i, types)
    # 4. phis name exactly the predecessors; uses are dominated by definitions
    preds, idom = predecessors(fn), dominators(fn)
    dominates = Dominance(idom)
    home = {p: (fn.blocks[0].label, -1) for _, p in fn.params}
    for b in fn.blocks:
        for n, i in enumerate(b.instrs()):
            if i.result is not None:
                home[i.result] = (b.label, n)
    for b in fn.blocks:
        for i in b.phis:
            if sorted(i.labels) != sorted(preds[b.label]):
                raise _fail(b, i, f"phi must list the predecessors {preds[b.label]}")
        if b.label not in idom:
            continue  # unreachable: nothing runs it, dominance means nothing there
        for n, i in enumerate(b.instrs()):
            for k, v in enumerate(i.uses()):
                if not isinstance(v, Temp):
                    continue
                where, at = home[v]
                if i.op == "phi" and k < len(i.args):
                    pred = i.labels[k]
                    ok = pred not in idom or dominates(where, pred)
                else:
                    ok = (where == b.label and at < n) or (
                        where != b.label and dominates(where, b.label)
                    )
                if not ok:
                    raise _fail(b, i, f"{v} is used where its definition does not dominate")


def _check_shape(b: Block, i: Instr) -> None:
    """Operand count, result presence, branch labels and deopt state as the table says."""
    op = OPS.get(i.op)
    if op is None:
        raise _fail(b, i, f"unknown opcode {i.op}")
    if op.arity is not None and len(i.args) != op.arity:
        raise _fail(b, i, f"{i.op} takes {op.arity} operand(s)")
    wants_result = op.result is not None
    if i.op == "call":
        if not i.args or not isinstance(i.args[0], Global):
            raise _fail(b, i, "call needs a $function first")
    elif wants_result != (i.result is not None):
        raise _fail(b, i, f"{i.op} {'needs' if wants_result else 'has no'} result")
    if (i.result is None) != (i.type is None):
        raise _fail(b, i, "a result needs a type and only a result has one")
    nlabels = {"jmp": 1, "br": 2, "phi": len(i.args)}.get(i.op, 0)
    if len(i.labels) != nlabels:
        raise _fail(b, i, f"{i.op} takes {nlabels} label(s)")
    if op.state and i.deopt is None:
        raise _fail(b, i, f"{i.op} needs deopt state")
    if i.deopt is not None and not op.state and i.op != "call":  # a call may carry it
        raise _fail(b, i, f"{i.op} takes no deopt state")
    if i.op == "print" and len(i.args) != 1:  # `print PC, v1..vn, sep, end`
        if len(i.args) < 3 or not isinstance(i.args[0], Const) or i.args[0].value < 0:
            raise _fail(b, i, "print takes one value, or a PRINT's pc, values, sep and end")


def _check_types(fn: Function, b: Block, i: Instr, types: dict[Temp, str]) -> None:
    """Result type from the table's rule; operands of the type the table asks for."""

    def type_of(v: Value, want: str | None) -> str | None:
        if isinstance(v, Temp):
            if v not in types:
                raise _fail(b, i, f"{v} is not defined")
            return types[v]
        if isinstance(v, Global):
            raise _fail(b, i, f"{v} can only be called")
        if isinstance(v.value, float):
            return "f64"  # a double constant is a double wherever it is used
        if want == "f64":
            raise _fail(b, i, f"{v} is an integer; a double operand is written d_{v}.0")
        if want == "list" and v.value != 0:  # 0: no list yet (a local not assigned)
            raise _fail(b, i, f"{v} is a number; a list is a temporary (or 0)")
        if want == "bool" and v.value not in (0, 1):
            raise _fail(b, i, f"{v} is not a bool")
        if not fits(v.value):
            raise _fail(b, i, f"{v} does not fit in 64 bits")
        return want  # a constant takes the type its use wants

    op = OPS[i.op]
    args = i.args[1:] if i.op == "call" else i.args
    if i.op == "ret":
        want = fn.ret
    elif op.operand == "arg":
        want = i.type if i.type is not None else type_of(args[0], None)
    else:
        want = op.operand
    if i.op == "call":
        for a in args:
            type_of(a, None)
    elif op.operands is not None:  # list opcodes: a type per operand
        for a, w in zip(args, op.operands, strict=True):
            if (t := type_of(a, w)) != w:
                raise _fail(b, i, f"{a} has type {t}, {i.op} wants {w}")
    elif op.operand == "cond":  # a bool, then values of the result's type
        for a, w in zip(args, ["bool"] + [i.type] * (len(args) - 1), strict=True):
            if (t := type_of(a, w)) != w:
                raise _fail(b, i, f"{a} has type {t}, {i.op} wants {w}")
    else:
        for a in args:
            t = type_of(a, want)
            if want is not None and t != want:
                raise _fail(b, i, f"{a} has type {t}, {i.op} wants {want}")
    if op.result in ("i64", "bool", "f64", "list") and i.type != op.result:
        raise _fail(b, i, f"{i.op} gives {op.result}")
    if op.result == "arg" and i.type != want:
        raise _fail(b, i, f"{i.op} gives the type of its operands")
    for v in i.uses():
        if isinstance(v, Temp) and v not in types:
            raise _fail(b, i, f"{v} is not defined")
