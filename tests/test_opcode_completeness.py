"""Every opcode of the table has every piece the kit promises (issue #14 "One truth per fact").

For each opcode: a VM case, a stack template (or a documented reason the stack tier leaves
it to the VM, and the tier does refuse it), an SSA lowering (or the same), a listing form
(`dis` -> `assemble` gives the same code back) and a Python source the front end compiles
to it (which the tree-walker and the VM run with CPython's output). A missing piece fails
naming the opcode and the piece; `test_a_missing_piece_is_named` shows the check can fail.

The table's `deopt` column is the stack tier's `GUARDED`; the last tests check it against
what the compiled code does: a template (or operand-cache template) that can jump to the
deopt stub, or to the unwind path of a callee's deopt, is flagged, and a flagged opcode's
template can; every SSA instruction carrying deopt state comes from a flagged opcode.
"""

from __future__ import annotations

import contextlib
import dataclasses
import inspect
import io
import subprocess
import sys
from dataclasses import dataclass, replace
from functools import cache

import pytest

from jitkit.bytecode.assemble import parse_module as assemble
from jitkit.bytecode.code import Code
from jitkit.bytecode.compiler import compile_module
from jitkit.bytecode.disasm import dis
from jitkit.bytecode.opcodes import OPCODES, Op, stack_effect
from jitkit.jitrt.types import analyse_module
from jitkit.lang.parse import parse_module
from jitkit.stackjit import fast, templates
from jitkit.stackjit.cache import OperandCache
from jitkit.stackjit.compiler import skipped_functions
from jitkit.x86 import Assembler

# Together these compile to every opcode of the table (checked below).
PROGRAMS = {
    "ints": """
def arith(a, b):
    c = a + b - a * 2
    c = c // 3 + c % 5 + b ** 2
    c = min(c, a) + max(c, b) + abs(-c) + (+a)
    if not (a < b <= c) or a == b or a != c or a > b or b >= a:
        c = c + 1
    if a and b:
        c = c + 2
    d, e = b, a
    return c + d - e


def loops(n):
    t = 0
    for i in range(1, n, n // 5 + 1):
        t = t + i
    while t > 100:
        t = t - 7
    return t


def calls(n):
    return arith(n, 3) + loops(n)


print(calls(10), arith(-4, 9))
""",
    "floats, lists, globals": """
def floats(a, b):
    x = a / b + float(a) - 0.5
    print(int(x * 3))
    return 0


def lists(n):
    xs = [1, 2, n]
    xs.append(n + 1)
    xs[0] = len(xs)
    t = 0
    for x in xs:
        t = t + x + xs[-1]
    return t


LIMIT = 1000


def over(n):
    return n > LIMIT


print(floats(7, 2), lists(5), over(5))
""",
}

# Why the native tiers leave an opcode to the VM: module-level names stay interpreted; the
# SSA tier builds exactly what the stack tier's check accepts (floats and lists included).
MODULE_NAME = "a module-level name: read and bound in the VM, where the module's code runs"
LEAVES_TO_VM = {
    Op.LOAD_GLOBAL: MODULE_NAME,
    Op.STORE_GLOBAL: MODULE_NAME,
}


@dataclass(frozen=True)
class Facts:
    """What the kit has, per piece, as sets of opcodes (a test removes one to see it fail)."""

    vm_cases: frozenset
    templates: frozenset
    stack_refused: frozenset  # in a function the stack tier leaves to the VM
    ssa_built: frozenset  # in a function the SSA builder lowered
    ssa_refused: frozenset
    listed: frozenset  # in a code whose listing assembles back to the same code
    sourced: frozenset  # compiled from the programs' Python source
    leaves: dict


def same_code(a: Code, b: Code) -> bool:
    fields = ("name", "argcount", "varnames", "consts", "names", "ops", "args", "globals")
    return all(getattr(a, f) == getattr(b, f) for f in fields)


@cache
def compiled() -> dict[str, dict[str, Code]]:
    return {title: compile_module(parse_module(src)) for title, src in PROGRAMS.items()}


@cache
def facts() -> Facts:
    from jitkit.ssa.build import build_module
    from jitkit.ssa.ir import Function
    from jitkit.vm.machine import VM

    text = inspect.getsource(VM.run)
    vm_cases = frozenset(op for op in Op if text.count(f"op == {op.name}:") == 1)
    refused, built, not_built, listed, sourced = set(), set(), set(), set(), set()
    for codes in compiled().values():
        skipped = skipped_functions(analyse_module(codes))
        ssa = build_module(codes)
        back = assemble("\n".join(dis(code) for code in codes.values()))
        for name, code in codes.items():
            ops = set(code.ops)
            sourced |= ops
            if name in skipped and "stays interpreted" in skipped[name]:
                refused |= ops
            (built if isinstance(ssa[name], Function) else not_built).update(ops)
            if same_code(back[name], code):
                listed |= ops
    return Facts(
        vm_cases,
        frozenset(templates.TEMPLATES),
        frozenset(refused),
        frozenset(built),
        frozenset(not_built),
        frozenset(listed),
        frozenset(sourced),
        LEAVES_TO_VM,
    )


def missing(op: Op, f: Facts) -> list[str]:
    """The pieces `op` lacks, named."""
    out = []
    if op not in f.vm_cases:
        out.append("a VM case (`op == NAME:` once in VM.run)")
    if op not in f.templates:
        if op not in f.leaves:
            out.append("a stack template, or a reason in LEAVES_TO_VM")
        elif op not in f.stack_refused:
            out.append("the stack tier's refusal its LEAVES_TO_VM reason claims")
    if op not in f.ssa_built:
        if op not in f.leaves:
            out.append("an SSA lowering (a function using it that build_module lowers)")
        elif op not in f.ssa_refused:
            out.append("the SSA builder's refusal its LEAVES_TO_VM reason claims")
    if op not in f.listed:
        out.append("a listing form (dis -> assemble round trip)")
    if op not in f.sourced:
        out.append("a Python source in PROGRAMS that compiles to it")
    return out


@pytest.mark.parametrize("op", list(Op), ids=lambda op: op.name)
def test_every_opcode_has_every_piece(op):
    assert missing(op, facts()) == [], f"{op.name} lacks {', '.join(missing(op, facts()))}"


def test_the_table_is_the_enum():
    assert list(OPCODES) == list(Op)
    assert all(info.name == op.name for op, info in OPCODES.items())


def test_a_missing_piece_is_named():
    """A copy of the facts with one entry removed from each piece fails on that opcode."""
    f = facts()
    assert missing(Op.BINARY_ADD, replace(f, vm_cases=f.vm_cases - {Op.BINARY_ADD})) == [
        "a VM case (`op == NAME:` once in VM.run)"
    ]
    no_template = replace(f, templates=f.templates - {Op.RANGE_TEST})
    assert missing(Op.RANGE_TEST, no_template) == ["a stack template, or a reason in LEAVES_TO_VM"]
    no_reason = replace(f, leaves={k: v for k, v in f.leaves.items() if k != Op.LOAD_GLOBAL})
    assert "an SSA lowering" in missing(Op.LOAD_GLOBAL, no_reason)[-1]
    assert missing(Op.SWAP, replace(f, listed=f.listed - {Op.SWAP})) == [
        "a listing form (dis -> assemble round trip)"
    ]


@pytest.mark.parametrize("title", PROGRAMS)
def test_the_programs_run_as_cpython_runs_them(title):
    """The sources stand for their opcodes only if the tree-walker and the VM run them right."""
    from jitkit.tiers import load

    source = PROGRAMS[title]
    want = subprocess.run([sys.executable, "-c", source], capture_output=True, text=True)
    assert want.returncode == 0 and want.stdout
    for tier in ("treewalk", "interp"):
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            load(source, tier).run_main()
        assert out.getvalue() == want.stdout, tier


# --- the deopt column against the compiled code --------------------------------------------------


def operand(op: Op) -> int:
    """An operand a template accepts at stack depth 3."""
    return {"depth": 2, "count": 1}.get(OPCODES[op].operand, 0)


def reaches_deopt(code) -> bool:
    """Whether the code jumps to the deopt stub, or to the unwind path a callee's deopt takes."""
    symbols = {r.symbol for r in code.relocations}
    return any(s.startswith("f.deopt.") or s.endswith(".unwind") for s in symbols)


CONSTANTS = (None, 0, 1, -1, 2, 3, 8)  # the top of the stack, when known: x // 8 is a shift
# With float templates a site says its operands' kinds ("int", "bool", "float", deepest
# first); the table's column is what a template may do whatever kind each operand has, and
# a guard only where an int meets a float (a compare) is that tier's per-site extra.
KINDED = "kinds" in {f.name for f in dataclasses.fields(templates.Site)}
try:  # the float templates, where the stack tier has them
    from jitkit.stackjit import floats
except ImportError:
    floats = None


def emitter(op: Op, s: templates.Site, cached: bool):
    """The template the compiler picks for the site: a float form where `float_site` says."""
    kinds = getattr(s, "kinds", ())
    if floats is not None and floats.float_site(op, kinds, s.consts, s.arg):
        return (floats.FLOAT_CACHED if cached else floats.FLOAT_TEMPLATES).get(op)
    return (fast.CACHED if cached else templates.TEMPLATES).get(op)


def kind_choices(op: Op, mixed: bool = False) -> list[dict]:
    """Site keywords for each operand-kind case: all ints, all floats (or int meets float)."""
    if not KINDED:
        return [{}] if not mixed else []
    n = stack_effect(op, operand(op))[0]
    if mixed:
        return [{"kinds": ("int", "float")}, {"kinds": ("float", "int")}] if n == 2 else []
    return [{"kinds": (kind,) * n} for kind in ("int", "float")]


def site(a: Assembler, op: Op, constant: int | None, kinds: dict) -> templates.Site:
    consts = [7 if constant is None else constant]
    return templates.Site(a, "f", 0, op, operand(op), 3, 1, consts, constant, **kinds)


def plain_deopts(op: Op, mixed: bool = False) -> bool:
    """Whether the template (operands in their slots) can deopt, for some constant."""
    found = False
    for kinds in kind_choices(op, mixed):
        for constant in CONSTANTS:
            a = Assembler()
            s = site(a, op, constant, kinds)
            s.callee = "g"
            emit = emitter(op, s, cached=False)
            if emit is not None:
                emit(s)
                found |= reaches_deopt(a.assemble(externals=True))
    return found


def cached_deopts(op: Op, mixed: bool = False) -> bool:
    """The same for the operand-cache template of `op` (operands in registers, immediates)."""
    found = False
    for kinds in kind_choices(op, mixed):
        for constant in CONSTANTS:
            a = Assembler()
            cache_ = OperandCache(a, 1)
            cache_.depth = 3
            s = site(a, op, constant, kinds)
            s.callee = "g"
            if constant is not None:
                cache_.pending[2] = ("imm", constant)
            emit = emitter(op, s, cached=True)
            if emit is not None:
                emit(cache_, s)
                cache_.flush()
                found |= reaches_deopt(a.assemble(externals=True))
    return found


@pytest.mark.parametrize("op", sorted(templates.TEMPLATES), ids=lambda op: Op(op).name)
def test_a_template_deopts_exactly_when_the_table_says(op):
    flagged = OPCODES[op].deopt
    assert plain_deopts(op) == flagged, f"{op.name}: table deopt={flagged}"
    assert cached_deopts(op) <= flagged, f"{op.name}: operand-cache template, table deopt=False"
    if op in fast.CACHED:
        assert cached_deopts(op) == flagged, f"{op.name}: operand-cache template, table deopt=True"


@pytest.mark.skipif(not KINDED, reason="no float templates: every operand is an int64")
@pytest.mark.parametrize("op", sorted(templates.TEMPLATES), ids=lambda op: Op(op).name)
def test_where_an_int_meets_a_float_the_tier_knows_the_extra_guard(op):
    from jitkit.stackjit.floats import float_guarded

    for kinds in kind_choices(op, mixed=True):
        extra = OPCODES[op].deopt or float_guarded(op, kinds["kinds"])
        assert plain_deopts(op, mixed=True) <= extra, op.name
        assert cached_deopts(op, mixed=True) <= extra, op.name
    if op in (Op.COMPARE_LT, Op.COMPARE_EQ):  # the extra guard is there, and the check sees it
        assert plain_deopts(op, mixed=True) and cached_deopts(op, mixed=True)


def test_the_stack_tiers_guarded_set_is_the_table():
    assert templates.GUARDED == {op for op, info in OPCODES.items() if info.deopt}


def test_registering_a_template_against_the_table_is_refused():
    kit = dict(templates.TEMPLATES)
    with pytest.raises(AssertionError, match="COMPARE_LT"):
        templates.template(Op.COMPARE_LT, guarded=True)(lambda s: None)
    with pytest.raises(AssertionError, match="BINARY_ADD"):
        templates.template(Op.BINARY_ADD)(lambda s: None)
    assert templates.TEMPLATES == kit  # a refused claim replaced nothing


def test_ssa_deopt_states_come_from_flagged_opcodes():
    """Every SSA instruction with deopt state resumes at a flagged instruction (a guard,
    a loop's poll) or just after a CALL (the callee deopted)."""
    from jitkit.ssa.build import build_module
    from jitkit.ssa.ir import Function

    seen = set()
    for codes in compiled().values():
        for name, fn in build_module(codes).items():
            if not isinstance(fn, Function):
                continue
            code = codes[name]
            for _, i in fn.instrs():
                if i.deopt is None:
                    continue
                pc = i.deopt.offset - 1 if i.op == "call" else i.deopt.offset
                assert OPCODES[code.ops[pc]].deopt, (name, pc, code.ops[pc].name, i.op)
                seen.add(code.ops[pc])
    assert {Op.BINARY_ADD, Op.CALL, Op.JUMP_BACKWARD, Op.RANGE_CHECK} <= seen
