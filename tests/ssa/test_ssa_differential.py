"""The SSA builder against CPython, without machine code: every program file and random
programs (hypothesis) are built to SSA, optimized by no pass, by each pass alone and by the
whole pipeline (the verifier after every pass), and their functions run in the IR
interpreter; a deopt resumes in the VM through the stack tier's runtime, exactly as compiled
code does. Prints, results and exception types must be CPython's, and every function's IR
text must round-trip.
"""

from __future__ import annotations

import contextlib
import io
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jitkit.bytecode.code import Code
from jitkit.bytecode.compiler import compile_module
from jitkit.jitrt.types import BOOL, exact
from jitkit.lang import runtime as rt
from jitkit.lang.parse import parse_module
from jitkit.ssa.build import build_module, ir_name
from jitkit.ssa.interp import Outcome, run
from jitkit.ssa.ir import Function, double_bits
from jitkit.ssa.pipeline import DEFAULT, PASSES, compile
from jitkit.ssa.text import format, parse
from jitkit.ssa.tier import compile_module as compile_ssa_module
from jitkit.stackjit import CompiledModule, StackTier
from jitkit.vm.machine import VM, Frame
from tests.programs import features
from tests.programs.engines import capture
from tests.programs.engines import run as run_engine
from tests.programs.test_programs import PROGRAMS
from tests.test_differential import SETTINGS, Choices, ProgramGenerator, programs

NESTING = 6  # compiled calls the IR interpreter nests before deopting at a callee's entry
ENTER_BELOW = 60  # kit frames below which a call may enter IR (keeps Python's stack small)
PIPELINES = {
    "none": (),
    **{f"{name} alone": ((name, run_pass),) for name, run_pass in PASSES.items()},
    "all": DEFAULT,
}


EDGES = [0, 1, 2, 3, -1, -7, 10, 255, 2**31, 2**32 + 1, 2**62, 2**63 - 1, -(2**63 - 1)]


class Int64Programs(ProgramGenerator):
    """The differential generator with int literals that fit int64: the builder, like the
    stack tier, refuses a function with a larger constant, or with a value that is a bool on
    one path and an int on another. Values near the edges still overflow at run time, so
    deopts happen."""

    def literal(self) -> str:
        if self.c.chance(30):
            return str(self.c.integer(-(2**63) + 1, 2**63 - 1))
        return repr(self.c.choice(EDGES))


@st.composite
def int64_programs(draw) -> str:
    return Int64Programs(Choices(data=draw(st.data()))).program()


def word(value: int | float | list) -> int | list:
    """The int64 word compiled code keeps for a value the IR interpreter holds (a double's
    bits for a float; a list stays the interpreter's list: `BridgeTier` reads it)."""
    return double_bits(value) if isinstance(value, float) else value


class BridgeTier(StackTier):
    """The stack tier's runtime reading the IR interpreter's values: where machine code has a
    list's address, the interpreter has a Python list of IR values (a bool as 0 or 1), made
    into one Python list per list object over the whole deopt, as the runtime does per
    header (`memo`), so aliases stay aliases."""

    def to_python(self, word: object, types: frozenset, memo: dict | None = None) -> object:
        if not isinstance(word, list):
            return super().to_python(word, types, memo)  # type: ignore[arg-type]
        memo = {} if memo is None else memo
        if id(word) not in memo:
            bools = exact(types, "a list")[1] == BOOL
            memo[id(word)] = [bool(x) for x in word] if bools else list(word)
        return memo[id(word)]


class BridgeVM(VM):
    """The VM, except that calling a function the builder accepted runs its IR in the IR
    interpreter. A deopt hands the abandoned frames to `StackTier.resume`, which rebuilds
    them as VM frames from the stack tier's types, as it does for machine code."""

    def __init__(
        self,
        codes: dict[str, Code],
        functions: dict[str, Function],
        stack: CompiledModule,
        poll: int | None = None,
    ) -> None:
        super().__init__(codes)
        self.functions = functions
        self.by_ir_name = {fn.name: fn for fn in functions.values()}
        self.names = {ir_name(name): name for name in codes}
        self.tier = BridgeTier(stack, self)  # its runtime turns records into VM frames
        self.poll = poll  # deopt at this many loop back edges (a simulated Ctrl-C)
        self.deopts = 0

    def depth(self) -> int:
        return sys.getrecursionlimit() - self.limit + len(self.frames)

    def enters_ir(self, code: Code, args: list) -> bool:
        return (
            code.name in self.functions
            and len(args) == code.argcount
            and all(type(a) is int and -(2**63) <= a < 2**63 for a in args)
            and self.depth() < ENTER_BELOW
        )

    def call(self, name: str, *args: object) -> object:
        self.frames, self.limit = [], sys.getrecursionlimit()
        if self.enters_ir(self.codes[name], list(args)):
            return self.run_ir(name, list(args))
        return super().call(name, *args)

    def call_function(self, stack: list, argc: int) -> Frame:
        code, args = stack[len(stack) - argc - 1], stack[len(stack) - argc :]
        if not self.enters_ir(code, args):
            return super().call_function(stack, argc)
        del stack[len(stack) - argc - 1 :]
        stack.append(self.run_ir(code.name, list(args)))
        return self.frames[-1]

    def run_ir(self, name: str, args: list[int]) -> object:
        depth = self.depth()
        nesting = min(NESTING, sys.getrecursionlimit() - depth - 2)
        out = run(self.functions[name], args, self.by_ir_name, 10**6, nesting, self.poll)
        self.poll = None  # one simulated interrupt per run is enough
        for shown in out.output:
            self.show(shown)
        if out.deopt is None:
            info = self.tier.compiled.functions[name]
            return self.tier.to_python(word(out.value), frozenset({info.returns}))
        self.deopts += 1
        return self.tier.resume(self.records(out), depth)

    def records(self, out: Outcome) -> list[tuple]:
        """The stack tier's deopt records, innermost first: (function info, resume pc, stack
        depth, pc whose types describe the words, words). Callers resume after their CALL,
        described by the CALL's types."""
        records = []
        for n, (fn_name, offset, local, stack) in enumerate(out.frames):
            info = self.tier.compiled.functions[self.names[fn_name]]
            words = list(local) + [0] * (len(info.code.varnames) - len(local)) + list(stack)
            words = [word(w) for w in words]
            innermost = n == len(out.frames) - 1
            records.append((info, offset, len(stack), offset if innermost else offset - 1, words))
        return records[::-1]

    def show(self, shown) -> None:
        """One `print PC, values..., sep, end` of the IR, formatted with the PRINT's types."""
        fn_name, pc, words = shown
        types = self.tier.compiled.functions[self.names[fn_name]].types.states[pc]
        kinds = [exact(t, "printed") for t in types.stack[len(types.stack) - len(words) :]]
        values = [
            self.tier.to_python(word(w), frozenset({k})) for w, k in zip(words, kinds, strict=True)
        ]
        rt.print_values(values[:-2], values[-2], values[-1])


class Program:
    """One program, compiled once: kit bytecode, the stack tier's module (for its runtime)
    and the SSA form of every function the builder accepts."""

    def __init__(self, source: str) -> None:
        self.codes = compile_module(parse_module(source, "prog.py"))
        # the stack tier's runtime and function table, with floats as the SSA tier takes them
        self.stack = compile_ssa_module(self.codes, keep_ir=False)
        self.functions = {
            name: fn
            for name, fn in build_module(self.codes).items()
            if isinstance(fn, Function) and name in self.stack.functions
        }

    def optimized(self, passes) -> dict[str, Function]:
        """A copy of every function through `passes`, verified after each pass; the IR text
        round-trips before and after."""
        out = {}
        for name, fn in self.functions.items():
            text = format(fn)
            copy = parse(text)
            assert format(copy) == text, f"the IR of {name} does not round-trip"
            compile(copy, passes, verify=True)
            assert format(parse(format(copy))) == format(copy), f"optimized {name}"
            out[name] = copy
        return out

    def run(self, passes=DEFAULT, poll: int | None = None) -> tuple[str, str | None]:
        """(stdout, exception type name) with the built functions running as IR."""
        vm = BridgeVM(self.codes, self.optimized(passes), self.stack, poll)
        return capture(lambda: vm.call("<module>"))


@pytest.mark.parametrize("path", PROGRAMS, ids=lambda p: p.stem)
def test_program_files_match_cpython_on_every_pass_subset(path):
    source = path.read_text()
    want, program = run_engine("cpython", source), Program(source)
    for name, passes in PIPELINES.items():
        assert program.run(passes) == want, name


@pytest.mark.parametrize("path", PROGRAMS, ids=lambda p: p.stem)
def test_an_interrupt_at_any_back_edge_resumes_exactly(path):
    """Deopting at the 1st, 2nd, ... loop back edge (where Ctrl-C is polled) must not change
    anything: the state there is the interpreter's exact frame."""
    source = path.read_text()
    want, program = run_engine("cpython", source), Program(source)
    for poll in range(1, 6):
        assert program.run(DEFAULT, poll) == want, poll


def check_every_pass_subset(source: str) -> None:
    want, program = run_engine("cpython", source), Program(source)
    for name, passes in PIPELINES.items():
        assert program.run(passes) == want, f"{name}:\n{source}"
    assert program.run(DEFAULT, poll=2) == want, f"interrupted:\n{source}"


@SETTINGS
@given(programs())
def test_random_programs_match_cpython_on_every_pass_subset(source: str):
    check_every_pass_subset(source)


@SETTINGS
@given(int64_programs())
def test_random_int64_programs_match_cpython_on_every_pass_subset(source: str):
    check_every_pass_subset(source)


def test_a_deopt_deep_in_calls_rebuilds_every_frame():
    """g overflows inside f: both frames go to the VM, f's with the 1 it was adding to."""
    source = "def g(n):\n    return n * 4611686018427387904\n\n"
    source += "def f(a):\n    return 1 + g(a)\n\nprint(f(3), f(1))\n"
    program = Program(source)
    out = run(program.functions["f"], [3], {fn.name: fn for fn in program.functions.values()})
    assert [frame[0] for frame in out.frames] == ["f", "g"] and out.frames[0][3] == (1,)
    assert run(program.functions["f"], [1], {"g": program.functions["g"]}).value == 2**62 + 1
    vm = BridgeVM(program.codes, program.optimized(DEFAULT), program.stack)
    with contextlib.redirect_stdout(io.StringIO()) as shown:
        vm.call("<module>")
    assert shown.getvalue() == f"{3 * 2**62 + 1} {2**62 + 1}\n" and vm.deopts == 1


def test_the_program_files_really_run_as_ir():
    """Not a silent fallback to the VM: most program files' functions are built, and the
    bridge deopts where int64 ends (fact(30), 2**100) or recursion gets deep."""
    ints = [path for path in PROGRAMS if not features(path.read_text())]  # floats/lists: VM
    built = {path.stem: set(Program(path.read_text()).functions) for path in ints}
    assert sum(bool(names) for names in built.values()) >= len(ints) - 1
    assert {"fact", "power_mod", "<module>"} <= built["big_ints"]
    program = Program(next(p for p in PROGRAMS if p.stem == "fib").read_text())
    vm = BridgeVM(program.codes, program.optimized(DEFAULT), program.stack)
    with contextlib.redirect_stdout(io.StringIO()):
        vm.call("<module>")
    assert vm.deopts > 0
