"""An interpreter for SSA IR, the oracle every pass must agree with (notebook 07).

Takes a `Function`, its arguments and the functions it may call; gives an `Outcome`: the
value returned or the deopt state left with, and everything printed on the way. A `call`
with deopt state is how compiled frames nest: a deopt below it (or a call deeper than
`depth`, which deopts at the callee's entry) leaves this frame too, so `Outcome.frames`
holds every abandoned frame, as the interpreter must rebuild them; each trip of a recursion
turned loop (`enter`, `jitkit.ssa.passes.recursion`) is one more such frame, pending after its
CALL with its share of the running sum, and counts against `depth` as a call. Arithmetic is
exactly `ops.evaluate`, the same code the folding pass uses, so Python's floor `//` and `%`
and the int64 checks hold here as the IR says. A list is a Python list of IR values (its
opcodes' `list_fn`), so two names for one list see each other's stores, as in compiled code.
A pass is correct when `run` gives the same `Outcome` before and after it, for every
argument (`recursion` leaves other frames where it deopts: the same result once the VM
finishes them, which its tests check).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from jitkit.ssa.ir import Const, Deopt, Function, Global, Instr, Temp, Value
from jitkit.ssa.ops import OPS, Overflow, evaluate


class OutOfFuel(RuntimeError):
    """The function ran more steps than allowed (random IR may loop for a long time)."""


State = tuple[int, tuple[int, ...], tuple[int, ...]]  # (offset, locals, stack)


class _Deoptimize(Exception):
    def __init__(self, function: str, state: State) -> None:
        self.state = state
        self.frames = [(function, *state)]  # innermost first while unwinding


@dataclass(frozen=True)
class Outcome:
    """What a run shows: the result, or where it deoptimized `(offset, locals, stack)`, and
    the printed values in order (`print %x` gives x; `print PC, ...` gives (function, PC,
    values)). `frames` is every frame the deopt left, outermost first, as (function, offset,
    locals, stack); the last is `deopt`'s own."""

    value: int | None
    deopt: State | None = None
    output: tuple = ()
    frames: tuple = field(default=(), compare=False)


@dataclass
class _Pending:
    """The frames `enter` stands for in one activation: how many, the sum their additions
    still owe, and the state each resumes in (after its CALL, the sum on its stack)."""

    count: int = 0
    sum: int = 0
    resume: int = 0
    locals: int = 0

    def enter(self, total: int, d: Deopt) -> None:
        self.count, self.sum = self.count + 1, total
        self.resume, self.locals = d.offset + 1, len(d.locals)

    def frames(self, function: str) -> list[tuple]:
        """Innermost first: the first holds the whole sum (int `+` is associative), the rest
        0; their locals are dead after the CALL (the frame only adds and returns) and read 0."""
        zeros = (0,) * self.locals
        sums = [self.sum] + [0] * (self.count - 1)
        return [(function, self.resume, zeros, (s,)) for s in sums[: self.count]]


@dataclass
class _Machine:
    functions: dict[str, Function]
    fuel: int
    depth: int | None = None  # deepest nesting of calls with deopt state
    interrupt_at: int | None = None  # deopt at this many `poll`s, as if Ctrl-C came
    output: list = field(default_factory=list)
    active: int = 0

    def call(self, fn: Function, args: list[int]) -> int:
        """Run one activation; a deopt anywhere below unwinds to `run`, adding the frames
        that `enter` left pending here (outside this activation's own)."""
        pending = _Pending()
        try:
            return self.activation(fn, args, pending)
        except _Deoptimize as d:
            d.frames.extend(pending.frames(fn.name))
            raise
        finally:
            self.active -= pending.count

    def activation(self, fn: Function, args: list[int], pending: _Pending) -> int:
        env: dict[Temp, int] = {p: a for (_, p), a in zip(fn.params, args, strict=True)}

        def get(v: Value) -> int:
            return v.value if isinstance(v, Const) else env[v]  # type: ignore[index]

        def deopt(d: Deopt) -> _Deoptimize:
            state = (d.offset, tuple(map(get, d.locals)), tuple(map(get, d.stack)))
            return _Deoptimize(fn.name, state)

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
                    pc, *values = [get(a) for a in i.args]
                    self.output.append((fn.name, pc, tuple(values)) if values else pc)
                elif i.op == "guard":
                    if not get(i.args[0]):
                        raise deopt(i.deopt)  # type: ignore[arg-type]
                elif i.op == "poll":
                    if self.interrupt_at is not None:
                        self.interrupt_at -= 1
                        if self.interrupt_at == 0:
                            raise deopt(i.deopt)  # type: ignore[arg-type]
                elif i.op == "enter":  # a tail call: deopt at its CALL if too deep
                    if self.depth is not None and self.active >= self.depth:
                        raise deopt(i.deopt)  # type: ignore[arg-type]
                    self.active += 1
                    pending.enter(get(i.args[0]), i.deopt)  # type: ignore[arg-type]
                elif i.op == "fits":
                    env[i.result] = int(self.depth is None or self.active < self.depth)  # type: ignore[index]
                elif i.op == "leave":
                    try:
                        env[i.result] = evaluate(i.op, [get(a) for a in i.args])  # type: ignore[index]
                    except Overflow:
                        pending.count, pending.sum = pending.count - 1, 0  # the deopt's own
                        self.active -= 1
                        raise deopt(i.deopt) from None  # type: ignore[arg-type]
                elif i.op == "call":
                    value = self.call_instr(i, [get(a) for a in i.args[1:]], deopt)
                    if i.result is not None:
                        env[i.result] = value
                elif OPS[i.op].memory:
                    value = self.list_op(i, [get(a) for a in i.args], deopt)
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

    def list_op(self, i: Instr, args: list, deopt) -> object:
        """A list opcode on Python lists; a failed bounds check deopts (a `load` or `store`
        outside the list raises `Fault`: the IR lacked its check)."""
        try:
            return OPS[i.op].list_fn(*args)  # type: ignore[misc]
        except Overflow:
            raise deopt(i.deopt) from None

    def call_instr(self, i: Instr, args: list[int], deopt) -> int:
        """A call; with deopt state, the callee's deopt (or too deep a call) unwinds here."""
        callee = i.args[0]
        assert isinstance(callee, Global)
        fn = self.functions[callee.name]
        if i.deopt is None:
            return self.call(fn, args)
        if self.depth is not None and self.active >= self.depth:
            entry = _Deoptimize(fn.name, (0, tuple(args), ()))
            entry.frames.append(deopt(i.deopt).frames[0])
            raise entry
        self.active += 1
        try:
            return self.call(fn, args)
        except _Deoptimize as d:
            d.frames.append(deopt(i.deopt).frames[0])
            raise
        finally:
            self.active -= 1


def run(
    fn: Function,
    args: list[int],
    functions: dict[str, Function] | None = None,
    fuel: int = 100_000,
    depth: int | None = None,
    interrupt_at: int | None = None,
) -> Outcome:
    """Interpret `fn(*args)`; `functions` maps callee names (default: just `fn` itself).
    `depth` bounds the nesting of calls with deopt state; `interrupt_at=k` makes the k-th
    `poll` deopt (Ctrl-C there)."""
    machine = _Machine({fn.name: fn, **(functions or {})}, fuel, depth, interrupt_at)
    try:
        value = machine.call(fn, list(args))
    except _Deoptimize as d:
        frames = tuple(reversed(d.frames))
        return Outcome(None, d.state, tuple(machine.output), frames)
    return Outcome(value, None, tuple(machine.output))
