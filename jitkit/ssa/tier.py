"""The SSA tier: a module's kit bytecode -> SSA -> passes -> linear scan -> one block of
x86-64 that the native tier runtime runs (`jitkit.jitrt`, notebook 07).

Takes a module's code objects; gives a `CompiledModule` (`jitkit.jitrt.module`) as
`jitkit.stackjit.compiler` makes one (so `StackTier` enters it, prints for it and turns its
deopt records into VM frames unchanged) plus, per function, where it runs and the IR after
each pass. Which functions are compiled at all is the stack tier's decision (it needs one
static type per visible value; the rest stay in the VM, reason in `skipped`). Each of those
goes through `build` (bytecode -> SSA), the pipeline's passes, `allocate_registers` and
`jitkit.ssa.deopt`; a function the builder or code generator refuses gets the stack tier's
templates instead, reason in `fallbacks`. Both follow one calling convention, so they call
each other freely.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field

from jitkit.bytecode.code import Code
from jitkit.bytecode.opcodes import OPCODES, Op
from jitkit.errors import JitkitError
from jitkit.jitrt.entry import emit_python_entry
from jitkit.jitrt.layout import frame_words, record_words
from jitkit.jitrt.module import CompiledModule, PrintSite, function_infos
from jitkit.jitrt.runtime import StackTier
from jitkit.jitrt.types import (
    FLOAT,
    LIST_OPCODES,
    FunctionTypes,
    NotCompilable,
    analyse_module,
    is_list,
)
from jitkit.ssa.build import ir_name
from jitkit.ssa.deopt import TierEmitter
from jitkit.ssa.ir import Function
from jitkit.ssa.ops import LIST_CALLS
from jitkit.ssa.pipeline import DEFAULT, Pass
from jitkit.ssa.regalloc import TIER_REGISTERS, Allocation, allocate_registers
from jitkit.ssa.text import format
from jitkit.ssa.verify import verify as verify_ir
from jitkit.stackjit import compiler as stack_compiler
from jitkit.stackjit.compiler import check, skipped_functions
from jitkit.stackjit.compiler import (
    emit_function as emit_template_function,
)
from jitkit.stackjit.templates import TEMPLATES
from jitkit.vm.machine import VM
from jitkit.x86 import Assembler
from jitkit.x86 import Code as MachineCode

Builder = Callable[[dict[str, Code], str], Function]
# Lists of ints, bools and floats compile (#17) on the native tier runtime's lists
# (`jitkit/jitrt/lists.py`: list_new, list_grow, lists made Python lists at a deopt or result).
LISTS = True


@dataclass
class SSAModule(CompiledModule):
    """A stack-tier `CompiledModule` whose functions are SSA code where the pipeline could
    compile them: `tiers` says "ssa" or "stack" per compiled function, `fallbacks` why a
    function got templates, `ir` the IR text after each pass (`("input", text)` first),
    `optimized` the final IR and `allocations` its registers, per SSA-compiled function."""

    tiers: dict[str, str] = field(default_factory=dict)
    fallbacks: dict[str, str] = field(default_factory=dict)
    ir: Mapping[str, list[tuple[str, str]]] = field(default_factory=dict)
    optimized: dict[str, Function] = field(default_factory=dict)
    allocations: dict[str, Allocation] = field(default_factory=dict)


def default_builder(analysis: dict[str, FunctionTypes]) -> Builder:
    """The bytecode -> SSA builder of `jitkit.ssa.build`, sharing the module's types."""
    from jitkit.ssa.build import build_function

    return lambda codes, name: build_function(codes[name], codes, analysis)


def optimize(
    fn: Function, passes: Iterable[tuple[str, Pass]], verify: bool = False, keep_ir: bool = True
) -> list[tuple[str, str]]:
    """Run the passes in place; gives the IR text before them and after each."""
    texts = [("input", format(fn))] if keep_ir else []
    if verify:
        verify_ir(fn)
    for name, run in passes:
        run(fn)
        if verify:
            verify_ir(fn)
        if keep_ir:
            texts.append((name, format(fn)))
    return texts


# Every deopt point of the IR lists the whole frame (locals and operand stack), so the SSA
# pipeline's work grows as deopt points x frame words: quadratic in a function that is both
# long and wide. Above this budget a function gets the stack tier's templates (linear), as
# HotSpot leaves huge methods to its interpreter; 100k words compile in about a second.
DEOPT_WORDS = 100_000


def deopt_words(code: Code) -> int:
    """An upper bound on the deopt-state words `build` writes for `code`: one frame per
    instruction that may deopt (guards, calls, loop back edges) and one at entry."""
    points = 1 + sum(OPCODES[op].deopt or op in (Op.CALL, Op.JUMP_BACKWARD) for op in code.ops)
    return points * frame_words(code)


class PassTexts(Mapping):
    """Function name -> the IR text before the passes and after each, made when first asked
    for: building and optimizing again is deterministic, and formatting the IR after every
    pass would cost more than the compile itself (a listing is rarely wanted)."""

    def __init__(self) -> None:
        self.makers: dict[str, Callable[[], list[tuple[str, str]]]] = {}
        self.made: dict[str, list[tuple[str, str]]] = {}

    def __getitem__(self, name: str) -> list[tuple[str, str]]:
        if name not in self.made:
            self.made[name] = self.makers[name]()
        return self.made[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.makers)

    def __len__(self) -> int:
        return len(self.makers)


class Fallback(Exception):
    """The code generator refused a function (it gets templates; emission starts over)."""

    def __init__(self, name: str, why: str) -> None:
        self.name, self.why = name, why


def compile_module(
    codes: dict[str, Code],
    passes: Iterable[tuple[str, Pass]] = DEFAULT,
    build: Builder | None = None,
    verify: bool = False,
    keep_ir: bool = True,
) -> SSAModule:
    """Compile every function the stack tier accepts, through SSA where possible."""
    passes = tuple(passes)
    analysis = analyse_module(codes)
    # the stack tier's check, with floats, and lists once the runtime makes them
    skipped = skipped_functions(analysis, floats=True, lists=LISTS)
    compiled = [name for name in codes if name not in skipped]
    functions = function_infos(codes, analysis, compiled)
    module = SSAModule(None, functions, skipped, [])  # type: ignore[arg-type]
    # 1. SSA, passes and registers for each function the builder takes
    builder = build if build is not None else default_builder(analysis)
    texts = PassTexts()
    module.ir = texts
    for name in compiled:
        words = deopt_words(codes[name])
        if words > DEOPT_WORDS:
            module.fallbacks[name] = (
                f"{name}() is too large for SSA: ~{words:,} words of deopt state "
                f"(budget {DEOPT_WORDS:,}); templates compile it in linear time"
            )
            continue
        try:
            fn = builder(codes, name)
            optimize(fn, passes, verify, keep_ir=False)
            if keep_ir:
                texts.makers[name] = lambda name=name: optimize(builder(codes, name), passes)
            module.allocations[name] = allocate_registers(fn, TIER_REGISTERS)
            module.optimized[name] = fn
        except (JitkitError, NotCompilable) as why_not:
            module.fallbacks[name] = str(why_not)
    leave_floats_to_vm(module, analysis)
    # 2. machine code: SSA where it can be generated, templates for the rest
    while True:
        depth_register = not module.fallbacks  # r13 counts frames only if no template does
        try:
            module.machine = emit_module(module, analysis, depth_register)
            break
        except Fallback as refused:
            module.fallbacks[refused.name] = refused.why
            del module.allocations[refused.name], module.optimized[refused.name]
            leave_floats_to_vm(module, analysis)
    compiled = list(module.functions)
    module.tiers = {n: "stack" if n in module.fallbacks else "ssa" for n in compiled}
    module.record_words = max((record_words(codes[n]) for n in compiled), default=0)
    return module


def uses_floats(types: FunctionTypes) -> bool:
    """Does a float appear anywhere in the function (a value, a constant, the result)?"""
    if FLOAT in types.returns or any(type(c) is float for c in types.code.consts):
        return True
    states = [s for s in types.states if s is not None]
    return any(FLOAT in t for s in states for t in (*s.locals, *s.stack))


def uses_lists(types: FunctionTypes) -> bool:
    """Does a list appear anywhere in the function (an opcode, a value, the result)?"""
    if any(op in LIST_OPCODES for op in types.code.ops) or any(map(is_list, types.returns)):
        return True
    states = [s for s in types.states if s is not None]
    return any(is_list(x) for s in states for t in (*s.locals, *s.stack) for x in t)


def leave_floats_to_vm(module: SSAModule, analysis: dict[str, FunctionTypes]) -> None:
    """A function with floats (or lists) that SSA refused has no templates to fall back on
    unless the stack tier compiles them: the VM runs it, and so every function that calls
    it."""
    if stack_compiler.FLOATS and stack_compiler.LISTS:
        return
    for name in list(module.fallbacks):
        floats = not stack_compiler.FLOATS and uses_floats(analysis[name])
        if floats or (not stack_compiler.LISTS and uses_lists(analysis[name])):
            module.skipped[name] = module.fallbacks.pop(name)
    changed = True
    while changed:
        changed = False
        for name in list(module.functions):
            try:
                if name in module.skipped:
                    raise NotCompilable(module.skipped[name])
                check(analysis[name], analysis, module.skipped, floats=True, lists=LISTS)
            except NotCompilable as why:
                module.skipped.setdefault(name, str(why))
                module.functions.pop(name)
                module.fallbacks.pop(name, None)
                module.allocations.pop(name, None)
                module.optimized.pop(name, None)
                changed = True


C_CALLS = ("print", "fmod", "ffloordiv", *LIST_CALLS)  # print, libm's fmod, list_new/grow


def calling_c(module: SSAModule, callees: dict[str, tuple[str, bool]]) -> set[str]:
    """The functions that may call C, themselves or through their callees (template code
    counts: it prints): only these keep rsp 16-byte aligned at their calls, so a function
    calling only itself (fib) pushes no padding word per frame."""
    calls: dict[str, set[str]] = {}
    need = set(module.functions) - set(module.optimized)  # templates
    for name, fn in module.optimized.items():
        calls[name] = set()
        for _, i in fn.instrs():
            if i.op in C_CALLS:
                need.add(name)
            elif i.op == "call":
                calls[name].add(callees[i.args[0].name][0])  # type: ignore[union-attr]
    changed = True
    while changed:
        changed = False
        for name, targets in calls.items():
            if name not in need and targets & need:
                need.add(name)
                changed = True
    return need


def emit_module(module: SSAModule, analysis: dict, depth_register: bool) -> MachineCode:
    """One block: every function (SSA or templates), then every entry from Python."""
    a = Assembler()
    module.prints.clear()
    callees = {ir_name(name): (name, name in module.allocations) for name in module.functions}
    aligned = calling_c(module, callees)
    for name, info in module.functions.items():
        if name in module.allocations:
            fn, alloc = module.optimized[name], module.allocations[name]
            try:
                TierEmitter(
                    fn, alloc, a, info.code, info.index, info.types, module.prints, callees,
                    depth_register, name in aligned,
                ).emit_function()  # fmt: skip
            except JitkitError as why:
                raise Fallback(name, str(why)) from None
        else:
            emit_template_function(
                a, name, info.index, info.types, analysis, module.prints, TEMPLATES
            )
    for name, info in module.functions.items():
        emit_python_entry(a, name, depth_register, returns_list=is_list(info.returns))
    return a.assemble()


class SSATier(StackTier):
    """`StackTier` over an `SSAModule`: the same entry, prints and deopt, plus the IR."""

    compiled: SSAModule

    def tier_of(self, name: str) -> str:
        """ "ssa", "stack" (templates: the builder or code generator refused it) or "interp"."""
        return self.compiled.tiers.get(name, "interp")

    def passes(self, name: str) -> list[tuple[str, str]]:
        """(pass name, IR text after it) for each pass, `("input", ...)` first."""
        return list(self.compiled.ir.get(name, []))

    def ir(self, name: str, pass_name: str | None = None) -> str:
        """The IR of `name` after the last run of `pass_name` (default: after every pass)."""
        texts = self.compiled.ir.get(name)
        if not texts:
            why = self.compiled.fallbacks.get(name) or self.compiled.skipped.get(name, "unknown")
            raise KeyError(f"{name}() has no SSA IR: {why}")
        if pass_name is None:
            return texts[-1][1]
        found = [text for n, text in texts if n == pass_name]
        if not found:
            raise KeyError(f"no pass {pass_name!r}; passes: {', '.join(n for n, _ in texts)}")
        return found[-1]


def ssa_tier(
    codes: dict[str, Code],
    vm: VM | None = None,
    passes: Iterable[tuple[str, Pass]] = DEFAULT,
    build: Builder | None = None,
    verify: bool = False,
) -> SSATier:
    """Compile a module for the SSA tier and load it (the VM finishes what deopts)."""
    vm = vm if vm is not None else VM(codes)
    return SSATier(compile_module(codes, passes, build, verify), vm)


__all__ = ["PrintSite", "SSAModule", "SSATier", "compile_module", "ssa_tier"]
