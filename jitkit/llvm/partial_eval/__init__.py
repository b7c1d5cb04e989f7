"""Partial evaluation of the kit's LLVM IR: run the init code at compile time (notebook 09).

In: the text of a module the kit's LLVM compiler wrote (any module LLVM parses whose init
function, `py.<module>` by default, takes no arguments). Out: a `PartialEvalResult`: the
new module text, verified by LLVM, in which the init function is the *residual*: only what
must happen at start-up (the output runtime's calls with constant bytes, calls that could
not be evaluated, and, if the evaluation stopped, the rest of the original code), while
globals it computed hold their values as initializers, and globals no code stores to any
more become `constant`. This is TinyGo's `interp` pass applied to the kit's compiler:
`evaluator` is the interpreter (both designs), `irtext` reads the IR, this module writes the
residual module.

`python -m jitkit build` runs it on the IR before optimization (`--no-partial-eval` skips).
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field

from llvmlite import binding as llvm

from jitkit.llvm.partial_eval.evaluator import (
    Evaluator,
    Failure,
    GiveUp,
    Options,
    Resume,
    Rt,
    Write,
    all_instrs,
)
from jitkit.llvm.partial_eval.irtext import (
    LOCAL,
    Function,
    ModuleText,
    PartialEvalError,
    Ptr,
    parse_module,
    strip_name,
)

__all__ = ["Options", "PartialEvalError", "PartialEvalResult", "partial_evaluate"]

INIT = '@"py.<module>"'


@dataclass
class PartialEvalResult:
    """The module after partial evaluation and what happened to the init function."""

    text: str
    changed: bool
    stopped: str = ""  # why evaluation stopped early ("" when it ran to the end)
    steps: int = 0
    init_before: int = 0  # instructions in the init function, before and after
    init_after: int = 0
    globals_initialized: list[str] = field(default_factory=list)
    globals_constant: list[str] = field(default_factory=list)
    runtime_calls: list[str] = field(default_factory=list)  # calls reverted to run at start-up


def partial_evaluate(
    text: str, init: str = INIT, options: Options | None = None
) -> PartialEvalResult:
    """Evaluate `init` (an LLVM function name with its `@`) in module `text`."""
    options = options or Options()
    given, text = (
        text,
        str(llvm.parse_assembly(text)),
    )  # LLVM's printer: the one format irtext reads
    try:
        mod = parse_module(text)
    except PartialEvalError as error:
        return PartialEvalResult(text, False, stopped=f"gave up: {error}")
    fn = mod.functions.get(init)
    if fn is not None and len(fn.body) > options.max_body:
        return PartialEvalResult(
            text, False, stopped=f"gave up: {init} has {len(fn.body)} lines, over the size budget"
        )
    before = sum(1 for _ in all_instrs(fn)) if fn else 0
    unchanged = PartialEvalResult(text, False, init_before=before, init_after=before)
    if fn is None or fn.params:
        unchanged.stopped = f"no init function {init} without parameters"
        return unchanged
    ev = Evaluator(mod, options)
    resume = None
    limit = sys.getrecursionlimit()  # about 3 Python frames per evaluated call
    sys.setrecursionlimit(max(limit, 4 * options.max_depth + 1000))
    try:
        try:
            value = ev.run(fn, [], 0)
        except Resume as stop:
            resume, value = stop, None
        if resume and ev.over_size and not kept_anything(mod, ev):
            # A huge program (TinyGo's -interp-timeout case): writing and verifying a new
            # module would cost more than the few instructions it would save at start-up.
            unchanged.stopped = f"gave up: nothing to keep ({resume}; {ev.failed_calls[-1]})"
            unchanged.text, unchanged.steps = given, ev.steps  # the caller's text: no reprint
            return unchanged
        body = residual_function(mod, fn, ev, value, resume)
        new_text = rewrite_module(mod, fn, ev, body)
        ref = llvm.parse_assembly(new_text)
        ref.verify()
    except (GiveUp, Failure, PartialEvalError, RecursionError) as stop:
        unchanged.stopped = f"gave up: {stop}"
        unchanged.steps = ev.steps
        return unchanged
    except Exception as error:  # noqa: BLE001 - a bug here must not break the build
        unchanged.stopped = (
            f"internal error, module left as it was: {type(error).__name__}: {error}"
        )
        return unchanged
    finally:
        sys.setrecursionlimit(limit)
    out = str(ref)
    new_mod = parse_module(out)
    new_fn = new_mod.functions[init]
    result = PartialEvalResult(
        out,
        True,
        stopped=f"{resume}{f' ({ev.exhausted})' if ev.exhausted else ''}" if resume else "",
        steps=ev.steps,
        init_before=before,
        init_after=sum(1 for _ in all_instrs(new_fn)),
        runtime_calls=ev.failed_calls,
    )
    result.globals_initialized = [
        g for g in mod.globals if g in ev.memory and bytes(ev.memory[g]) != ev.initial.get(g)
    ]
    result.globals_constant = [
        name
        for name, g in new_mod.globals.items()
        if name in mod.globals and g.kind == "constant" and mod.globals[name].kind == "global"
    ]
    return result


def kept_anything(mod: ModuleText, ev: Evaluator) -> bool:
    """Whether the evaluation computed output or a global's value (what a residual keeps)."""
    if any(isinstance(item, Write) for item in ev.residual):
        return True
    return any(g in ev.memory and bytes(ev.memory[g]) != ev.initial.get(g) for g in mod.globals)


def residual_function(
    mod: ModuleText, fn: Function, ev: Evaluator, value: object, resume: Resume | None
) -> list[str]:
    """The new init function's lines: the residual block, then the original code's tail."""
    tail_lines: list[str] = []
    if resume is None:
        term = f"ret {fn.ret} {ev.operand(value, fn.ret)}" if fn.ret != "void" else "ret void"
        ends = [term]
    else:
        ev.locals_visible = True
        ends, tail_lines = resume_into_tail(fn, ev, resume)
    allocas = [i.text for i in fn.blocks[0].instrs if i.op == "alloca"] if resume else []
    lines = [fn.header, "entry:"] + ["  " + a for a in allocas]
    out_count = 0
    pending: list[Write] = []

    def flush_writes() -> None:
        nonlocal out_count
        if pending:
            data = b"".join(w.data for w in pending)
            name = f"@pe.out.{out_count}"
            out_count += 1
            ev.copies[name] = data
            lines.append(f"  call void {pending[0].callee}(ptr {name}, i64 {len(data)}, "
                         f"i32 {pending[0].fd})")  # fmt: skip
            pending.clear()

    for item in ev.residual:
        if isinstance(item, Write):
            if pending and (pending[0].callee, pending[0].fd) != (item.callee, item.fd):
                flush_writes()
            pending.append(item)
        else:
            flush_writes()
            lines.append("  " + item)
    flush_writes()
    lines += ["  " + e for e in ends]
    return lines + tail_lines + ["}"]


def resume_into_tail(fn: Function, ev: Evaluator, stop: Resume) -> tuple[list[str], list[str]]:
    """Leave the residual block for the original code: the allocas get their current
    contents, values computed before are substituted, phis get an entry from `entry`."""
    succ = {b.name: successors(b) for b in fn.blocks}
    tail: list[str] = []
    todo = [label for label, _ in stop.targets]
    while todo:
        label = todo.pop()
        if label not in tail:
            tail.append(label)
            todo.extend(succ[label])
    if fn.blocks[0].name in tail:
        raise GiveUp("the rest of the init re-enters its entry block")
    in_tail = set(tail)
    defined_in_tail = {i.dest for b in tail for i in fn.index[b].instrs if i.dest}
    types = {i.dest: i.ty for i in all_instrs(fn) if i.dest}
    env = stop.env
    ends: list[str] = []
    for instr in fn.blocks[0].instrs:  # the allocas' contents at the stop
        if instr.op != "alloca":
            continue
        p = env[instr.dest]
        ty = instr.args[0]
        if ty.startswith(("{", "[")):
            raise GiveUp("an aggregate local at the stop")
        value = ev.load(ty, p)
        ends.append(f"store {ty} {ev.operand(value, ty)}, ptr %{instr.dest}")
    if any(i.op == "alloca" for b in tail for i in fn.index[b].instrs):
        raise GiveUp("an alloca in the rest of the init")

    def substitute(m: re.Match) -> str:
        name = strip_name(m[0])
        if name in defined_in_tail or name not in types:
            return m[0]
        if name not in env:
            raise GiveUp(f"%{name} has no value at the stop")
        return ev.operand(env[name], types[name])

    edge_values = {}
    for label, pred in stop.targets:
        for instr in fn.index[label].instrs:
            if instr.op == "phi":
                edge_values[(label, instr.dest)] = ev.incoming(instr, env, pred)
    # A value defined in the tail and used in another tail block may have lost its
    # dominance (the residual enters the loop half way): it goes through a stack slot
    # holding its value from before the stop (mem2reg turns the slot back into SSA).
    def_block = {i.dest: b for b in tail for i in fn.index[b].instrs if i.dest}
    cross: dict[str, str] = {}
    for b in tail:
        for instr in fn.index[b].instrs:
            if instr.op == "phi":
                used = [
                    (inc, v) for inc, v in instr.args[1] if isinstance(v, str) and inc in in_tail
                ]
            else:
                used = [(b, strip_name(t)) for t in LOCAL.findall(instr.text)]
            for at, name in used:
                if name in def_block and def_block[name] != at and name not in cross:
                    cross[name] = f"%pe.slot.{len(cross)}"
    for name, slot in cross.items():
        if not types.get(name):  # an instruction whose result type irtext does not read
            raise GiveUp(f"%{name} crosses blocks and its type is not known")
        ends.insert(0, f"{slot} = alloca {types[name]}")
        if name in env:
            ends.append(f"store {types[name]} {ev.operand(env[name], types[name])}, ptr {slot}")
    loads = 0
    before_exit: dict[str, list[str]] = {b: [] for b in tail}

    def reload(name: str, into: list[str]) -> str:
        nonlocal loads
        loads += 1
        into.append(f"  %pe.load.{loads} = load {types[name]}, ptr {cross[name]}")
        return f"%pe.load.{loads}"

    phi_lines: dict[str, list[str]] = {b: [] for b in tail}
    for label in tail:
        for instr in fn.index[label].instrs:
            if instr.op != "phi":
                continue
            ty = instr.args[0]
            pairs = []
            for b, v in instr.args[1]:
                if b not in in_tail:
                    continue
                if isinstance(v, str) and v in cross and def_block[v] != b:
                    pairs.append(f"[ {reload(v, before_exit[b])}, %{b} ]")
                else:
                    pairs.append(f"[ {LOCAL.sub(substitute, text_of(v, ty, ev))}, %{b} ]")
            if (label, instr.dest) in edge_values:
                v = edge_values[(label, instr.dest)]
                pairs.append(f"[ {ev.operand(v, ty)}, %entry ]")
            phi_lines[label].append(f"  %{instr.dest} = phi {ty} " + ", ".join(pairs))
    lines = []
    for label in [b.name for b in fn.blocks if b.name in in_tail]:
        lines.append(f"{label}:")
        lines += phi_lines[label]
        instrs = fn.index[label].instrs
        for instr in instrs:
            if instr.op == "phi" and instr.dest in cross:
                lines.append(f"  store {instr.ty} %{instr.dest}, ptr {cross[instr.dest]}")
        for n, instr in enumerate(instrs):
            if instr.op == "phi":
                continue
            if n == len(instrs) - 1:
                lines += before_exit[label]
            local: dict[str, str] = {}
            for t in LOCAL.findall(instr.text):
                name = strip_name(t)
                if name in cross and def_block[name] != label and name not in local:
                    local[name] = reload(name, lines)

            def rename(m: re.Match, local: dict[str, str] = local) -> str:
                name = strip_name(m[0])
                return local[name] if name in local else substitute(m)

            lines.append("  " + LOCAL.sub(rename, instr.text))
            if instr.dest in cross:
                lines.append(f"  store {instr.ty} %{instr.dest}, ptr {cross[instr.dest]}")
    ends.append(stop.term)
    return ends, lines


def text_of(v: object, ty: str, ev: Evaluator) -> str:
    """A phi operand as text: a local keeps its name, a constant is printed."""
    if isinstance(v, str):
        return "%" + v if re.fullmatch(r"[-\w$.]+", v) else f'%"{v}"'
    return ev.operand(v.value, ty)  # type: ignore[attr-defined]


def successors(block) -> list[str]:
    term = block.instrs[-1]
    if term.op == "br":
        return [term.args[0]]
    if term.op == "cbr":
        return [term.args[1], term.args[2]]
    if term.op == "switch":
        return [term.args[1]] + [label for _, label in term.args[2]]
    return []


def rewrite_module(mod: ModuleText, fn: Function, ev: Evaluator, body: list[str]) -> str:
    """The original lines with new initializers, the residual init and its constants."""
    lines = list(mod.lines)
    for name, g in mod.globals.items():
        data = ev.memory.get(name)
        if data is None or bytes(data) == ev.initial.get(name):
            continue
        if ev.specials.get(name):
            raise GiveUp(f"{name} holds a value no initializer can hold")
        index = lines.index(g.line)
        lines[index] = f"{name} = {g.head} {g.ty} {initializer(g.ty, data)}{g.tail}"
    start, end = mod.fn_spans[fn.name]
    lines[start : end + 1] = body
    used = set(re.findall(r"@pe\.(?:out|copy)\.\d+", "\n".join(body)))
    extra = [
        f"{name} = private unnamed_addr constant [{len(data)} x i8] {byte_string(data)}"
        for name, data in ev.copies.items()
        if name in used
    ]
    first_define = next(i for i, line in enumerate(lines) if line.startswith(("define", "declare")))
    lines[first_define:first_define] = extra + [""]
    return mark_constants("\n".join(lines), mod)


def initializer(ty: str, data: bytes) -> str:
    if not any(data):
        return "zeroinitializer"
    if re.fullmatch(r"i\d+", ty):
        value = int.from_bytes(data, "little")
        width = int(ty[1:])
        return str(value - (1 << width) if value >> (width - 1) else value)
    if re.fullmatch(r"\[\d+ x i8\]", ty):
        return byte_string(data)
    raise GiveUp(f"cannot write an initializer of type {ty}")


def byte_string(data: bytes) -> str:
    return 'c"' + "".join(chr(b) if 32 <= b < 127 and b not in (34, 92) else f"\\{b:02X}"
                          for b in data) + '"'  # fmt: skip


GLOBAL_REF = re.compile(r'@(?:"[^"]*"|[-\w$.]+)')
LOAD_OF = re.compile(r'\s*%\S+ = load [^,]+, ptr (@(?:"[^"]*"|[-\w$.]+))(, align \d+)?$')


def mark_constants(text: str, mod: ModuleText) -> str:
    """Globals that no code stores to or passes on (only loaded) become `constant`
    (one pass over the code lines: a module may have 100,000s of them)."""
    lines = text.splitlines()
    candidates = {name for name, g in mod.globals.items() if g.kind == "global"}
    for line in lines:
        if not candidates:
            break
        if "@" not in line or not line.startswith((" ", "\t")):
            continue
        load = LOAD_OF.match(line)
        for name in GLOBAL_REF.findall(line):
            if name in candidates and not (load and load[1] == name):
                candidates.discard(name)
    for i, line in enumerate(lines):
        name = line.partition(" = ")[0]
        if name in candidates and line.startswith(name + " = "):
            lines[i] = re.sub(r"\bglobal\b", "constant", line, count=1)
            candidates.discard(name)
    return "\n".join(lines) + "\n"


__all__ += ["Ptr", "Rt"]
