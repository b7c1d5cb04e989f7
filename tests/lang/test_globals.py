"""Module-level names: the parser resolves a function's reads of them (CPython's scoping) and
makes main store them; the tree-walker reads them at call time, as CPython does."""

import contextlib
import io

import pytest

from jitkit.errors import UnsupportedError
from jitkit.lang import nodes, treewalk
from jitkit.lang import runtime as rt
from jitkit.lang.nodes import sexpr
from jitkit.lang.parse import parse_module

PROGRAM = """\
LIMIT = 10
def total(n):
    s = 0
    for i in range(n):
        s += i % 7
    return s + LIMIT
def shadow():
    LIMIT = 3
    return LIMIT
for K in range(2):
    pass
LIMIT, OTHER = 20, total(3)
"""


def run_both(source: str) -> tuple[str, str]:
    """(CPython's output and error, the tree-walker's), each `stdout|ErrorType: message`."""
    results = []
    for run in (lambda: exec(compile(source, "p.py", "exec"), {}), lambda: walk(source)):
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            try:
                run()
                error = ""
            except Exception as e:  # noqa: BLE001 - compared, not handled
                error = f"{type(e).__name__}: {e}"
        results.append(f"{out.getvalue()}|{error}")
    return results[0], results[1]


def walk(source: str) -> None:
    treewalk.TreeWalker(parse_module(source, "p.py")).run_main()


def test_reads_become_globals_numbered_by_first_binding():
    m = parse_module("B = 1\nA = 2\ndef f():\n    return A + B\n")
    assert m.globals == ["B", "A"]
    assert sexpr(m.functions["f"].body) == [
        ["Return", ["BinOp", "+", ["Global", "A", 1], ["Global", "B", 0]]]
    ]
    assert "globals" in nodes.features(m)


def test_a_name_assigned_in_the_function_is_its_local():
    m = parse_module(PROGRAM)
    assert m.globals == ["LIMIT"]  # OTHER and K: no function reads them, no slot
    assert sexpr(m.functions["shadow"].body) == [["Assign", "LIMIT", 3], ["Return", "LIMIT"]]


def test_main_stores_after_each_binding_and_first_in_loop_bodies():
    src = "N = 0\nfor N in range(3):\n    pass\nN += 1\nN, M = 5, 6\ndef f():\n    return N\n"
    body = sexpr(parse_module(src).main.body)
    store = ["SetGlobal", "N", 0, "N"]
    assert body[:2] == [["Assign", "N", 0], store]
    assert body[2][0] == "ForRange" and body[2][-1] == [store, ["Pass"]]
    assert body[3:] == [
        ["AugAssign", "N", "+", 1],
        store,
        ["TupleAssign", ["N", "M"], [5, 6]],
        store,
    ]


def test_no_globals_no_feature():
    m = parse_module("X = 1\ndef f():\n    return 2\nprint(X)\n")
    assert m.globals == [] and "globals" not in nodes.features(m)


@pytest.mark.parametrize(
    "source",
    [
        PROGRAM + "print(total(5), shadow(), OTHER)\n",
        "def f():\n    return N\nprint(1)\nprint(f())\nN = 2\n",  # NameError after output
        "def f():\n    return N\nfor i in range(0):\n    N = i\nprint(f())\n",  # never ran
        "def f():\n    return N\nN = 1\nprint(f())\nN = 2.5\nprint(f())\n",  # rebound
        "XS = []\ndef push(v):\n    XS.append(v)\n    return len(XS)\nprint(push(1), XS)\n",
        "def f():\n    x = G\n    G = 1\n    return x\nG = 5\nprint(f())\n",  # UnboundLocalError
        "T = 0\ndef f(i):\n    return i * T\nfor T in range(4):\n    print(f(2))\n",
        "A = 1\ndef f():\n    return A\nwhile A < 4:\n    A = A + f()\nprint(A)\n",
    ],
)
def test_treewalk_agrees_with_cpython(source):
    expected, got = run_both(source)
    assert got == expected


def test_name_error_is_cpythons():
    expected, got = run_both("def f():\n    return LIMIT\nprint(f())\nLIMIT = 1\n")
    assert got == expected == "|NameError: name 'LIMIT' is not defined"


def test_set_globals_from_outside():
    m = parse_module("def f(x):\n    return x + G\nG = 0\n")
    walker = treewalk.TreeWalker(m)
    walker.set_globals([rt.UNBOUND])
    with pytest.raises(NameError, match="name 'G' is not defined"):
        walker.run("f", [1])
    walker.set_globals([41])
    assert walker.run("f", [1]) == 42
    with pytest.raises(ValueError, match="set_globals takes 1 values"):
        walker.set_globals([])


@pytest.mark.parametrize(
    ("source", "what"),
    [
        ("X = 1\ndef g():\n    global X\n    X = 2\n", "'global' statement"),
        ("X = 1\ndef g():\n    return X(2)\n", "call of 'X', a module-level variable"),
        ("print = 1\ndef g():\n    print(2)\n", "call of 'print', a module-level variable"),
        ("range = 1\ndef g():\n    for i in range(2):\n        pass\n", "call of 'range'"),
        ("Z = 1\ndef g():\n    return Y\n", "'Y' (no top-level statement binds it)"),
    ],
)
def test_refused_with_a_clear_error(source, what):
    with pytest.raises(UnsupportedError, match="line 3") as info:
        parse_module(source, "p.py")
    assert what in str(info.value)
