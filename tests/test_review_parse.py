"""Adversarial review (#16): a builtin's name that the top-level code rebinds, read as a value
by a function, is refused for what it is (CPython reads the builtin until the binding runs,
then the module's value), not as "using function 'len' as a value"."""

from __future__ import annotations

import pytest

from jitkit.errors import UnsupportedError
from jitkit.lang.parse import parse_module


@pytest.mark.parametrize("name", ["len", "min", "abs", "float"])
def test_reading_a_rebound_builtin_says_so(name):
    source = f"def f():\n    return {name}\n{name} = 3\nprint(f())\n"
    with pytest.raises(UnsupportedError) as info:
        parse_module(source, "prog.py")
    assert f"reading {name!r}, a builtin the top-level code rebinds" in str(info.value)
    assert (info.value.lineno, info.value.offset) == (2, 12)


def test_a_builtin_used_as_a_value_is_still_refused_as_before():
    with pytest.raises(UnsupportedError, match="using function 'abs' as a value"):
        parse_module("def f():\n    return abs\nprint(f())\n", "prog.py")
