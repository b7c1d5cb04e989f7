"""The dis front end on lists: what it refuses, by name (the program suite runs what it reads,
on 3.11, 3.12 and 3.13)."""

import pytest

from jitkit.bytecode.from_cpython import translate_module
from jitkit.errors import UnsupportedError

REFUSED = {
    "f = xs.append": "attribute 'append'",
    "xs.pop()": "attribute 'pop'",
    "print(xs[0:1])": "SLICE",
    "print([*xs])": "a starred list display",
}


@pytest.mark.parametrize("line", REFUSED)
def test_list_constructs_outside_the_subset_are_refused(line: str):
    with pytest.raises(UnsupportedError, match=REFUSED[line]):
        translate_module(f"xs = [1, 2]\n{line}\n")
