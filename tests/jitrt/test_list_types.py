"""The type analysis of lists (#17): ("list", K) types, the kind of `[]` from its first
append, list parameters from the calls, and the reasons a tier gives for lists it leaves to
the VM (`check` with and without its `lists` switch)."""

from __future__ import annotations

import pytest

from jitkit.bytecode.compiler import compile_module
from jitkit.bytecode.opcodes import Op
from jitkit.jitrt.layout import (
    LIST_CAP,
    LIST_DATA,
    LIST_HEADER,
    LIST_KIND,
    LIST_KIND_BOOL,
    LIST_KIND_FLOAT,
    LIST_KIND_INT,
    LIST_LEN,
    element_size,
)
from jitkit.jitrt.types import (
    BOOL,
    FLOAT,
    INT,
    LIST_BOOL,
    LIST_FLOAT,
    LIST_INT,
    NONE,
    analyse_module,
)
from jitkit.lang.parse import parse_module
from jitkit.stackjit.compiler import skipped_functions

SOURCE = """
def sieve(n):
    flags = [True] * (n + 1)
    flags[0] = False
    count = 0
    for f in flags:
        if f:
            count += 1
    return count

def build(n):
    xs = []
    for i in range(n):
        xs.append(i * 1.5)
    return xs

def total(xs):
    t = 0.0
    for x in xs:
        t = t + x
    return t

def main(n):
    return total(build(n))

def pair(a, b):
    return [a, b]

def first(n):
    return pair(n, n + 1)[0]

def length(n):
    return len(n * [0])

def empty():
    return []

def appended():
    xs = []
    xs.append(True)
    return xs
"""

BAD = """
def nested():
    return [[1], [2]]

def nones(n):
    return [None] * n

def mixed():
    return [1, True]

def change(n):
    xs = [0] * n
    xs[0] = 1.5
    return xs

def two_kinds():
    xs = []
    xs.append(1)
    xs.append(2.5)
    return xs

def float_index(n):
    xs = [1, 2]
    return xs[n / 2]

def by_python(xs):
    return xs[0]

def truthy():
    xs = [1]
    if xs:
        return 1
    return 0
"""


def analysis(source: str):
    codes = compile_module(parse_module(source))
    return codes, analyse_module(codes, float_params=True)


def test_list_types_are_tuples_of_list_and_a_kind():
    assert (LIST_INT, LIST_BOOL, LIST_FLOAT) == (("list", INT), ("list", BOOL), ("list", FLOAT))


def test_each_list_gets_its_kind():
    codes, a = analysis(SOURCE)
    returns = {name: set(t.returns) for name, t in a.items()}
    assert returns == {
        "sieve": {INT},
        "build": {LIST_FLOAT},  # `[]`: the first append's value is a float
        "total": {FLOAT},
        "main": {FLOAT},
        "pair": {LIST_INT},
        "first": {INT},
        "length": {INT},
        "empty": {LIST_INT},  # nothing appends: an int list (empty either way)
        "appended": {LIST_BOOL},
    }
    # a parameter is a list where the module's calls pass one
    assert a["total"].states[0].locals[0] == {LIST_FLOAT}
    # the element read of the bool list in sieve's `for f in flags` is a bool
    sieve = a["sieve"]
    reads = [pc for pc, op in enumerate(codes["sieve"].ops) if op == Op.BINARY_SUBSCR]
    assert [set(sieve.states[pc + 1].stack.top) for pc in reads] == [{BOOL}]


def test_without_the_lists_switch_every_list_function_stays_in_the_vm():
    """Until a tier has list templates it asks `check` without `lists`: nothing with a list
    in it compiles, each with a reason (the stack and SSA tiers' VM fallback of today)."""
    _, a = analysis(SOURCE)
    skipped = skipped_functions(a, floats=True)
    assert set(skipped) == set(a) - {"pair"} | {"pair"}  # every one of them
    assert all("stays interpreted" in why for why in skipped.values()), skipped
    assert "total(): the list 'xs' stays interpreted" == skipped["total"]
    assert skipped["main"] == "main, line 24: calls build(), which stays interpreted"


def test_with_the_lists_switch_the_good_lists_pass_the_list_rules():
    """`check_list_op` accepts every list of SOURCE (whatever templates a tier has yet)."""
    from jitkit.stackjit.compiler import Where, check_list_op, list_times_int

    codes, a = analysis(SOURCE)
    for name, types in a.items():
        for pc, state in enumerate(types.states):
            op = codes[name].ops[pc]
            if state is None:
                continue
            if op in (Op.BUILD_LIST, Op.BINARY_SUBSCR, Op.STORE_SUBSCR, Op.UNARY_LEN,
                      Op.CHECK_APPEND, Op.LIST_APPEND, Op.CHECK_ITER):  # fmt: skip
                check_list_op(op, codes[name].args[pc], state, Where(codes[name], pc), True)
            if op == Op.BINARY_MUL and name in ("sieve", "length"):
                assert list_times_int(state)


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("nested", "a list of lists: compiled lists hold ints, bools or floats"),
        ("nones", "a list of None: compiled lists hold ints, bools or floats"),
        ("mixed", "a list mixing kinds of elements"),
        ("change", "puts a float into a list of ints; a compiled list keeps one kind"),
        ("two_kinds", "puts a float into a list of ints"),
        ("float_index", "a list index that is a float"),
        ("by_python", "is an int, not a list made by compiled code"),
        ("truthy", "JUMP_IF_FALSE of {('list', 'int')}"),
    ],
)
def test_lists_a_tier_cannot_compile_keep_a_reason(name, reason, monkeypatch):
    """With the switch on (and templates for every list opcode, as a tier with lists has),
    each bad list is refused with a reason a learner can act on."""
    from jitkit.stackjit import compiler, templates

    for op in (Op.BUILD_LIST, Op.BINARY_SUBSCR, Op.STORE_SUBSCR, Op.UNARY_LEN,
               Op.CHECK_APPEND, Op.LIST_APPEND, Op.CHECK_ITER):  # fmt: skip
        monkeypatch.setitem(compiler.TEMPLATES, op, templates.emit_nothing)
    _, a = analysis(BAD)
    skipped = skipped_functions(a, floats=True, lists=True)
    assert reason in skipped[name], skipped[name]


def test_a_list_passed_by_python_only_is_not_a_list_parameter():
    """`by_python(xs)` has no compiled caller: its parameter stays an int in the analysis,
    and the tier refuses it (a list from Python runs in the VM, never copied in)."""
    _, a = analysis(BAD)
    assert a["by_python"].states[0].locals[0] == {INT}


def test_a_list_of_none_is_a_type_the_analysis_keeps():
    _, a = analysis(BAD)
    assert set(a["nones"].returns) == {("list", NONE)}


def test_the_list_header_layout():
    assert (LIST_LEN, LIST_CAP, LIST_DATA, LIST_KIND, LIST_HEADER) == (0, 8, 16, 24, 32)
    assert (LIST_KIND_INT, LIST_KIND_BOOL, LIST_KIND_FLOAT) == (0, 1, 2)
    assert [element_size(k) for k in (INT, BOOL, FLOAT)] == [8, 1, 8]
    assert [element_size(k) for k in (LIST_KIND_INT, LIST_KIND_BOOL, LIST_KIND_FLOAT)] == [8, 1, 8]
    with pytest.raises(ValueError, match="no list kind"):
        element_size("none")
