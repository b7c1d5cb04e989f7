"""Lists in the native tiers (#17), against CPython: every call runs on `stack`, `ssa` and
`auto` (`jitkit.tiers.load(...).call`, the builtin entries a user gets) and must return what
CPython returns, or raise the same exception with the same message. The stack tier must
compile these functions (not leave them to its VM): `test_the_stack_tier_compiles_them`.
"""

from __future__ import annotations

import contextlib
import gc
import io
import os
import resource
import subprocess
import sys

import pytest

from jitkit.tiers import load
from tests.conftest import ROOT
from tests.programs import kernel_function

TIERS = ("stack", "ssa", "auto")

SOURCE = (
    kernel_function("sieve")
    + """

def read(n, i):
    xs = [10, 20, 30] * n
    return xs[i]


def write(n, i):
    xs = [0] * n
    xs[i] = 7
    return xs


def negatives(n):
    xs = [1, 2, 3, 4] * n
    return xs[-1] * 1000 + xs[-len(xs)] * 100 + len(xs)


def appends(n):
    xs = []
    for i in range(n):
        xs.append(i * i - 3)
    return xs


def float_appends(n):
    xs = []
    for i in range(n):
        xs.append(i / 4)
    t = 0.0
    for x in xs:
        t = t + x
    return t


def bools(n):
    xs = []
    for i in range(n):
        xs.append(i % 3 == 0)
    return xs


def grow_while_iterating(n):
    xs = [1, 2]
    t = 0
    for x in xs:
        if len(xs) < n:
            xs.append(x + len(xs))
        t = t + x
    return t * 1000 + len(xs)


def alias(v):
    xs = [1, 2, 3]
    ys = xs
    ys[0] = v
    ys.append(v + 1)
    return xs[0] * 10 + xs[-1] + len(xs)


def repeat(n):
    xs = [1, 2, 3]
    ys = n * xs
    zs = xs * n
    return len(ys) * 1000 + len(zs) * 10 + ys[-1] + zs[0]


def empty(n):
    return [0.5] * n


def overflow(big):
    xs = [1, 2, 3, 4]
    ys = xs
    t = 0
    for i in range(len(xs)):
        xs[i] = xs[i] * big
        t = t + ys[i]
    ys.append(t)
    return xs


def total(xs):
    t = 0
    for x in xs:
        t = t + x
    return t


def fill(xs, i, v):
    if i < len(xs):
        xs[i] = v
        fill(xs, i + 1, v + 1)
    return 0


def recursion(n):
    xs = [0] * n
    fill(xs, 0, 5)
    return total(xs)


def passed_up(n):
    return total(appends(n))


def takes(xs):
    xs.append(len(xs))
    return xs[0]


def fibs(n):
    xs = [0, 1]
    for i in range(2, n):
        xs.append(xs[i - 1] + xs[i - 2])
    ys = [0] * n
    for i in range(n):
        ys[n - 1 - i] = xs[i] * 2
    return ys[xs[3]] + ys[-xs[4]] + ys[xs[-1] % n]


def kinds(n):
    bs = [False] * n
    for i in range(n):
        bs[i] = i % 3 == 1
    c = 0
    for b in bs:
        if b:
            c += 1
    fs = [0.0] * n
    for i in range(n):
        fs[i] = i / 2 + fs[i - 1]
    return c * 1000 + int(fs[-1]) + len(bs) - len(fs)


def inner(xs, big):
    xs[0] = xs[0] * big
    return xs[0]


def outer(big):
    xs = [4, 2]
    r = inner(xs, big)
    xs.append(r)
    return xs


def big(n, k):
    xs = [0] * k
    ys = [1, 2] * n
    return len(xs) + len(ys)


def shows(n):
    xs = [n, n + 1]
    print(xs, [n > 1, False], [0.5, -0.0])
    return len(xs)
"""
)

CALLS = [
    ("sieve", (1,)),
    ("sieve", (100,)),
    ("sieve", (10_000,)),
    ("read", (2, 5)),
    ("read", (2, -6)),
    ("read", (2, 6)),  # IndexError on a read
    ("read", (2, -7)),
    ("read", (0, 0)),
    ("write", (3, 2)),
    ("write", (3, -3)),
    ("write", (3, 3)),  # IndexError on a write
    ("write", (3, -4)),
    ("write", (0, 0)),
    ("negatives", (3,)),
    ("appends", (0,)),
    ("appends", (1000,)),
    ("float_appends", (333,)),
    ("bools", (20,)),
    ("grow_while_iterating", (2,)),
    ("grow_while_iterating", (50,)),
    ("alias", (5,)),
    ("repeat", (4,)),
    ("repeat", (0,)),
    ("repeat", (-2,)),
    ("empty", (3,)),
    ("empty", (-3,)),
    ("overflow", (2,)),
    ("overflow", (2**62,)),  # deopt mid-loop with two names of one list live
    ("recursion", (30,)),
    ("passed_up", (100,)),
    ("shows", (3,)),
    ("fibs", (10,)),
    ("fibs", (90,)),
    ("fibs", (93,)),  # fib(92) * 2 overflows int64: a deopt with values in registers
    ("kinds", (30,)),
    ("kinds", (0,)),  # IndexError: fs[-1] of an empty list
    ("outer", (3,)),
    ("outer", (2**62,)),  # the callee deopts: both frames' records name one list
    ("big", (3, 2**40)),  # MemoryError: the kernel refuses 8 TiB, the routine gives 0
    ("big", (3, 2**41)),  # MemoryError: past the routine's limit
    ("big", (2**62, 1)),  # MemoryError: the length overflows int64
]


def cpython(name: str, args: tuple) -> tuple[str, object]:
    namespace: dict = {}
    exec(SOURCE, namespace)
    return outcome(lambda: namespace[name](*args))


def outcome(call) -> tuple[str, object]:
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            value = call()
    except Exception as error:  # noqa: BLE001 - the oracle's exception is compared
        return out.getvalue(), (type(error), str(error))
    return out.getvalue(), ("value", value)


@pytest.fixture(scope="module", params=TIERS)
def program(request):
    return load(SOURCE, request.param)


@pytest.mark.parametrize(("name", "args"), CALLS, ids=[f"{n}{a}" for n, a in CALLS])
def test_every_tier_agrees_with_cpython(program, name, args):
    want = cpython(name, args)
    got = outcome(lambda: program.call(name, *args))
    assert got == want
    if want[1][0] == "value" and isinstance(want[1][1], list):  # a list back to Python
        assert type(got[1][1]) is list
        assert [type(x) for x in got[1][1]] == [type(x) for x in want[1][1]]


def test_the_stack_tier_compiles_them():
    tier = load(SOURCE, "stack").engine
    assert tier.compiled.skipped.keys() == {"takes"}  # no compiled caller passes it a list
    assert all(tier.tier_of(name) == "stack" for name in tier.compiled.functions)


def test_a_list_from_python_runs_in_the_vm_on_the_callers_own_list():
    """A list argument from Python is never copied into native memory: the VM runs the
    call (the tier does not `accept` it), so the caller sees its list changed."""
    program = load(SOURCE, "stack")
    tier = program.engine
    xs = [4, 5]
    assert not tier.accepts("takes", (xs,))
    assert program.call("takes", xs) == 4
    assert xs == [4, 5, 2]  # the same object, appended to
    assert program.call("total", xs) == 11


def test_a_deopt_keeps_two_names_of_one_list_one_list():
    """overflow(2**62) deopts at `xs[i] * big` with xs and ys naming one list: the VM gets one
    Python list under both names (so the append after the loop shows in the result)."""
    tier = load(SOURCE, "stack").engine
    assert tier.call("overflow", 2**62) == [2**62, 2**63, 3 * 2**62, 4 * 2**62, 10 * 2**62]
    (frame,) = tier.last_deopt
    assert frame.locals["xs"] is frame.locals["ys"]


def test_a_deopt_through_two_frames_gives_both_the_same_list():
    tier = load(SOURCE, "stack").engine
    assert tier.call("outer", 2**62) == [2**64, 2, 2**64]
    caller, callee = tier.last_deopt
    assert (caller.function, callee.function) == ("outer", "inner")
    assert caller.locals["xs"] is callee.locals["xs"]


def test_a_list_result_is_a_new_python_list_each_call():
    program = load(SOURCE, "stack")
    a, b = program.call("appends", 3), program.call("appends", 3)
    assert a == b == [-3, -2, 1] and a is not b


def test_lists_the_tier_cannot_compile_keep_a_clear_reason():
    source = """
def grid(n):
    return [[0] * n, [1] * n]

def nones(n):
    xs = [None] * n
    return len(xs)

def kinds(n):
    xs = [0] * n
    xs[0] = 0.5
    return xs
"""
    program = load(source, "stack")
    skipped = program.engine.compiled.skipped
    assert "a list of lists" in skipped["grid"], skipped
    assert "a list of None" in skipped["nones"], skipped
    assert "puts a float into a list of ints" in skipped["kinds"], skipped
    assert program.call("grid", 2) == [[0, 0], [1, 1]]
    assert program.call("nones", 3) == 3 and program.call("kinds", 2) == [0.5, 0]


def test_sieve_calls_leave_memory_flat():
    """10^4 calls of sieve(1000): each call's lists are freed when it finishes (the arena
    keeps one chunk for the next call), so the resident set does not grow with the calls."""
    program = load(kernel_function("sieve"), "stack")
    assert program.engine.tier_of("sieve") == "stack"

    def rss_kb() -> int:
        gc.collect()
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * resource.getpagesize() // 1024

    for _ in range(1000):  # warm up: the chunk, the builtin entry
        assert program.call("sieve", 1000) == 168
    before = rss_kb()
    for _ in range(10_000):
        program.call("sieve", 1000)
    assert rss_kb() - before < 1024, "RSS grew by 1 MiB or more over 10^4 calls"


CLI_PROGRAM = """
def primes(n):
    flags = [True] * (n + 1)
    found = []
    for k in range(2, n + 1):
        if flags[k]:
            found.append(k)
            for j in range(k * k, n + 1, k):
                flags[j] = False
    return found


def main():
    ps = primes(60)
    print(ps, len(ps), ps[-1], [ps[0] / 2, ps[1] / 4], [ps[1] > 2])
    print(primes(10)[7])


main()
"""


def test_jitkit_run_on_the_stack_tier_runs_lists_as_python_does(tmp_path):
    """`python -m jitkit run --tier stack` on a program with lists: the same stdout, and the
    IndexError at the end with CPython's message."""
    path = tmp_path / "lists.py"
    path.write_text(CLI_PROGRAM)
    want = subprocess.run([sys.executable, str(path)], capture_output=True, text=True)
    got = subprocess.run(
        [sys.executable, "-m", "jitkit", "run", "--tier", "stack", str(path)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert got.stdout == want.stdout and want.stdout.count("\n") == 1
    assert (got.returncode, want.returncode) == (1, 1)
    last = want.stderr.strip().splitlines()[-1]
    assert last == "IndexError: list index out of range" and last in got.stderr
    assert load(CLI_PROGRAM.replace("\nmain()\n", ""), "stack").engine.compiled.skipped == {}
