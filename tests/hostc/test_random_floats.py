"""Random programs with floats and lists: hostc prints, returns and raises what CPython does."""

from __future__ import annotations

import random

from jitkit.hostc import HostModule
from jitkit.lang.parse import parse_module
from tests.hostc.test_module import Int64Programs, run_silently
from tests.programs.engines import run
from tests.test_differential import Choices

FLOATS = ["0.0", "-0.0", "0.5", "1.5", "-2.25", "0.1", "3.0", "1e16", "1e-05", "1e308", "2.5e-310"]


class FloatListPrograms(Int64Programs):
    """Int64 programs with float literals, /, float(), int(), and (in the module's own code)
    two lists that are made, read, stored into, appended to, iterated and printed."""

    def __init__(self, c: Choices) -> None:
        super().__init__(c)
        self.lists: list[str] = []  # readable once the functions are written
        self.appending = True  # False inside `for v in xs`: an append there never ends

    def literal(self) -> str:
        return self.c.choice(FLOATS) if self.c.chance(40) else super().literal()

    def expr(self, names: list[str], depth: int, current: tuple[str, int] | None = None) -> str:
        if depth > 0 and self.c.chance(30):
            e = lambda: self.expr(names, depth - 1, current)  # noqa: E731
            kind = self.c.integer(0, 4)
            if kind == 0:
                return f"({e()} / {e()})"
            if kind == 1:
                return f"float({e()})"
            if kind == 2:
                return f"int({e()})"
            if self.lists:
                xs = self.c.choice(self.lists)
                return f"{xs}[{self.c.integer(-2, 1)}]" if kind == 3 else f"len({xs})"
        return super().expr(names, depth, current)

    def block(self, indent, names, depth, in_loop, current) -> None:
        if self.lists and self.c.chance(50):
            pad, xs = "    " * indent, self.c.choice(self.lists)
            kind = self.c.integer(0, 3)
            if kind == 0 and self.appending:
                self.lines.append(f"{pad}{xs}.append({self.expr(names, 2)})")
            elif kind == 1:
                self.lines.append(f"{pad}{xs}[{self.c.integer(-3, 3)}] = {self.expr(names, 2)}")
            elif kind == 2 and depth > 0:
                var = f"v{self.counter}"
                self.counter += 1
                self.lines.append(f"{pad}for {var} in {xs}:")
                appending, self.appending = self.appending, False
                self.block(indent + 1, names + [var], depth - 1, True, current)
                self.appending = appending
            else:
                self.lines.append(f"{pad}print({xs}, len({xs}))")
        super().block(indent, names, depth, in_loop, current)

    def program(self) -> str:
        """The parent's program, with the two lists made before the module's own code."""
        for index in range(self.c.integer(0, 3)):
            self.function(index)
        guarded, self.functions = self.functions, []
        for xs in ("xs", "ys"):
            items = ", ".join(self.literal() for _ in range(self.c.integer(2, 4)))
            made = f"[{items}]" if self.c.chance(70) else f"[{self.literal()}] * 3"
            self.lines.append(f"{xs} = {made}")
        self.lists = ["xs", "ys"]
        self.block(0, [], 2, False, None)
        for name, arity in guarded:
            args = [f"min(abs({self.expr([], 1)}), 6)"]
            args += [self.expr([], 2) for _ in range(arity - 1)]
            self.lines.append(f"print({name}({', '.join(args)}))")
        return "\n".join(self.lines) + "\n"


def test_random_float_and_list_programs_agree_with_cpython():
    in_c = 0
    for seed in range(40):
        source = FloatListPrograms(Choices(rng=random.Random(seed))).program()
        assert run("hostc", source) == run("cpython", source), source
        m = HostModule(parse_module(source))
        run_silently(m)
        in_c += not m.bailouts
    assert in_c >= 15  # the C path, not only the VM, is what agreed (19 of 40 today)
