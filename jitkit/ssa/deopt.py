"""SSA code on the native tier runtime: deopt stubs, calls, print, guards (notebook 07).

Takes an allocated `Function`, its kit code object and its types (`jitkit.jitrt.types`);
emits, into an assembler shared by the whole module, a function that follows the stack
tier's internal convention (`jitkit.stackjit.compiler`) and the runtime's context and deopt
record (`jitkit.jitrt.layout`): entry label `NAME.entry`, rdi = address of the first
argument (the next ones 8 bytes lower each), rax = value, edx = status (0, or DEOPT), r15 =
the runtime context, r14 = the interrupt flag. So `StackTier` runs the module unchanged, and
SSA code and template code may call each other. Between SSA functions there is more: a
`NAME.fast` entry takes up to five arguments in registers, and when no function of the block
is template code, r13 counts the frames (the recursion limit) instead of ctx->depth.

Every deopt point (a `guard`, an `_ovf` opcode, a `poll` on a loop's back edge, the recursion
check at entry, a callee that deopted) jumps to an out-of-line stub that writes one record in
the stack tier's format, [function index, resume pc, stack depth, pc whose types describe the
values, locals..., stack...], reading each value from its register, spill slot or constant,
and returns DEOPT. A word whose static type is None, a string, a function or "unassigned" is
not written: the runtime rebuilds those from the types alone (bools are 0 or 1).
"""

from __future__ import annotations

from dataclasses import dataclass

from jitkit.bytecode.code import Code as KitCode
from jitkit.bytecode.opcodes import Op
from jitkit.errors import UnsupportedError
from jitkit.jitrt.layout import (
    CTX_DEOPT_PTR,
    CTX_DEPTH,
    CTX_MAX_DEPTH,
    CTX_PRINT,
    CTX_STACK_LIMIT,
    DEOPT,
    INTERRUPTED,
    RECORD_WORD,
    SMALL_FRAME,
    frame_word,
    record_words,
)
from jitkit.jitrt.module import PrintSite
from jitkit.jitrt.types import BOOL, FLOAT, INT, UNDEF, FunctionTypes, exact
from jitkit.ssa.codegen import Emitter
from jitkit.ssa.ir import Const, Deopt, Function, Global, Instr, Value
from jitkit.ssa.pending import PendingFrames
from jitkit.ssa.regalloc import Allocation
from jitkit.ssa.select import Operand, imm32
from jitkit.x86 import (
    REGISTERS,
    Assembler,
    Reg,
    edx,
    qword,
    r13,
    r14,
    r15,
    rax,
    rbp,
    rcx,
    rdi,
    rsi,
    rsp,
)
from jitkit.x86 import byte as byte_ptr

# SSA code calling SSA code passes up to five arguments in registers (to NAME.fast); they
# are caller-saved, so nothing the caller keeps lives there across the call.
FAST_ARGUMENTS = ("rsi", "rdi", "r8", "r9", "r10")
# Frames active, when every function of the block keeps the count in a register (a memory
# counter costs a read-modify-write on every call and return); never allocated.
DEPTH = r13
# The static types whose words a record holds (the rest are rebuilt from the types alone);
# a float's word is its double's bits.
NUMBERS = (frozenset({INT}), frozenset({BOOL}), frozenset({FLOAT})) + tuple(
    frozenset({("list", kind)}) for kind in (INT, BOOL, FLOAT)
)  # a list's word is its address: the runtime makes a Python list of it


@dataclass
class Stub:
    """One deopt point: its label and the record it writes (`record=False`: an interrupt
    where no state is known, status INTERRUPTED and no record)."""

    label: str
    resume: int = 0
    state_pc: int = 0
    locals: tuple[Value, ...] = ()
    stack: tuple[Value, ...] = ()
    record: bool = True
    undo: tuple | list[tuple] | None = None  # instructions that restore operands first


def cover(nodes: dict[int, list], size: int, first: int, last: int, pair: tuple) -> None:
    """Put `pair` in the segment-tree nodes (heap numbered, leaves at `size`) that exactly
    cover the stubs `first..last`."""
    lo, hi = first + size, last + size + 1
    while lo < hi:
        if lo & 1:
            nodes.setdefault(lo, []).append(pair)
            lo += 1
        if hi & 1:
            hi -= 1
            nodes.setdefault(hi, []).append(pair)
        lo, hi = lo // 2, hi // 2


class TierEmitter(PendingFrames, Emitter):
    """Emits one function for the stack tier's runtime (see the module docstring):
    `TierEmitter(...).emit_function()` writes `fn` into `a`, or raises `UnsupportedError`
    for what it cannot compile, leaving `a` half written (the caller starts the block over).
    `callees` maps the IR's function names to the kit names of the functions compiled and
    whether they are SSA code with a fast entry (arguments in registers); `depth_register`
    counts frames in r13 (only when every function in the block does); `aligned` keeps rsp
    16-byte aligned at calls (needed when anything below may call C)."""

    def __init__(
        self,
        fn: Function,
        alloc: Allocation,
        a: Assembler,
        code: KitCode,
        index: int,
        types: FunctionTypes,
        prints: list[PrintSite],
        callees: dict[str, tuple[str, bool]],
        depth_register: bool = False,
        aligned: bool = True,
    ) -> None:
        super().__init__(fn, alloc, a, code.name)
        self.depth_register = depth_register  # count frames in r13, not in ctx->depth
        self.code, self.index, self.types, self.prints = code, index, types, prints
        self.callees = callees  # IR name ($f) -> (kit function name, has a fast entry)
        self.stubs: list[Stub] = []
        self.polls = any(i.op == "poll" for _, i in fn.instrs())
        self.outgoing = max([self.outgoing_words(i) for _, i in fn.instrs()] + [0])
        self.find_pending(fn)  # `enter`, `leave`, `fits`: jitkit.ssa.pending
        # No spill slots and nothing passed in memory: no frame pointer either (nothing is
        # addressed through rbp); calls stay 16-byte aligned only if something may call C.
        self.frameless = alloc.slots == 0 and self.outgoing == 0
        pending = 2 * (self.enter is not None)  # `enter`'s two words (`pending_word`)
        if self.frameless:
            self.frame = 8 * pending + (8 if aligned and len(self.saved) % 2 == 0 else 0)
        else:
            self.frame = self.frame_size(self.outgoing + pending)

    def entry_label(self) -> str:
        return f"{self.code.name}.entry"

    def fast_call(self, i: Instr) -> tuple[str, bool]:
        """The kit name of the function `i` calls, and whether its arguments go in registers."""
        callee = i.args[0]
        assert isinstance(callee, Global)
        if callee.name not in self.callees:
            raise UnsupportedError(f"{self.code.name}: {i}: calls a function not compiled")
        name, fast = self.callees[callee.name]
        return name, fast and len(i.args) - 1 <= len(FAST_ARGUMENTS)

    def outgoing_words(self, i: Instr) -> int:
        """Words at the bottom of the frame for `i`'s values: printed ones, memory arguments."""
        if i.op == "print" or (i.op == "call" and not self.fast_call(i)[1]):
            return len(i.args) - 1
        return 0

    # --- deopt records --------------------------------------------------------------------------

    def stub(self, i: Instr, undo: tuple | None = None) -> str:
        """The stub of a guard or checked opcode: the VM redoes the instruction at `offset`."""
        return self.add_stub(i.deopt, i, i.deopt.offset if i.deopt else 0, undo)

    def add_stub(self, d: Deopt | None, i: Instr | None, state_pc: int, undo=None) -> str:
        if d is None:
            raise UnsupportedError(f"{self.code.name}: {i}: no deopt state")
        self.check_state(d, state_pc, i)
        label = self.label("deopt")
        values = tuple(d.locals), tuple(d.stack)
        self.stubs.append(Stub(label, d.offset, state_pc, *values, undo=undo))
        return label

    def check_state(self, d: Deopt, state_pc: int, i: Instr | None) -> None:
        """The record must fit the frame and every value must have one static type there."""
        code = self.code
        where = f"{code.name}: {i}" if i is not None else f"{code.name}: entry"
        state = self.types.states[state_pc] if 0 <= state_pc < len(code.ops) else None
        if state is None or not 0 <= d.offset <= len(code.ops):
            raise UnsupportedError(f"{where}: deopt at pc {d.offset}, which the VM never reaches")
        if len(d.locals) > len(code.varnames) or len(d.stack) > len(state.stack):
            raise UnsupportedError(f"{where}: deopt state larger than the frame at pc {state_pc}")
        for t in {*state.locals[: len(d.locals)], *state.stack[: len(d.stack)]}:
            if UNDEF not in t:
                exact(t, f"{where}: a value the interpreter may need")

    def emit_stubs(self) -> None:
        """Each stub writes its record's words (a word whose static type is a string, None,
        a function or unassigned is rebuilt from the types alone, so it is left out); one
        shared tail writes the function index, moves the buffer pointer on and returns.

        Neighbouring stubs write mostly the same words from the same places (a value keeps
        one location for its whole interval), so the stores are shared: each (word, value)
        pair is written over the run of consecutive stubs that all have it, and a run is
        placed in the O(log n) nodes of a segment tree over the stubs that cover it. A stub
        writes its header, then jumps up its leaf's path to the root, each node storing its
        pairs: code linear (times a log) in the function, not stubs x frame words."""
        a, words = self.a, record_words(self.code)
        tail = f"{self.code.name}@record"
        records = [s for s in self.stubs if s.record]
        size = 1
        while size < len(records):
            size *= 2
        nodes: dict[int, list[tuple[int, Value]]] = {}
        opened: dict[int, tuple[Value, int]] = {}  # word -> (value, first stub of its run)
        previous: dict[int, Value] = {}
        for k, s in enumerate([*records, None]):
            current = self.record_values(s) if s is not None else {}
            for word, v in previous.items():
                if current.get(word) != v:  # the run of (word, v) ends at stub k - 1
                    _, first = opened.pop(word)
                    cover(nodes, size, first, k - 1, (word, v))
            for word, v in current.items():
                if word not in opened:
                    opened[word] = (v, k)
            previous = current

        def up(node: int) -> str:
            """The label of the nearest ancestor that stores something (or the tail)."""
            node //= 2
            while node and node not in nodes:
                node //= 2
            return f"{self.code.name}@node{node}" if node else tail

        for k, s in enumerate(records):
            a.label(s.label)
            self.emit_undo(s)
            a.mov(rcx, qword(r15, CTX_DEOPT_PTR))
            own = {"resume": s.resume, "depth": len(s.stack), "state_pc": s.state_pc}
            header = [(RECORD_WORD[field], v) for field, v in own.items()]  # "function": tail
            for word, v in header + [(w, v) for w, v in nodes.pop(size + k, [])]:
                self.store_word(qword(rcx, 8 * word), v if isinstance(v, int) else self.loc(v))
            a.jmp(up(size + k))
        for node in sorted(nodes):
            a.label(f"{self.code.name}@node{node}")
            for word, v in nodes[node]:
                self.store_word(qword(rcx, 8 * word), self.loc(v))
            a.jmp(up(node))
        for s in self.stubs:
            if not s.record:
                a.label(s.label)
                self.emit_undo(s)
                a.mov(edx, INTERRUPTED).jmp(self.epilogue)
        if records:
            a.label(tail).mov(qword(rcx, 8 * RECORD_WORD["function"]), self.index)
            a.add(qword(r15, CTX_DEOPT_PTR), 8 * words)
            a.mov(edx, DEOPT).jmp(self.epilogue)

    def emit_undo(self, s: Stub) -> None:
        for undo in [s.undo] if isinstance(s.undo, tuple) else s.undo or []:
            self.a.emit(*undo)

    def record_values(self, s: Stub) -> dict[int, Value]:
        """Record word -> value, for the words of stub `s` the runtime reads (ints, bools,
        floats)."""
        state = self.types.states[s.state_pc]
        numbers = {t for t in {*state.locals, *state.stack} if t in NUMBERS}
        values: dict[int, Value] = {}
        for k, (v, t) in enumerate(zip(s.locals, state.locals, strict=False)):
            if t in numbers:
                values[frame_word(k)] = v
        base = frame_word(len(s.locals))
        for k, (v, t) in enumerate(zip(s.stack, state.stack, strict=False)):
            if t in numbers:
                values[base + k] = v
        return values

    def store_word(self, dst, x: Operand) -> None:
        """A record word: an int, a bool, or a double's bits."""
        if isinstance(x, float) or (isinstance(x, Reg) and x.kind == "xmm"):
            self.move(dst, x)
        elif isinstance(x, Reg) or imm32(x):
            self.a.mov(dst, x)
        else:
            self.a.mov(rax, x).mov(dst, rax)

    # --- frame ----------------------------------------------------------------------------------

    def depth_counter(self) -> Operand:
        """Where the frames are counted: r13, or the context's word."""
        return DEPTH if self.depth_register else qword(r15, CTX_DEPTH)

    @property
    def epilogue(self) -> str:
        return f"{self.code.name}@epilogue"

    def emit_prologue(self) -> None:
        """Frame, arguments from [rdi - 8k] into their locations, then the recursion-depth and
        native-stack checks of the stack tier (failing either deopts at pc 0)."""
        a = self.a
        params = [p for _, p in self.fn.params]
        if len(params) != self.code.argcount:
            raise UnsupportedError(f"{self.code.name}: IR and bytecode disagree on arguments")
        fast = len(params) <= len(FAST_ARGUMENTS)
        a.label(self.entry_label())
        if fast:  # from memory into the registers of the fast entry, then on through it
            a.mov(rcx, rdi)
            for k, r in enumerate(FAST_ARGUMENTS[: len(params)]):
                a.mov(REGISTERS[r], qword(rcx, -8 * k))
            a.label(f"{self.code.name}.fast")
        if not self.frameless:
            a.push(rbp).mov(rbp, rsp)
        for r in self.saved:
            a.push(REGISTERS[r])
        if self.frame:
            a.sub(rsp, self.frame)
        if fast:
            arrived = [REGISTERS[r] for r in FAST_ARGUMENTS]
        else:
            a.mov(rcx, rdi)
            arrived = [qword(rcx, -8 * k) for k in range(len(params))]
        self.parallel_move([(self.loc(p), arrived[k]) for k, p in enumerate(params)])
        unassigned = [Const(0)] * (len(self.code.varnames) - len(params))
        entry = self.add_stub(Deopt(0, [*params, *unassigned], []), None, 0)
        if self.depth_register:
            a.add(DEPTH, 1)
            if self.enter is not None:  # the depth with this frame, for its exits
                a.mov(self.pending_word(0), DEPTH)
            a.cmp(DEPTH, qword(r15, CTX_MAX_DEPTH)).ja(entry)
        else:
            a.add(qword(r15, CTX_DEPTH), 1).mov(rax, qword(r15, CTX_DEPTH))
            if self.enter is not None:
                a.mov(self.pending_word(0), rax)
            a.cmp(rax, qword(r15, CTX_MAX_DEPTH)).ja(entry)
        if 8 * (3 + len(self.saved)) + self.frame > SMALL_FRAME:
            # a small frame needs no check: the depth limit bounds the stack it can take (the
            # Python entry lowers that limit on a thread whose stack is short)
            a.cmp(rsp, qword(r15, CTX_STACK_LIMIT)).jb(entry)

    def emit_return(self, v: Value) -> None:
        """Value in rax, status 0, and the epilogue right here (no jump to it)."""
        if v not in self.leave_in_rax:
            self.move(rax, self.loc(v))
        self.emit_epilogue(labelled=False)

    def emit_epilogue(self, labelled: bool = True) -> None:
        """One frame less, the stack and saved registers back, return: each `ret` has its own
        copy (status 0), the deopt stubs and callee-status checks share one (status in edx).
        Either way ZF says "status 0" on return, so SSA callers need no `test edx, edx`."""
        a = self.a
        if labelled:
            a.label(self.epilogue)
        if self.enter is not None:
            self.emit_pending_exit(labelled)
        a.sub(DEPTH if self.depth_register else qword(r15, CTX_DEPTH), 1)
        if labelled:
            a.test(edx, edx)
        else:
            a.xor(edx, edx)
        if self.frameless and self.frame:
            a.lea(rsp, qword(rsp, self.frame))  # lea: the flags stay
        elif self.frame:
            a.lea(rsp, qword(rbp, -8 * len(self.saved)))
        for r in reversed(self.saved):
            a.pop(REGISTERS[r])
        if not self.frameless:
            a.pop(rbp)
        a.ret()

    # --- calls and printing ---------------------------------------------------------------------

    def outgoing_values(self, values: list[Value]) -> None:
        """Value k at [rsp + 8(n-1-k)]: the first at the highest address, as the internal
        convention and the print callback read them (going down)."""
        n = len(values)
        for k, v in enumerate(values):
            self.move(qword(rsp, 8 * (n - 1 - k)), self.loc(v))

    def emit_call(self, i: Instr) -> None:
        """Internal convention; a DEOPT status makes this frame write its record too (resume
        after the CALL: the callee's VM frame pushes the result)."""
        callee = i.args[0]
        assert isinstance(callee, Global)
        if i.deopt is None:
            raise UnsupportedError(f"{self.code.name}: {i}: a call without deopt state")
        call_pc = i.deopt.offset - 1
        if not (0 <= call_pc < len(self.code.ops) and self.code.ops[call_pc] == Op.CALL):
            raise UnsupportedError(f"{self.code.name}: {i}: deopt state must resume after a CALL")
        unwind = self.add_stub(i.deopt, i, state_pc=call_pc)
        args = i.args[1:]
        name, fast = self.fast_call(i)
        if fast:  # SSA code: arguments in registers
            self.parallel_move(
                [(REGISTERS[r], self.loc(v)) for r, v in zip(FAST_ARGUMENTS, args, strict=False)]
            )
            self.a.call(f"{name}.fast")  # returns with ZF set for status 0
        else:
            self.outgoing_values(args)
            self.a.lea(rdi, qword(rsp, 8 * max(len(args) - 1, 0)))
            self.a.call(f"{name}.entry").test(edx, edx)  # template code: test the status
        self.a.jnz(self.status_check(unwind))
        if i.result is not None:
            self.move(self.loc(i.result), rax)

    def status_check(self, unwind: str) -> str:
        """Out of line: DEOPT writes this frame's record; any other status just propagates."""
        label = self.label("callstatus")
        self.pending_checks.append((label, unwind))
        return label

    def runtime_call(self, offset: int, i: Instr) -> None:
        """`list_new`/`list_grow` by the address in the context (rsp is 16-byte aligned in
        the body of a function that calls C: `aligned`)."""
        self.a.call(qword(r15, offset))

    def emit_effect(self, i: Instr) -> None:
        if i.op == "print":
            self.emit_print(i)
        elif i.op == "poll":
            self.a.cmp(byte_ptr(r14), 0).jne(self.stub(i))
        elif i.op in ("enter", "leave", "fits"):  # jitkit.ssa.pending
            getattr(self, f"emit_{i.op}")(i)
        else:
            super().emit_effect(i)

    def emit_print(self, i: Instr) -> None:
        """`print PC, v1, ..., vn, sep, end`: the stack tier's callback with the types the
        stack tier's analysis gives the PRINT at PC (bool, None, str come from those)."""
        pc = i.args[0]
        if not (isinstance(pc, Const) and 0 <= pc.value < len(self.code.ops)):
            raise UnsupportedError(f"{self.code.name}: {i}: print needs the PRINT's pc first")
        if self.code.ops[pc.value] != Op.PRINT or self.code.args[pc.value] != len(i.args) - 3:
            raise UnsupportedError(f"{self.code.name}: {i}: not the PRINT at pc {pc.value}")
        state = self.types.states[pc.value]
        values = i.args[1:]
        kinds = [
            exact(t, f"{self.code.name}: a printed value") for t in state.stack[-len(values) :]
        ]
        site = len(self.prints)
        self.prints.append(PrintSite(self.code.name, pc.value, kinds))
        self.outgoing_values(values)
        self.a.mov(rdi, site).lea(rsi, qword(rsp, 8 * (len(values) - 1)))
        self.a.call(qword(r15, CTX_PRINT))

    # --- loops ----------------------------------------------------------------------------------

    def emit_poll(self, src: str, dst: str) -> None:
        """Without `poll` instructions from the builder, every back edge checks the flag; an
        interrupt there has no deopt state, so the call ends with KeyboardInterrupt. The back
        edge of a recursion turned loop (`enter`) checks nothing: the calls it stands for
        did not either, and the recursion limit bounds it."""
        body = self.blocks[src].body
        if not self.polls and not (body and body[-1].op == "enter"):
            label = self.label("interrupt")
            self.stubs.append(Stub(label, record=False))
            self.a.cmp(byte_ptr(r14), 0).jne(label)

    def emit_function(self) -> None:
        self.pending_checks: list[tuple[str, str]] = []
        self.emit_prologue()
        self.emit_blocks()
        self.emit_epilogue()
        for label, unwind in self.pending_checks:
            self.a.label(label).cmp(edx, DEOPT).je(unwind).jmp(self.epilogue)
        self.emit_cold()
        self.emit_stubs()
        self.emit_constants()
