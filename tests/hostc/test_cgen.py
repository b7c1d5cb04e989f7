"""The generated C reads like the source, and compiled by cc it computes what CPython does."""

from __future__ import annotations

import itertools

from jitkit.hostc import compile_source
from jitkit.hostc.cgen import c_string, generate
from jitkit.hostc.runtime import HELPERS
from jitkit.lang.parse import parse_module

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
EDGES = [INT64_MIN, INT64_MIN + 1, -(2**32), -7, -2, -1, 0, 1, 2, 3, 7, 2**32, INT64_MAX]


def c_of(source: str, name: str) -> str:
    return generate(parse_module(source)).function_source(name)


def body_lines(c: str) -> list[str]:
    """Statement lines of a function's C, without comments, as a compact listing."""
    return [x.strip() for x in c.splitlines()[2:-1] if not x.strip().startswith("/*")]


def test_floor_division_and_modulo_lower_to_the_floor_helpers():
    c = c_of("def f(a, b):\n    return a // b + a % b\n", "f")
    assert body_lines(c) == [
        "jk_enter(cx);",
        "return jk_leave(cx, jk_add(cx, jk_floordiv(cx, jk_load(cx, v_a), jk_load(cx, v_b)), "
        "jk_mod(cx, jk_load(cx, v_a), jk_load(cx, v_b))));",
    ]
    helper = HELPERS["jk_floordiv"]
    assert "if (y == 0) jk_bail(cx, JK_ZERO_DIVISION);" in helper
    assert "if (x == INT64_MIN) jk_bail(cx, JK_OVERFLOW);" in helper
    assert "(r != 0 && (r ^ b) < 0) ? q - 1 : q" in HELPERS["jk_floor"]


def test_floor_division_and_modulo_agree_with_cpython_on_the_edges():
    m = compile_source("def fd(a, b):\n    return a // b\n\ndef md(a, b):\n    return a % b\n")
    for a, b in itertools.product(EDGES, EDGES):
        if b == 0:
            continue
        assert m.call("fd", a, b) == a // b, (a, b)
        assert m.call("md", a, b) == a % b, (a, b)
    assert m.bailouts == {"overflow": 1}  # INT64_MIN // -1 only: 2**63 is a big int


def test_two_calls_in_one_expression_run_left_to_right():
    source = "def f(x):\n    print(x)\n    return x\n\ndef g():\n    return f(1) - f(2)\n"
    c = c_of(source, "g")
    assert "(t1 = py_f(cx, jk_int(1)), t2 = py_f(cx, jk_int(2)), jk_sub(cx, t1, t2))" in c
    assert "py_f(cx, jk_int(1))" in c_of("def f(x):\n    return f(1) - 2\n", "f")


def test_chained_comparison_evaluates_the_middle_once_and_short_circuits(capsys):
    c = c_of("def f(a, b, c):\n    return a < b <= c\n", "f")
    assert (
        "jk_bool((t1 = jk_load(cx, v_a), (t2 = jk_load(cx, v_b), jk_lt(cx, t1, t2)) && "
        "(t3 = jk_load(cx, v_c), jk_le(cx, t2, t3))))"
    ) in c
    m = compile_source(
        "def p(x):\n    print(x)\n    return x\n\ndef f():\n    return p(3) < p(1) < p(2)\n"
    )
    capsys.readouterr()
    assert m.call("f") is False
    assert capsys.readouterr().out == "3\n1\n"  # p(2) never ran: 3 < 1 already failed
    assert m.call("p", 2) == 2 and capsys.readouterr().out == "2\n"
    assert not m.bailouts


def test_and_or_min_max_keep_python_values():
    m = compile_source(
        "def f(a, b):\n    return a and b\n\ndef g(a, b):\n    return a or b\n\n"
        "def h(a, b):\n    return min(a, b)\n\ndef k(a, b):\n    return max(a, b)\n"
    )
    for a, b in itertools.product([0, 3, True, False, None], repeat=2):
        assert repr(m.call("f", a, b)) == repr(a and b)
        assert repr(m.call("g", a, b)) == repr(a or b)
    for a, b in itertools.product([0, 1, 3, True, False], repeat=2):
        assert repr(m.call("h", a, b)) == repr(min(a, b)), (a, b)
        assert repr(m.call("k", a, b)) == repr(max(a, b)), (a, b)
    assert not m.bailouts


def test_strings_keep_every_byte(capsys):
    text = 'quote " back \\ tab \t nul \0 trigraph ??= é € 1'
    m = compile_source(f"print({text!r}, 7, sep={'??/'!r}, end={'☃' + chr(10)!r})\n")
    m.run_main()
    assert capsys.readouterr().out == f"{text}??/7☃\n"
    literal, length = c_string("a\n\0" + "1")
    assert literal == '"a\\n\\0001"' and length == 4


def test_names_that_are_not_c_identifiers():
    m = compile_source("def π(r):\n    return 3 * r * r\n\nprint(π(2))\n")
    assert m.call("π", 10) == 300
    assert "pyu_cf80" in m.c_source  # the UTF-8 bytes of π, hex-coded
    clash = compile_source("def _module():\n    return 1\n\nprint(_module())\n")
    assert clash.call("_module") == 1 and "pym_module" in clash.c_source


def test_tests_use_the_comparison_itself():
    source = "def f(a):\n    while not a > 3:\n        a += 1\n    return 1 if a == 4 else 0\n"
    c = c_of(source, "f")
    assert "if (!(!jk_gt(cx, jk_load(cx, v_a), jk_int(3)))) break;" in c
    assert "(jk_eq(cx, jk_load(cx, v_a), jk_int(4)) ? jk_int(1) : jk_int(0))" in c


def test_dumps_show_the_c_and_the_compilers_assembly(capsys):
    compile_source("def f(a, b):\n    return a * b\n", dump=["c", "asm"])
    out = capsys.readouterr().out
    assert "generated C" in out and "jk_mul(cx, jk_load(cx, v_a), jk_load(cx, v_b))" in out
    assert "py_f:" in out and "imul" in out and "jk_run" not in out


def test_a_function_falling_off_its_end_returns_none():
    m = compile_source("def f(a):\n    if a:\n        return 1\n\ndef g():\n    pass\n")
    assert m.call("f", 0) is None and m.call("f", 5) == 1 and m.call("g") is None


def test_a_negative_literal_is_one_constant_even_int64_min():
    source = "def f(a):\n    return a + -9223372036854775808 + -(-3) + -True\n"
    folded = "jk_add(cx, jk_add(cx, jk_load(cx, v_a), jk_int(INT64_MIN)), jk_int(3))"
    assert f"jk_add(cx, {folded}, jk_int(-1))" in c_of(source, "f")
    m = compile_source(source)
    assert m.call("f", 5) == 5 - 2**63 + 3 - 1 and m.call("f", 2**62) == 2**62 - 2**63 + 2
    assert not m.bailouts  # in C: the literal is INT64_MIN itself, not -(2**63) overflowing
    assert m.call("f", -3) == -3 - 2**63 + 2 and m.bailouts == {"overflow": 1}


def test_the_listing_of_a_function_the_compiler_would_clone_or_inline():
    """With constant arguments from every caller gcc would make `py_helper.constprop.0` (and
    inline the rest into jk_run): the listing must still be helper's code, under its name."""
    m = compile_source(
        "def helper(a, k, unused):\n    return a * k\n\n"
        "def f(n):\n    return helper(n, 3, None) + helper(n + 1, 3, None) * 2\n"
    )
    listing = m.assembly("helper")
    assert listing.startswith("py_helper") and "mul" in listing
    assert "py_f" not in listing and m.call("f", 5) == 51
