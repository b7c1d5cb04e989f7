"""The stack tier's compiler: verified kit bytecode -> one block of x86-64 (notebook 05).

Takes a module's code objects; gives a `CompiledModule`: machine code for every function the
tier can compile (the others, and the reason, in `skipped`), label offsets, and the tables the
runtime needs to turn a deopt record back into interpreter frames.

Frame of a compiled function: `push rbp; mov rbp, rsp; sub rsp, 8*W`, local i at
[rbp - 8(i+1)], stack slot j at [rbp - 8(L+j+1)]. Internal calls pass rdi = address of the
first argument (the next ones sit 8 bytes lower each), return rax = value, edx = status
(0, or DEOPT: the callee's frames were written to the deopt buffer). r15 points at the
runtime context and r14 at the interrupt flag for the whole run.
"""

from __future__ import annotations

from jitkit.bytecode.code import Code
from jitkit.bytecode.opcodes import OPCODES, Op
from jitkit.jitrt.entry import emit_python_entry
from jitkit.jitrt.layout import (
    CTX_CALLS,
    CTX_DEOPT_PTR,
    CTX_DEPTH,
    CTX_MAX_DEPTH,
    CTX_STACK_LIMIT,
    DEOPT,
    RECORD_WORD,
    SMALL_FRAME,
    frame_word,
    record_words,
)
from jitkit.jitrt.module import CompiledModule, PrintSite, function_infos
from jitkit.jitrt.types import (
    ALWAYS,
    BOOL,
    ELEMENT_KINDS,
    FLOAT,
    INT,
    LIST_OPCODES,
    NONE,
    UNDEF,
    FunctionTypes,
    NotCompilable,
    analyse_module,
    describe,
    element_kind,
    exact,
    is_list,
)
from jitkit.stackjit.cache import LEAF_REGISTERS, SAVED_REGISTERS, OperandCache, register_plan
from jitkit.stackjit.fast import CACHED, FUSED
from jitkit.stackjit.floats import (
    FLOAT_CACHED,
    FLOAT_FUSED,
    FLOAT_TEMPLATES,
    float_guarded,
    float_site,
)
from jitkit.stackjit.lists import CALLS_RUNTIME, LIST_CACHED, emit_repeat
from jitkit.stackjit.templates import GUARDED, TEMPLATES, Site
from jitkit.x86 import (
    Assembler,
    eax,
    ecx,
    edx,
    esi,
    qword,
    r11,
    r13,
    r15,
    rax,
    rbp,
    rdi,
    rdx,
    rsi,
    rsp,
)

FLOATS = True  # the stack tier compiles float values (its SSE2 templates exist)
LISTS = True  # the stack tier compiles lists of ints, bools and floats (#17)
# Opcodes that compute on their operands as numbers: they only take ints, bools and (with
# the `floats` switch) floats; a set of types that mixes floats with others is refused.
NUMERIC = set(ALWAYS) | {
    Op.BINARY_MIN,
    Op.BINARY_MAX,
    Op.JUMP_IF_FALSE,
    Op.JUMP_IF_TRUE,
    Op.RANGE_CHECK,
}
# what each of those pops (fixed counts: none of them depends on its operand)
NUMERIC_POPS = {op: OPCODES[op].pops for op in NUMERIC}
assert all(type(pops) is int for pops in NUMERIC_POPS.values()), NUMERIC_POPS
# Opcodes the per-instruction loops test, as plain globals: `Op.X` looks the member up
# through the Enum class each time (~0.2 µs), once per instruction per test.
BINARY_MAX, BINARY_MIN, CALL = Op.BINARY_MAX, Op.BINARY_MIN, Op.CALL
JUMP_BACKWARD, JUMP_IF_FALSE, JUMP_IF_TRUE = Op.JUMP_BACKWARD, Op.JUMP_IF_FALSE, Op.JUMP_IF_TRUE
LOAD_CONST, LOAD_GLOBAL, LOAD_LOCAL = Op.LOAD_CONST, Op.LOAD_GLOBAL, Op.LOAD_LOCAL
PRINT, STORE_GLOBAL = Op.PRINT, Op.STORE_GLOBAL
BINARY_MUL, BINARY_SUBSCR, BUILD_LIST = Op.BINARY_MUL, Op.BINARY_SUBSCR, Op.BUILD_LIST
LIST_APPEND, STORE_SUBSCR = Op.LIST_APPEND, Op.STORE_SUBSCR
FLOAT_OPCODES = {Op.BINARY_TRUEDIV, Op.UNARY_FLOAT, Op.UNARY_INT}  # results or takes floats
INT_ONLY = {Op.RANGE_CHECK, Op.RANGE_TEST}  # float operands: the VM runs them


def compile_module(
    codes: dict[str, Code], templates: dict | None = None, floats: bool | None = None
) -> CompiledModule:
    """Compile every function that the tier can; leave the rest to the interpreter.
    `templates` replaces some opcodes' templates (an exercise writes its own); `floats`
    (default `FLOATS`) compiles functions with float values."""
    templates = {**TEMPLATES, **(templates or {})}
    floats = FLOATS if floats is None else floats
    analysis = analyse_module(codes, float_params=floats)
    skipped = skipped_functions(analysis, floats, LISTS)
    a = Assembler()
    prints: list[PrintSite] = []
    compiled = [name for name in codes if name not in skipped]
    functions = function_infos(codes, analysis, compiled)
    pending: dict[tuple[int, int], dict] = {}
    for name in compiled:
        info = functions[name]
        emit_function(a, name, info.index, info.types, analysis, prints, templates, True, pending)
    for name in compiled:
        emit_python_entry(a, name, True, returns_list=is_list(functions[name].returns))
    record = max((record_words(codes[n]) for n in compiled), default=0)
    return CompiledModule(a.assemble(), functions, skipped, prints, record, pending)


# --- what the tier accepts ------------------------------------------------------------------


def check(
    types: FunctionTypes,
    analysis: dict[str, FunctionTypes],
    skipped: dict,
    floats: bool = False,
    lists: bool = False,
) -> None:
    """Raise NotCompilable unless every value that becomes visible has one known type.
    `floats`: accept float values, `lists`: lists of ints, bools or floats (a tier that has
    their templates says so)."""
    code = types.code
    visible = (INT, BOOL, NONE, FLOAT) if floats else (INT, BOOL, NONE)
    for k, t in enumerate(types.states[0].locals[: code.argcount]):
        if any(map(is_list, t)):
            name = code.varnames[k]
            if not lists:
                raise NotCompilable(f"{code.name}(): the list {name!r} stays interpreted")
            list_type(t, f"{code.name}(): the parameter {name!r}", floats)
    seen: set[tuple[int, int]] = set()  # (locals, stack kinds) already found exact, by id
    for pc, state in enumerate(types.states):
        if state is None:
            continue
        op, arg = code.ops[pc], code.args[pc]
        where = Where(code, pc)
        if op in (LOAD_GLOBAL, STORE_GLOBAL):
            name = code.globals[arg]
            raise NotCompilable(f"{where}: module-level name {name!r} stays interpreted")
        if op in LIST_OPCODES:
            if not lists:
                raise NotCompilable(f"{where}: {Op(op).name} of a list stays interpreted")
            check_list_op(op, arg, state, where, floats)
        if (
            op not in TEMPLATES
            and op not in FLOAT_OPCODES
            or not floats
            and (op in FLOAT_OPCODES or op == LOAD_CONST and type(code.consts[arg]) is float)
        ):
            raise NotCompilable(f"{where}: {Op(op).name} of a float or list stays interpreted")
        if op == LOAD_CONST and type(code.consts[arg]) is int:
            if not -(2**63) <= code.consts[arg] < 2**63:
                raise NotCompilable(f"{where}: the constant {code.consts[arg]} needs > 64 bits")
        if op == LOAD_LOCAL and UNDEF in state.locals[arg]:
            raise NotCompilable(f"{where}: {code.varnames[arg]!r} may be read before assignment")
        if op == PRINT:
            for t in state.stack[len(state.stack) - arg - 2 :]:
                exact_at(t, where, "a printed value")
        if op == CALL:
            callee = exact_at(state.stack[-arg - 1], where, "the callee")
            if callee[1] in skipped or callee[1] not in analysis:
                raise NotCompilable(f"{where}: calls {callee[1]}(), which stays interpreted")
            if analysis[callee[1]].code.argcount != arg:
                raise NotCompilable(f"{where}: {callee[1]}() called with {arg} arguments")
            callee_params = analysis[callee[1]].states[0].locals[:arg]
            for t, param in zip(state.stack[len(state.stack) - arg :], callee_params, strict=True):
                kind = exact_at(t, where, "an argument")
                if lists and is_list(kind) and t == param:
                    continue
                if kind != INT and (not floats or t != param):
                    raise NotCompilable(f"{where}: passes a {set(t)} where ints are compiled")
        kinds = operand_kinds(op, arg, state)
        if op in GUARDED or pc == 0 or float_guarded(op, kinds):
            # states share their locals list and stack kinds while no store or new type
            # comes between them: each distinct pair is checked once
            key = (id(state.locals), id(state.stack.kinds))
            if key not in seen:
                for t in {*state.locals, *state.stack.kinds}:  # distinct sets: few, however deep
                    if UNDEF not in t:
                        exact_at(t, where, "a value the interpreter may need")
                seen.add(key)
        if op == BINARY_MUL and lists and list_times_int(state):
            if pc in code.inplace:  # `xs *= n` repeats the list in place: aliases see it
                raise NotCompilable(f"{where}: `*=` on a list (in place) stays interpreted")
            continue
        if op in NUMERIC:
            pops = NUMERIC_POPS[op]
            for t in state.stack[len(state.stack) - pops :]:
                if t - {INT, BOOL, FLOAT} or FLOAT in t and (t != {FLOAT} or not floats):
                    raise NotCompilable(f"{where}: {Op(op).name} of {set(t)}")
                if FLOAT in t and op in INT_ONLY:
                    raise NotCompilable(f"{where}: {Op(op).name} of a float stays interpreted")
            if op in (BINARY_MIN, BINARY_MAX) and len(set(kinds)) > 1:
                raise NotCompilable(f"{where}: {Op(op).name} of an int and a float")
    if types.returns:  # after the instructions: they say best where a strange value came from
        returned = exact(types.returns, f"the return value of {code.name}()")
        if is_list(returned):
            if not lists:
                raise NotCompilable(f"{code.name}() returns a list, which stays interpreted")
            list_type(types.returns, f"the return value of {code.name}()", floats)
        elif returned not in visible:
            raise NotCompilable(f"{code.name}() returns {set(types.returns)}")


def list_type(types: frozenset, what: str, floats: bool) -> tuple:
    """The one list type of a value the tier compiles, or NotCompilable saying why not."""
    t = exact(types, what)
    if not is_list(t):
        raise NotCompilable(f"{what} is {describe(t)}, not a list made by compiled code")
    if t[1] not in ELEMENT_KINDS or t[1] == FLOAT and not floats:
        raise NotCompilable(f"{what} is {describe(t)}: compiled lists hold ints, bools or floats")
    return t


def check_list_op(op: Op, arg: int, state, where: Where, floats: bool) -> None:
    """A list opcode compiles when its list has one kind the tier stores natively and what
    goes in is of that kind (another kind would change the list's: the VM runs that)."""
    stack = state.stack
    if op == BUILD_LIST:
        if arg:
            items = frozenset().union(*(stack.peek(k) for k in range(1, arg + 1)))
            list_type(
                frozenset({("list", element_kind(items))}), f"{where}: a list made here", floats
            )
        return
    depth = {BINARY_SUBSCR: 2, STORE_SUBSCR: 2, LIST_APPEND: 2}.get(op, 1)
    xs = list_type(stack.peek(depth), f"{where}: the operand of {Op(op).name}", floats)
    if op in (BINARY_SUBSCR, STORE_SUBSCR):
        index = exact_at(stack.top, where, "an index")
        if index not in (INT, BOOL):
            raise NotCompilable(f"{where}: a list index that is {describe(index)}")
    value = {STORE_SUBSCR: 3, LIST_APPEND: 1}.get(op)
    if value is not None:
        t = exact_at(stack.peek(value), where, "a value put in a list")
        if t != xs[1]:
            raise NotCompilable(
                f"{where}: puts {describe(t)} into {describe(xs)}; a compiled list keeps one kind"
            )


def list_times_int(state) -> bool:
    """Whether a BINARY_MUL is a list times an int (`[v] * n` or `n * [v]`)."""
    a, b = state.stack.peek(2), state.stack.peek(1)
    if any(map(is_list, b)):
        a, b = b, a
    return len(a) == 1 and is_list(next(iter(a))) and b <= {INT, BOOL} and len(b) == 1


class Where:
    """ "function, line N" for a message, made only when a message is (`check` visits every
    instruction and almost always accepts it)."""

    __slots__ = ("code", "pc")

    def __init__(self, code: Code, pc: int) -> None:
        self.code, self.pc = code, pc

    def __str__(self) -> str:
        return f"{self.code.name}, line {self.code.lines[self.pc]}"


def exact_at(types: frozenset, where: Where, what: str) -> object:
    """`exact`, with the message formatted only when the value has no one type."""
    if len(types) == 1:
        return next(iter(types))
    return exact(types, f"{where}: {what}")


def operand_kinds(op: Op, arg: int, state) -> tuple:
    """The number kind of each operand an instruction pops, deepest first ("float" for a
    float, else "int"): what its float template needs to know."""
    pops = NUMERIC_POPS.get(op)
    if not pops:
        return ()
    kinds, node = [], state.stack
    for _ in range(pops):  # the top `pops` sets, from the top down
        kinds.append(FLOAT if FLOAT in node.top else INT)
        node = node.below
    return tuple(reversed(kinds))


# --- emitting -----------------------------------------------------------------------------------


def list_elements(types: FunctionTypes) -> dict[int, str]:
    """The element kind of the list each list instruction works on (a list times an int
    included), by pc: what its template needs (`check` made sure there is one)."""
    code, out = types.code, {}
    for pc, state in enumerate(types.states):
        op = code.ops[pc]
        if state is None or op not in LIST_OPCODES and op != BINARY_MUL:
            continue
        if op == BUILD_LIST:
            after = types.states[pc + 1].stack.top
        elif op == BINARY_MUL:
            after = {t for t in (*state.stack.peek(1), *state.stack.peek(2)) if is_list(t)}
            if not after:
                continue  # numbers
        else:
            depth = {BINARY_SUBSCR: 2, STORE_SUBSCR: 2, LIST_APPEND: 2}.get(op, 1)
            after = state.stack.peek(depth)
        out[pc] = exact(frozenset(after), "a list")[1]
    return out


def skipped_functions(
    analysis: dict[str, FunctionTypes], floats: bool = False, lists: bool = False
) -> dict[str, str]:
    """The functions the tier leaves to the VM, with the reason; a function calling one of
    them is left there too (the SSA tier asks the same question, through here)."""
    skipped: dict[str, str] = {}
    while True:
        before = len(skipped)
        for name, types in analysis.items():
            if name not in skipped:
                try:
                    check(types, analysis, skipped, floats, lists)
                except NotCompilable as why:
                    skipped[name] = str(why)
        if len(skipped) == before:
            return skipped


def emit_function(
    a: Assembler,
    name: str,
    index: int,
    types: FunctionTypes,
    analysis: dict[str, FunctionTypes],
    prints: list[PrintSite],
    templates: dict,
    depth_register: bool = False,
    pending: dict | None = None,
) -> None:
    """One function: prologue, the kit's cached templates (`cache.CACHED`) or the given
    template per instruction, epilogue, deopt stubs. With `depth_register` r13 counts the
    frames (the recursion limit) instead of ctx->depth. Given `pending`, a guard's stub
    writes only a value held in a register and leaves constants and copies of locals to
    the runtime (`CompiledModule.pending`): two instructions where it wrote them all."""
    code = types.code
    nlocals = len(code.varnames)
    words = nlocals + code.stacksize
    targets = {arg for op, arg in zip(code.ops, code.args, strict=True) if OPCODES[op].jump}
    replaced = any(templates[op] is not TEMPLATES[op] for op in set(code.ops))
    elements = list_elements(types)  # pc -> element kind, for each list instruction
    repeats = {pc for pc in elements if code.ops[pc] == BINARY_MUL}
    registers, counter = register_plan(code, replaced)
    # a template calling the runtime keeps the caller-saved registers holding locals
    keep = tuple(r for r in (*registers.values(), counter) if r in LEAF_REGISTERS)
    saved = [r for r in (*registers.values(), counter) if r in SAVED_REGISTERS]
    total = words + len(saved)  # frame words: locals, stack slots, saved registers
    # 1. prologue: frame, arguments into locals, recursion depth and native stack checks
    a.label(f"{name}.entry").push(rbp).mov(rbp, rsp).sub(rsp, 8 * (total + total % 2))
    for k, reg in enumerate(saved):
        a.mov(qword(rbp, -8 * (words + 1 + k)), reg)
    a.mov(rax, qword(r15, CTX_CALLS)).add(qword(rax, 8 * index), 1)  # hotness: entries, trips
    # arguments come through rdi, which may hold a local too: the local that lives in rdi last
    for k in sorted(range(code.argcount), key=lambda k: registers.get(k) is rdi):
        if k in registers:
            a.mov(registers[k], qword(rdi, -8 * k))
        else:
            a.mov(rax, qword(rdi, -8 * k)).mov(qword(rbp, -8 * (k + 1)), rax)
    if counter is not None:
        a.xor(counter, counter)
    if depth_register:
        a.add(r13, 1).cmp(r13, qword(r15, CTX_MAX_DEPTH)).ja(f"{name}.deopt.0")
    else:
        a.add(qword(r15, CTX_DEPTH), 1).mov(rax, qword(r15, CTX_DEPTH))
        a.cmp(rax, qword(r15, CTX_MAX_DEPTH)).ja(f"{name}.deopt.0")
    if 8 * (total + 3) > SMALL_FRAME:  # the depth cap bounds the stack small frames take
        a.cmp(rsp, qword(r15, CTX_STACK_LIMIT)).jb(f"{name}.deopt.0")
    # 2. one template per reachable instruction, through the operand cache
    cache = OperandCache(a, nlocals, registers)
    guarded = {0: 0}
    unwinds = {}
    fused = False  # the previous instruction was a compare that did this jump's work too
    for pc, (op, arg) in enumerate(zip(code.ops, code.args, strict=True)):
        if pc in targets:
            cache.flush()
        a.label(f"{name}.pc{pc}")
        state = types.states[pc]
        if state is None or fused:
            fused = False
            continue
        depth = cache.depth = len(state.stack)  # the verifier's depth: the analysis mirrors it
        site = Site(a, name, pc, op, arg, depth, nlocals, code.consts)
        if pc and code.ops[pc - 1] == LOAD_CONST and pc not in targets:
            value = code.consts[code.args[pc - 1]]
            site.constant = value if type(value) is int else None
        if op == CALL:
            site.callee = exact(state.stack[-arg - 1], "callee")[1]
            unwinds[pc] = depth - arg - 1
        if op == PRINT:
            site.print_site = len(prints)
            prints.append(PrintSite(name, pc, [exact(t, "print") for t in state.stack[-arg - 2 :]]))
        kit = templates[op] is TEMPLATES[op]
        after = pc + 1 if pc + 1 < len(code.ops) else None
        if pc in elements:  # a list instruction: through the cache, or on the flushed frame
            site.element = elements[pc]
            if pc in repeats or op in CALLS_RUNTIME:
                site.keep = keep
            if kit and not replaced and op in LIST_CACHED:
                LIST_CACHED[op](cache, site)
            else:
                cache.flush()
                if pc in repeats:
                    emit_repeat(site, list_first=any(map(is_list, state.stack.peek(2))))
                else:
                    templates[op](site)
            if op in GUARDED:
                guarded[pc] = depth
            continue
        site.kinds = operand_kinds(op, arg, state)
        if float_site(op, site.kinds, code.consts, arg):  # the kit's SSE2 templates
            if replaced:  # replaced templates read every value in its slot: so do these
                cache.flush()
                FLOAT_TEMPLATES[op](site)
            elif (
                op in FLOAT_FUSED
                and after is not None
                and after not in targets
                and code.ops[after] in (JUMP_IF_FALSE, JUMP_IF_TRUE)
            ):
                FLOAT_FUSED[op](cache, site, code.ops[after], code.args[after])
                fused = True
            else:
                FLOAT_CACHED[op](cache, site)
            if op in GUARDED or float_guarded(op, site.kinds):
                guarded[pc] = depth
            continue
        if (
            kit
            and op in FUSED
            and after is not None
            and after not in targets
            and code.ops[after] in (JUMP_IF_FALSE, JUMP_IF_TRUE)
            and templates[code.ops[after]] is TEMPLATES[code.ops[after]]
        ):
            FUSED[op](cache, site, code.ops[after], code.args[after])
            fused = True
        elif kit and op in CACHED:
            CACHED[op](cache, site)
        else:
            cache.flush()
            if op == JUMP_BACKWARD and counter is not None:  # a loop trip: hotter too
                a.add(counter, 1)
            elif op == JUMP_BACKWARD:
                a.mov(rax, qword(r15, CTX_CALLS)).add(qword(rax, 8 * index), 1)
            templates[op](site)
        if op in GUARDED and op != CALL:
            guarded[pc] = depth
    # 3. epilogue
    a.label(f"{name}.epilogue").sub(r13 if depth_register else qword(r15, CTX_DEPTH), 1)
    if counter is not None:
        a.mov(r11, qword(r15, CTX_CALLS)).add(qword(r11, 8 * index), counter)
    for k, reg in enumerate(saved):
        a.mov(reg, qword(rbp, -8 * (words + 1 + k)))
    a.mov(rsp, rbp).pop(rbp).ret()
    # 4. deopt stubs: write what the cache kept pending, record (function, pc, depth) and
    # the frame (its locals and the operand stack up to that depth), return DEOPT
    for pc, depth in guarded.items():
        a.label(f"{name}.deopt.{pc}")
        state = cache.stubs.get(pc, {})
        if pending is None:
            cache.materialize(state)
            a.mov(esi, pc).mov(rdx, depth).mov(rax, pc).jmp(f"{name}.deopt")
            continue
        cache.materialize({j: e for j, e in state.items() if e[0] == "reg"})
        kept = {j: e for j, e in state.items() if e[0] != "reg"}
        if kept:
            pending[index, pc] = kept
        a.mov(esi, pc).jmp(f"{name}.deopt.guard")
    for pc, depth in unwinds.items():  # a callee deopted: this frame resumes after the CALL
        a.label(f"{name}.{pc}.unwind").cmp(edx, DEOPT).jne(f"{name}.epilogue")
        a.mov(esi, pc + 1).mov(rdx, depth).mov(rax, pc).jmp(f"{name}.deopt")
    if pending is not None:  # a guard: it resumes at the pc it checked, at that pc's depth
        a.label(f"{name}.deopt.guard").mov(eax, esi).mov(rdx, -1)
    a.label(f"{name}.deopt")
    for i, reg in registers.items():  # locals kept in registers go to their frame slots
        a.mov(qword(rbp, -8 * (i + 1)), reg)
    a.mov(rdi, qword(r15, CTX_DEOPT_PTR))
    header = {"function": index, "resume": rsi, "depth": rdx, "state_pc": rax}
    for field, value in header.items():
        a.mov(qword(rdi, 8 * RECORD_WORD[field]), value)
    if words <= 8:
        for i in range(words):
            a.mov(rax, qword(rbp, -8 * (i + 1))).mov(qword(rdi, 8 * frame_word(i)), rax)
    else:  # a loop: the stub's size does not grow with the frame
        a.mov(ecx, words).lea(rsi, qword(rbp, -8)).add(rdi, 8 * frame_word(0))
        a.label(f"{name}.deopt.copy").mov(rax, qword(rsi)).mov(qword(rdi), rax)
        a.sub(rsi, 8).add(rdi, 8).dec(ecx).jnz(f"{name}.deopt.copy")
    a.add(qword(r15, CTX_DEOPT_PTR), 8 * frame_word(words))
    a.mov(edx, DEOPT).jmp(f"{name}.epilogue")
