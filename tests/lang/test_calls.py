"""Binding a call's arguments (jitkit.lang.calls) and the front end's keyword calls and defaults.

Oracle: the running CPython. `bind` must give the values CPython binds, or CPython's
TypeError word for word, for random signatures and calls; a call the front end refuses must
name the message CPython raises when it runs the same program.
"""

from __future__ import annotations

import contextlib
import io
import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jitkit.errors import UnsupportedError
from jitkit.lang import calls
from jitkit.lang.nodes import sexpr
from jitkit.lang.parse import parse_function, parse_module

NAMES = ["a", "b", "c", "d", "e"]


def python_function(params: list[str], defaults: list[object]):
    """A real Python function `f` with these parameters and defaults, returning its locals."""
    required = len(params) - len(defaults)
    spelled = [
        p if i < required else f"{p}={defaults[i - required]!r}" for i, p in enumerate(params)
    ]
    namespace: dict = {}
    exec(f"def f({', '.join(spelled)}):\n    return [{', '.join(params)}]\n", namespace)
    return namespace["f"]


def outcome(fn, *args, **kwargs) -> tuple[str, object]:
    """("bound", what `fn` returns) or ("TypeError", its message)."""
    try:
        return "bound", fn(*args, **kwargs)
    except TypeError as e:
        return "TypeError", str(e)


@st.composite
def signatures_and_calls(draw):
    params = NAMES[: draw(st.integers(0, 4))]
    defaults = [10 * (i + 1) for i in range(draw(st.integers(0, len(params))))]
    args = list(range(100, 100 + draw(st.integers(0, len(params) + 2))))
    pool = params + ["x", "aa", "bb"]  # unknown names too, some a typo away from a parameter
    keys = draw(st.lists(st.sampled_from(pool), unique=True, max_size=4))
    keywords = [(k, 200 + i) for i, k in enumerate(keys)]
    return params, defaults, args, keywords


@settings(max_examples=400, deadline=None, derandomize=True)
@given(signatures_and_calls())
def test_bind_agrees_with_cpython(case):
    params, defaults, args, keywords = case
    f = python_function(params, defaults)
    expected = outcome(f, *args, **dict(keywords))
    assert outcome(calls.bind, "f", params, defaults, args, keywords) == expected


def test_bind_covers_every_message_exhaustively():
    """Every positional count and every ordered choice of keywords, for one signature with
    and without defaults: each of CPython's four messages comes up, and all agree."""
    seen = set()
    for defaults in ([], [7], [7, 8]):
        f = python_function(["a", "b", "c"], defaults)
        for given_args in range(5):
            for k in range(4):
                for keys in itertools.permutations(["a", "b", "c", "z"], k):
                    args, keywords = list(range(given_args)), [(key, -1) for key in keys]
                    expected = outcome(f, *args, **dict(keywords))
                    got = outcome(calls.bind, "f", ["a", "b", "c"], defaults, args, keywords)
                    assert got == expected
                    seen.add(expected[1].split(" ")[1] if expected[0] == "TypeError" else "ok")
    assert seen == {"ok", "got", "takes", "missing"}


def test_bind_arguments_fills_a_kit_functions_defaults():
    fn = parse_module("def f(n, acc=0, step=-1):\n    return n\n").functions["f"]
    assert fn.defaults == [0, -1]
    assert calls.bind_arguments(fn, (5,), {}) == [5, 0, -1]
    assert calls.bind_arguments(fn, (), {"step": 2, "n": 9}) == [9, 0, 2]
    with pytest.raises(TypeError, match=r"^f\(\) missing 1 required positional argument: 'n'$"):
        calls.bind_arguments(fn, (), {"acc": 1})


def test_arity_error_is_bind_s_message():
    from jitkit.lang.runtime import arity_error

    for given_args in (0, 1, 3, 4):
        expected = outcome(calls.bind, "f", ["a", "b"], [], [0] * given_args, [])
        assert ("TypeError", str(arity_error("f", ["a", "b"], given_args))) == expected


# ------------------------------------------------------------------ the front end


def test_keywords_bind_in_parameter_order_and_keep_the_source_order():
    m = parse_module(
        "def f(a, b, c=3, d=-1):\n    return a\n"
        "def g(x):\n    return f(x, d=x + 1, b=x * 2) + f(1, 2, d=4) + f(b=2, a=1)\n"
    )
    total = sexpr(m.functions["g"].body[0].value)
    calls_ = [total[2][2], total[2][3], total[3]]
    assert calls_ == [
        ["Call", "f", ["x", ["BinOp", "*", "x", 2], 3, ["BinOp", "+", "x", 1]], [0, 3, 1, 2]],
        ["Call", "f", [1, 2, 3, 4]],  # keywords already in parameter order: no `order`
        ["Call", "f", [1, 2, 3, -1], [1, 0, 2, 3]],
    ]


@pytest.mark.parametrize(
    "default, value",
    [("0", 0), ("-1", -1), ("--1", 1), ("+2.5", 2.5), ("-0.0", -0.0), ("True", True)]
    + [("-True", -1), ("None", None), ("10**0", None), ("2**70", None)],
)
def test_defaults_are_constants(default, value):
    source = f"def f(a, b={default}):\n    return b\n"
    if value is None and default != "None":
        with pytest.raises(UnsupportedError, match=r"default value .* \(a default must be"):
            parse_module(source)
        return
    fn = parse_module(source).functions["f"]
    namespace: dict = {}
    exec(source, namespace)
    assert [(type(v), repr(v)) for v in fn.defaults] == [
        (type(v), repr(v)) for v in namespace["f"].__defaults__
    ]


@pytest.mark.parametrize(
    "source, refusal",
    [
        ("def f(a, b='x'):\n    return a\n", r"default value 'x' \(a str"),
        ("def f(a, xs=[]):\n    return a\n", r"default value \[\]"),
        ("def f(*args):\n    return 1\n", r"'\*args, \*\*kwargs, positional-only or keyword-only"),
        ("def f(a, /, b):\n    return 1\n", r"positional-only or keyword-only"),
        ("def f(a, *, b=1):\n    return 1\n", r"positional-only or keyword-only"),
        ("def f(a):\n    return a\nf(*[1])\n", r"starred arguments"),
        ("def f(a):\n    return a\nf(**{'a': 1})\n", r"starred arguments"),
        ("print(abs(x=-1))\n", r"keyword arguments in a call of abs\(\)"),
        ("xs = [1]\nxs.append(item=2)\n", r"keyword arguments in a method call"),
    ],
)
def test_what_stays_refused(source, refusal):
    with pytest.raises(UnsupportedError, match=refusal):
        parse_module(source)


BAD_CALLS = [
    "f(1, c=2)",
    "f(1, a=2)",
    "f(b=2)",
    "f(1, 2, 3)",
    "f()",
    "f(1, 2, 3, b=1)",
    "f(1, bb=2)",
    "g(b=1)",
    "g(1, a=1)",
]


@pytest.mark.parametrize("call", BAD_CALLS)
def test_a_call_that_cannot_bind_is_refused_with_cpythons_message(call):
    source = (
        "def f(a, b=2):\n    return a\n"
        "def g(a, b):\n    return a\n"
        "def h(x):\n    print('before')\n    return " + call + "\n"
        "h(0)\n"
    )
    with contextlib.redirect_stdout(io.StringIO()):
        expected = outcome(exec, source, {})
    assert expected[0] == "TypeError"
    with pytest.raises(UnsupportedError) as refused:
        parse_module(source, "prog.py")
    assert f"prog.py, line 7, col 11: a call that always raises TypeError ({expected[1]}) " in str(
        refused.value
    )


def test_a_positional_call_without_defaults_still_fails_when_it_runs():
    """The argument-count check every tier has raises it, after the arguments ran."""
    m = parse_module("def g(a, b):\n    return a\nprint(g(1))\n")
    assert sexpr(m.main.body[0]) == ["Print", [["Call", "g", [1]]], " ", "\n"]


def test_a_live_function_s_defaults_must_be_its_def_s():
    def scaled(x, factor=3):
        return x * factor

    assert parse_function(scaled).functions["scaled"].defaults == [3]
    scaled.__defaults__ = (4,)
    with pytest.raises(UnsupportedError, match=r"scaled.__defaults__ \(4,\), set to other"):
        parse_function(scaled)
