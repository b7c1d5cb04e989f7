"""Unsupported constructs give 'file, line L, col C: ... is not supported'; good code parses."""

import pytest

from jitkit.errors import UnsupportedError
from jitkit.lang.nodes import sexpr
from jitkit.lang.parse import parse_module

UNSUPPORTED = {
    "try": "    try:\n        pass\n    except E:\n        pass",
    "with": "    with a:\n        pass",
    "class": "    class A:\n        pass",
    "lambda": "    return lambda: 1",
    "list comprehension": "    return [a for a in b]",
    "slice": "    return a[1:2]",
    "method call '.pop(...)'": "    return a.pop()",
    "'xs[i] op= v' other than": "    a[a[0]] += 1",
    "complex literal": "    return 1j",
    "float('x') (not a number)": "    return float('x')",
    "dict": "    return {}",
    "global": "    global q",
    "raise": "    raise a",
    "assert": "    assert a",
    "del": "    del a",
    "import": "    import os",
    "attribute access": "    return a.b",
    "f-string": "    return f'{a}'",
    "operator 'MatMult'": "    return a @ 2",
    "comparison 'In'": "    return a in a",
    "global variable 'q'": "    return q",
    "nested 'def'": "    def g():\n        pass",
    "'for' other than": "    for x in range(1, 2, 3, 4):\n        pass",
    "'for ... else'": "    for x in a:\n        pass\n    else:\n        pass",
    "tuple": "    return a, a",
}


@pytest.mark.parametrize("construct", UNSUPPORTED)
def test_unsupported_construct_names_file_line_col(construct):
    source = "def f(a):\n" + UNSUPPORTED[construct] + "\n"
    with pytest.raises(UnsupportedError) as info:
        parse_module(source, "/some/dir/prog.py")
    message = str(info.value)
    assert message.startswith("prog.py, line ")
    assert ", col " in message and construct in message
    assert "is not supported by jitkit (supported:" in message


def test_line_and_col_point_at_the_construct():
    with pytest.raises(UnsupportedError, match=r"^prog.py, line 3, col 4: 'try'"):
        parse_module(
            "def f(a):\n    x = 1\n    try:\n        pass\n    finally:\n        pass\n", "prog.py"
        )


def test_names_resolve_to_locals_calls_and_builtins():
    m = parse_module(
        "def f(n):\n    s = abs(n)\n    return g(s) if n else -s\ndef g(k):\n    return k\n"
    )
    assert sexpr(m.functions["f"].body) == [
        ["Assign", "s", ["Builtin", "abs", ["n"]]],
        ["Return", ["IfExp", "n", ["Call", "g", ["s"]], ["UnaryOp", "-", "s"]]],
    ]
    assert m.functions["f"].varnames == ["n", "s"]


def test_floats_and_lists_parse_to_their_nodes():
    m = parse_module(
        "def f(xs, i):\n"
        "    ys = [1.5, i / 2, float('inf')]\n"
        "    xs[i] = ys[-1] * len(ys)\n"
        "    xs[i] += 1\n"
        "    xs.append(int(2.5))\n"
        "    for y in ys:\n"
        "        print(y)\n"
        "    return [0] * i\n"
    )
    f = m.functions["f"]
    assert sexpr(f.body) == [
        ["Assign", "ys", ["ListDisplay", [1.5, ["BinOp", "/", "i", 2], float("inf")]]],
        [
            "StoreSubscript",
            "xs",
            "i",
            ["BinOp", "*", ["Subscript", "ys", ["UnaryOp", "-", 1]], ["Builtin", "len", ["ys"]]],
        ],
        ["StoreSubscript", "xs", "i", ["BinOp", "+=", ["Subscript", "xs", "i"], 1]],
        ["ExprStmt", ["Append", "xs", ["Builtin", "int", [2.5]]]],
        ["ForEach", "y", "ys", [["Print", ["y"], " ", "\n"]]],
        ["Return", ["BinOp", "*", ["ListDisplay", [0]], "i"]],
    ]
    loop = f.body[4]
    assert f.varnames[loop.hidden : loop.hidden + 2] == [".foreach0.list", ".foreach0.i"]
    assert f.varnames == ["xs", "i", "ys", "y", ".foreach0.list", ".foreach0.i"]


def test_subscript_augassign_reads_fresh_nodes():
    store = parse_module("def f(xs):\n    xs[0] *= 2\n").functions["f"].body[0]
    assert store.value is not store.item.left.value
    assert sexpr(store) == ["StoreSubscript", "xs", 0, ["BinOp", "*=", ["Subscript", "xs", 0], 2]]


def test_float_builtins_take_their_arities():
    body = parse_module("def f(a):\n    return float() + int() + float(a) + int(a)\n").functions
    assert "Builtin" in str(sexpr(body["f"].body))
    with pytest.raises(UnsupportedError, match="len\\(\\) with 2 argument"):
        parse_module("def f(a):\n    return len(a, a)\n")


@pytest.mark.parametrize(
    ("body", "used"),
    [
        ("    return a + 1", set()),
        ("    return a / 2", {"floats"}),
        ("    return -0.5", {"floats"}),
        ("    return float(a)", {"floats"}),
        ("    return len(a)", {"lists"}),
        ("    for x in a:\n        a.append(1.5)", {"floats", "lists"}),
        ("    a[0] = 1", {"lists"}),
    ],
)
def test_features_names_what_the_source_uses(body, used):
    from jitkit.lang.nodes import features

    assert features(parse_module(f"def f(a):\n{body}\n\nprint(f(2))\n")) == used
