"""Run a module's init function over LLVM IR at compile time (notebook 09 partial evaluation).

In: a parsed `ModuleText`, the init function's name (`py.<module>`) and `Options`. Out: the
interpreter's final state: global memory, the dirty globals, and the *residual*: the
runtime instructions, in order, that the executable must still run at start-up.

Values are known (ints, aggregates, `Ptr(object, offset)`) or *runtime* (`Rt`: an SSA name
in the residual). Anything computed from a runtime value is re-emitted as a residual
instruction (dirty propagation). Calls to the output runtime and to external functions
are never run here: they become residual calls with constant arguments, and every global
they may touch becomes dirty (from then on loads and stores of it are residual too).

Two designs (TinyGo's history): `rollback=False` is design 1: one memory, no undo, so a
call that meets something it cannot evaluate (a branch on a runtime value, the step budget)
has already changed memory and emitted output: the evaluator gives up on the whole init.
`rollback=True` is design 2: every call runs in a memory view (an undo journal: merging is
keeping it, discarding is replaying it backwards) and a failed call is reverted, its
emitted instructions deleted, and the call itself emitted to run at start-up. In the init
function itself, a branch on a runtime value or the end of the budget ends the evaluation:
the rest of the init is its original code, entered from the residual (see `residual`).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import NamedTuple

from jitkit.llvm.partial_eval.irtext import (
    Block,
    Const,
    Function,
    Instr,
    ModuleText,
    PartialEvalError,
    Ptr,
    bits,
    fields,
    global_bytes,
    layout,
    struct_offsets,
)

OUTPUT_RUNTIME = frozenset({"@jk_write", "@jk_flush"})  # the kit's output runtime


@dataclass
class Options:
    """Limits and the design: `budget` instructions and `time_limit` seconds in all."""

    budget: int = 2_000_000  # about 5 s of this interpreter
    time_limit: float = 30.0
    rollback: bool = True
    max_depth: int = 300  # nested calls evaluated here; deeper calls run at start-up
    max_body: int = 50_000  # lines; a longer function is not read, its calls run at start-up
    runtime_calls: frozenset[str] = OUTPUT_RUNTIME


class Rt(NamedTuple):
    """A value known only at run time: its name in the residual code and its type."""

    name: str
    ty: str


class Write(NamedTuple):
    """A residual call of the output runtime with known bytes (merged when adjacent)."""

    callee: str
    fd: int
    data: bytes


class Failure(Exception):  # noqa: N818 - a recoverable stop, as TinyGo names it
    """This call cannot be evaluated here (recoverable: run it at start-up instead)."""


class GiveUp(Exception):  # noqa: N818
    """The evaluator cannot produce a correct residual: keep the module as it was."""


class Resume(Exception):  # noqa: N818
    """Stop in the init function itself: leave to its original code from `targets`."""

    def __init__(self, reason: str, env: dict, targets: list[tuple[str, str]], term: str):
        super().__init__(reason)
        self.env, self.targets, self.term = env, targets, term


def signed(value: int, width: int) -> int:
    return value - (1 << width) if value >> (width - 1) else value


COMPARE = {
    "eq": lambda a, b, w: a == b,
    "ne": lambda a, b, w: a != b,
    "ugt": lambda a, b, w: a > b,
    "uge": lambda a, b, w: a >= b,
    "ult": lambda a, b, w: a < b,
    "ule": lambda a, b, w: a <= b,
    "sgt": lambda a, b, w: signed(a, w) > signed(b, w),
    "sge": lambda a, b, w: signed(a, w) >= signed(b, w),
    "slt": lambda a, b, w: signed(a, w) < signed(b, w),
    "sle": lambda a, b, w: signed(a, w) <= signed(b, w),
}


def binop(op: str, a: int, b: int, w: int) -> int:
    mask = (1 << w) - 1
    if op == "add":
        return (a + b) & mask
    if op == "sub":
        return (a - b) & mask
    if op == "mul":
        return (a * b) & mask
    if op == "and":
        return a & b
    if op == "or":
        return a | b
    if op == "xor":
        return a ^ b
    if op == "shl":
        return (a << b) & mask if b < w else 0
    if op == "lshr":
        return a >> b if b < w else 0
    if op == "ashr":
        return (signed(a, w) >> min(b, w - 1)) & mask
    if b == 0:
        raise Failure(f"{op} by zero")
    if op == "udiv":
        return a // b
    if op == "urem":
        return a % b
    sa, sb = signed(a, w), signed(b, w)
    q = abs(sa) // abs(sb) * (1 if (sa < 0) == (sb < 0) else -1)
    return (q if op == "sdiv" else sa - q * sb) & mask


def overflow_intrinsic(name: str, a: int, b: int) -> tuple[int, int] | None:
    """`llvm.sadd.with.overflow.i64` and friends: (result, overflowed)."""
    m = re.fullmatch(r"@llvm\.([su])(add|sub|mul)\.with\.overflow\.i(\d+)", name)
    if m is None:
        return None
    kind, op, w = m[1], m[2], int(m[3])
    x, y = (signed(a, w), signed(b, w)) if kind == "s" else (a, b)
    exact = x + y if op == "add" else x - y if op == "sub" else x * y
    lo, hi = (-(1 << (w - 1)), (1 << (w - 1)) - 1) if kind == "s" else (0, (1 << w) - 1)
    return exact & ((1 << w) - 1), int(not lo <= exact <= hi)


def is_runtime(value: object) -> bool:
    if isinstance(value, Rt):
        return True
    return isinstance(value, tuple) and not isinstance(value, Ptr) and any(map(is_runtime, value))


@dataclass
class Frame:
    fn: Function
    env: dict
    allocas: list[str] = field(default_factory=list)
    block: str = ""  # the block running now: the predecessor its branch leaves


class Evaluator:
    """The interpreter: memory, the dirty set, the residual, the budget."""

    def __init__(self, mod: ModuleText, options: Options) -> None:
        self.mod, self.options = mod, options
        self.memory: dict[str, bytearray] = {}
        self.specials: dict[str, dict[int, tuple[int, object]]] = {}
        self.initial: dict[str, bytes] = {}
        for g in mod.globals.values():
            try:
                self.memory[g.name] = global_bytes(g.ty, g.init)
                self.initial[g.name] = bytes(self.memory[g.name])
            except PartialEvalError:
                pass  # a global we cannot read: loads of it fail (the call runs at start-up)
        self.dirty: set[str] = set()
        self.journal: list[tuple] = []
        self.residual: list[str | Write] = []
        self.copies: dict[str, bytes] = {}  # constant copies of objects passed to runtime calls
        self.names = 0
        self.steps = 0
        self.deadline = time.monotonic() + options.time_limit
        self.next_clock = 10_000
        self.exhausted = ""
        self.allocas = 0
        self.alloca_names: dict[str, str] = {}  # object -> the init function's alloca name
        self.touched = touched_globals(mod)
        self.failed_calls: list[str] = []
        self.locals_visible = False  # the init's allocas exist in the residual (resuming)
        self.over_size = False  # a call was left to start-up for the size budget

    # -- the residual --------------------------------------------------------------------

    def fresh(self) -> str:
        self.names += 1
        return f"%pe.{self.names}"

    def emit(self, template: str, ty: str) -> Rt:
        name = self.fresh()
        self.residual.append(f"{name} = {template}")
        return Rt(name, ty)

    def operand(self, value: object, ty: str) -> str:
        """A value as an operand of residual code (aggregates with runtime parts built)."""
        if isinstance(value, Rt):
            return value.name
        if isinstance(value, Ptr):
            return self.pointer(value)
        if isinstance(value, tuple):
            if not is_runtime(value):
                items = [
                    f"{t} {self.operand(v, t)}" for t, v in zip(fields(ty), value, strict=False)
                ]
                return "{ " + ", ".join(items) + " }"
            agg = "undef"
            for i, (t, v) in enumerate(zip(fields(ty), value, strict=False)):
                agg = self.emit(f"insertvalue {ty} {agg}, {t} {self.operand(v, t)}, {i}", ty).name
            return agg
        if value is None:
            return ""
        if ty == "i1":
            return "true" if value else "false"
        return str(signed(value, bits(ty)))

    def pointer(self, p: Ptr) -> str:
        if not p.obj:
            return "null"
        if p.obj in self.alloca_names and self.locals_visible:
            base = self.alloca_names[p.obj]
        elif p.obj.startswith("@"):
            base = p.obj
        else:
            raise Failure("the address of a local object escapes")
        return base if p.off == 0 else f"getelementptr (i8, ptr {base}, i64 {p.off})"

    # -- memory with an undo journal ----------------------------------------------------

    def mark(self) -> tuple[int, int]:
        return len(self.journal), len(self.residual)

    def undo(self, mark: tuple[int, int]) -> None:
        journal_at, residual_at = mark
        while len(self.journal) > journal_at:
            entry = self.journal.pop()
            if entry[0] == "dirty":
                self.dirty.discard(entry[1])
            else:
                _, obj, off, old, old_specials = entry
                if obj in self.memory:
                    self.memory[obj][off : off + len(old)] = old
                    self.specials[obj] = old_specials
        del self.residual[residual_at:]

    def make_dirty(self, name: str) -> None:
        if name in self.dirty or name not in self.memory:
            return
        if self.mod.globals[name].kind == "constant":
            return
        if self.specials.get(name):
            raise GiveUp(f"{name} holds a value no initializer can hold")
        self.dirty.add(name)
        self.journal.append(("dirty", name))

    def load(self, ty: str, p: object) -> object:
        if not isinstance(p, Ptr):
            raise Failure("load through a runtime pointer")
        if p.obj in self.dirty:
            return self.emit(f"load {ty}, ptr {self.pointer(p)}", ty)
        data = self.memory.get(p.obj)
        if data is None:
            raise Failure(f"load from {p.obj or 'null'}, whose contents are unknown")
        size = layout(ty)[0]
        if p.off < 0 or p.off + size > len(data):
            raise Failure("load out of bounds")
        specials = self.specials.get(p.obj)
        if specials:
            if p.off in specials and specials[p.off][0] == size:
                return specials[p.off][1]
            if any(o < p.off + size and p.off < o + s for o, (s, _) in specials.items()):
                raise Failure("load of part of a runtime value")
        if ty == "ptr":
            if any(data[p.off : p.off + 8]):
                raise Failure("load of a pointer from bytes")
            return Ptr("", 0)
        if ty.startswith(("{", "[")):
            raise Failure("aggregate load")
        return int.from_bytes(data[p.off : p.off + size], "little") & ((1 << bits(ty)) - 1)

    def store(self, ty: str, value: object, p: object) -> None:
        if not isinstance(p, Ptr):
            raise Failure("store through a runtime pointer")
        if p.obj.startswith("@") and is_runtime(value):
            self.make_dirty(p.obj)
        if p.obj in self.dirty:
            self.residual.append(f"store {ty} {self.operand(value, ty)}, ptr {self.pointer(p)}")
            return
        data = self.memory.get(p.obj)
        if data is None or (p.obj.startswith("@") and self.mod.globals[p.obj].kind != "global"):
            raise Failure(f"store to {p.obj or 'null'}")
        size = layout(ty)[0]
        if p.off < 0 or p.off + size > len(data):
            raise Failure("store out of bounds")
        specials = self.specials.get(p.obj, {})
        self.journal.append(("mem", p.obj, p.off, bytes(data[p.off : p.off + size]), specials))
        kept = {o: v for o, v in specials.items() if not (o < p.off + size and p.off < o + v[0])}
        if isinstance(value, int):
            data[p.off : p.off + size] = (value & ((1 << (8 * size)) - 1)).to_bytes(size, "little")
        else:
            kept[p.off] = (size, value)
        self.specials[p.obj] = kept

    # -- calls ----------------------------------------------------------------------------

    def call(self, ret: str, callee: str, actuals: list[tuple[str, object]], depth: int):
        fn = self.mod.functions.get(callee)
        if (
            intrinsic := overflow_intrinsic(callee, *(v for _, v in actuals[:2]))
            if (len(actuals) == 2 and all(isinstance(v, int) for _, v in actuals))
            else None
        ):
            return intrinsic
        if fn is None or callee in self.options.runtime_calls:
            return self.runtime_call(ret, callee, actuals)
        if depth >= self.options.max_depth:
            return self.runtime_call(ret, callee, actuals)
        if len(fn.body) > self.options.max_body:  # decoding it would cost more than it saves
            self.over_size = True
            if depth == 0:
                self.failed_calls.append(f"{callee}: {len(fn.body)} lines, over the size budget")
            return self.runtime_call(ret, callee, actuals)
        if not self.options.rollback:
            try:
                return self.run(fn, [v for _, v in actuals], depth + 1)
            except Failure as stop:
                raise GiveUp(f"design 1 cannot undo {callee}: {stop}") from stop
        mark = self.mark()
        try:
            return self.run(fn, [v for _, v in actuals], depth + 1)
        except Failure as stop:
            self.undo(mark)
            if depth == 0:
                self.failed_calls.append(f"{callee}: {stop}")
            return self.runtime_call(ret, callee, actuals)

    def runtime_call(self, ret: str, callee: str, actuals: list[tuple[str, object]]):
        """Emit a call to run at start-up; what it may touch becomes dirty."""
        for g in self.touched.get(callee, ()):
            self.make_dirty(g)
        args = []
        for ty, value in actuals:
            if isinstance(value, Ptr) and value.obj:
                g = self.mod.globals.get(value.obj)
                if g is None:
                    value = self.copy_object(value)
                elif g.kind == "global":
                    self.make_dirty(value.obj)
            args.append((ty, value))
        if write := self.output_write(callee, args):
            self.residual.append(write)
            return None
        text = ", ".join(f"{t} {self.operand(v, t)}" for t, v in args)
        if ret == "void":
            self.residual.append(f"call void {callee}({text})")
            return None
        return self.emit(f"call {ret} {callee}({text})", ret)

    def copy_object(self, p: Ptr) -> Ptr:
        """A constant copy of a local object passed to a runtime call (which only reads it:
        the output runtime's buffers)."""
        if self.specials.get(p.obj):
            raise Failure("a runtime value escapes into a runtime call")
        name = f"@pe.copy.{len(self.copies)}"
        self.copies[name] = bytes(self.memory[p.obj])
        return Ptr(name, p.off)

    def output_write(self, callee: str, args: list[tuple[str, object]]) -> Write | None:
        """`jk_write(ptr, i64 n, i32 fd)` with known bytes: kept as data to merge."""
        if callee != "@jk_write" or [t for t, _ in args] != ["ptr", "i64", "i32"]:
            return None
        (_, p), (_, count), (_, fd) = args
        if not (isinstance(p, Ptr) and isinstance(count, int) and isinstance(fd, int)):
            return None
        source = self.copies.get(p.obj)
        if source is None:
            g = self.mod.globals.get(p.obj)
            if g is None or g.kind != "constant" or p.obj not in self.memory:
                return None
            source = bytes(self.memory[p.obj])
        data = source[p.off : p.off + count]
        return Write(callee, fd, data) if len(data) == count else None

    # -- the interpreter ------------------------------------------------------------------

    def tick(self, count: int) -> None:
        self.steps += count
        if self.exhausted:
            raise Failure(self.exhausted)
        if self.steps > self.options.budget:
            self.exhausted = f"step budget of {self.options.budget} used up"
            raise Failure(self.exhausted)
        if self.steps >= self.next_clock:
            self.next_clock = self.steps + 10_000
            if time.monotonic() > self.deadline:
                self.exhausted = f"time limit of {self.options.time_limit} s reached"
                raise Failure(self.exhausted)

    def run(self, fn: Function, args: list[object], depth: int) -> object:
        """Evaluate one call; `depth` 0 is the init function (it resumes, never fails)."""
        frame = Frame(fn, {name: value for (_, name), value in zip(fn.params, args, strict=False)})
        env = frame.env
        block, pred = fn.blocks[0], ""
        try:
            while True:
                try:
                    self.tick(len(block.instrs))
                except Failure as stop:
                    if depth:
                        raise
                    raise Resume(
                        str(stop), env, [(block.name, pred)], f"br label %{block.name}"
                    ) from None
                frame.block = block.name
                phis = [i for i in block.instrs if i.op == "phi"]
                if phis:
                    values = [self.incoming(i, env, pred) for i in phis]
                    for i, v in zip(phis, values, strict=False):
                        env[i.dest] = v
                for instr in block.instrs[len(phis) :]:
                    step = self.execute(instr, frame, depth)
                    if step is not None:
                        if step[0] == "ret":
                            return step[1]
                        pred, block = block.name, fn.index[step[1]]
                        break
        finally:
            for obj in frame.allocas if depth else ():  # the init's stay (for a resume)
                self.memory.pop(obj, None)
                self.specials.pop(obj, None)

    @staticmethod
    def incoming(instr: Instr, env: dict, pred: str) -> object:
        for label, value in instr.args[1]:
            if label == pred:
                return value.value if isinstance(value, Const) else env[value]
        raise Failure(f"phi without an entry for {pred}")

    def execute(self, instr: Instr, frame: Frame, depth: int):
        """One instruction; returns ("ret", value) or ("br", label) for terminators."""
        env = frame.env
        op, a = instr.op, instr.args

        def val(o):
            return o.value if o.__class__ is Const else env[o]

        if op == "load":
            p = a[1]
            env[instr.dest] = self.load(a[0], p.value if p.__class__ is Const else env[p])
        elif op == "store":
            v, p = a[1], a[2]
            v = v.value if v.__class__ is Const else env[v]
            self.store(a[0], v, p.value if p.__class__ is Const else env[p])
        elif op == "icmp":
            x, y = a[2], a[3]
            x = x.value if x.__class__ is Const else env[x]
            y = y.value if y.__class__ is Const else env[y]
            if x.__class__ is int and y.__class__ is int:
                env[instr.dest] = int(COMPARE[a[0]](x, y, bits(a[1])))
            else:
                self.compare(instr, x, y, env)
        elif op == "cbr":
            cond = a[0]
            cond = cond.value if cond.__class__ is Const else env[cond]
            if cond.__class__ is int:
                return ("br", a[1] if cond else a[2])
            if depth:
                raise Failure("branch on a runtime value")
            term = f"br i1 {cond.name}, label %{a[1]}, label %{a[2]}"
            here = frame.block  # the targets' phis name it (the residual's entry replaces it)
            raise Resume("branch on a runtime value", env, [(a[1], here), (a[2], here)], term)
        elif op == "br":
            return ("br", a[0])
        elif op == "call":
            actuals = [(t, val(o)) for t, o in a[2]]
            result = self.call(a[0], a[1], actuals, depth)
            if instr.dest:
                env[instr.dest] = result
        elif op == "extractvalue":
            agg = val(a[1])
            if isinstance(agg, Rt):
                idx = ", ".join(map(str, a[2]))
                env[instr.dest] = self.emit(f"extractvalue {a[0]} {agg.name}, {idx}", instr.ty)
            else:
                for i in a[2]:
                    agg = agg[i]
                env[instr.dest] = agg
        elif op == "insertvalue":
            agg, elem = val(a[1]), val(a[3])
            if isinstance(agg, Rt):
                tmpl = f"insertvalue {a[0]} {agg.name}, {a[2]} {self.operand(elem, a[2])}"
                env[instr.dest] = self.emit(f"{tmpl}, {a[4][0]}", a[0])
            else:
                env[instr.dest] = insert(agg, a[4], elem)
        elif op == "ret":
            return ("ret", val(a[1]))
        elif op == "alloca":
            self.allocas += 1
            obj = f"alloca.{self.allocas}"
            self.memory[obj] = bytearray(layout(a[0])[0])
            frame.allocas.append(obj)
            if depth == 0:
                self.alloca_names[obj] = "%" + instr.dest
            env[instr.dest] = Ptr(obj, 0)
        elif op in ("zext", "sext", "trunc"):
            x = val(a[1])
            if isinstance(x, Rt):
                tmpl = f"{op} {a[0]} {x.name} to {a[2]}"
                env[instr.dest] = self.emit(tmpl, a[2])
            elif op == "sext":
                env[instr.dest] = signed(x, bits(a[0])) & ((1 << bits(a[2])) - 1)
            else:
                env[instr.dest] = x & ((1 << bits(a[2])) - 1)
        elif op == "select":
            c, x, y = val(a[0]), val(a[2]), val(a[3])
            if isinstance(c, Rt):
                ty = a[1]
                tmpl = f"select i1 {c.name}, {ty} {self.operand(x, ty)}, {ty} {self.operand(y, ty)}"
                env[instr.dest] = self.emit(tmpl, ty)
            else:
                env[instr.dest] = x if c else y
        elif op == "getelementptr":
            env[instr.dest] = self.gep(a[0], val(a[1]), [(t, val(o)) for t, o in a[2]])
        elif op == "switch":
            x = val(a[0])
            if isinstance(x, Rt):
                raise Failure("switch on a runtime value")
            return ("br", next((label for v, label in a[2] if v == x), a[1]))
        elif op.startswith("unsupported") or op == "unreachable":
            raise Failure(f"cannot evaluate {instr.text!r}")
        else:  # a binary operator
            ty, x, y = a[0], val(a[1]), val(a[2])
            if x.__class__ is int and y.__class__ is int:
                env[instr.dest] = binop(op, x, y, bits(ty))
            elif isinstance(x, Rt) or isinstance(y, Rt):
                tmpl = f"{op} {ty} {self.operand(x, ty)}, {self.operand(y, ty)}"
                env[instr.dest] = self.emit(tmpl, ty)
            elif isinstance(x, Ptr) or isinstance(y, Ptr):
                raise Failure("arithmetic on a pointer")
            else:
                env[instr.dest] = binop(op, x, y, bits(ty))
        return None

    def compare(self, instr: Instr, x: object, y: object, env: dict) -> None:
        """icmp with a runtime or pointer operand."""
        pred, ty = instr.args[0], instr.args[1]
        if isinstance(x, Rt) or isinstance(y, Rt):
            tmpl = f"icmp {pred} {ty} {self.operand(x, ty)}, {self.operand(y, ty)}"
            env[instr.dest] = self.emit(tmpl, "i1")
        elif pred in ("eq", "ne"):
            env[instr.dest] = int((x == y) == (pred == "eq"))
        else:
            raise Failure("ordered pointer comparison")

    @staticmethod
    def gep(ty: str, base: object, indices: list[tuple[str, object]]) -> Ptr:
        if not isinstance(base, Ptr) or any(isinstance(v, Rt) for _, v in indices):
            raise Failure("address computed from a runtime value")
        off = 0
        for n, (ity, index) in enumerate(indices):
            index = signed(index, bits(ity))
            if n == 0:
                off += index * layout(ty)[0]
            elif ty.startswith("["):
                ty = ty[1:-1].partition(" x ")[2]
                off += index * layout(ty)[0]
            elif ty.startswith("{"):
                off += struct_offsets(ty)[0][index]
                ty = fields(ty)[index]
            else:
                raise Failure(f"getelementptr into {ty}")
        return Ptr(base.obj, base.off + off)


def insert(agg: tuple, path: tuple[int, ...], elem: object) -> tuple:
    items = list(agg)
    i, *rest = path
    items[i] = insert(items[i], tuple(rest), elem) if rest else elem
    return tuple(items)


def touched_globals(mod: ModuleText) -> dict[str, set[str]]:
    """Each function's globals, its callees' included (what a runtime call may touch)."""
    direct: dict[str, set[str]] = {}
    calls: dict[str, set[str]] = {}
    for name, fn in mod.functions.items():  # from the text: no body is decoded for this
        refs = set(re.findall(r'@(?:"[^"]*"|[-\w$.]+)', "\n".join(fn.body)))
        direct[name] = {r for r in refs if r in mod.globals}
        calls[name] = {r for r in refs if r in mod.functions}
    result = {name: set(globals_) for name, globals_ in direct.items()}
    changed = True
    while changed:
        changed = False
        for name in result:
            for callee in calls[name]:
                if not result[callee] <= result[name]:
                    result[name] |= result[callee]
                    changed = True
    return result


def all_instrs(fn: Function):
    block: Block
    for block in fn.blocks:
        yield from block.instrs
