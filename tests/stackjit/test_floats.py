"""Floats in the stack tier: the type analysis (jitkit/jitrt/types.py) knows the float
kind as Python promotes it, the deopt reader turns a float word back into the float, and
the `floats` switch keeps the tier's acceptance of floats behind one parameter."""

import math
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jitkit.bytecode.compiler import compile_module
from jitkit.bytecode.opcodes import Op
from jitkit.jitrt.types import BOOL, FLOAT, INT, analyse_module, double, word
from jitkit.lang.parse import parse_module
from jitkit.stackjit import stack_tier
from jitkit.stackjit.compiler import skipped_functions
from jitkit.stackjit.templates import emit_return

SOURCE = """
def kinds(n, b):
    f = 1.5
    t = n / 2
    p = n + f
    q = b * 2
    r = f // 2
    s = -f
    u = int(f)
    v = float(n)
    w = min(f, 2.0)
    x = abs(n)
    y = f < n
    z = 2 ** n
    m = f % 3
    return p
"""


def analysis(source: str):
    return analyse_module(compile_module(parse_module(source)))


def local_types(name: str = "kinds") -> dict[str, frozenset]:
    types = analysis(SOURCE)[name]
    code = types.code
    last = max(pc for pc, s in enumerate(types.states) if s is not None)
    return dict(zip(code.varnames, types.states[last].locals, strict=True))


def test_promotion_follows_python():
    """Each local's kind is the kind of the value CPython computes for it."""
    kinds = local_types()
    namespace: dict = {}
    exec(SOURCE.replace("return p", "return locals()"), namespace)
    python = namespace["kinds"](3, 1)
    names = {int: INT, bool: BOOL, float: FLOAT}
    for local, value in python.items():
        if local == "b":  # a parameter: the tier types every parameter int
            continue
        assert kinds[local] == {names[type(value)]}, local


def test_return_type():
    assert analysis(SOURCE)["kinds"].returns == {FLOAT}


def test_paths_that_disagree_join():
    types = analysis("def f(n):\n    x = 1\n    if n:\n        x = 0.5\n    return x\n")["f"]
    assert types.returns == {INT, FLOAT}


def test_floats_stay_with_the_vm_unless_switched_on():
    functions = analysis(SOURCE + "\ndef ints(n):\n    return n + 1\n")
    assert set(skipped_functions(functions)) == {"kinds"}
    # with the switch, only what has no float template is left: int ** int is compiled,
    # float % is compiled, and this function has nothing else
    assert "kinds" not in skipped_functions(functions, floats=True)


def test_mixed_kinds_are_refused_even_with_floats():
    mixed = analysis("def f(n):\n    x = 1\n    if n:\n        x = 0.5\n    return x + 1\n")
    assert "f" in skipped_functions(mixed, floats=True)
    ranged = analysis("def f(n):\n    for i in range(n * 1.0):\n        pass\n    return 0\n")
    assert "RANGE" in skipped_functions(ranged, floats=True)["f"]


@given(st.floats(allow_nan=True, allow_infinity=True))
def test_float_words_round_trip(value):
    got = double(word(value))
    assert struct.pack("<d", got) == struct.pack("<d", value) or math.isnan(value)
    assert -(2**63) <= word(value) < 2**63


# --- the SSE2 templates against CPython ---------------------------------------------------------

INF, NAN = float("inf"), float("nan")
SPECIAL = [0.0, -0.0, INF, -INF, NAN, 1e308, -1e308, 5e-324, 0.5, -1.5, 3.0, -7.25, 2.0**53,
           2.0**63, -(2.0**63), 1e16, 0.1]  # fmt: skip
FLOATS = st.one_of(st.sampled_from(SPECIAL), st.floats())
INTS = st.one_of(
    st.sampled_from([0, 1, -1, 3, -7, 2**53, 2**53 + 1, -(2**53) - 1, 2**63 - 1, -(2**63)]),
    st.integers(-(2**63), 2**63 - 1),
)
BINARY = ["+", "-", "*", "/", "//", "%", "**", "<", "<=", "==", "!=", ">", ">=", "min", "max"]


REPLACED = {Op.RETURN: lambda site: emit_return(site)}  # the same code, but not the kit's


def literal(x: float) -> str:
    return repr(x) if math.isfinite(x) else f'float("{x!r}")'


def expression(op: str, left: str, right: str) -> str:
    return f"{op}({left}, {right})" if op in ("min", "max") else f"{left} {op} {right}"


def outcome(fn, *args):
    """What a call gives, as something to compare: repr and type of the value (so -0.0 and
    nan count), or the exception's type and message."""
    try:
        value = fn(*args)
    except Exception as error:  # noqa: BLE001 - compared with CPython's
        return type(error).__name__, str(error)
    return type(value).__name__, repr(value)


def same_as_cpython(source: str, name: str, *args) -> object:
    """Run `name(*args)` on the stack tier and in CPython; they must agree. Gives the tier.
    Twice: with the kit's templates (the operand cache), and with a replaced template, which
    makes every float template the plain one (operands in their slots)."""
    agrees(source, name, args, REPLACED)
    return agrees(source, name, args, None)


def agrees(source: str, name: str, args: tuple, templates: dict | None):
    tier = stack_tier(compile_module(parse_module(source)), templates=templates)
    assert name not in tier.compiled.skipped, tier.compiled.skipped
    namespace: dict = {}
    exec(source, namespace)
    got, want = outcome(tier.call, name, *args), outcome(namespace[name], *args)
    if want[0] == "complex":  # the subset has no complex numbers (docs/floats-lists.md)
        assert got[0] == "UnsupportedError", source
    else:
        assert got == want, source
    return tier


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(BINARY), FLOATS, st.one_of(FLOATS, INTS), st.booleans())
def test_binary_float_operators(op, x, y, swap):
    """Each operator on floats, and on a float and an int either side: operands in locals
    (memory or registers), and the same as constants (immediates)."""
    if isinstance(y, float):
        source = f"def f(n):\n    p = {literal(x)}\n    q = {literal(y)}\n"
        source += f"    return {expression(op, 'p', 'q')}\n"
        source += f"def g(n):\n    return {expression(op, literal(x), literal(y))}\n"
        same_as_cpython(source, "f", 0)
        same_as_cpython(source, "g", 0)
    elif op not in ("min", "max"):  # an int and a float: the VM's (refused here)
        a, b = ("x", "n") if not swap else ("n", "x")
        source = f"def f(n):\n    x = {literal(x)}\n    return {expression(op, a, b)}\n"
        same_as_cpython(source, "f", y)
        if y != -(2**63):  # a constant of 64 bits or fewer
            a, b = (literal(x), f"({y})") if not swap else (f"({y})", literal(x))
            same_as_cpython(f"def g(n):\n    return {expression(op, a, b)}\n", "g", 0)


UNARY = ["-x", "abs(x)", "+x", "not x", "int(x)", "float(x)", "float(n)", "n / 3", "3 / n",
         "1 if x else 2", "x if n else -x"]  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(UNARY), FLOATS, INTS)
def test_unary_and_conversions(expr, x, n):
    """Sign, truth, int() (inf and nan raise, big floats make big ints: the VM's part),
    float(), int / int, with x a local and a constant."""
    same_as_cpython(f"def f(n):\n    x = {literal(x)}\n    return {expr}\n", "f", n)
    if n != -(2**63):
        same_as_cpython(f"def f(n):\n    return {expr.replace('x', literal(x))}\n", "f", n)


def test_mandel_runs_natively():
    """The anchor kernel: no deopt, SSE2 in its listing, CPython's count."""
    from pathlib import Path

    source = Path(__file__).parents[1].joinpath("programs", "mandel.py").read_text()
    source = source.split("\nprint")[0]
    tier = same_as_cpython(source, "mandel", 24)
    assert tier.last_deopt == []
    listing = tier.listing("mandel")
    for instruction in ("mulsd", "addsd", "subsd", "divsd", "ucomisd", "cvtsi2sd"):
        assert instruction in listing


LOOP = """
def f(n, d):
    total = 0.0
    k = 0
    for i in range(n):
        total = total + i * 0.5 - (i % 7) / 3
        k = k + i % 5
        if i == n - 2:
            total = total % d + k // d
        print(total, i / 4)
    return total + k
"""


@pytest.mark.parametrize("printing", [True, False])
@pytest.mark.parametrize("n, d", [(10, 3), (10, 0), (1, 0), (30, -2), (12, 1)])
def test_float_loop_with_prints_and_deopt(n, d, printing, capsys):
    """Int locals in registers (caller-saved ones when nothing prints) survive the fmod
    call of float %; float locals reach the VM when `% 0` deopts mid-loop; prints show
    repr and are not repeated."""
    source = LOOP if printing else LOOP.replace("        print(total, i / 4)\n", "")
    tier = stack_tier(compile_module(parse_module(source)))
    assert "f" not in tier.compiled.skipped
    mine = outcome(tier.call, "f", n, d)
    native_out = capsys.readouterr().out
    namespace: dict = {}
    exec(source, namespace)
    assert mine == outcome(namespace["f"], n, d)
    assert native_out == capsys.readouterr().out
    assert bool(tier.last_deopt) == (d == 0 and n >= 2)
    if tier.last_deopt:
        (frame,) = tier.last_deopt
        assert type(frame.locals["total"]) is float and type(frame.locals["k"]) is int


def test_exact_compare_of_big_ints_deopts():
    """2**53 + 1 is not a double: compared with one it deopts, and the VM compares exactly."""
    source = "def f(n):\n    x = 9007199254740992.0\n    return n == x\n"
    assert same_as_cpython(source, "f", 2**53 + 1).last_deopt
    assert not same_as_cpython(source, "f", 2**53).last_deopt


@pytest.mark.parametrize("x", [0.0, -0.0, 1.5, INF, NAN, 1e300])
def test_float_returns_and_the_builtin_entry(x):
    source = f"def f(n):\n    return {literal(x)} * n\n"
    tier = stack_tier(compile_module(parse_module(source)))
    fast = tier.builtin("f")
    assert repr(fast(3)) == repr(x * 3) and repr(tier.call("f", -1)) == repr(x * -1)


@pytest.mark.parametrize("n", [0, 1, 3, 50, -5])
def test_float_power_runs_natively_for_a_positive_base(n):
    """x ** y for a finite x > 0 is C's pow, called; overflow (10.0 ** 400) and the special
    cases deopt, and the VM raises or computes them."""
    source = "def f(n):\n    x = 10.0 + n\n    return x ** 2.5 + 2 ** (x / 4) - x ** n\n"
    tier = same_as_cpython(source, "f", n)
    assert not tier.last_deopt
    big = same_as_cpython("def f(n):\n    return (10.0 + n) ** 400\n", "f", n)
    assert bool(big.last_deopt) == (n > -5)


CALLS = """
def norm(x, y):
    return x * x + y * y

def use(n):
    t = 0.0
    for i in range(n):
        t = t + norm(i * 0.5, 1.5)
    return t

def halve(x):
    if x < 1.0:
        return x
    return halve(x / 2.0)

def mixed(x):
    return x + 1

def calls_mixed(n):
    return mixed(n) + mixed(0.5)
"""


def test_float_parameters_where_every_call_passes_a_float():
    """A parameter is a float when every call in the module passes one: compiled calls
    pass the bits, and Python's floats enter machine code too (ints go to the VM there);
    a parameter passed an int here and a float there stays int, and the float caller is
    left to the VM."""
    tier = stack_tier(compile_module(parse_module(CALLS)))
    params = {name: info.params for name, info in tier.compiled.functions.items()}
    assert params["norm"] == ("float", "float") and params["halve"] == ("float",)
    assert params["mixed"] == ("int",) and "calls_mixed" in tier.compiled.skipped
    namespace: dict = {}
    exec(CALLS, namespace)
    calls = [("use", (10,)), ("norm", (1.5, -2.0)), ("norm", (3, 4)), ("halve", (1000.0,)),
             ("halve", (-3.0,)), ("calls_mixed", (2,))]  # fmt: skip
    for name, args in calls:
        assert outcome(tier.call, name, *args) == outcome(namespace[name], *args), name
        assert not tier.last_deopt
    assert tier.accepts("norm", (1.5, 2.0)) and not tier.accepts("norm", (1, 2.0))
    assert tier.builtin("norm")(0.5, 0.25) == 0.3125
