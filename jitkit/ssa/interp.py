"""An interpreter for SSA IR, the oracle every pass must agree with (notebook 07).

Takes a `Function`, its arguments and the functions it may call; gives an `Outcome`: the
value returned or the deopt state left with, and everything printed on the way. Arithmetic is
exactly `ops.evaluate`, the same code the folding pass uses, so Python's floor `//` and `%`
and the int64 checks hold here as the IR says. A pass is correct when `run` gives the same
`Outcome` before and after it, for every argument.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from jitkit.ssa.ir import Const, Deopt, Function, Global, Temp, Value
from jitkit.ssa.ops import OPS, Overflow, evaluate


class OutOfFuel(RuntimeError):
    """The function ran more steps than allowed (random IR may loop for a long time)."""


class _Deoptimize(Exception):
    def __init__(self, state: tuple[int, tuple[int, ...], tuple[int, ...]]) -> None:
        self.state = state


@dataclass(frozen=True)
class Outcome:
    """What a run shows: the result, or where it deoptimized `(offset, locals, stack)`, and
    the printed values in order."""

    value: int | None
    deopt: tuple[int, tuple[int, ...], tuple[int, ...]] | None = None
    output: tuple[int, ...] = ()


@dataclass
class _Machine:
    functions: dict[str, Function]
    fuel: int
    output: list[int] = field(default_factory=list)

    def call(self, fn: Function, args: list[int]) -> int:
        """Run one activation; a deopt anywhere below unwinds to `run`."""
        env: dict[Temp, int] = {p: a for (_, p), a in zip(fn.params, args, strict=True)}

        def get(v: Value) -> int:
            return v.value if isinstance(v, Const) else env[v]  # type: ignore[index]

        def deopt(d: Deopt) -> _Deoptimize:
            return _Deoptimize((d.offset, tuple(map(get, d.locals)), tuple(map(get, d.stack))))

        blocks = fn.blockmap()
        prev, block = None, fn.blocks[0]
        while True:
            incoming = [get(phi.phi_value(prev)) for phi in block.phis] if prev else []
            for phi, value in zip(block.phis, incoming, strict=False):
                env[phi.result] = value  # type: ignore[index]
            for i in block.body:
                self.fuel -= 1
                if self.fuel < 0:
                    raise OutOfFuel(fn.name)
                if i.op == "print":
                    self.output.append(get(i.args[0]))
                elif i.op == "guard":
                    if not get(i.args[0]):
                        raise deopt(i.deopt)  # type: ignore[arg-type]
                elif i.op == "call":
                    callee = i.args[0]
                    assert isinstance(callee, Global)
                    value = self.call(self.functions[callee.name], [get(a) for a in i.args[1:]])
                    if i.result is not None:
                        env[i.result] = value
                elif OPS[i.op].deopt:
                    try:
                        env[i.result] = evaluate(i.op, [get(a) for a in i.args])  # type: ignore[index]
                    except Overflow:
                        raise deopt(i.deopt) from None  # type: ignore[arg-type]
                else:
                    env[i.result] = evaluate(i.op, [get(a) for a in i.args])  # type: ignore[index]
            term = block.term
            assert term is not None
            if term.op == "ret":
                return get(term.args[0])
            target = term.labels[0] if term.op == "jmp" or get(term.args[0]) else term.labels[1]
            prev, block = block.label, blocks[target]


def run(
    fn: Function,
    args: list[int],
    functions: dict[str, Function] | None = None,
    fuel: int = 100_000,
) -> Outcome:
    """Interpret `fn(*args)`; `functions` maps callee names (default: just `fn` itself)."""
    machine = _Machine({fn.name: fn, **(functions or {})}, fuel)
    try:
        value = machine.call(fn, list(args))
    except _Deoptimize as d:
        return Outcome(None, d.state, tuple(machine.output))
    return Outcome(value, None, tuple(machine.output))
