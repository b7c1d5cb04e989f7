"""Module-level names as LLVM globals (notebook 08 LLVM mini compiler, notebook 09).

In: the kit module's `globals` (names some function reads, in slot order), `Global` reads in
functions and `SetGlobal` stores in the top-level code. Out: two LLVM globals per name,
`@NAME.tag` (i8, UNBOUND at first) and `@NAME.value` (i64 payload), written by the init
function `py.<module>` as TinyGo's front end writes Go's package variables; a read checks the
tag and fails at a "name" site with CPython's NameError. A kit name has no dot, so these
never meet the runtime's own globals.

In an executable they are `internal`: partial evaluation (notebook 09) runs the init at
compile time, gives them their values as initializers and, once nothing stores to them,
makes them `constant`, so LLVM folds `LIMIT` into the functions that read it. In process
they are external: Python writes them before a call (`CompiledModule.set_globals`).
"""

from __future__ import annotations

from llvmlite import ir

from jitkit.lang import nodes as n
from jitkit.llvm.lowering import Lowering
from jitkit.llvm.runtime import I8, I64
from jitkit.llvm.values import UNBOUND, Val, const


def name_error(name: str) -> str:
    """CPython's message for a module-level name read before it is bound."""
    return f"name {name!r} is not defined"


def global_symbols(name: str) -> tuple[str, str]:
    """The LLVM names of a module-level name's tag and payload globals."""
    return f"{name}.tag", f"{name}.value"


class GlobalLowering(Lowering):
    """`declare_globals`, `lower_Global` and `lower_SetGlobal`."""

    kit: n.Module
    target: str

    def declare_globals(self) -> None:
        """One tag and one payload global per module-level name a function reads."""
        self.global_slots: list[tuple[ir.GlobalVariable, ir.GlobalVariable]] = []
        for name in self.kit.globals:
            tag_name, value_name = global_symbols(name)
            self.global_slots.append(
                (self.module_global(I8, tag_name, UNBOUND), self.module_global(I64, value_name, 0))
            )

    def module_global(self, typ: ir.Type, symbol: str, init: int) -> ir.GlobalVariable:
        """Internal in an executable (partial evaluation may make it constant), external in
        process (Python writes it)."""
        var = ir.GlobalVariable(self.module, typ, symbol)
        var.initializer = const(typ, init)
        var.linkage = "" if self.target == "inprocess" else "internal"
        return var

    def lower_Global(self, e: n.Global) -> Val:
        v = self.load(self.global_slots[e.index])
        ok = self.b.icmp_unsigned("!=", v.tag, const(I8, UNBOUND))
        self.guard(ok, "name", name_error(e.name), e)
        return v

    def lower_SetGlobal(self, s: n.SetGlobal) -> None:
        self.store(self.global_slots[s.index], self.expr(s.value))
