"""Every check the LLVM tier's speed work made cheaper or moved is still there where nothing
proves it away: each case below is one the faster code must still catch, run in process and
compared with CPython running the same source (results, exception type and message)."""

from __future__ import annotations

import pytest

from jitkit.lang.runtime import INT64_MAX, INT64_MIN

SOURCE = """
def store_other_kind(n, item):
    xs = [1] * n
    xs[n - 1] = item
    return xs

def store_into_appended(item):
    xs = []
    xs.append(1)
    xs[0] = item
    return xs

def store_into_empty(n):
    xs = [True] * n
    xs[0] = False
    return xs

def read_at(n, i):
    xs = [10] * n
    xs[0] = 7
    return xs[i]

def store_at(n, i):
    flags = [True] * n
    flags[i] = False
    return flags

def strided(n, i):
    flags = [True] * n
    for j in range(i * i, n + 1, i):
        flags[j] = False
    return flags

def count_range(start, stop, step):
    count = 0
    last = None
    for i in range(start, stop, step):
        count += 1
        last = i
        if count > 5:
            break
    return [count, last]

def down(n):
    if n == 0:
        return 0
    return 1 + down(n - 1)

def tree(n):
    if n < 2:
        return n
    return tree(n - 1) + tree(n - 2)

def count_from(start, n):
    flags = [True] * n
    count = start
    for f in flags:
        if f:
            count += 1
    return count

def count_nested(n):
    count = 0
    for f in [True] * n:
        for j in range(3):
            count += 3074457345618258602
    return count

def bool_list_takes_an_int(n):
    flags = [True] * n
    flags[0] = 5
    return flags

def empty_bool_list_append(n):
    flags = [True] * n
    flags.append(3)
    return flags

def half_sums(n):
    if n == 0:
        return 0.5
    return 1.5 + half_sums(n - 1)

def none_sum(n):
    if n == 0:
        return None
    return 1 + none_sum(n - 1)

def bool_base(n):
    if n == 0:
        return True
    return 1 + bool_base(n - 1)

def loud(n):
    print(n)
    if n == 0:
        return 9223372036854775000
    return 100 + loud(n - 1)

def doubling(n):
    if n == 0:
        return 4611686018427387904
    return doubling(n - 1) + doubling(n - 1)
"""


def outcome(call):
    """What a call gives: ("ok", value) or (exception type, message)."""
    try:
        return "ok", call()
    except Exception as error:  # noqa: BLE001 - the type is what we compare
        return type(error).__name__, str(error)


def same(compiled, python, name: str, *args: object) -> None:
    mine = outcome(lambda: compiled.call(name, *args))
    theirs = outcome(lambda: python[name](*args))
    assert mine == theirs, (name, args)


# a store checks the element kind with one compare now (no store to the header): another
# kind still leaves the call to the interpreter, which gives CPython's mixed list
@pytest.mark.parametrize("item", [1.5, True, None, 7])
def test_a_store_of_another_kind_is_still_caught(compiled, python, item):
    same(compiled, python, "store_other_kind", 3, item)
    same(compiled, python, "store_into_appended", item)


def test_a_store_into_an_empty_list_is_the_index_error(compiled, python):
    # an EMPTY list (no kind yet) has no element: the bounds check stops the store first
    same(compiled, python, "store_into_empty", 0)
    same(compiled, python, "store_into_empty", 2)


# the bounds check admits 0 <= i < len with one compare; negative indices and everything
# outside take the second path: counted from the end, or CPython's IndexError
@pytest.mark.parametrize("i", [0, 3, 4, 5, -1, -4, -5, -6, INT64_MIN, INT64_MAX])
def test_indices_outside_zero_to_len_still_count_from_the_end_or_fail(compiled, python, i):
    same(compiled, python, "read_at", 5, i)
    same(compiled, python, "store_at", 5, i)


@pytest.mark.parametrize("n, i", [(10, 2), (10, 3), (2, 1), (30, 5), (10, -2)])
def test_a_strided_store_loop_stops_at_the_end_of_the_list(compiled, python, n, i):
    same(compiled, python, "strided", n, i)  # range reaches n: the last store is past the end


# the counter's step has no overflow intrinsic now: steps near INT64_MAX and INT64_MIN still
# end the loop where Python's range ends, never wrap
@pytest.mark.parametrize(
    "start, stop, step",
    [
        (INT64_MAX - 10, INT64_MAX, 3),
        (INT64_MAX - 3, INT64_MAX, 1),
        (INT64_MIN + 3, INT64_MIN, -1),
        (INT64_MIN + 10, INT64_MIN, -3),
        (0, INT64_MAX, 2**62),
        (INT64_MAX, INT64_MIN, INT64_MIN),
        (INT64_MAX - 1, INT64_MIN, -(2**62)),
        (INT64_MIN, INT64_MAX, INT64_MAX),
        (5, 0, 1),
        (0, 5, -1),
        (3, 3, 7),
        (-7, 7, 1),
        (7, -7, -1),
    ],
)
def test_range_counters_end_exactly_near_the_int64_limits(compiled, python, start, stop, step):
    same(compiled, python, "count_range", start, stop, step)


def test_a_zero_step_is_still_the_value_error(compiled, python):
    same(compiled, python, "count_range", 0, 5, 0)


# the call depth is an argument now, not a global: recursion past the limit is still
# CPython's RecursionError (or, past what the native stack allows, the interpreter's answer)
def test_recursion_depth_is_still_counted(compiled, python):
    same(compiled, python, "down", 500)
    mine = outcome(lambda: compiled.call("down", 100_000))
    assert mine[0] == "RecursionError", mine


def test_a_sum_of_two_recursive_calls_still_overflows_into_the_interpreter(compiled, python):
    same(compiled, python, "tree", 25)
    same(compiled, python, "tree", -3)
    assert compiled.call("doubling", 0) == 2**62
    same(compiled, python, "doubling", 1)  # 2**63: past int64, the interpreter's big int
    same(compiled, python, "doubling", 5)


# `count += 1` in a `for f in flags` loop started at a small constant has no overflow check
# (the list bounds the rounds); started near INT64_MAX, or adding in a nested loop, it keeps it
def test_a_counter_the_facts_do_not_bound_still_overflows_into_the_interpreter(compiled, python):
    same(compiled, python, "count_from", 0, 7)
    same(compiled, python, "count_from", INT64_MAX - 3, 7)  # 2**63 + 3: a big int
    same(compiled, python, "count_nested", 2)  # past int64 on the second element


# `[True] * n` is a bool list for every n (its kind is a constant in the compiled loops):
# another kind stored or appended still leaves the call to the interpreter
def test_a_list_of_known_kind_still_refuses_another_kind(compiled, python):
    same(compiled, python, "bool_list_takes_an_int", 3)
    same(compiled, python, "empty_bool_list_append", 0)
    same(compiled, python, "empty_bool_list_append", 2)


# `return x + f(...)` runs as a loop with a running sum: not-ints, bools and output in order
@pytest.mark.parametrize("name", ["half_sums", "none_sum", "bool_base"])
@pytest.mark.parametrize("n", [0, 1, 5])
def test_a_recursive_sum_of_other_values_is_still_pythons(compiled, python, name, n):
    same(compiled, python, name, n)


def test_a_recursive_sum_that_overflows_prints_each_line_once(compiled, python, capsys):
    for n in (5, 12):  # 5: the sum fits in int64; 12: it does not, the interpreter re-runs
        result = compiled.call("loud", n)
        mine = capsys.readouterr().out
        expected = python["loud"](n)
        assert (result, mine) == (expected, capsys.readouterr().out)
        assert mine.count("\n") == n + 1 and (expected > INT64_MAX) == (n == 12)
