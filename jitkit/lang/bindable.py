"""Whether the front end can compile a function as CPython runs it, given what its names hold
now (`jitkit.bindings` asks at every compile, docs/globals.md): the front end reads names from
the module only, compiles functions by `__name__` and computes the builtins it knows itself.

In: a function and, for each name it calls, what that name holds; out: why not, as messages
(an empty list: it can). The caller refuses the call, or runs the original function.
"""

from __future__ import annotations

import builtins
import types
from collections.abc import Callable

from jitkit.lang.parse import BUILTINS

GENUINE = {name: vars(builtins)[name] for name in BUILTINS}  # as at import: Python's own
_NONE = object()


def refusals_of(f: types.FunctionType, unwrap: Callable[[object], object]) -> list[str]:
    """A method (no `self` is bound), a closure (a nested function calling itself is fine),
    code under another name than the function's, lookups a dict subclass would answer."""
    why, code, cells = [], f.__code__, f.__closure__ or ()
    path = f.__qualname__.split(".")
    if len(path) > 1 and path[-2] != "<locals>":
        why.append(f"{f.__qualname__}() is defined in a class body: jitkit binds no `self`")
    free = [
        n for n, cell in zip(code.co_freevars, cells, strict=True) if not holds(cell, f, unwrap)
    ]
    if free:
        names = ", ".join(map(repr, free))
        why.append(f"{f.__name__}() reads {names} from the function it is defined in (a closure)")
    if code.co_name != f.__name__:
        why.append(
            f"{f.__name__}() runs the code of {code.co_name!r} (a `__code__` assigned or "
            "copied): jitkit compiles a function under the name it was defined with"
        )
    for what, namespace in (("module namespace", f.__globals__), ("builtins", f.__builtins__)):
        if type(namespace) is not dict:
            why.append(
                f"{f.__name__}()'s {what} is a {type(namespace).__name__}, not a dict: "
                "CPython's lookups there run its methods, jitkit's would not"
            )
    return why


def holds(cell: types.CellType, f: types.FunctionType, unwrap: Callable) -> bool:
    try:
        return unwrap(cell.cell_contents) is f
    except ValueError:  # an empty cell
        return False


def call_refusals(f: types.FunctionType, name: str, callee: object) -> list[str]:
    """`f` calls `name`, which holds `callee` (unwrapped): a function under a second name,
    or a builtin the front end computes that the builtins bind to something else."""
    why = []
    if isinstance(callee, types.FunctionType) and callee.__name__ != name:
        why.append(
            f"{f.__name__}() calls {name!r}, which holds the function {callee.__name__!r}: "
            "jitkit compiles a function called by the name it was defined with"
        )
    builtin = f.__builtins__.get(name, _NONE) if isinstance(f.__builtins__, dict) else _NONE
    if name in GENUINE and name not in f.__globals__ and builtin is not GENUINE[name]:
        bound = "nothing (NameError)" if builtin is _NONE else repr(builtin)
        why.append(
            f"{f.__name__}() calls {name!r}, which its builtins bind to {bound}, not Python's "
            f"{name}: jitkit computes {name}() itself"
        )
    return why
