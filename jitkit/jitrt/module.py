"""What a native tier hands the runtime: machine code and, per function, what turns a deopt
record back into a VM frame (the stack and SSA tiers both make one)."""

from __future__ import annotations

from dataclasses import dataclass, field

from jitkit.bytecode.code import Code
from jitkit.jitrt.types import FLOAT, INT, NONE, FunctionTypes, exact, is_list
from jitkit.x86 import Code as MachineCode


@dataclass
class FunctionInfo:
    """What the runtime knows about one compiled function."""

    index: int
    code: Code
    types: FunctionTypes
    returns: str
    entry: str  # label of the entry Python calls
    params: tuple = ()  # each parameter's type: "int", "float" or ("list", K) (`analyse_module`)


@dataclass
class PrintSite:
    """One PRINT instruction: how to show its values (the types say int, bool or a string)."""

    function: str
    pc: int
    types: list  # one exact type per value, then sep, then end


@dataclass
class CompiledModule:
    machine: MachineCode
    functions: dict[str, FunctionInfo]
    skipped: dict[str, str]
    prints: list[PrintSite] = field(default_factory=list)
    record_words: int = 0  # the largest deopt record, in words
    # (function index, pc) -> {slot: ("imm", value) | ("local", i)}: stack values a guard's
    # deopt stub leaves to the runtime (the operand cache had not written them yet)
    pending: dict[tuple[int, int], dict] = field(default_factory=dict)


def function_infos(
    codes: dict[str, Code], analysis: dict[str, FunctionTypes], compiled: list[str]
) -> dict[str, FunctionInfo]:
    """What the runtime needs per compiled function; its index is its place in `compiled`."""
    infos = {}
    for index, name in enumerate(compiled):
        types = analysis[name]
        returns = exact(types.returns, f"the return value of {name}()") if types.returns else NONE
        params = tuple(param_type(t) for t in types.states[0].locals)
        params = params[: codes[name].argcount]
        infos[name] = FunctionInfo(index, codes[name], types, returns, f"{name}.python", params)
    return infos


def param_type(types: frozenset) -> object:
    """A compiled parameter's type: a list's, else "float" or "int"."""
    if len(types) == 1 and is_list(next(iter(types))):
        return next(iter(types))
    return FLOAT if FLOAT in types else INT
