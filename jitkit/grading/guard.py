"""What a submission may have tampered with, put back before every hidden test runs.

Runs inside the grading process. A `Snapshot` taken before any submitted code ran records
every loaded module's functions, classes and submodules, the code of those functions, the
classes' methods, the builtins, `sys.modules`, and (for the chapter modules that
`load_chapter` builds, which only define) their data too. `restore()` puts all of that back:
a rebound `jitkit.x86.oracles.keystone_assemble`, a replaced `__code__`, a patched method, a
new `builtins.len` or a swapped `sys.modules` entry is undone before the test reads it. Data
of other modules (caches, counters) is left alone: resetting it would break correct code.
"""

from __future__ import annotations

import builtins
import copy
import sys
import threading
import types
from typing import Any

_CALLABLE = (types.FunctionType, type, types.ModuleType, types.BuiltinFunctionType)
_CONTAINERS = (list, dict, set, bytearray)
_METHODS = (types.FunctionType, classmethod, staticmethod, property)


def _chapter(name: str) -> bool:
    return name.startswith("chapter_")


def _owned(value: Any, module: str) -> bool:
    """A function or class defined in `module` (not one it imported)."""
    return getattr(value, "__module__", None) == module


class Snapshot:
    """The state of every module loaded so far; `restore()` makes it current again."""

    def __init__(self) -> None:
        self.modules = dict(sys.modules)
        self.bindings: dict[str, dict[str, Any]] = {}
        self.code: list[tuple[types.FunctionType, tuple]] = []
        self.classes: list[tuple[type, dict[str, Any]]] = []
        self.data: list[tuple[Any, Any]] = []
        self.builtins = dict(vars(builtins))
        self.recursion_limit = sys.getrecursionlimit()
        for name, module in self.modules.items():
            if not isinstance(module, types.ModuleType):
                continue
            namespace = vars(module)
            if _chapter(name):
                self.bindings[name] = dict(namespace)
            else:
                self.bindings[name] = {
                    k: v for k, v in namespace.items() if isinstance(v, _CALLABLE)
                }
            for value in list(namespace.values()):
                if isinstance(value, types.FunctionType) and _owned(value, name):
                    self.code.append((value, _function_state(value)))
                elif isinstance(value, type) and _owned(value, name):
                    methods = {k: v for k, v in vars(value).items() if isinstance(v, _METHODS)}
                    self.classes.append((value, methods))
                    for member in methods.values():
                        if isinstance(member, types.FunctionType):
                            self.code.append((member, _function_state(member)))
                elif _chapter(name) and isinstance(value, _CONTAINERS):
                    self.data.append((value, copy.copy(value)))

    def restore(self) -> None:
        """Undo every change to what the snapshot recorded (new names are left in place)."""
        vars(builtins).update(self.builtins)
        for name, module in self.modules.items():
            if sys.modules.get(name) is not module:
                sys.modules[name] = module
        for name, saved in self.bindings.items():
            namespace = vars(self.modules[name])
            for key, value in saved.items():
                if namespace.get(key, _MISSING) is not value:
                    namespace[key] = value
        for function, state in self.code:
            if _function_state(function) != state:
                (function.__code__, function.__defaults__, function.__kwdefaults__) = state
        for cls, saved in self.classes:
            added = [k for k, v in vars(cls).items() if k not in saved and isinstance(v, _METHODS)]
            for key in added:
                _set_class_attr(cls, key, _MISSING)
            for key, value in saved.items():
                if vars(cls).get(key, _MISSING) is not value:
                    _set_class_attr(cls, key, value)
        for live, saved in self.data:
            if not _same(live, saved):
                _refill(live, saved)
        sys.setrecursionlimit(self.recursion_limit)
        sys.settrace(None)
        sys.setprofile(None)
        threading.settrace(None)  # type: ignore[arg-type]
        threading.setprofile(None)  # type: ignore[arg-type]


_MISSING = object()


def _function_state(function: types.FunctionType) -> tuple:
    return (function.__code__, function.__defaults__, function.__kwdefaults__)


def _set_class_attr(cls: type, key: str, value: Any) -> None:
    if key in ("__dict__", "__weakref__", "__doc__", "__module__"):
        return
    try:
        if value is _MISSING:
            delattr(cls, key)
        else:
            setattr(cls, key, value)
    except (AttributeError, TypeError):  # slots and read-only attributes cannot be patched
        pass


def _same(live: Any, saved: Any) -> bool:
    """The container holds the very objects it held (identity, not equality)."""
    if len(live) != len(saved):
        return False
    if isinstance(live, dict):
        return all(live.get(k, _MISSING) is v for k, v in saved.items())
    if isinstance(live, (set, bytearray)):
        return live == saved
    return all(a is b for a, b in zip(live, saved, strict=True))


def _refill(live: Any, saved: Any) -> None:
    """Put `saved`'s (shallow) contents back into `live`, keeping its identity."""
    if isinstance(live, dict):
        live.clear()
        live.update(saved)
    elif isinstance(live, set):
        live.clear()
        live.update(saved)
    else:
        live[:] = saved
