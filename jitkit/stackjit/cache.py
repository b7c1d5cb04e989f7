"""The operand cache: where each value of a function being compiled lives (notebook 05).

Takes the instructions of one function from `compiler.emit_function`, one at a time (the
cached templates in `fast.py` ask it where their operands are); gives the x86-64 operand for
each, and per function which locals live in registers. It keeps the top of the operand stack
out of memory while it can: a constant stays an immediate, a local a reference to its frame
slot or register, a result a register. Values reach their stack slots only when something
needs memory (a call, a print, a jump target, a template that is not the kit's) or at a
guard, through the guard's deopt stub (or, for constants and copies of locals, the runtime),
so the interpreter gets the frame exactly as it was before the guarded instruction.
"""

from __future__ import annotations

from jitkit.bytecode.code import Code
from jitkit.bytecode.opcodes import Op
from jitkit.x86 import Mem, Reg, qword, r8, r9, r10, r11, r12, rbp, rbx, rdi

Entry = tuple  # ("imm", int) | ("local", i) | ("reg", Reg) | ("slot", j): in its stack slot
PENDING = 8  # at most this many values wait outside their slots (keeps each step O(1))
IMM32 = range(-(2**31), 2**31)


class OperandCache:
    """Where each operand-stack value is while one function is compiled; slot j is pending
    when `pending[j]` says where its value is instead of its frame slot. At most one value is
    in a register (rax, rcx or rdx); r11 is the scratch register for writing values out."""

    def __init__(self, a, nlocals: int, registers: dict[int, Reg] | None = None) -> None:
        self.a, self.nlocals = a, nlocals
        self.registers = registers or {}  # locals that live in a register, not in the frame
        self.pending: dict[int, Entry] = {}
        self.depth = 0
        self.stubs: dict[int, dict[int, Entry]] = {}  # pc -> what its deopt stub writes out

    def slot(self, j: int) -> Mem:
        return qword(rbp, -8 * (self.nlocals + j + 1))

    def local(self, i: int) -> Mem | Reg:
        return self.registers.get(i) or qword(rbp, -8 * (i + 1))

    def at(self, k: int) -> Entry:
        """The k-th value from the top (1 = the top)."""
        j = self.depth - k
        return self.pending.get(j, ("slot", j))

    def source(self, e: Entry) -> Mem | Reg | int | None:
        """`e` as an instruction operand; None for a constant that needs 64 bits."""
        kind, what = e
        if kind == "imm":
            return what if what in IMM32 else None
        if kind == "reg":
            return what
        return self.local(what) if kind == "local" else self.slot(what)

    def load(self, reg: Reg, e: Entry) -> Reg:
        """Emit `mov reg, e` (nothing when it is there already)."""
        if e != ("reg", reg):
            src = self.source(e)
            self.a.mov(reg, e[1] if src is None else src)
        return reg

    def operand(self, e: Entry) -> Mem | Reg | int:
        """`e` as a second operand; a 64-bit constant goes through r11."""
        src = self.source(e)
        return self.load(r11, e) if src is None else src

    def push(self, e: Entry | None) -> None:
        """A value on top; None: its slot already holds it (or its type says all)."""
        if e is not None:
            self.pending[self.depth] = e
            if len(self.pending) > PENDING:
                self.write(min(self.pending))
        self.depth += 1

    def drop(self, n: int) -> None:
        for j in range(self.depth - n, self.depth):
            self.pending.pop(j, None)
        self.depth -= n

    def write(self, j: int) -> None:
        store(self.a, self.slot(j), self.pending.pop(j), self)

    def flush(self) -> None:
        """Every pending value into its slot: the frame as the templates expect it."""
        for j in sorted(self.pending, key=lambda j: self.pending[j][0] != "reg"):
            self.write(j)

    def spill_registers(self, keep: int = 0) -> None:
        """Write out values held in registers, except the top `keep` (the operands)."""
        for j, e in list(self.pending.items()):
            if e[0] == "reg" and j < self.depth - keep:
                self.write(j)

    def stub(self, pc: int) -> None:
        """Remember what the deopt stub of `pc` must write before handing over the frame."""
        self.stubs[pc] = dict(self.pending)

    def materialize(self, state: dict[int, Entry]) -> None:
        """In a deopt stub: write `state`'s pending values into their slots."""
        for j in sorted(state, key=lambda j: state[j][0] != "reg"):
            store(self.a, self.slot(j), state[j], self)


def store(a, dest: Mem | Reg, e: Entry, cache: OperandCache) -> None:
    """Emit `mov dest, e` (through r11 from memory to memory or a 64-bit constant to memory)."""
    src = cache.source(e)
    if isinstance(dest, Reg) or isinstance(src, (Reg, int)):
        a.mov(dest, e[1] if src is None else src)
    else:
        a.mov(r11, e[1] if src is None else src).mov(dest, r11)


# --- locals in registers ------------------------------------------------------------------------

JUMP_BACKWARD, LOCALS = Op.JUMP_BACKWARD, (Op.LOAD_LOCAL, Op.STORE_LOCAL)  # looked up once
LEAF_REGISTERS = (r8, r9, r10, rdi)  # caller-saved: only where nothing calls out
SAVED_REGISTERS = (rbx, r12)  # callee-saved: kept across calls, saved by the prologue


def register_plan(
    code: Code, replaced: bool, calls_out: bool = False
) -> tuple[dict[int, Reg], Reg | None]:
    """Which locals live in a register, and the register that counts loop trips (added to
    the function's hotness counter on the way out, not in memory on every back edge). Only
    functions with loops get any; the locals used most inside loops (weight 8 per level of
    nesting) win. A function with a replaced template keeps every local in its frame slot,
    where the chapter's templates look for it. `calls_out`: templates call the runtime
    (making a list), so only callee-saved registers keep locals, as with calls."""
    n = len(code.ops)
    nesting = [0] * (n + 1)
    for pc, (op, arg) in enumerate(zip(code.ops, code.args, strict=True)):
        if op == JUMP_BACKWARD:  # the loop is arg .. pc
            nesting[arg] += 1
            nesting[pc + 1] -= 1
    if replaced or not any(nesting):
        return {}, None
    calls = calls_out or Op.CALL in code.ops or Op.PRINT in code.ops
    pool = list(SAVED_REGISTERS if calls else LEAF_REGISTERS + SAVED_REGISTERS)
    weights: dict[int, int] = {}
    level = 0
    for pc, (op, arg) in enumerate(zip(code.ops, code.args, strict=True)):
        level += nesting[pc]
        if level and op in LOCALS:
            weights[arg] = weights.get(arg, 0) + 8 ** min(level, 6)
    counter = pool.pop(0)
    hottest = sorted(weights, key=lambda i: -weights[i])[: len(pool)]
    return dict(zip(hottest, pool, strict=False)), counter
