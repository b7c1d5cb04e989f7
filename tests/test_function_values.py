"""A module function used as a value is refused as such on every path (issue #14):
`@jit` with either front end says what the module path says, "using function 'g' as a
value", also when `g` is never called (it is then no callee `@jit` collects)."""

from __future__ import annotations

import pytest

import jitkit
from jitkit.errors import UnsupportedError
from jitkit.jit import BYTECODE_TIERS, DEFAULT, TIERS
from jitkit.tiers import load


def g(x):
    return x + 1


def reads_g(x):
    h = g  # noqa: F841 - the read is the point
    return x


def passes_g(x):
    print(g)
    return g(x)


MESSAGE = "using function 'g' as a value"
# the default tier runs what the kit refuses in CPython, as CPython does
CASES = [(t, "ast") for t in TIERS if t != DEFAULT]
CASES += [(t, "dis") for t in BYTECODE_TIERS if t != DEFAULT]


@pytest.mark.parametrize("fn", [reads_g, passes_g], ids=lambda f: f.__name__)
@pytest.mark.parametrize("tier, frontend", CASES, ids=lambda c: str(c))
def test_jit_says_what_the_module_path_says(fn, tier, frontend):
    with pytest.raises(UnsupportedError, match=MESSAGE) as info:
        jitkit.jit(fn, tier=tier, frontend=frontend)(1)
    assert "no top-level statement binds" not in str(info.value)


def test_the_module_path():
    source = "def g(x):\n    return x + 1\n\ndef f(x):\n    h = g\n    return x\n\nprint(f(1))\n"
    with pytest.raises(UnsupportedError, match=MESSAGE):
        load(source, "interp")


def test_a_name_nothing_binds_is_cpythons_name_error():
    def reads_nothing(x):
        return x + nowhere_bound  # noqa: F821

    with pytest.raises(NameError, match="nowhere_bound"):
        jitkit.jit(reads_nothing, tier="interp")(1)
