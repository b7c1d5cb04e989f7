"""The optimizing pipeline in one list (notebook 07).

Takes a verified `Function`; `compile` runs the passes in order, in place, and gives it
back; `compile_native` goes on to register allocation and x86-64 code (`jitkit.x86.Code`).
With `verify=True` the SSA checker runs after every pass (tests always ask for it); `dump`
takes pass names, like QBE's debug letters, and prints the IR under a banner after each of
those; `"regalloc"` prints the interval table and `"asm"` the machine code listing.
`compile_native` makes a System V function on its own (no deopt, no print); the SSA tier
(`jitkit.ssa.tier`) runs the same passes, then gives the code the stack tier's runtime.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from jitkit.ssa.codegen import generate
from jitkit.ssa.ir import Function
from jitkit.ssa.passes.bounds import eliminate_bounds_checks
from jitkit.ssa.passes.cfg import simplify_cfg
from jitkit.ssa.passes.constants import keep_constants
from jitkit.ssa.passes.copy import propagate_copies
from jitkit.ssa.passes.dce import eliminate_dead_code
from jitkit.ssa.passes.fold import fold
from jitkit.ssa.passes.guards import remove_guards
from jitkit.ssa.passes.gvn import number_values
from jitkit.ssa.passes.ifconvert import convert_ifs
from jitkit.ssa.passes.licm import hoist_invariants
from jitkit.ssa.passes.recursion import inline_leaves, sum_recursion
from jitkit.ssa.passes.strength import reduce_strength
from jitkit.ssa.passes.thread import thread_jumps
from jitkit.ssa.regalloc import REGISTERS, allocate_registers
from jitkit.ssa.text import format
from jitkit.ssa.verify import verify as check
from jitkit.x86 import Code

Pass = Callable[[Function], bool]

# The pipeline, in order. A name may come twice; `dump` prints after each time it runs.
DEFAULT: tuple[tuple[str, Pass], ...] = (
    ("fold", fold),  # constants, constant branches, unreachable code
    ("copy", propagate_copies),  # copies and one-value phis
    ("cfg", simplify_cfg),  # empty blocks, straight lines into one block
    ("thread", thread_jumps),  # `a and b` tested once: each edge goes where its value says
    ("gvn", number_values),  # repeated computations
    ("guards", remove_guards),  # overflow checks that ranges prove cannot fail
    ("bounds", eliminate_bounds_checks),  # list index checks that ranges prove cannot fail
    ("strength", reduce_strength),  # division by constants -> multiply and shift
    ("ifconvert", convert_ifs),  # small diamonds -> straight code and selects (cmov)
    ("licm", hoist_invariants),  # loop-invariant pure instructions to a preheader
    ("recursion", sum_recursion),  # `return x + f(...)` in f: a loop with a running sum
    ("leaves", inline_leaves),  # f calling f: the callee's quick return without the call
    ("copy", propagate_copies),
    ("dce", eliminate_dead_code),  # whatever nothing uses any more
    ("cfg", simplify_cfg),
    ("constants", keep_constants),  # 64-bit constants of loops in registers (last: see there)
)
PASSES = dict(DEFAULT)


def compile(
    fn: Function,
    passes: Iterable[tuple[str, Pass]] = DEFAULT,
    dump: set[str] | frozenset[str] = frozenset(),
    verify: bool = False,
) -> Function:
    """Run each pass once, in order; dump `"input"` or any pass name to print the IR."""
    if verify:
        check(fn)
    if "input" in dump:
        _banner("input", fn)
    for name, run in passes:
        run(fn)
        if verify:
            check(fn)
        if name in dump:
            _banner(name, fn)
    return fn


def compile_native(
    fn: Function,
    passes: Iterable[tuple[str, Pass]] = DEFAULT,
    dump: set[str] | frozenset[str] = frozenset(),
    verify: bool = False,
    registers: tuple[str, ...] = REGISTERS,
) -> Code:
    """The passes, then linear scan over `registers`, then x86-64 code (entry at offset 0)."""
    compile(fn, passes, dump, verify)
    alloc = allocate_registers(fn, registers)
    if "regalloc" in dump:
        _banner("regalloc", alloc.table() + "\n")
    code = generate(fn, alloc)
    if "asm" in dump:
        _banner("asm", code.listing() + "\n")
    return code


def _banner(name: str, what: Function | str) -> None:
    print(f"--- after {name} ---" if name != "input" else "--- input ---")
    print(what if isinstance(what, str) else format(what), end="")
