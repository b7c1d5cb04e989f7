"""Lists in C: made, read, stored, appended, iterated and returned as CPython does them."""

from __future__ import annotations

import contextlib
import io

import pytest

from jitkit.hostc import compile_source, module
from tests.hostc.helpers import HandedOver, c_only, same
from tests.programs.engines import run

PROGRAM = """
def sieve(n):
    flags = [True] * (n + 1)
    flags[0] = False
    flags[1] = False
    i = 2
    while i * i <= n:
        if flags[i]:
            for j in range(i * i, n + 1, i):
                flags[j] = False
        i += 1
    primes = []
    for k in range(n + 1):
        if flags[k]:
            primes.append(k)
    return primes

def mixed():
    xs = [1, 2.5, True, None, -0.0]
    xs.append(1e16)
    print(xs, len(xs), xs[-1], xs[-6])
    return xs

def alias():
    a = [1, 2, 3]
    b = a
    b[0] = 10
    b.append(4)
    last = -1
    a[last] += 0.5
    return a

def grow_while_iterating():
    xs = [1]
    for x in xs:
        if x < 5:
            xs.append(x + 1)
        print(x, len(xs))
    return xs

def repeat(n):
    print([1, 2] * n)
    return n * [1.5, None]

def total(xs):
    s = 0.0
    for x in xs:
        s += x
    return s

def sums(n):
    return total([i / 2 for_each_placeholder])

def get(i):
    return [10, 20, 30][i]

def put(i):
    xs = [10, 20, 30]
    xs[i] = 0
    return xs

def empty():
    xs = []
    print(xs, len(xs), not xs, not [0])
    return xs

def nested():
    return [[1], 2]

def not_a_list(x):
    for y in x:
        pass
    return x[0]

def compare_lists():
    return [1] == [1]

def compare_mixed():
    return [[1] == 1, None == [], [] != 2]
"""
PROGRAM = PROGRAM.replace(
    "def sums(n):\n    return total([i / 2 for_each_placeholder])\n",
    "def sums(n):\n    xs = []\n    for i in range(n):\n        xs.append(i / 2)\n"
    "    return total(xs)\n",
)


def cpython(name: str, *args: object) -> tuple[object, str]:
    space: dict = {}
    exec(PROGRAM, space)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        try:
            result = space[name](*args)
        except Exception as error:  # noqa: BLE001 - the exception is the result
            result = error
    return result, out.getvalue()


@pytest.fixture(scope="module")
def m():
    return c_only(PROGRAM)


@pytest.mark.parametrize(
    "name, args",
    [
        ("sieve", (100,)),
        ("sieve", (1,)),
        ("mixed", ()),
        ("alias", ()),
        ("grow_while_iterating", ()),
        ("repeat", (3,)),
        ("repeat", (0,)),
        ("repeat", (-2,)),
        ("sums", (7,)),
        ("get", (-3,)),
        ("get", (2,)),
        ("get", (True,)),
        ("put", (-1,)),
        ("empty", ()),
        ("compare_mixed", ()),
    ],
)
def test_list_programs_give_cpythons_result_and_output(m, capsys, name, args):
    expected, printed = cpython(name, *args)
    assert same(m.call(name, *args), expected)
    assert capsys.readouterr().out == printed


@pytest.mark.parametrize(
    "name, args, why",
    [
        ("get", (3,), "index"),
        ("get", (-4,), "index"),
        ("put", (3,), "index"),
        ("get", (1.0,), "type"),
        ("not_a_list", (5,), "type"),
        ("nested", (), "inexact"),
        ("compare_lists", (), "inexact"),
        ("total", ([1.5, [2]],), "arguments"),
        ("total", ([2**64],), "arguments"),
    ],
)
def test_what_c_cannot_do_exactly_goes_to_the_vm(name, args, why):
    m = c_only(PROGRAM)
    with pytest.raises(HandedOver):
        m.call(name, *args)
    assert m.bailouts == {why: 1}


def test_a_list_result_is_a_new_python_list_each_call(m):
    first, second = m.call("sieve", 30), m.call("sieve", 30)
    assert first == second == [2, 3, 5, 7, 11, 13, 17, 19, 23, 29] and first is not second


def test_a_call_past_the_list_byte_budget_goes_to_the_vm(monkeypatch):
    m = c_only(PROGRAM)
    monkeypatch.setattr(module, "HEAP_LIMIT", 10_000)
    assert m.call("sieve", 100)[-1] == 97
    with pytest.raises(HandedOver):
        m.call("sieve", 1000)  # 1,001 items of 16 bytes
    assert m.bailouts == {"memory": 1}


def test_operands_are_read_in_cpythons_order_around_calls_that_change_a_list(capsys):
    source = (
        "def bump(xs):\n    xs[0] += 1\n    print('bump', xs[0])\n    return 0\n\n"
        "def f():\n    xs = [1, 0]\n    a = xs[0] + bump(xs)\n    b = bump(xs) + xs[0]\n"
        "    ys = [xs[0], bump(xs), xs[0]]\n    xs[bump(xs)] = xs[0]\n    print(a, b, ys, xs)\n"
        "    zs = [len(xs), xs.append(5), len(xs), xs[-1] + xs.append(6) if False else 0]\n"
        "    print(zs, min(len(xs), xs.append(7) or 0), xs)\n"
        "    return len(xs) + bump(xs)\n"
    )
    m = c_only(source)
    space: dict = {}
    exec(source, space)
    expected = space["f"]()
    printed = capsys.readouterr().out
    assert m.call("f") == expected and capsys.readouterr().out == printed


def test_the_builtin_entry_returns_floats_and_lists():
    m = compile_source(PROGRAM)
    sieve, get = m.builtin("sieve"), m.builtin("get")
    assert sieve(20) == [2, 3, 5, 7, 11, 13, 17, 19] and get(1) == 20
    assert m.builtin("sums")(4) == 3.0 and not m.bailouts
    half = compile_source("def half(x):\n    return x / 2\n").builtin("half")
    assert half(3.0) == 1.5 and half(-1) == -0.5 and repr(half(-0.0)) == "-0.0"


@pytest.mark.parametrize(
    "source",
    [
        "print(1.0 / 0)",
        "print(7.5 // 0.0)",
        "print(10.0 ** 400)",
        "print(int(float('nan')))",
        "print(int(float('inf')))",
        "print(int(1e19), (2**53 + 1) / 3, 2 ** -1)",
        "print(0 ** -1)",
        "print('before')\nxs = [1, 2]\nprint(xs[2])",
        "xs = [1, 2]\nxs[-3] = 1",
        "xs = [1, 2]\nprint(xs[1.0])",
        "for x in 5:\n    pass",
        "x = 5\nprint(x[0])",
        "x = 5\nx.append(1)",
        "print([[1], 2.5])",
        "print([1] == [1], [1.5] != [1.5], [1] + [2.0])",
        "def f(xs):\n    xs.append(1)\n    return xs\nprint(f([0.5]))",
        "xs = [1]\nxs.append(xs)\nprint(len(xs))",
        "print(float(None))",
    ],
)
def test_what_c_hands_over_the_vm_prints_and_raises_as_cpython_does(source):
    assert run("hostc", source) == run("cpython", source)


PASSING = """
def fill(xs, v):
    for i in range(len(xs)):
        xs[i] = v
    xs.append(len(xs))
    return xs

def twice(a, b):
    a.append(1.5)
    b.append(2)
    return len(a) + len(b)

def fail_late(xs, i):
    xs.append(0)
    print('appended')
    return xs[i]

def head(xs):
    return xs[0]
"""


def test_a_list_argument_gets_cs_changes_and_comes_back_as_itself(capsys):
    m = compile_source(PASSING)
    xs = [1, 2.5, None]
    assert m.call("fill", xs, -0.0) is xs and repr(xs) == "[-0.0, -0.0, -0.0, 3]"
    ys = [7]
    assert m.call("twice", ys, ys) == 6 and ys == [7, 1.5, 2]  # one list in C too
    assert m.call("head", [True]) is True and not m.bailouts
    zs = [1, 2]
    with pytest.raises(IndexError):
        m.call("fail_late", zs, 5)  # C bails out: the VM runs it on the untouched list
    assert zs == [1, 2, 0] and m.bailouts == {"index": 1}
    assert capsys.readouterr().out == "appended\n"
    assert m.call("fail_late", zs, -1) == 0 and zs == [1, 2, 0, 0]


def test_a_list_argument_past_the_byte_budget_goes_to_the_vm(monkeypatch):
    m = c_only(PASSING)
    monkeypatch.setattr(module, "HEAP_LIMIT", 1000)
    assert m.call("head", [5] * 10) == 5
    with pytest.raises(HandedOver):
        m.call("head", [5] * 100)
    assert m.bailouts == {"memory": 1}
