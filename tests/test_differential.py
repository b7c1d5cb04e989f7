"""Differential tests: random programs in the subset, every engine against CPython.

A generator writes well-formed, terminating programs (loops are bounded by range or by a
counter nothing else assigns, recursion always goes down a guarded parameter, functions call
only earlier functions or themselves) with nested loops, branches, calls, big and negative
numbers and the odd division by zero; asked to, it also writes floats (NaN, infinities,
-0.0, `/`, float(), int()) and lists (displays, `[x] * n`, indexing, stores, append, `for x in
xs`, aliases) and module-level names (functions read the top level's `g`, `h` and lists,
before or after the top level binds them), or functions that make their own lists, so the
native tiers' list code is what runs (`ListFunctionGenerator`). Every engine must print and
return exactly what CPython does, or raise the same exception with the same message; an engine
`tests/programs/__init__.py` marks as refusing a feature may instead raise UnsupportedError
when it loads the program. Random bytecode must never crash the VM.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import re
import signal
import subprocess
import tempfile
from collections import Counter
from functools import partial

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jitkit.bytecode.code import Code
from jitkit.bytecode.compiler import compile_module
from jitkit.bytecode.opcodes import OPCODES, Op
from jitkit.bytecode.verify import verify
from jitkit.errors import UnsupportedError, VerifyError
from jitkit.lang.nodes import features
from jitkit.lang.parse import parse_module
from jitkit.tiering import AutoTier, Thresholds
from jitkit.tiers import load
from jitkit.vm.machine import VM
from tests.programs import refused
from tests.programs.engines import ENGINES, capture, prepare, run
from tests.programs.test_programs import OTHER_PYTHONS, REPO, find_python

SETTINGS = settings(
    max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)


class Choices:
    """Where the generator's decisions come from: hypothesis data, or a seeded Random."""

    def __init__(self, data=None, rng: random.Random | None = None) -> None:
        self.data, self.rng = data, rng

    def integer(self, lo: int, hi: int) -> int:
        if self.data is not None:
            return self.data.draw(st.integers(lo, hi))
        return self.rng.randint(lo, hi)

    def choice(self, items: list):
        return items[self.integer(0, len(items) - 1)]

    def chance(self, percent: int) -> bool:
        return self.integer(1, 100) <= percent


LITERALS = [0, 1, 2, 3, -1, -7, 10, 255, 2**31, -(2**63), 2**64 + 1, 10**20, True, False]
FLOATS = ["0.0", "-0.0", "0.5", "1.5", "-2.25", "0.1", "1e16", "1e-300", "1e300", "2.5e-7"]
FLOATS += ['float("inf")', 'float("-inf")', 'float("nan")']
LISTS = ["xs", "ys"]  # the list variables of the program's top level


class ProgramGenerator:
    """Builds one program's source text from a stream of choices."""

    def __init__(
        self, c: Choices, floats: bool = False, lists: bool = False, globals: bool = False
    ) -> None:
        self.c = c
        self.floats, self.lists, self.globals = floats, lists, globals
        # the lists are top-level variables: functions see them only as module-level names
        self.in_function = False
        self.lines: list[str] = []
        self.functions: list[tuple[str, int]] = []  # (name, arity) callable so far
        self.counter = 0

    def literal(self) -> str:
        if self.floats and self.c.chance(35):
            return self.c.choice(FLOATS)
        if self.c.chance(30):
            return str(self.c.integer(-(2**70), 2**70))
        return repr(self.c.choice(LITERALS))

    def expr(self, names: list[str], depth: int, current: tuple[str, int] | None = None) -> str:
        if depth <= 0 or self.c.chance(25):
            return self.c.choice(names) if names and self.c.chance(60) else self.literal()
        e = lambda: self.expr(names, depth - 1, current)  # noqa: E731
        if (self.floats or self.lists) and self.c.chance(25):
            return self.new_expr(names, e)
        kind = self.c.integer(0, 9)
        if kind <= 2:
            return f"({e()} {self.c.choice(['+', '-', '*', '//', '%', '+', '-'])} {e()})"
        if kind == 3:
            return f"({e()} ** {self.c.integer(0, 3)})"
        if kind == 4:
            return f"({self.c.choice(['-', '+', 'not '])}{e()})"
        if kind == 5:
            ops = [
                self.c.choice(["<", "<=", "==", "!=", ">", ">="])
                for _ in range(self.c.integer(1, 3))
            ]
            return "(" + e() + "".join(f" {op} {e()}" for op in ops) + ")"
        if kind == 6:
            return f"({e()} {self.c.choice(['and', 'or'])} {e()})"
        if kind == 7:
            return f"({e()} if {e()} else {e()})"
        if kind == 8:
            fn = self.c.choice(["abs", "min", "max"])
            return f"abs({e()})" if fn == "abs" else f"{fn}({e()}, {e()})"
        if self.functions:
            # the first parameter is the recursion depth: keep it small, or one call to
            # f(10**20, ...) recurses to the limit while its numbers grow without bound
            name, arity = self.c.choice(self.functions)
            args = [f"min(abs({self.depth(e())}), 4)"] + [e() for _ in range(arity - 1)]
            return f"{name}({', '.join(args)})"
        return e()

    def depth(self, e: str) -> str:
        """A recursion depth argument: an int, as a NaN depth would never reach 0."""
        return f"int({e})" if self.floats else e

    def new_expr(self, names: list[str], e) -> str:
        """An expression with floats or lists (only those the generator was asked for)."""
        kinds = ["/", "**", "float", "int"] if self.floats else []
        if self.lists:
            kinds += ["display"] if self.in_function else []
            if not self.in_function or self.globals:
                kinds += ["len", "index", "index", "len"]
        kind = self.c.choice(kinds)
        if kind == "/":
            return f"({e()} / {e()})"
        if kind == "**":  # a float power, of a base that cannot be negative (no complex)
            return f"(abs({e()}) ** {self.c.choice(['0.5', '-1', '-2', '1.5', '-0.5'])})"
        if kind in ("float", "int"):
            return f"{kind}({e()})"
        xs = self.c.choice(LISTS)
        if kind == "len":
            return f"len({xs})"
        if kind == "index":
            index = e() if self.c.chance(20) else str(self.c.integer(-3, 3))
            return f"{xs}[{index}]"
        return f"len([{e()}, {e()}])" if self.c.chance(50) else f"[{e()}, {e()}][{e()}]"

    def list_statement(self, pad: str, names: list[str], current) -> None:
        """A statement on a top-level list: store, append, alias, rebind or a for loop."""
        xs = self.c.choice(LISTS)
        kind = self.c.integer(0, 5)
        if kind == 0:
            index = self.c.choice([str(self.c.integer(-3, 3)), self.expr(names, 1, current)])
            self.lines.append(f"{pad}{xs}[{index}] = {self.expr(names, 1, current)}")
        elif kind == 1:
            self.lines.append(f"{pad}if len({xs}) < 12:")
            self.lines.append(f"{pad}    {xs}.append({self.expr(names, 1, current)})")
        elif kind == 2:
            other = "ys" if xs == "xs" else "xs"
            # no [other]: nested lists (`xs[i] += v` extending an item in place) are
            # tested on their own, in every engine: tests/test_inplace_operators.py
            self.lines.append(f"{pad}{xs} = {self.c.choice([other, '[]'])}")
        elif kind == 3:
            count = self.c.integer(0, 3)
            self.lines.append(f"{pad}{xs} = [{self.expr(names, 1, current)}] * {count}")
        elif kind == 4:
            self.lines.append(f"{pad}{xs}[{self.c.integer(-2, 1)}] += {self.literal()}")
        else:
            var = f"v{self.counter}"
            self.counter += 1
            self.lines.append(f"{pad}for {var} in {xs}:")
            self.lines.append(f"{pad}    if len({xs}) < 8:")
            self.lines.append(f"{pad}        {xs}.append({var})")
            self.lines.append(f"{pad}    print({var}, {xs})")

    def block(
        self,
        indent: int,
        names: list[str],
        depth: int,
        in_loop: bool,
        current: tuple[str, int] | None,
    ) -> None:
        """A few statements; `names` grows with every variable assigned at this level."""
        pad = "    " * indent
        for _ in range(self.c.integer(1, 3)):
            kind = self.c.integer(0, 9)
            if kind <= 3 or depth <= 0:
                target = self.c.choice(["x", "y", "z"] if indent else ["g", "h"])
                op = self.c.choice(["=", "=", "+=", "-=", "*=", "//=", "%="])
                if op != "=" and target not in names:
                    op = "="
                value = self.expr(names, 2, current)
                if in_loop and op in ("=", "*="):
                    value = f"({value}) % {self.c.choice([7, 1000003, -97, 2**40])}"
                self.lines.append(f"{pad}{target} {op} {value}")
                names.append(target)
            elif kind == 4 and self.lists and indent == 0 and self.c.chance(60):
                self.list_statement(pad, names, current)
            elif kind == 4:
                self.lines.append(f"{pad}print({self.print_args(names, current)})")
            elif kind == 5:
                self.lines.append(f"{pad}if {self.expr(names, 2, current)}:")
                self.block(indent + 1, list(names), depth - 1, in_loop, current)
                if self.c.chance(50):
                    self.lines.append(f"{pad}else:")
                    self.block(indent + 1, list(names), depth - 1, in_loop, current)
            elif kind == 6:
                var = f"i{self.counter}"
                self.counter += 1
                bounds = [str(self.c.integer(-4, 4)) for _ in range(self.c.integer(1, 2))]
                if self.c.chance(40):
                    bounds = [
                        str(self.c.integer(-4, 4)),
                        str(self.c.integer(-4, 4)),
                        str(self.c.choice([-2, -1, 1, 2, 3])),
                    ]
                self.lines.append(f"{pad}for {var} in range({', '.join(bounds)}):")
                self.block(indent + 1, names + [var], depth - 1, True, current)
            elif kind == 7:
                var = f"c{self.counter}"
                self.counter += 1
                self.lines.append(f"{pad}{var} = {self.c.integer(0, 3)}")
                self.lines.append(f"{pad}while {var} > 0:")
                self.lines.append(f"{pad}    {var} -= 1")
                self.block(indent + 1, list(names), depth - 1, True, current)
            elif kind == 8 and in_loop:
                test = self.expr(names, 1, current)
                jump = self.c.choice(["break", "continue"])
                self.lines.append(f"{pad}if {test}:")
                self.lines.append(f"{pad}    {jump}")
            elif kind == 9 and current is not None and indent > 1:
                self.lines.append(f"{pad}return {self.expr(names, 2, current)}")
            else:
                self.lines.append(f"{pad}pass")

    def print_args(self, names: list[str], current) -> str:
        args = [
            self.expr(names, 1, current) if self.c.chance(80) else '"s"'
            for _ in range(self.c.integer(0, 3))
        ]
        if self.c.chance(30):
            args.append(f"sep={self.c.choice(['', ',', ' - '])!r}")
        if self.c.chance(30):
            args.append(f"end={self.c.choice(['', ';', '!' + chr(10)])!r}")
        return ", ".join(args)

    def function(self, index: int) -> None:
        arity = self.c.integer(0, 3)
        name = f"f{index}"
        params = ["n"] + [f"p{k}" for k in range(arity)]
        self.lines.append(f"def {name}({', '.join(params)}):")
        self.in_function = True
        module_names = ["g", "h"] if self.globals else []  # the top level's, never assigned here
        base = self.expr(params[1:] + module_names, 1)
        self.lines.append(f"    if n <= 0:\n        return {base}")
        self.block(1, params[1:] + module_names, 2, False, (name, arity))
        names = ["n"] + params[1:]
        recursive = [f"{name}(n - 1{''.join(', ' + self.expr(names, 1) for _ in range(arity))})"]
        tail = self.expr(names, 2) if self.c.chance(50) else "0"
        self.lines.append(f"    return {tail} + {recursive[0]}")
        self.functions.append((name, arity + 1))
        self.in_function = False

    def program(self) -> str:
        if self.lists:
            self.lines.append("xs = [1, 2, 3]")
            self.lines.append("ys = xs")
        for name in ["g", "h"] if self.globals else []:  # bound now, or only at the end
            if self.c.chance(60):
                self.lines.append(f"{name} = {self.literal()}")
        for index in range(self.c.integer(0, 3)):
            self.function(index)
        guarded = [(name, arity) for name, arity in self.functions]
        self.functions = []  # top level calls go through a bounded first argument
        self.block(0, [], 2, False, None)
        for _ in range(self.c.integer(2, 4) if self.lists else 0):
            self.list_statement("", [], None)
        for name, arity in guarded:
            args = ["min(abs(" + self.depth(self.expr([], 1)) + "), 6)"]
            args += [self.expr([], 2) for _ in range(arity - 1)]
            self.lines.append(f"print({name}({', '.join(args)}))")
        if self.lists:
            self.lines.append("print(xs, ys)")
        if self.globals:  # the functions' module-level names are bound somewhere
            self.lines.append("g, h = 0, 0")
        return "\n".join(self.lines) + "\n"


ELEMENT_KINDS = ("int", "int", "bool", "float")  # one kind per list, mostly ints
LIST_NAMES = ("a", "b", "c")


class ListFunctionGenerator:
    """Functions that make their own lists (so the native tiers compile them, where lists
    bound at the top level would send them to the VM): displays, `[e] * k`, appends in loops,
    stores and reads at small, negative and sometimes out-of-range indices, `for v in xs`
    (appending while iterating, bounded), aliases, lists passed to helpers and returned.
    One element kind per list, except a mixed list now and then (the tier must leave that
    function to the VM and still agree); int elements sometimes overflow int64 mid-loop."""

    def __init__(self, c: Choices) -> None:
        self.c = c
        self.lines: list[str] = []
        self.helpers: list[tuple[str, str, bool]] = []  # (name, element kind, returns a list)
        self.kinds: dict[str, str] = {}  # the current function's lists and their kinds
        self.counter = 0
        self.mix = False  # whether the function being written may mix kinds once

    def mixed(self) -> bool:
        """Whether to break the one-kind rule here: at most once, in one function of ~6."""
        if self.mix and self.c.chance(15):
            self.mix = False
            return True
        return False

    def int_expr(self, ints: list[str]) -> str:
        kind = self.c.integer(0, 5)
        if kind <= 1 or not ints:
            return str(self.c.choice([0, 1, 2, 3, -1, -5, 7, 40, 99]))
        name = self.c.choice(ints)
        if kind == 2:
            return name
        if kind == 3:
            return f"({name} * {self.c.integer(-3, 5)} - {self.c.integer(0, 9)})"
        if kind == 4 and self.kinds:
            return f"len({self.c.choice(list(self.kinds))})"
        return f"({name} % {self.c.choice([2, 3, 7, 100])})"

    def element(self, kind: str, ints: list[str], values: list[tuple[str, str]]) -> str:
        """An element of `kind`; `values` are loop variables over lists, with their kinds."""
        if self.mixed():
            kind = self.c.choice([k for k in ("int", "bool", "float") if k != kind])
        same = [name for name, k in values if k == kind]
        if same and self.c.chance(30):
            v = self.c.choice(same)
            return {"int": f"({v} + 1)", "bool": f"(not {v})", "float": f"({v} * 0.5)"}[kind]
        if kind == "int":
            return self.int_expr(ints)
        if kind == "bool":
            if self.c.chance(30):
                return self.c.choice(["True", "False"])
            compare = self.c.choice([">", "==", "<="])
            return f"({self.int_expr(ints)} {compare} {self.c.integer(-1, 3)})"
        if self.c.chance(40):
            return self.c.choice(["0.5", "-0.0", "1.25", "-3.5", "1e300", "0.1"])
        return self.c.choice([f"({self.int_expr(ints)} / 4)", f"float({self.int_expr(ints)})"])

    def index(self, ints: list[str]) -> str:
        if self.c.chance(15):  # sometimes out of range
            return self.int_expr(ints)
        return str(self.c.integer(-3, 2))

    def make(self, pad: str, ints: list[str], values) -> None:
        """Bind a list name: display, repetition, empty, an alias or a helper's result."""
        name = self.c.choice(LIST_NAMES)
        kind = self.kinds.get(name) or self.c.choice(ELEMENT_KINDS)
        same = [other for other, k in self.kinds.items() if k == kind and other != name]
        returning = [h for h in self.helpers if h[1] == kind and h[2]]
        choice = self.c.integer(0, 5)
        if choice == 4 and same:
            value = self.c.choice(same)
        elif choice == 5 and returning and same:
            helper = self.c.choice(returning)
            value = f"{helper[0]}({self.c.choice(same)}, {self.int_expr(ints)})"
        elif choice in (2, 3):
            count = self.c.choice(["4", "3", "n", "(n + 2)"])
            value = f"[{self.element(kind, ints, values)}] * {count}"
        else:
            count = self.c.integer(0 if choice == 1 else 3, 5)
            value = "[" + ", ".join(self.element(kind, ints, values) for _ in range(count)) + "]"
        self.lines.append(f"{pad}{name} = {value}")
        self.kinds[name] = kind

    def statement(self, pad: str, depth: int, ints: list[str], values) -> None:
        """One statement on the function's lists (or a make, when there are none yet)."""
        if not self.kinds:
            self.make(pad, ints, values)
            return
        xs = self.c.choice(list(self.kinds))
        kind = self.kinds[xs]
        choice = self.c.integer(0, 10)
        if choice == 0:
            self.lines.append(f"{pad}{xs}[{self.index(ints)}] = {self.element(kind, ints, values)}")
        elif choice == 1:  # a read, used by its kind
            read = f"{xs}[{self.index(ints)}]"
            if kind == "float":
                self.lines.append(f"{pad}u = u + {read}")
            elif kind == "bool":
                self.lines.append(f"{pad}if {read}:\n{pad}    t = t + 1")
            else:
                self.lines.append(f"{pad}t = t + {read}")
        elif choice == 2 and depth > 0:
            var = f"i{self.counter}"
            self.counter += 1
            bound = self.c.choice(["n", "3", f"len({xs})"])
            self.lines.append(f"{pad}for {var} in range({bound}):")
            append = f"{xs}.append({self.element(kind, ints + [var], values)})"
            if values:  # iterating over a list (maybe this one, by another name): bounded
                self.lines.append(f"{pad}    if len({xs}) < 12:\n{pad}        {append}")
            else:
                self.lines.append(f"{pad}    {append}")
            if self.c.chance(50):
                self.statement(pad + "    ", depth - 1, ints + [var], values)
        elif choice == 3 and depth > 0:
            var = f"v{self.counter}"
            self.counter += 1
            self.lines.append(f"{pad}for {var} in {xs}:")
            inner = values + [(var, kind)]
            accumulate = {
                "int": f"t = t + {var}",
                "bool": f"t = t + {var}",
                "float": f"u = u + {var}",
            }
            self.lines.append(f"{pad}    {accumulate[kind]}")
            if self.c.chance(50):
                self.lines.append(f"{pad}    if len({xs}) < {self.c.integer(4, 12)}:")
                self.lines.append(f"{pad}        {xs}.append({self.element(kind, ints, inner)})")
            if self.c.chance(40):
                self.statement(pad + "    ", depth - 1, ints, inner)
        elif choice == 4 and kind == "int" and depth > 0:  # overflows int64 sometimes
            var = f"i{self.counter}"
            self.counter += 1
            big = self.c.choice([3, 1000, 2**20, 2**31, -(2**31), 2**62])
            at = self.c.integer(-1, 0)
            self.lines.append(f"{pad}for {var} in range(n + 1):")
            self.lines.append(f"{pad}    {xs}[{at}] = {xs}[{at}] * {big} + {var}")
            self.lines.append(f"{pad}    t = t + {xs}[{at}]")  # the VM goes on with t, xs
        elif choice in (5, 9):
            helpers = [h for h in self.helpers if h[1] == kind or self.mixed()]
            if helpers and not values:  # a helper appends unbounded: not while iterating
                name, _, returns_list = self.c.choice(helpers)
                call = f"{name}({xs}, {self.int_expr(ints)})"
                self.lines.append(
                    f"{pad}t = t + len({call})" if returns_list else f"{pad}t = t + {call}"
                )
            else:
                self.lines.append(f"{pad}t = t + len({xs})")
        elif choice == 6:  # the SSA tier leaves a print of a list to the templates: rarely
            shown = xs if self.c.chance(25) else f"len({xs}), {xs}[{self.index(ints)}]"
            self.lines.append(f"{pad}print({shown}, t, u)")
        elif choice == 7 and depth > 0:
            self.lines.append(f"{pad}if len({xs}) > {self.c.integer(1, 5)}:")
            self.statement(pad + "    ", depth - 1, ints, values)
            if self.c.chance(40):
                self.lines.append(f"{pad}else:")
                self.statement(pad + "    ", depth - 1, ints, values)
        elif choice == 8 and pad == "    ":
            self.make(pad, ints, values)
        else:
            self.lines.append(f"{pad}if len({xs}) < 12:")
            self.lines.append(f"{pad}    {xs}.append({self.element(kind, ints, values)})")

    def helper(self, index: int) -> None:
        """A function taking a list (`xs`, of one kind) and an int: it changes the list and
        returns it or an int."""
        kind = self.c.choice(ELEMENT_KINDS)
        returns_list = self.c.chance(40)
        name = f"h{index}"
        self.lines.append(f"def {name}(xs, k):")
        self.lines.append("    t = 0\n    u = 0.0\n    n = 3")
        self.kinds = {"xs": kind}
        self.mix = self.c.chance(15)
        for _ in range(self.c.integer(1, 3)):
            self.statement("    ", 1, ["k", "t"], [])
        self.lines.append("    return xs" if returns_list else "    return t + len(xs)")
        self.helpers.append((name, kind, returns_list))

    def function(self, index: int) -> None:
        """A function of two ints that makes lists and returns an int, a float or a list."""
        self.lines.append(f"def f{index}(n, p):")
        self.lines.append("    t = 0\n    u = 0.0")
        self.kinds = {}
        self.mix = self.c.chance(15)
        for _ in range(self.c.integer(2, 6)):
            self.statement("    ", 2, ["n", "p", "t"], [])
        returns = self.c.integer(0, 3)
        if returns == 0:
            self.lines.append(f"    return {self.c.choice(list(self.kinds))}")
        elif returns == 1:
            self.lines.append("    return u")
        else:
            self.lines.append(f"    return t + len({self.c.choice(list(self.kinds))})")

    def program(self) -> str:
        for index in range(self.c.integer(0, 2)):
            self.helper(index)
        count = self.c.integer(1, 3)
        for index in range(count):
            self.function(index)
        for index in range(count):
            for _ in range(3):  # the third call runs promoted code under low thresholds
                self.lines.append(
                    f"print(f{index}({self.c.integer(0, 5)}, {self.c.integer(-9, 20)}))"
                )
        return "\n".join(self.lines) + "\n"


def generate(
    c: Choices,
    floats: bool = False,
    lists: bool = False,
    globals: bool = False,
    local_lists: bool = False,
) -> str:
    """A random program; `local_lists` gives functions that make their own lists instead."""
    if local_lists:
        return ListFunctionGenerator(c).program()
    return ProgramGenerator(c, floats, lists, globals).program()


@st.composite
def programs(
    draw, floats: bool = False, lists: bool = False, globals: bool = False, local_lists=False
) -> str:
    return generate(Choices(data=draw(st.data())), floats, lists, globals, local_lists)


@SETTINGS
@given(programs())
def test_every_engine_agrees_with_cpython(source: str):
    expected = run("cpython", source)
    for engine in ENGINES[1:]:
        assert run(engine, source) == expected, f"{engine} disagrees on:\n{source}"


def assert_engines_agree(source: str, used: set[str]) -> None:
    """Every engine prints and raises what CPython does; one the feature table lets refuse
    may instead raise UnsupportedError while loading."""
    expected = run("cpython", source)
    for engine in ENGINES[1:]:
        try:
            runner = prepare(engine, source, "prog.py")
        except UnsupportedError:
            if refused(engine, used):
                continue
            raise
        assert capture(runner) == expected, f"{engine} disagrees on:\n{source}"


@SETTINGS
@given(programs(floats=True))
def test_float_programs_agree_with_cpython(source: str):
    assert_engines_agree(source, {"floats"})


@SETTINGS
@given(programs(floats=True, lists=True))
def test_float_and_list_programs_agree_with_cpython(source: str):
    assert_engines_agree(source, {"floats", "lists"})


@pytest.mark.parametrize("engine", ENGINES[1:])
@SETTINGS
@given(programs(lists=True, globals=True))
def test_programs_with_module_level_names_agree_with_cpython(engine: str, source: str):
    expected = run("cpython", source)
    assert run(engine, source) == expected, f"{engine} disagrees on:\n{source}"


LIST_ENGINES = ("treewalk", "vm-ast", "vm-dis", "stack", "ssa", "auto")


@pytest.mark.parametrize("engine", LIST_ENGINES)
@SETTINGS
@given(programs(local_lists=True))
def test_programs_with_function_local_lists_agree_with_cpython(engine: str, source: str):
    assert_engine_agrees(engine, source)


@pytest.mark.parametrize("engine", ("llvm", "hostc"))  # a second or so per program
@settings(SETTINGS, max_examples=6)
@given(programs(local_lists=True))
def test_function_local_lists_on_the_compiled_backends(engine: str, source: str):
    assert_engine_agrees(engine, source)


def assert_engine_agrees(engine: str, source: str) -> None:
    expected = run("cpython", source)
    try:
        runner = prepare(engine, source, "prog.py")
    except UnsupportedError:
        if refused(engine, {"lists"}):
            return
        raise
    assert capture(runner) == expected, f"{engine} disagrees on:\n{source}"


def hot(source: str) -> AutoTier:
    """The auto tier with thresholds low enough that a function's third call (the
    generator calls each three times) runs promoted code, on the SSA tier when it can."""
    return AutoTier(compile_module(parse_module(source)), Thresholds(calls=2, loops=3, ssa=1))


def called_functions(source: str) -> list[str]:
    """The `f` functions and the helpers some function calls: a helper nobody calls has no
    compiled caller to hand it a list, so every tier rightly leaves it to the VM."""
    names = re.findall(r"^def (\w+)\(", source, re.MULTILINE)
    return [n for n in names if n.startswith("f") or re.search(rf"(?<!def ){n}\(", source)]


def watch_deopts(tier) -> list[list]:
    """The VM frames each deopt of `tier` rebuilds, as the run goes."""
    seen: list[list] = []
    rebuild = tier.frames

    def frames(records: list, depth: int = 0) -> list:
        seen.append(rebuild(records, depth))
        return seen[-1]

    tier.frames = frames
    return seen


def native_counts(seeds: range) -> tuple[Counter, int]:
    """Per tier, how many generated functions ran native code, checking each program
    against CPython on the way (the low-threshold auto tier too); and how many there were."""
    counts: Counter = Counter()
    total = 0
    for seed in seeds:
        source = generate(Choices(rng=random.Random(seed)), local_lists=True)
        expected = run("cpython", source)
        names = called_functions(source)
        total += len(names)
        for tier in ("stack", "ssa"):
            program = load(source, tier)
            deopts = watch_deopts(program.engine)
            assert capture(program.run_main) == expected, f"{tier} disagrees on:\n{source}"
            counts[tier] += sum(program.engine.tier_of(n) == tier for n in names)
            live = [v for frames in deopts for f in frames for v in f.locals]
            counts[f"{tier} deopts with a list live"] += any(type(v) is list for v in live)
        auto = hot(source)
        assert capture(partial(auto.call, "<module>")) == expected, f"auto disagrees:\n{source}"
        counts["auto"] += sum(auto.tier_of(n) != "interp" for n in names if n.startswith("f"))
        counts["auto-ssa"] += sum(auto.tier_of(n) == "ssa" for n in names)
    return counts, total


def test_most_generated_list_functions_run_natively():
    """Else the fuzzing is hollow: the native list code must be what runs. The seeds' own
    numbers (60 programs): about 90% on the stack tier, 85% on the SSA tier (the rest are
    mixed lists, or a print of a list, which the SSA tier leaves to the templates); about
    a quarter of the programs deopt with a list live."""
    counts, total = native_counts(range(60))
    assert counts["stack"] >= 0.8 * total, (counts, total)
    assert counts["ssa"] >= 0.7 * total, (counts, total)
    assert counts["auto"] >= 0.5 * total and counts["auto-ssa"] >= 10, (counts, total)
    # int elements past 2**63 mid-loop: the VM finishes with the lists rebuilt (~25%)
    assert counts["stack deopts with a list live"] >= 6, counts
    assert counts["ssa deopts with a list live"] >= 6, counts


@pytest.mark.slow
def test_many_function_local_list_programs_agree_natively():
    counts, total = native_counts(range(1000, 2000))
    assert counts["stack"] >= 0.8 * total, (counts, total)


def test_local_list_generator_makes_varied_programs():
    sources = [generate(Choices(rng=random.Random(seed)), local_lists=True) for seed in range(60)]
    text = "".join(sources)
    for construct in (
        "for v",
        ".append(",
        "[-",
        "] = ",
        "] * ",
        "(xs, ",
        "return xs",
        "    return a",
    ):
        assert construct in text, construct
    assert re.search(r"\b[abc] = [abc]\n", text)  # an alias
    for kind in (r"\[\(?-?\d+\.", r"\[\(?(True|False)", r"\[\(?-?\d+[,\]]"):  # floats, bools, ints
        assert re.search(kind, text), kind
    outcomes = [run("cpython", s) for s in sources]
    assert sum(error is None for _, error in outcomes) >= 30
    assert any("IndexError: list index out of range" == e for _, e in outcomes)
    assert any("IndexError: list assignment index out of range" == e for _, e in outcomes)
    assert any(re.search(r"\d{20}", out) for out, _ in outcomes)  # past int64, mid-loop
    stack = [load(s, "stack").engine.compiled.skipped for s in sources]
    reasons = "".join(why for skipped in stack for why in skipped.values())
    assert "mixing kinds" in reasons or "into a list of" in reasons  # a mixed list, now and then


def test_generator_writes_reads_of_module_level_names():
    sources = [generate(Choices(rng=random.Random(seed)), False, True, True) for seed in range(40)]
    reads = [s for s in sources if "globals" in features(parse_module(s))]
    assert len(reads) >= 10
    outcomes = {run("cpython", s)[1] for s in reads}
    assert None in outcomes and any("NameError" in (o or "") for o in outcomes)


def test_float_and_list_generator_makes_varied_programs():
    sources = [generate(Choices(rng=random.Random(seed)), True, True) for seed in range(40)]
    text = "".join(sources)
    for construct in (" / ", "float(", "int(", "nan", "len(", ".append(", "for v", "] = "):
        assert construct in text
    outcomes = {run("cpython", s)[1] for s in sources}
    assert None in outcomes and len(outcomes) >= 3
    assert any("IndexError" in (o or "") for o in outcomes)


def test_generator_makes_varied_programs():
    sources = [generate(Choices(rng=random.Random(seed))) for seed in range(40)]
    text = "".join(sources)
    for construct in ("for ", "while ", "def f", "break", "print(", "//", "**", " if "):
        assert construct in text
    outcomes = {run("cpython", s)[1] for s in sources}
    assert None in outcomes and len(outcomes) >= 2  # some finish, some raise


@pytest.mark.parametrize("version", sorted(OTHER_PYTHONS))
def test_dis_front_end_on_random_programs(version: str, tmp_path):
    python = find_python(version)
    if python is None:
        pytest.skip(f"Python {version} is not installed")
    paths = []
    for seed in range(40):
        path = tmp_path / f"random_{seed}.py"
        floats, lists = seed % 2 == 1, seed % 4 == 3
        path.write_text(generate(Choices(rng=random.Random(1000 + seed)), floats, lists))
        paths.append(str(path))
    result = subprocess.run(
        [python, "-m", "tests.programs.engines", *paths],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    for row in map(json.loads, result.stdout.splitlines()):
        assert row["vm-dis"] == row["cpython"], open(row["path"]).read()


# ------------------------------------------------------- random bytecode never crashes

OPS = list(OPCODES)


@st.composite
def random_code(draw) -> Code:
    length = draw(st.integers(1, 12))
    ops = [draw(st.sampled_from(OPS)) for _ in range(length)]
    args = [draw(st.integers(-2, 14)) for _ in range(length)]
    consts = draw(st.lists(st.sampled_from([0, 1, -3, True, None, " ", "\n", 2**70]), max_size=4))
    code = Code(
        "rand", 0, ["a", "b"], consts=consts, names=["rand"], ops=ops, args=args, lines=[1] * length
    )
    code.globals = ["G"]  # LOAD_GLOBAL 0 before any STORE_GLOBAL 0: NameError
    return code


class OutOfTime(Exception):
    """Verified bytecode may loop forever (a JUMP_BACKWARD to itself): that is a program,
    not a crash, so each run gets a time budget."""


def on_alarm(signum, frame):
    raise OutOfTime


@settings(max_examples=300, deadline=None)
@given(random_code())
def test_random_bytecode_is_rejected_or_runs(code: Code):
    try:
        verify(code)
    except VerifyError:
        return
    vm = VM({"rand": code})
    vm.limit = 50
    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, 0.5)
    try:
        with tempfile.TemporaryFile("w+") as sink, contextlib.redirect_stdout(sink):
            vm.call("rand")
        assert Op.RETURN in code.ops  # it returned, so it had a RETURN to do it with
    except (ArithmeticError, TypeError, ValueError, RecursionError, NameError) as e:
        assert not isinstance(e, VerifyError)
    except OutOfTime:
        pass  # an endless loop: verified code need not terminate
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
