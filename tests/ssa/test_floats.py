"""Floats in the SSA tier, end to end: kit source -> SSA with f64 values -> xmm registers ->
SSE2, in the stack tier's runtime. Each function must really run as SSA code (no fallback,
no VM), print and return what CPython does, and deopt exactly where Python leaves doubles:
x / 0.0, int(nan), int(inf), an int compared with a float when the int is no double."""

from __future__ import annotations

import itertools
import random
import textwrap

import pytest

from jitkit.bytecode.compiler import compile_module
from jitkit.lang.parse import parse_module
from jitkit.ssa.regalloc import XMM_REGISTERS, Slot
from jitkit.ssa.tier import ssa_tier
from jitkit.stackjit import compiler as stack_compiler
from tests.programs import kernel_function
from tests.programs.engines import capture
from tests.programs.engines import run as run_engine

SOURCE = kernel_function("mandel") + textwrap.dedent("""
    def ratio(a, b):
        return a / b

    def trunc(a, b):
        return int(a / b)

    def above(a, b):
        return a * 1.0 > b

    def signs(n):
        x = -0.0
        for i in range(n):
            x = x * -1.0
        return x

    def mix(n):
        t = 0.0
        for i in range(n):
            t = t + abs(i - 3.5) - min(t, 1.5) + max(-t, 0.25)
            if not t:
                t = 0.5
        print(t, float(n), -t, t >= 2, t != t)
        return int(t * 1000.0)

    def nan_is_true(n):
        x = n * 0.0
        y = x - x
        return (1 if y else 2) + (10 if y == y else 20) + (100 if y < 1.0 else 200)

    def spill(n):
        a, b, c, d, e, f, g, h = 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0
        i, j, k, l, m, o, p, q = 9.0, 10.0, 11.0, 12.0, 13.0, 14.0, 15.0, 16.0
        for r in range(n):
            a, b, c, d, e, f, g, h = b + 1.0, c, d, e, f, g, h, i
            i, j, k, l, m, o, p, q = j, k, l, m, o, p, q, a * 0.5
            print(r)
        return int(a + b + c + d + e + f + g + h + i + j + k + l + m + o + p + q)
""")
NAMES = ["mandel", "ratio", "trunc", "above", "signs", "mix", "nan_is_true", "spill"]


@pytest.fixture(scope="module")
def tier():
    engine = ssa_tier(compile_module(parse_module(SOURCE)), verify=True)
    assert engine.compiled.fallbacks == {} and engine.compiled.skipped == {}
    assert {engine.tier_of(name) for name in NAMES} == {"ssa"}
    return engine


def cpython(call: str) -> tuple[str, str | None]:
    return run_engine("cpython", f"{SOURCE}\nprint({call})\n")


@pytest.mark.parametrize(
    "call, deopts",
    [
        ("mandel(0)", False),
        ("mandel(1)", False),
        ("mandel(24)", False),
        ("ratio(7, 2)", False),
        ("ratio(-1, 3)", False),
        ("ratio(7, 0)", True),  # ZeroDivisionError, raised by the VM
        ("ratio(2**53 + 1, 3)", True),  # not a double: the VM rounds the exact quotient once
        ("ratio(-(2**63), 2**62)", False),
        ("trunc(7, 2)", False),
        ("trunc(-7, 2)", False),
        ("trunc(2**62, 1)", False),
        ("trunc(-(2**63), 1)", True),  # cvttsd2si's "no int" value: the VM checks it
        ("above(2**53 + 1, 2**53)", False),  # the product rounds; 2**53 is a double
        ("above(3, 2**53 + 1)", True),  # not a double: the VM compares exactly
        ("above(3, 2)", False),
        ("signs(0)", False),
        ("signs(3)", False),
        ("signs(4)", False),
        ("mix(0)", False),
        ("mix(9)", False),
        ("nan_is_true(1)", False),
        ("spill(5)", False),
    ],
)
def test_floats_run_natively_as_cpython_does(tier, call, deopts):
    name, args = call.split("(", 1)
    values = eval(f"({args[:-1]},)")  # noqa: S307 - the literals above
    out, error = capture(lambda: print(tier.call(name, *values)))
    assert (out, error) == cpython(call)
    assert bool(tier.last_deopt) == deopts, tier.last_deopt


def test_nan_and_inf_reach_int_and_the_vm_raises(tier):
    """int(x) of inf and NaN deopts; the VM raises CPython's errors (compared, not spelled)."""
    for call in ("trunc(1, 0)", "ratio(0, 0)"):
        out, error = capture(lambda c=call: print(tier.call(*_split(c))))
        assert (out, error) == cpython(call)
    src = "def f(n):\n    x = 1e308 * (n + 10.0)\n    return int(x - x)\n"  # int(nan)
    engine = ssa_tier(compile_module(parse_module(src)), verify=True)
    assert engine.tier_of("f") == "ssa"
    assert capture(lambda: print(engine.call("f", 1))) == run_engine(
        "cpython", src + "print(f(1))\n"
    )
    assert engine.last_deopt


def _split(call: str) -> tuple:
    name, args = call.split("(", 1)
    return (name, *eval(f"({args[:-1]},)"))  # noqa: S307


def test_doubles_get_xmm_registers_and_spill_across_calls(tier):
    """The second register class: every f64 lives in xmm0-13 or a spill slot, never in a
    general register; spill() keeps 16 doubles live and prints (a call) in its loop, so
    those live across the print are spilled (System V saves no xmm register)."""
    for name in NAMES:
        fn, alloc = tier.compiled.optimized[name], tier.compiled.allocations[name]
        doubles = {i.result for _, i in fn.instrs() if i.type == "f64"}
        for t in doubles:
            assert alloc.location[t] in XMM_REGISTERS or isinstance(alloc.location[t], Slot)
        for t, where in alloc.location.items():
            if t not in doubles:
                assert where not in XMM_REGISTERS
    spill = tier.compiled.allocations["spill"]
    assert any(iv.kind == "xmm" and iv.crosses_call for iv in spill.intervals)
    assert all(
        isinstance(spill.location[iv.temp], Slot)
        for iv in spill.intervals
        if iv.kind == "xmm" and iv.crosses_call
    )
    assert "xmm" in spill.table("xmm") and "gpr" not in spill.table("xmm").split("\n", 1)[1]


def test_mandel_inner_loop_is_sse2_without_a_bool(tier):
    """The `i < 50 and |z|^2 <= 4` test is two compares and two branches (jump threading),
    the arithmetic mulsd/addsd/subsd on xmm registers, and no checked add remains."""
    listing = tier.listing("mandel")
    for mnemonic in ("mulsd", "addsd", "subsd", "ucomisd", "cvtsi2sd", "divsd"):
        assert mnemonic in listing
    ir = tier.ir("mandel")
    assert "=bool select" not in ir and "=bool phi" not in ir and "add_ovf %i." not in ir


DOUBLE_LITERALS = ["0.0", "-0.0", "1.5", "2.0", "0.1", "3.0", "1e308", "-1e-310", "0.5",
                   "float('inf')", "float('-inf')", "float('nan')"]  # fmt: skip


class FloatFunctions:
    """Random functions whose every local has one type (floats a, b, c; ints i, k, n), so the
    SSA tier compiles them: + - * /, unary minus, abs, min, max, float(), int(), mixed int and
    float operands, comparisons (NaN, infinities, -0.0, subnormals, overflow to inf, x / 0)."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def double(self, depth: int = 0) -> str:
        r = self.rng
        if depth > 2 or r.random() < 0.3:
            return r.choice(["a", "b", "c", r.choice(DOUBLE_LITERALS)])
        kind = r.randrange(8)
        x, y = self.double(depth + 1), self.double(depth + 1)
        if kind < 4:
            return f"({x} {'+-*/'[kind]} {y})"
        if kind == 4:
            return f"({self.integer()} {r.choice('+-*/')} {x})"  # int promoted
        if kind == 5:
            return f"{r.choice(['abs', '-'])}({x})"
        if kind == 6:
            return f"{r.choice(['min', 'max'])}({x}, {y})"
        return f"float({self.integer()})"

    def integer(self) -> str:
        return self.rng.choice(["i", "k", "n", "1", "7", "-3"])

    def condition(self) -> str:
        r = self.rng
        left = self.double(1) if r.random() < 0.8 else self.integer()
        return f"{left} {r.choice(['<', '<=', '>', '>=', '==', '!='])} {self.double(1)}"

    def function(self) -> str:
        r = self.rng
        lines = ["def f(n):", f"    a, b, c = {r.choice(DOUBLE_LITERALS)}, 1.0, -2.5", "    k = 0"]
        lines.append("    for i in range(n):")
        for _ in range(r.randrange(1, 4)):
            lines.append(f"        {r.choice('abc')} = {self.double()}")
            if r.random() < 0.5:
                lines.append(f"        if {self.condition()}:")
                lines.append(f"            {r.choice('abc')} = {self.double()}")
            if r.random() < 0.3:
                lines.append(f"        if {self.condition()} and {self.condition()}:")
                lines.append("            k = k + 1")
        if r.random() < 0.3:
            lines.append(f"        k = k + int({self.rng.choice(['a', 'b', 'c'])} * 0.0)")
        lines += ["    print(a, b, c, k, not a, a != a)", "    return a"]
        return "\n".join(lines) + "\n"


@pytest.mark.parametrize("seed", range(60))
def test_random_float_functions_run_natively_as_cpython_does(seed):
    source = FloatFunctions(random.Random(seed)).function()
    engine = ssa_tier(compile_module(parse_module(source)), verify=True)
    assert engine.tier_of("f") == "ssa", (engine.compiled.fallbacks, source)
    for n in (0, 1, 3):
        got = capture(lambda n=n: print(engine.call("f", n)))
        assert got == run_engine("cpython", f"{source}print(f({n}))\n"), source


SPECIAL = ["0.0", "-0.0", "1.5", "-1.5", "7.0", "-7.0", "3.0", "-3.0", "0.1", "1e308", "-1e308",
           "5e-324", "1.1805916207174113e+21", "-9007199254740992.0", "float('inf')",
           "float('-inf')", "float('nan')", "4503599627370495.5", "-2.5e-300"]  # fmt: skip
DIVISIONS = "\n".join(
    ["def pick(k):"]
    + [f"    if k == {n}:\n        return {v}" for n, v in enumerate(SPECIAL)]
    + ["    return 0.5", "", "def mod(j, k):", "    return pick(j) % pick(k)", "",
       "def floordiv(j, k):", "    return pick(j) // pick(k)", ""]
)  # fmt: skip


@pytest.mark.parametrize("name", ["mod", "floordiv"])
def test_float_mod_and_floordiv_are_pythons(name):
    """`%` and `//` on doubles: libm's fmod, then CPython's sign rules in SSE2, on every pair
    of special values (signed zeros, infinities, NaN, the largest and smallest doubles); a
    zero divisor deopts and the VM raises."""
    engine = ssa_tier(compile_module(parse_module(DIVISIONS)), verify=True)
    assert {engine.tier_of(n) for n in ("pick", name)} == {"ssa"}
    namespace: dict = {}
    exec(DIVISIONS, namespace)  # noqa: S102 - CPython's answers
    for j, k in itertools.product(range(len(SPECIAL)), repeat=2):
        want = capture(lambda j=j, k=k: print(repr(namespace[name](j, k))))
        got = capture(lambda j=j, k=k: print(repr(engine.call(name, j, k))))
        assert got == want, (SPECIAL[j], name, SPECIAL[k])
        assert bool(engine.last_deopt) == (float(eval(SPECIAL[k])) == 0)  # noqa: S307


NESTED = textwrap.dedent("""
    def inv(k):
        return 1.0 / k

    def outer(n):
        acc = 0.5
        s = -0.0
        for i in range(n):
            s = s + inv(n - i - 3) * acc
            acc = acc * 1.5
            print(i, s, acc)
        return s

    def rec(n):
        if n <= 0:
            return 0.25
        return rec(n - 1) * 2.0 + n
""")


def test_a_callee_deopts_under_a_caller_holding_doubles():
    """inv(0) deopts under outer, whose doubles (spilled across the call) go into its record
    as bits: both frames resume in the VM, which raises ZeroDivisionError after the prints."""
    engine = ssa_tier(compile_module(parse_module(NESTED)), verify=True)
    assert set(engine.compiled.tiers.values()) == {"ssa"}
    for call, frames in [("outer(2)", []), ("outer(5)", ["outer", "inv"]), ("rec(10)", [])]:
        name, arg = call[:-1].split("(")
        got = capture(lambda name=name, arg=arg: print(engine.call(name, int(arg))))
        assert got == run_engine("cpython", f"{NESTED}print({call})\n")
        assert [f.function for f in engine.last_deopt] == frames


def test_a_float_function_ssa_refuses_goes_to_the_vm_with_its_callers():
    """`n / 2` deopts with a frame holding int-or-None: SSA refuses the function, and while
    the stack tier has no float templates it and its callers run in the VM, exactly."""
    source = textwrap.dedent("""
        def h(n):
            y = None
            if n > 0:
                y = 1
            return n / 2

        def caller(n):
            return h(n) + 1.0

        def fine(n):
            return n + 1
    """)
    engine = ssa_tier(compile_module(parse_module(source)), verify=True)
    assert engine.tier_of("fine") == "ssa" and engine.tier_of("h") != "ssa"
    if not stack_compiler.FLOATS:  # else the stack tier's float templates take h
        assert set(engine.compiled.skipped) == {"h", "caller"}
    assert (engine.call("h", 3), engine.call("caller", 3), engine.call("fine", 3)) == (1.5, 2.5, 4)


def test_ssa_code_calls_template_code_returning_a_float():
    """Float `**` is not lowered to SSA: with the stack tier's float templates its function
    runs as template code, and SSA code calls it and gets the double's bits back in rax."""
    source = textwrap.dedent("""
        def p(n):
            x = n * 0.5
            return x ** 1.5

        def user(n):
            t = 0.0
            for i in range(n):
                t = t + p(i) / 2.0
                print(t)
            return t
    """)
    engine = ssa_tier(compile_module(parse_module(source)), verify=True)
    if stack_compiler.FLOATS:  # else both run in the VM (a caller of VM code stays there)
        assert (engine.tier_of("user"), engine.tier_of("p")) == ("ssa", "stack")
    got = capture(lambda: print(engine.call("user", 4)))
    assert got == run_engine("cpython", f"{source}print(user(4))\n")
