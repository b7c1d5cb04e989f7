"""Register allocation by linear scan (Poletto and Sarkar, 1999) (notebook 07).

Takes an SSA `Function`; gives an `Allocation`: the linear order of its instructions, one
live interval per temporary, and where each temporary lives (an x86-64 register name or a
stack slot). Intervals come from `liveness`: a temporary is live from its definition to its
last use, and across every block it is live into or out of, so loops stretch it to cover
the whole loop. A phi is written by the moves on the edges into its block, where only the
values live into that block (and the moves' sources, all read first) must survive, so its
interval starts at its block. The scan walks intervals by start, giving a phi and its
operands the same register when it is free; when no register is free it spills the
interval that ends last. System V: an interval live across a `call` or `print` only gets
callee-saved registers, since the callee may overwrite the others (a call's deopt state is
read after it returns, so it lives across it). `Allocation.table()` prints it all.

Two register classes. An `f64` temporary lives in an xmm register, everything else in a
general one: the scan runs once per class over that class's intervals, and the two share
the spill slots. System V saves no xmm register across a call, so a double live across one
is spilled (or rematerialized: a constant is never allocated).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from jitkit.ssa.analysis import liveness, rpo
from jitkit.ssa.ir import Function, Instr, Temp
from jitkit.ssa.ops import LIST_CALLS

# rax, rcx, rdx and r11 stay free: code generation uses them as scratch (idiv, shifts).
CALLEE_SAVED = ("rbx", "r12", "r13", "r14", "r15")
CALLER_SAVED = ("rsi", "rdi", "r8", "r9", "r10")
REGISTERS = CALLEE_SAVED + CALLER_SAVED
# Inside the stack tier's runtime r15 holds the context and r14 the interrupt flag; caller-saved
# registers come first, so values that do not live across a call leave rbx and r12 (which
# cost a push and a pop) to those that do.
TIER_REGISTERS = CALLER_SAVED + ("rbx", "r12")  # r13 may count the frames there
# instructions that call out (fmod, ffloordiv: libm's fmod): caller-saved registers die there
CLOBBERS = ("call", "print", "fmod", "ffloordiv", *sorted(LIST_CALLS))
# integer comparisons (a speculated check's predicate may be one, see `lazy_predicates`)
COMPARISONS = ("eq", "ne", "lt", "le", "gt", "ge")
# xmm14 and xmm15 stay free: code generation's scratch for doubles (constants, memory moves).
XMM_REGISTERS = tuple(f"xmm{k}" for k in range(14))


@dataclass(frozen=True)
class Slot:
    """A spilled temporary's 8-byte stack slot."""

    index: int

    def __str__(self) -> str:
        return f"slot {self.index}"


Location = str | Slot


@dataclass
class Interval:
    """Positions `[start, end]` in the linear order where `temp` must be kept."""

    temp: Temp
    start: int
    end: int
    crosses_call: bool = False
    kind: str = "gpr"  # the register class: "gpr", or "xmm" for an f64


@dataclass
class Allocation:
    """The linear order (block label, first position), intervals and locations."""

    order: list[tuple[str, int]]
    intervals: list[Interval]
    location: dict[Temp, Location] = field(default_factory=dict)
    slots: int = 0
    lazy: dict[Temp, Instr] = field(default_factory=dict)  # see `lazy_predicates`: no location

    def used_callee_saved(self) -> list[str]:
        return [r for r in CALLEE_SAVED if r in self.location.values()]

    def table(self, kind: str | None = None) -> str:
        """One row per interval, in start order: temporary, range, call-crossing, location,
        and the register class when there are doubles (only class `kind`'s rows if given)."""
        classes = any(iv.kind != "gpr" for iv in self.intervals)
        head = f"{'temp':<12}{'interval':<14}{'call':<6}"
        rows = [head + (f"{'class':<7}location" if classes else "location")]
        for iv in self.intervals:
            if kind is not None and iv.kind != kind:
                continue
            span = f"[{iv.start}, {iv.end}]"
            call = "yes" if iv.crosses_call else ""
            where = f"{iv.kind:<7}{self.location[iv.temp]}" if classes else self.location[iv.temp]
            rows.append(f"{str(iv.temp):<12}{span:<14}{call:<6}{where}")
        return "\n".join(rows)


def intervals(
    fn: Function, lazy: dict[Temp, Instr] | None = None
) -> tuple[list[tuple[str, int]], list[Interval]]:
    """Number instructions in reverse postorder (two positions each: uses read at the even
    one, results written at the odd one) and build one interval per temporary (none for
    the `lazy` predicates, default `lazy_predicates(fn)`)."""
    # 1. positions: block start, then each instruction
    order, pos, blocks = [], 0, fn.blockmap()
    where: dict[str, tuple[int, int]] = {}
    calls: list[int] = []
    for label in rpo(fn):
        start = pos
        order.append((label, start))
        pos += 2 * (len(list(blocks[label].instrs())) + 1)
        where[label] = (start, pos - 1)
    # 2. ranges from definitions, uses and the blocks a temporary is live across
    live = liveness(fn)
    span: dict[Temp, list[int]] = {p: [0, 0] for _, p in fn.params}
    lazy = lazy_predicates(fn) if lazy is None else lazy

    def extend(t: Temp, at: int) -> None:
        s = span.setdefault(t, [at, at])
        s[0], s[1] = min(s[0], at), max(s[1], at)

    for label, start in order:
        first, last = where[label]
        for t in live.live_in[label]:
            extend(t, first)
        for t in live.live_out[label]:
            extend(t, last)
        for n, i in enumerate(blocks[label].instrs()):
            at = start + 2 * (n + 1)
            if i.op in CLOBBERS:
                calls.append(at)
            for v in i.uses():
                if isinstance(v, Temp) and i.op != "phi" and v not in lazy:
                    extend(v, at)
            # read after the callee returns; a speculated check's cold test reads its
            # predicate and its stub the state after the result is written
            if (i.op == "call" or i.op.endswith("_ovf_if")) and i.deopt is not None:
                for v in (i.args[0], *i.deopt.locals, *i.deopt.stack)[i.op == "call" :]:
                    for w in lazy[v].args if v in lazy else (v,):  # type: ignore[index]
                        if isinstance(w, Temp):
                            extend(w, at + 1)
            if i.op in LIST_CALLS:  # list_new/list_grow: operands and state read after it
                for v in i.uses():
                    for w in lazy[v].args if v in lazy else (v,):  # type: ignore[index]
                        if isinstance(w, Temp):
                            extend(w, at + 1)
            if i.result is not None and i.result not in lazy:  # a phi: on the edges in
                extend(i.result, first if i.op == "phi" else at + 1)
    doubles = {p for t, p in fn.params if t == "f64"}
    doubles |= {i.result for _, i in fn.instrs() if i.type == "f64" and i.result is not None}
    out = [
        Interval(t, s, e, any(s < c < e for c in calls), "xmm" if t in doubles else "gpr")
        for t, (s, e) in span.items()
    ]
    out.sort(key=lambda iv: (iv.start, iv.end, iv.temp.name))
    return order, out


def lazy_predicates(fn: Function) -> dict[Temp, Instr]:
    """Integer comparisons whose only uses are as the predicate of speculated checks
    (`add_ovf_if %p, ...`) later in their block: the check's cold test compares again (its
    operands are kept live that far), so the bool is never materialized in a register."""
    uses: dict[Temp, int] = {}
    for _, i in fn.instrs():
        for v in i.uses():
            if isinstance(v, Temp):
                uses[v] = uses.get(v, 0) + 1
    lazy: dict[Temp, Instr] = {}
    for b in fn.blocks:
        compares: dict[Temp, Instr] = {}
        checks: dict[Temp, int] = {}
        for i in b.body:
            if i.op in COMPARISONS and i.result is not None:
                compares[i.result] = i
            elif i.op.endswith("_ovf_if") and i.args[0] in compares:
                checks[i.args[0]] = checks.get(i.args[0], 0) + 1  # type: ignore[index]
        lazy.update((t, compares[t]) for t, n in checks.items() if uses[t] == n)
    return lazy


def allocate_registers(
    fn: Function,
    registers: tuple[str, ...] = REGISTERS,
    xmm: tuple[str, ...] = XMM_REGISTERS,
) -> Allocation:
    """Linear scan over each register class's intervals (general `registers`, `xmm` for
    doubles); spill the one that ends last when a class runs out."""
    lazy = lazy_predicates(fn)
    order, ivs = intervals(fn, lazy)
    alloc = Allocation(order, ivs, lazy=lazy)
    # a phi and its operands like one register: then the edge's move is no move at all
    hints: dict[Temp, list[Temp]] = {}
    for b in fn.blocks:
        for phi in b.phis:
            for v in phi.args:
                if isinstance(v, Temp):
                    hints.setdefault(v, []).append(phi.result)  # type: ignore[arg-type]
                    hints.setdefault(phi.result, []).append(v)  # type: ignore[arg-type]
    _scan(alloc, [iv for iv in ivs if iv.kind == "gpr"], registers, CALLEE_SAVED, hints)
    _scan(alloc, [iv for iv in ivs if iv.kind == "xmm"], xmm, (), hints)
    return alloc


def _scan(
    alloc: Allocation,
    ivs: list[Interval],
    registers: tuple[str, ...],
    callee_saved: tuple[str, ...],
    hints: dict[Temp, list[Temp]],
) -> None:
    """Poletto and Sarkar's scan over one class; `callee_saved` may hold values across calls."""
    active: list[Interval] = []
    free = list(registers)
    for iv in ivs:
        # 1. expire intervals that ended before this one starts
        for old in [a for a in active if a.end < iv.start]:
            active.remove(old)
            free.append(alloc.location[old.temp])  # type: ignore[arg-type]
        # 2. a register this interval may use (callee-saved only if it spans a call)
        usable = [r for r in free if r in callee_saved or not iv.crosses_call]
        if usable:
            liked = [alloc.location.get(t) for t in hints.get(iv.temp, ())]
            reg = next((r for r in liked if r in usable), min(usable, key=registers.index))
            free.remove(reg)
            alloc.location[iv.temp] = reg
            active.append(iv)
            continue
        # 3. none: spill whichever of it and the active intervals (that could give it
        #    their register) ends last
        victims = [
            a for a in active if alloc.location[a.temp] in callee_saved or not iv.crosses_call
        ]
        victim = max(victims, key=lambda a: a.end, default=None)
        if victim is not None and victim.end > iv.end:
            alloc.location[iv.temp] = alloc.location[victim.temp]
            active.remove(victim)
            active.append(iv)
            alloc.location[victim.temp] = Slot(alloc.slots)
        else:
            alloc.location[iv.temp] = Slot(alloc.slots)
        alloc.slots += 1
