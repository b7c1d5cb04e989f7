"""The kit code object and its builder (notebook 03 interpreters).

In: instructions emitted one by one by a compiler. Out: a `Code`: parallel lists of opcodes,
operands and source lines (the line table), plus constants, local names, callee names and the
module's global names (the same list in every code of a module).
Instructions are addressed by index, so every in-range jump target is an instruction.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from jitkit.bytecode.opcodes import Op


@dataclass
class Code:
    """One function's bytecode: `ops[i]` with operand `args[i]` from source line `lines[i]`."""

    name: str
    argcount: int
    varnames: list[str]
    consts: list[object] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    ops: list[Op] = field(default_factory=list)
    args: list[int] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)
    filename: str = "<string>"
    firstlineno: int = 0
    stacksize: int = 0  # filled in by the verifier
    globals: list[str] = field(default_factory=list)  # the module's, `Module.globals`
    # indices of the binary operators that are `x op= v` (CPython's in-place form: a list
    # extends itself); the listing shows them as their binary twins, which they are on numbers
    inplace: set[int] = field(default_factory=set)

    def __len__(self) -> int:
        return len(self.ops)


class CodeBuilder:
    """Appends instructions and constants to a Code; jumps are emitted, then patched."""

    def __init__(
        self,
        name: str,
        argcount: int,
        varnames: list[str],
        filename: str = "",
        firstlineno: int = 0,
        globals: list[str] | None = None,
    ) -> None:
        self.code = Code(name, argcount, list(varnames), filename=filename, firstlineno=firstlineno)
        self.code.globals = list(globals or [])
        self.line = firstlineno
        self.const_index: dict[tuple[str, str], int] = {}

    def here(self) -> int:
        """Index of the next instruction (a jump target)."""
        return len(self.code.ops)

    def emit(self, op: Op, arg: int = 0) -> int:
        """Append one instruction at the current source line; return its index."""
        self.code.ops.append(op)
        self.code.args.append(arg)
        self.code.lines.append(self.line)
        return len(self.code.ops) - 1

    def emit_inplace(self, op: Op) -> int:
        """Append the binary operator `op` as the in-place form of `x op= v`."""
        at = self.emit(op)
        self.code.inplace.add(at)
        return at

    def emit_jump(self, op: Op) -> int:
        """Append a forward jump whose target `patch_jump` fills in later."""
        return self.emit(op, -1)

    def patch_jump(self, at: int, target: int | None = None) -> None:
        """Point the jump at index `at` to `target` (default: the next instruction)."""
        self.code.args[at] = self.here() if target is None else target

    def add_constant(self, value: object) -> int:
        """Index of `value` in the constant pool (1 and True stay distinct)."""
        key = (type(value).__name__, repr(value))
        if key not in self.const_index:
            self.const_index[key] = len(self.code.consts)
            self.code.consts.append(value)
        return self.const_index[key]

    def add_name(self, name: str) -> int:
        """Index of a callee's name in `names`."""
        if name not in self.code.names:
            self.code.names.append(name)
        return self.code.names.index(name)

    def add_local(self, name: str) -> int:
        """Slot of a local variable, created on first use."""
        if name not in self.code.varnames:
            self.code.varnames.append(name)
        return self.code.varnames.index(name)
