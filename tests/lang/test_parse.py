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
    "list": "    return [1]",
    "dict": "    return {}",
    "global": "    global q",
    "raise": "    raise a",
    "assert": "    assert a",
    "del": "    del a",
    "import": "    import os",
    "attribute access": "    return a.b",
    "subscript": "    return a[0]",
    "f-string": "    return f'{a}'",
    "float literal": "    return 1.5",
    "operator 'Div'": "    return a / 2",
    "comparison 'In'": "    return a in a",
    "global variable 'q'": "    return q",
    "nested 'def'": "    def g():\n        pass",
    "'for' other than": "    for x in a:\n        pass",
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
