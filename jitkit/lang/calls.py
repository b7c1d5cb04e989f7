"""Binding a call's arguments to a function's parameters, as CPython does (notebook 03).

In: a function's name, parameters and default values, and a call's positional and keyword
arguments. Out: one value per parameter, in parameter order, or CPython's `TypeError`, word
for word (`ceval.c`'s `initialize_locals`: positional arguments first, then each keyword in
call order, then too many positional, then missing ones; Python 3.13 adds "Did you mean"
for a misspelt keyword). The values can be anything: the front end binds the source
positions of a call's arguments when compiling, and `bind_arguments` binds the Python values
a caller hands a kit function (`@jit`'s front door).
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence
from typing import TypeVar

from jitkit.lang import nodes as n

try:  # 3.13's stdlib: the C helper behind its "Did you mean" (3.11, 3.12 have neither)
    _generate_suggestions = importlib.import_module("_suggestions")._generate_suggestions
except (ImportError, AttributeError):
    _generate_suggestions = None

T = TypeVar("T")
_MISSING = object()  # a parameter nothing has bound yet


def bind(
    name: str,
    params: Sequence[str],
    defaults: Sequence[T],
    args: Sequence[T],
    keywords: Sequence[tuple[str, T]],
) -> list[T]:
    """One value per parameter of `name(params)` whose last `len(defaults)` parameters have
    those defaults, called with `args` and `keywords` ((name, value) pairs, in call order).
    Raises CPython's TypeError for a call that cannot bind."""
    if not keywords and len(args) == len(params):
        return list(args)  # the common call: nothing to look up
    bound: list[object] = [*args[: len(params)], *[_MISSING] * (len(params) - len(args))]
    for key, value in keywords:
        if key not in params:
            raise unexpected_keyword(name, key, params)
        slot = params.index(key)
        if bound[slot] is not _MISSING:
            raise TypeError(f"{name}() got multiple values for argument '{key}'")
        bound[slot] = value
    if len(args) > len(params):
        raise too_many_positional(name, len(params), len(defaults), len(args))
    required = len(params) - len(defaults)
    missing = [p for p, v in zip(params[:required], bound, strict=False) if v is _MISSING]
    if missing:
        raise missing_arguments(name, missing)
    for slot in range(required, len(params)):
        if bound[slot] is _MISSING:
            bound[slot] = defaults[slot - required]
    return bound  # type: ignore[return-value]


def bind_arguments(fn: n.Function, args: Sequence[object], kwargs: Mapping[str, object]) -> list:
    """Why: `@jit`'s front door takes `f(*args, **kwargs)` from Python; the tiers take one
    value per parameter. Fills in `fn.defaults`; CPython's TypeError when the call cannot bind."""
    return bind(fn.name, fn.params, fn.defaults, args, list(kwargs.items()))


def bind_source(
    name: str,
    params: Sequence[str],
    defaults: Sequence[object],
    positional: int,
    keywords: list[str],
) -> tuple[list[int], list[int] | None]:
    """A call in the source, bound when compiling. Its arguments are numbered in source order
    (the `positional` ones, then the keywords). Out: for each parameter, the number of the
    argument it gets, or `-1 - k` for default k; and the order to evaluate the parameters'
    values in, None when it is 0, 1, 2, ... (a default is a constant: where it is evaluated
    cannot be seen). CPython's TypeError for a call that cannot bind."""
    numbered = [(key, positional + i) for i, key in enumerate(keywords)]
    fills = [-1 - k for k in range(len(defaults))]
    bound = bind(name, params, fills, list(range(positional)), numbered)
    given = [b for b in bound if b >= 0]
    if given == sorted(given):
        return bound, None
    order = [bound.index(j) for j in range(len(given))]
    return bound, order + [i for i, b in enumerate(bound) if b < 0]


# ------------------------------------------------------------- CPython's messages


def unexpected_keyword(name: str, key: str, params: Sequence[str]) -> TypeError:
    """`f() got an unexpected keyword argument 'x'` (3.13: `. Did you mean 'y'?`)."""
    message = f"{name}() got an unexpected keyword argument '{key}'"
    if _generate_suggestions is not None and params:
        suggestion = _generate_suggestions(list(params), key)
        if suggestion is not None:
            message += f". Did you mean '{suggestion}'?"
    return TypeError(message)


def too_many_positional(name: str, count: int, defaults: int, given: int) -> TypeError:
    """`f() takes 2 positional arguments but 3 were given` (`from 1 to 2` with defaults)."""
    if defaults:
        takes = f"from {count - defaults} to {count} positional arguments"
    else:
        takes = f"{count} positional argument{'' if count == 1 else 's'}"
    return TypeError(f"{name}() takes {takes} but {given} {'was' if given == 1 else 'were'} given")


def missing_arguments(name: str, missing: Sequence[str]) -> TypeError:
    """`f() missing 2 required positional arguments: 'a' and 'b'` (`'a', 'b', and 'c'`)."""
    names = [repr(p) for p in missing]
    if len(names) == 1:
        listed = names[0]
    elif len(names) == 2:
        listed = f"{names[0]} and {names[1]}"
    else:
        listed = ", ".join(names[:-1]) + f", and {names[-1]}"
    plural = "s" if len(names) > 1 else ""
    return TypeError(
        f"{name}() missing {len(names)} required positional argument{plural}: {listed}"
    )
