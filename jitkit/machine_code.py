"""Where a compiled function's machine code lives, read back from memory (the front door's `asm()`).

Takes a tier's compiled module and a function name; gives `MachineCode`: the regions of
executable memory a call runs through (address, bytes read with `ctypes.string_at`), which
prints as a capstone listing. Stack and SSA code is located by the assembler's labels; LLVM's
by the symbol table of the object file MCJIT loaded (kept by `jitkit.llvm.jit.Engine`); the host
compiler's by the `.so`'s symbol table, relative to where `dlopen` put `jk_run`. Reading memory,
never the compiler's output, is the point: what is shown is what runs.
"""

from __future__ import annotations

import ctypes
import re
from dataclasses import dataclass, field

from jitkit.elf.format import function_symbols
from jitkit.errors import JitkitError


@dataclass
class Region:
    """One piece of machine code as it sits in executable memory."""

    name: str
    address: int
    data: bytes
    labels: dict[str, int] = field(default_factory=dict)  # label -> offset in `data`


@dataclass
class MachineCode:
    """The regions one call of a function runs through; prints and renders as listings."""

    tier: str
    regions: list[Region]

    def listings(self) -> list[tuple[str, object]]:
        from jitkit.x86.listing import show

        return [(r.name, show(r.data, labels=r.labels, base=r.address)) for r in self.regions]

    def __str__(self) -> str:
        parts = [f"; {name} ({self.tier} tier)\n{listing}" for name, listing in self.listings()]
        return "\n\n".join(parts)

    __repr__ = __str__

    def _repr_html_(self) -> str:
        return "".join(
            f"<p><b>{name}</b> ({self.tier} tier)</p>{listing._repr_html_()}"  # type: ignore[attr-defined]
            for name, listing in self.listings()
        )


def read(name: str, address: int, size: int, labels: dict[str, int] | None = None) -> Region:
    return Region(name, address, ctypes.string_at(address, size), labels or {})


# --- the stack and SSA tiers: one block, located by labels ----------------------------------


def stack_code(tier: object, name: str, tier_name: str) -> MachineCode:
    """`name`'s code in a `StackTier` (or `SSATier`): its body with deopt stubs, then the
    entry Python calls through ctypes."""
    labels = tier.compiled.machine.labels  # type: ignore[attr-defined]
    base = tier.memory.address  # type: ignore[attr-defined]
    end_of_code = len(tier.compiled.machine.bytes)  # type: ignore[attr-defined]

    def owner(label: str) -> str:  # f.pc3, f@pc3, f/deopt1 -> f; f.python.budget -> f.python
        entry = ".python" in label
        return f"{re.split(r'[.@/]', label)[0]}{'.python' if entry else ''}"

    regions = []
    for part in (name, f"{name}.python"):
        mine = [o for label, o in labels.items() if owner(label) == part]
        start = min(mine)
        others = [o for label, o in labels.items() if owner(label) != part and o > start]
        end = min(others, default=end_of_code)
        inside = {label: o - start for label, o in labels.items() if start <= o < end}
        regions.append(read(part, base + start, end - start, inside))
    return MachineCode(tier_name, regions)


# --- LLVM: the object MCJIT loaded ----------------------------------------------------------


def llvm_code(compiled: object, name: str) -> MachineCode:
    """`name`'s code in an LLVM `CompiledModule`: the kit function `py.NAME` (unless LLVM
    inlined it away) and the entry `jk_call.NAME`, where MCJIT put them."""
    engine = compiled.engine  # type: ignore[attr-defined]
    if not engine.objects:
        raise JitkitError("MCJIT reported no object file for this module")
    symbols = function_symbols(engine.objects[-1])
    section_base = {}  # a section's load address, from a global symbol MCJIT can look up
    for symbol, where in symbols.items():
        if symbol.startswith("jk_") and where.section not in section_base:
            address = engine.engine.get_function_address(symbol)
            if address:
                section_base[where.section] = address - where.value
    regions = []
    for symbol in (f"py.{name}", f"jk_call.{name}"):
        where = symbols.get(symbol)
        if where is not None and where.section in section_base:
            regions.append(read(symbol, section_base[where.section] + where.value, where.size))
    return MachineCode("llvm", regions)


# --- the host compiler: the loaded shared object --------------------------------------------


def hostc_code(module: object, name: str) -> MachineCode:
    """`name`'s code in a `HostModule`: `py_NAME` and any part or clone cc split off
    (`py_NAME.cold`, `py_NAME.constprop.0`), where `dlopen` loaded the `.so`."""
    from jitkit.hostc.cgen import c_name

    build = module.build  # type: ignore[attr-defined]
    symbols = function_symbols(build.path.read_bytes())
    run = ctypes.cast(build.library["jk_run"], ctypes.c_void_p).value or 0
    load_base = run - symbols["jk_run"].value
    own = re.compile(rf"{re.escape(c_name('py', name))}(\.\w+)*")
    regions = [
        read(symbol, load_base + where.value, where.size)
        for symbol, where in sorted(symbols.items(), key=lambda item: item[1].value)
        if own.fullmatch(symbol)
    ]
    return MachineCode("hostc", regions)
