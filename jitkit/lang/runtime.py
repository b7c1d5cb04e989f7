"""Runtime semantics shared by every interpreter (notebook 03 interpreters).

In: Python values. Out: Python values or the exception CPython would raise. The tree-walk
interpreter and the VM both call these, so a corner case (negative exponent, range step 0,
unbound local) is decided in exactly one place. Floats and lists are Python's own: the
operators below are CPython's, so every result and message is the running CPython's (3.11 and
3.13 word some float errors differently); only what the subset leaves out is refused here.
"""

from __future__ import annotations

import operator
import sys
import threading
from contextlib import contextmanager

from jitkit.errors import UnsupportedError
from jitkit.lang import calls

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1  # what a machine word holds; compiled tiers check


def fits_machine_word(value: object) -> bool:
    """Can compiled code take this value as it is: an int64, a bool or None? (Anything else
    makes a compiled tier hand the call to an interpreter.)"""
    return (
        value is None
        or type(value) is bool
        or (type(value) is int and INT64_MIN <= value <= INT64_MAX)
    )


BINARY = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
    "//": operator.floordiv,
    "%": operator.mod,
}
# `x op= v`: CPython's in-place operators (a list extends or repeats itself, so every other
# name for it sees the change; a TypeError names the `op=` form)
INPLACE = {
    "+": operator.iadd,
    "-": operator.isub,
    "*": operator.imul,
    "/": operator.itruediv,
    "//": operator.ifloordiv,
    "%": operator.imod,
    "**": operator.ipow,
}
COMPARE = {
    "<": operator.lt,
    "<=": operator.le,
    "==": operator.eq,
    "!=": operator.ne,
    ">": operator.gt,
    ">=": operator.ge,
}
UNARY = {"-": operator.neg, "+": operator.pos, "not": operator.not_}
# builtins that compute a value; float() and int() without an argument are the constants
# 0.0 and 0 (the compiler loads those)
BUILTINS = {"abs": abs, "min": min, "max": max, "len": len, "float": float, "int": int}


def power(base: object, exp: object) -> object:
    """`base ** exp`, CPython's (`2 ** -1` is 0.5); a negative base to a fractional power
    would make a complex number, which the subset does not have."""
    result = base**exp
    if type(result) is complex:
        raise UnsupportedError(
            f"{base!r} ** {exp!r} gives a complex number, which jitkit does not support"
        )
    return result


def binary(op: str, left: object, right: object) -> object:
    """One binary operator by its source spelling."""
    return power(left, right) if op == "**" else BINARY[op](left, right)


def inplace(op: str, left: object, right: object) -> object:
    """`left op= right` by the operator's source spelling (`op` without the `=`)."""
    result = INPLACE[op](left, right)
    if type(result) is complex:
        power(left, right)  # the same UnsupportedError as `**`
    return result


def subscript(xs: object, index: object) -> object:
    """`xs[index]` with CPython's errors (not subscriptable, index type, out of range)."""
    return xs[index]


def store_subscript(item: object, xs: object, index: object) -> None:
    """`xs[index] = item`, in CPython's order: the item was evaluated first."""
    xs[index] = item


def check_append(xs: object) -> object:
    """`xs.append` looked up before its argument is evaluated, as CPython does: the
    AttributeError of a non-list comes first."""
    if type(xs) is not list:
        _ = xs.append  # CPython's AttributeError, word for word
    return xs


def append(xs: list, item: object) -> None:
    """`xs.append(item)` on a list `check_append` let through; the value is None."""
    xs.append(item)


def check_iterable(xs: object) -> object:
    """`for x in xs` starts: only lists are iterable in the subset; anything else is
    CPython's `TypeError: 'int' object is not iterable`, at the `for`."""
    if type(xs) is not list:
        iter(xs)  # raises CPython's TypeError (every non-list kit value is not iterable)
    return xs


def range_check(start: object, stop: object, step: object) -> tuple[int, int, int]:
    """What `range(start, stop, step)` checks: ints (bools become ints), step not zero."""
    start, stop, step = (operator.index(v) for v in (start, stop, step))
    if step == 0:
        raise ValueError("range() arg 3 must not be zero")
    return start, stop, step


def range_test(counter: int, stop: int, step: int) -> bool:
    """Does a range loop run once more? (the counter has not passed `stop` yet)."""
    return counter < stop if step > 0 else counter > stop


def print_values(values: list[object], sep: str | None, end: str | None) -> None:
    """`print` with Python's own formatting (a float or a list prints as its `repr`)."""
    print(*values, sep=sep, end=end, file=sys.stdout)


def arity_error(name: str, params: list[str] | tuple[str, ...], given: int) -> TypeError:
    """CPython's TypeError for calling `name` (no defaults) with `given` positional
    arguments, word for word: too few names the missing parameters, too many counts them."""
    if given < len(params):
        return calls.missing_arguments(name, params[given:])
    return calls.too_many_positional(name, len(params), 0, given)


class Unbound:
    """The value of a local before its first assignment (reading it is UnboundLocalError)."""

    def __repr__(self) -> str:
        return "<unbound>"


UNBOUND = Unbound()


def unbound_local(name: str) -> UnboundLocalError:
    """CPython's error for reading a local before it is assigned."""
    return UnboundLocalError(
        f"cannot access local variable {name!r} where it is not associated with a value"
    )


def name_error(name: str) -> NameError:
    """CPython's error for reading a module-level name nothing has bound yet."""
    return NameError(f"name {name!r} is not defined")


def global_store(names: list[str]) -> list[object]:
    """A module's global slots before its top-level code runs: every one unbound."""
    return [UNBOUND] * len(names)


def check_globals(names: list[str], values: list[object]) -> list[object]:
    """`set_globals`' argument, checked: one value per module global name."""
    if len(values) != len(names):
        raise ValueError(f"set_globals takes {len(names)} values ({names}), got {len(values)}")
    return list(values)


_raised = threading.Lock()  # guards the two below
_runs = 0  # tree-walk runs in progress, in any thread
_user_limit = sys.getrecursionlimit()  # the limit before the first of them raised it


def recursion_limit() -> int:
    """The recursion limit kit programs see: the user's, not one raised for a tree-walk run
    in some thread. Every tier reads the limit here."""
    with _raised:
        return _user_limit if _runs else sys.getrecursionlimit()


@contextmanager
def deep_python_stack(kit_limit: int, frames_per_call: int):
    """Let Python recurse deep enough that only a kit interpreter's own depth check raises
    RecursionError (`frames_per_call` Python frames per kit call).
    Runs in several threads share one raise: the first saves the user's limit, the last
    puts it back, so the limit never ratchets up."""
    global _runs, _user_limit
    with _raised:
        if _runs == 0:
            _user_limit = sys.getrecursionlimit()
        _runs += 1
        sys.setrecursionlimit(max(sys.getrecursionlimit(), (kit_limit + 50) * frames_per_call))
    try:
        yield
    finally:
        with _raised:
            _runs -= 1
            if _runs == 0:
                sys.setrecursionlimit(_user_limit)
