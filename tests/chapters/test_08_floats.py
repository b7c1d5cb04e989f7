"""Chapter 08's doubles and lists (Steps 9 and 10) on inputs the chapter did not show.

Seeded random doubles (random bit patterns, so subnormals, huge and tiny magnitudes come up,
and NaN, both infinities, -0.0, the extremes) go through the chapter's own compiler, in this
process and in executables with and without libc; CPython running the same source is the
oracle, compared through `repr` so that -0.0 and NaN count. Ints meet floats within 2**53,
where the chapter's `sitofp` is exact (beyond it the chapter says it may differ). llvmlite's
verifier checks every module.
"""

from __future__ import annotations

import contextlib
import io
import math
import random
import struct

import pytest

from jitkit.llvm.verify import verify_ir
from jitkit.workshop import load_chapter

SPECIAL = [
    math.nan,
    -math.nan,
    math.inf,
    -math.inf,
    0.0,
    -0.0,
    5e-324,
    -2.2250738585072014e-308,
    1.7976931348623157e308,
    1.0,
    -1.5,
    0.1,
    2.0**53,
    -(2.0**63),
    1e16,
    123456.789,
]
EXACT = 2**53  # below this every int is a double, and CPython's int / int is one fdiv

FLOATS = """
def add(x: float, y: float) -> float:
    return x + y

def sub(x: float, y: float) -> float:
    return x - y

def mul(x: float, y: float) -> float:
    return x * y

def div(x: float, y: float) -> float:
    return x / y

def neg(x: float) -> float:
    return -x

def poly(x: float, y: float) -> float:
    t = x * 0.5 - y
    t += 3.25 * x
    return -t / (y * y + 1.0)

def compare(x: float, y: float):
    bits = 0
    if x < y:
        bits += 1
    if x <= y:
        bits += 2
    if x > y:
        bits += 4
    if x >= y:
        bits += 8
    if x == y:
        bits += 16
    if x != y:
        bits += 32
    if not x < y:
        bits += 64
    if x:
        bits += 128
    if x < y <= 2.0 * y or x != x:
        bits += 256
    return bits

def mixed(n, x: float) -> float:
    return (n + x) * (n - x) / (x - n * 2)

def ratio(a, b) -> float:
    return a / b

def against_int(n, x: float):
    if n < x:
        return -1
    if n == x:
        return 0
    return 1

def noisy(x: float) -> float:
    print(x)
    return x

def negcall(x: float, y: float) -> float:
    return -noisy(x) - -noisy(y)

def shown(x: float, y: float):
    print(x, y, -x, x / 7.0)
    return 0
"""
FUNCTIONS = ["add", "sub", "mul", "div", "neg", "poly", "compare", "negcall", "shown"]

LISTS = """
def probe(n, k, v):
    xs = [0] * n
    i = 0
    while i < n:
        xs[i] = i * 7 - 3
        i += 1
    xs[k] = v
    return xs[k] + xs[-1] * 1000 + len(xs)

def display(a, b, k):
    xs = [a, b, a - b]
    return xs[k] * 10 + len([k])

def sieve(n):
    flags = [1] * (n + 1)
    count = 0
    i = 2
    while i <= n:
        if flags[i]:
            count += 1
            j = i * i
            while j <= n:
                flags[j] = 0
                j += i
        i += 1
    return count
"""


def random_double(rng: random.Random) -> float:
    """A double from random bits (any exponent), from a small range, or a special value."""
    r = rng.random()
    if r < 0.25:
        return rng.choice(SPECIAL)
    if r < 0.6:
        return struct.unpack("<d", rng.getrandbits(64).to_bytes(8, "little"))[0]
    return rng.choice([1, -1]) * rng.uniform(0, 100) // 0.25 * 0.25  # ties and equal values


def outcome(fn, *args) -> tuple[str, str]:
    """repr of the result (or the exception with its message), and what was printed."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        try:
            result = repr(fn(*args))
        except (ZeroDivisionError, IndexError, RecursionError) as error:
            result = f"{type(error).__name__}: {error}"
    return result, out.getvalue()


@pytest.fixture(scope="module")
def ch():
    return load_chapter("08")


@pytest.fixture(scope="module")
def floats(ch):
    verify_ir(ch.Compiler(FLOATS).compile())
    namespace: dict = {}
    exec(FLOATS, namespace)
    return ch.InProcess(FLOATS), namespace


@pytest.fixture(scope="module")
def lists(ch):
    verify_ir(ch.Compiler(LISTS).compile())
    namespace: dict = {}
    exec(LISTS, namespace)
    return ch.InProcess(LISTS), namespace


@pytest.mark.parametrize("seed", range(4))
def test_float_functions_on_random_doubles_match_cpython(floats, seed):
    compiled, namespace = floats
    rng = random.Random(seed)
    pairs = [(x, y) for x in SPECIAL for y in SPECIAL] if seed == 0 else []
    pairs += [(random_double(rng), random_double(rng)) for _ in range(400)]
    for x, y in pairs:
        for name in FUNCTIONS:
            args = (x,) if name == "neg" else (x, y)
            want = outcome(namespace[name], *args)
            assert outcome(compiled.call, name, *args) == want, (name, args)


def test_ints_meet_floats_as_python_promotes_them(floats):
    compiled, namespace = floats
    rng = random.Random(8)
    ints = [0, 1, -1, 7, -7, EXACT, -EXACT, EXACT - 1, 3**30]
    for _ in range(600):
        n = rng.choice(ints + [rng.randint(-EXACT, EXACT), rng.randint(-100, 100)])
        m = rng.choice(ints + [rng.randint(-EXACT, EXACT), rng.randint(-9, 9)])
        x = random_double(rng)
        for name, args in (("mixed", (n, x)), ("ratio", (n, m)), ("against_int", (n, x))):
            want = outcome(namespace[name], *args)
            assert outcome(compiled.call, name, *args) == want, (name, args)


@pytest.mark.parametrize("libc", [True, False], ids=["libc", "nolibc"])
def test_an_executable_prints_floats_as_cpython(ch, libc):
    rng = random.Random(80 + libc)
    values = SPECIAL + [random_double(rng) for _ in range(40)]
    calls = "".join(f"shown({x!r}, {y!r})\n" for x, y in zip(values, values[::-1], strict=True))
    calls = calls.replace("nan", 'float("nan")').replace("inf", 'float("inf")')
    source = FLOATS + calls + "print(ratio(1, 0))\n"  # an error site ends it, as in CPython
    want_error, want_out = outcome(exec, source, {})
    done = ch.run_executable(source, libc)
    assert done.stdout == want_out
    assert done.returncode == 1
    assert done.stderr == want_error + "\n"


def test_lists_against_cpython_at_every_index(lists):
    compiled, namespace = lists
    rng = random.Random(10)
    for n in range(-2, 7):
        for k in range(-8, 9):
            args = (n, k, rng.randint(-50, 50))
            assert outcome(compiled.call, "probe", *args) == outcome(namespace["probe"], *args)
    for k in range(-5, 5):
        args = (rng.randint(-9, 9), rng.randint(-9, 9), k)
        assert outcome(compiled.call, "display", *args) == outcome(namespace["display"], *args)
    for n in (0, 1, 2, 3, 97, 1000, 4096):
        assert compiled.call("sieve", n) == namespace["sieve"](n)


@pytest.mark.parametrize("libc", [True, False], ids=["libc", "nolibc"])
def test_an_executable_with_lists_matches_cpython(ch, libc):
    source = (
        LISTS + "print(sieve(1000), probe(4, -1, 5), probe(2, 0, -3))\nprint(display(1, 2, 5))\n"
    )
    want_error, want_out = outcome(exec, source, {})
    done = ch.run_executable(source, libc)
    assert (done.stdout, done.returncode) == (want_out, 1)
    assert done.stderr == want_error + "\n"


def test_a_list_too_long_is_a_memory_error(ch):
    compiled = ch.InProcess("def big(n):\n    xs = [1] * n\n    return len(xs)\n")
    assert compiled.call("big", 5) == 5
    with pytest.raises(MemoryError):
        compiled.call("big", 2**50)


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("def f():\n    x = 0\n    x = x + 0.5\n    return x\n", "x is double, assigned i64"),
        ("def f(x: float):\n    return x\n", "returns i64, not double"),
        ("def f(x: float) -> float:\n    return 1\n", "returns double, not i64"),
        ("def f(x: str):\n    return 1\n", "str: annotate with one of"),
        ("def f(x: float) -> float:\n    return x // 2.0\n", "FloorDiv of floats"),
        ("def f(x: float) -> float:\n    return x % 2.0\n", "Mod of floats"),
        ("def f(x: float) -> float:\n    return g(x)\n\ndef g(n):\n    return n\n", "given double"),
        ("def f(n):\n    xs = [1.5]\n    return n\n", "ints only"),
        ("def f(n):\n    xs = [1]\n    print(xs)\n    return n\n", "print of ints and floats"),
        ("def f(n):\n    xs = [1]\n    return xs + 1\n", "ints and floats only"),
        ("def f(n):\n    xs = [1]\n    return -xs\n", "ints and floats only"),
    ],
)
def test_outside_the_typed_subset_is_a_compile_error(ch, source, message):
    with pytest.raises(ch.CompileError, match=message):
        ch.Compiler(source).compile()
