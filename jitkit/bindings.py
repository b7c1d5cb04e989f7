"""What a compiled function found behind the module-level names it calls, and whether it
still holds (`@jit`, docs/globals.md).

CPython looks a called name up in the function's module dict, then in builtins, every time the
call runs; the kit binds it when it compiles. `Bindings` records, when a function is compiled,
every name its code (and the code of each module function it reaches) names, and what that
name resolved to. A call may run the compiled code only while that is still so: each dict's
version tag (`ma_version_tag`, CPython 3.11-3.13: a new value on every store or delete) is
compared with the one seen last, by the guard stub in front of the builtin entry
(`jitkit.native.entry.make_guard`) or here in Python (`check`). A moved tag sends the call to
the slow path: the names are looked up again, and when each still finds what it found the new
tags are remembered; else the caller recompiles (or hands the call to CPython).

Values (int, float, bool, None, list) are recorded as "a value", not by identity: the wrapper
reads those at every call (`set_globals`), so rebinding `LIMIT = 7` changes no binding.
"""

from __future__ import annotations

import ctypes
import dis
import inspect
import sys
import types
from collections.abc import Callable, Iterable

from jitkit.lang.bindable import call_refusals, refusals_of
from jitkit.native.guard import Lookup, make_guard

MISSING = object()  # a name bound neither in the module nor in builtins (NameError)
VALUE = object()  # bound to a value the wrapper reads per call, whatever its identity
VALUE_TYPES = (int, bool, float, type(None), list)  # what a module-level name may hold


def _version_offset() -> int | None:
    """Where a dict keeps `ma_version_tag`: after the object header and `ma_used` on CPython
    3.11-3.13 with the GIL (3.14 drops it; a free-threaded build lays dicts out otherwise).
    Checked on a dict of our own: the word before it must be the length, and a store must
    change it. None: no version tag here, `check` compares every name instead."""
    if sys.implementation.name != "cpython" or not (3, 11) <= sys.version_info[:2] <= (3, 13):
        return None
    if getattr(sys, "_is_gil_enabled", lambda: True)() is False:
        return None
    probe: dict[str, int] = {"a": 1, "b": 2}
    used = ctypes.c_ssize_t.from_address(id(probe) + 16).value
    tag = ctypes.c_uint64.from_address(id(probe) + 24).value
    probe["c"] = 3
    moved = ctypes.c_uint64.from_address(id(probe) + 24).value
    return 24 if used == 2 and moved != tag else None


VERSION_OFFSET = _version_offset()


def _code_offset() -> int | None:
    """Where a function keeps its code object (`func_code`): an assignment to `__code__`
    changes what a call runs without a store into any dict, so the guard compares that word
    too. Found and checked on a function of our own, as `VERSION_OFFSET` is; None: unknown
    here, and `check` compares every name and code in Python instead."""
    if VERSION_OFFSET is None:
        return None

    def probe() -> None: ...

    def other() -> None: ...

    for offset in range(16, sys.getsizeof(probe) - 7, 8):
        word = ctypes.c_void_p.from_address(id(probe) + offset)
        if word.value == id(probe.__code__):
            probe.__code__ = other.__code__
            return offset if word.value == id(other.__code__) else None
    return None


CODE_OFFSET = _code_offset()


def resolve(scope: dict, builtins: dict, name: str) -> object:
    """What CPython's LOAD_GLOBAL finds for `name`: the module's binding, else the builtin
    (`MISSING`: NameError), with a value recorded as `VALUE`."""
    found = scope.get(name, MISSING)
    if found is MISSING:
        found = builtins.get(name, MISSING)
    return VALUE if type(found) in VALUE_TYPES else found


def global_names(code: types.CodeType) -> list[str]:
    """The names `code` looks up in its module, then builtins (LOAD_GLOBAL), in order."""
    loads = (i.argval for i in dis.get_instructions(code) if i.opname == "LOAD_GLOBAL")
    return list(dict.fromkeys(loads))


def builtins_of(fn: types.FunctionType) -> dict:
    found = fn.__builtins__
    return found if isinstance(found, dict) else found.__dict__


class Bindings:
    """The names a compiled function and its callees look up in their module and builtins,
    what each found, the code each of those functions ran, and the version tags of those
    dicts when that was last true; `refusals`: why the front end cannot compile what they
    hold (`jitkit.lang.bindable`)."""

    def __init__(self, fn: Callable, unwrap: Callable[[object], object]) -> None:
        self.names: list[tuple[dict, dict, str, object]] = []
        self.functions: list[tuple[types.FunctionType, types.CodeType]] = []
        self.refusals: list[str] = []
        pending, seen, recorded = [unwrap(fn)], set(), set()
        while pending:  # the function and every module function its code names, as parse does
            f = pending.pop()
            if not isinstance(f, types.FunctionType) or id(f) in seen:
                continue
            seen.add(id(f))
            self.functions.append((f, f.__code__))
            scope, namespace = f.__globals__, builtins_of(f)
            self.refusals += refusals_of(f, unwrap)
            for name in global_names(f.__code__):
                if (id(scope), name) in recorded:
                    continue
                recorded.add((id(scope), name))
                found = resolve(scope, namespace, name)
                self.names.append((scope, namespace, name, found))
                callee = unwrap(found)
                self.refusals += call_refusals(f, name, callee)
                pending.append(callee)
        self.dicts = list({id(d): d for s, b, _, _ in self.names for d in (s, b)}.values())
        self.expected = (ctypes.c_uint64 * max(1, len(self.dicts)))()
        self.watched: tuple[int, ...] = ()
        self.tags: list[ctypes.c_uint64] = []
        self.tagged = VERSION_OFFSET is not None and CODE_OFFSET is not None
        if self.tagged:  # else `check` compares every name
            self.watched = tuple(id(d) + VERSION_OFFSET for d in self.dicts)
            self.tags = [ctypes.c_uint64.from_address(a) for a in self.watched]
            self.remember()

    def remember(self) -> None:
        """The dicts as they are now are the ones the names were checked against."""
        self.expected[: len(self.tags)] = [tag.value for tag in self.tags]

    def unchanged(self) -> bool:
        """No dict was written since the names were last checked (no tags: unknown)."""
        n = len(self.tags)
        return self.tagged and [tag.value for tag in self.tags] == self.expected[:n]

    def same_code(self) -> bool:
        """Every function still runs the code it ran when compiled (`f.__code__ = ...`
        changes no dict, so no tag tells)."""
        return all([f.__code__ is code for f, code in self.functions])  # a list: no generator

    def still_bound(self) -> bool:
        """Every name finds what it found when compiled (the slow path's lookup, inlined:
        a module-level loop that stores globals runs it before every call)."""
        if not self.same_code():
            return False
        for scope, namespace, name, found in self.names:
            now = scope.get(name, MISSING)
            if now is MISSING:
                now = namespace.get(name, MISSING)
            if now is not found and (found is not VALUE or type(now) not in VALUE_TYPES):
                return False
        return True

    def check(self) -> bool:
        """Whether the compiled code may run: the tags have not moved, or they have and every
        name still finds what it found (then the new tags are remembered)."""
        if not self.tagged:
            return self.still_bound()
        tags = [tag.value for tag in self.tags]  # read before the lookups they vouch for
        if tags == self.expected[: len(tags)]:
            return self.same_code()
        if not self.still_bound():
            return False
        self.expected[: len(tags)] = tags
        return True

    def changed(self) -> list[str]:
        """The names that no longer find what they found, for messages and events."""
        names = [name for s, b, name, found in self.names if resolve(s, b, name) is not found]
        return names + [
            f"{f.__name__}.__code__" for f, code in self.functions if f.__code__ is not code
        ]

    def guard(self, entry: Callable, stale: Callable) -> Callable:
        """`entry` behind a machine-code check of the version tags (`make_guard`); `stale`
        gets calls with keywords, calls after a dict changed and calls after a function's
        `__code__` was assigned (compared in the stub, word for word). Without version tags, a
        Python function that checks every name."""
        if not self.tagged:

            def checked(*args: object, **kwargs: object) -> object:
                if kwargs or not self.still_bound():
                    return stale(*args, **kwargs)
                return entry(*args)

            return checked
        lookups = tuple(
            Lookup(
                id(scope), id(name), id(namespace),
                None if found is VALUE else 0 if found is MISSING else id(found),
                tuple(map(id, VALUE_TYPES)) if found is VALUE else (),
            )
            for scope, namespace, name, found in self.names
        )  # fmt: skip
        pinned = tuple((id(f) + CODE_OFFSET, id(code)) for f, code in self.functions)
        keep = (self.names, self.functions)  # the codes too: no new one at a pinned address
        return make_guard(
            self.watched, self.expected, lookups, entry, stale, keep=keep, pinned=pinned
        )


def bind_arguments(signature: inspect.Signature, args: tuple, kwargs: dict) -> tuple | None:
    """Keyword arguments bound to the parameters as CPython binds them; None where CPython
    refuses the call (an unknown or repeated keyword, a missing argument): the caller calls
    the original function, which raises CPython's own TypeError before its body runs."""
    try:
        bound = signature.bind(*args, **kwargs)
    except TypeError:
        return None
    bound.apply_defaults()
    return bound.args if not bound.kwargs else None


def describe(names: Iterable[str]) -> str:
    return ", ".join(repr(name) for name in sorted(set(names)))
