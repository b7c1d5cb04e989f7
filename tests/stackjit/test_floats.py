"""Floats in the stack tier: the type analysis (jitkit/stackjit/types.py) knows the float
kind as Python promotes it, the deopt reader turns a float word back into the float, and
the `floats` switch keeps the tier's acceptance of floats behind one parameter."""

import math
import struct

from hypothesis import given
from hypothesis import strategies as st

from jitkit.bytecode.compiler import compile_module
from jitkit.lang.parse import parse_module
from jitkit.stackjit.compiler import skipped_functions
from jitkit.stackjit.runtime import double, word
from jitkit.stackjit.types import BOOL, FLOAT, INT, analyse_module

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


def test_float_power_and_mixed_kinds_are_refused_even_with_floats():
    power = analysis("def f(n):\n    return 1.5 ** n\n")
    assert "BINARY_POW" in skipped_functions(power, floats=True)["f"]
    mixed = analysis("def f(n):\n    x = 1\n    if n:\n        x = 0.5\n    return x + 1\n")
    assert "f" in skipped_functions(mixed, floats=True)


@given(st.floats(allow_nan=True, allow_infinity=True))
def test_float_words_round_trip(value):
    got = double(word(value))
    assert struct.pack("<d", got) == struct.pack("<d", value) or math.isnan(value)
    assert -(2**63) <= word(value) < 2**63
