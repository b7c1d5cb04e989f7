"""What a function becomes, stage by stage, with the source line of each row (the explorer).

Takes source text of the kit's subset and a function name; gives `Views`: the kit bytecode,
the SSA IR after each pass, x86-64 listings of the stack, SSA and LLVM tiers, and LLVM IR at
O0..O3, each a `Pane` of rows that know their source line where the stage keeps one. Line
info: bytecode has it per instruction (`Code.lines`); SSA IR through its block labels
(`@pcN`: the bytecode pc the block starts at) and deopt points (`deopt N`: that pc); the
stack tier's machine code through its per-instruction labels (`f.pcN`), the SSA tier's
through its block labels (`f@pcN`); LLVM keeps none (no debug info is emitted). A stage that
fails keeps its error as the pane's message: one broken stage never hides the others.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field

PRE = (
    "margin: 0; font-size: 12px; line-height: 1.35; max-height: 26em; overflow: auto; "
    "max-width: 100%; white-space: pre"
)
MARK = "background: #ffe58f"
TIERS = ("stack", "ssa", "llvm")
LEVELS = ("O0", "O1", "O2", "O3")


@dataclass
class Pane:
    """One view: rows of text, each with the source line it came from (or None)."""

    rows: list[tuple[str, int | None]] = field(default_factory=list)
    error: str = ""  # why this stage has nothing to show
    note: str = ""  # e.g. "no line info"

    @property
    def text(self) -> str:
        return self.error or "\n".join(text for text, _ in self.rows)

    def marked(self, line: int | None) -> list[int]:
        """Indices of the rows that came from source line `line`."""
        return [i for i, (_, at) in enumerate(self.rows) if line is not None and at == line]

    def html(self, line: int | None = None) -> str:
        """A <pre> with the rows from `line` highlighted; an error as a plain message."""
        if self.error:
            return f"<pre style='{PRE}; color: #a40000'>{html.escape(self.error)}</pre>"
        marked = set(self.marked(line))
        body = "\n".join(
            f"<span style='{MARK}'>{html.escape(t)}</span>" if i in marked else html.escape(t)
            for i, (t, _) in enumerate(self.rows)
        )
        note = f"<div style='font-size: 11px; color: #666'>{html.escape(self.note)}</div>"
        return f"{note if self.note else ''}<pre style='{PRE}'>{body}</pre>"


def failed(error: BaseException) -> Pane:
    """A stage's exception as the message a learner reads (its type, message and notes)."""
    notes = "".join(f"\n{n}" for n in getattr(error, "__notes__", []))
    return Pane(error=f"{type(error).__name__}: {error}{notes}")


@dataclass
class Views:
    """Every stage of one function of one source text."""

    source: str
    name: str
    functions: list[str]
    bytecode: Pane
    ssa: dict[str, Pane]  # "3 fold" -> IR after the 3rd pass (passes can run twice)
    asm: dict[str, Pane]  # tier -> its listing
    llvm: dict[str, Pane]  # "O2" -> the function's IR at that level
    error: str = ""  # the source itself did not compile: every pane shows this

    def lines(self) -> list[tuple[int, str]]:
        """(line number, text) of the source's non-blank lines."""
        return [(i, t) for i, t in enumerate(self.source.splitlines(), 1) if t.strip()]


def compile_views(source: str, name: str | None = None) -> Views:
    """Compile `source` through every stage for function `name` (default: its first)."""
    from jitkit.bytecode.compiler import compile_module
    from jitkit.lang.parse import parse_module

    try:
        kit = parse_module(source, "<explore>")
        codes = compile_module(kit)
    except Exception as error:  # a learner's typo: the message is the result
        pane = failed(error)
        return Views(source, name or "", [], pane, {"input": pane}, dict.fromkeys(TIERS, pane),
                     dict.fromkeys(LEVELS, pane), pane.error)  # fmt: skip
    functions = list(codes)
    if not functions:
        pane = Pane(error="no function to explore: define one with `def`")
        return Views(source, "", [], pane, {"input": pane}, dict.fromkeys(TIERS, pane),
                     dict.fromkeys(LEVELS, pane), pane.error)  # fmt: skip
    name = name if name in codes else functions[0]
    lines = codes[name].lines
    return Views(
        source,
        name,
        functions,
        bytecode_pane(codes, name),
        ssa_panes(codes, name, lines),
        {tier: asm_pane(kit, codes, name, tier, lines) for tier in TIERS},
        llvm_panes(kit, name),
        "",
    )


def bytecode_pane(codes, name: str) -> Pane:
    from jitkit.bytecode.disasm import format_instruction, instructions

    code = codes[name]
    rows = [(format_instruction(ins), code.lines[ins.offset]) for ins in instructions(code)]
    return Pane([(f"{name}:", None), *rows])


def ssa_lines(text: str, lines: list[int]) -> Pane:
    """IR rows with lines: a block @pcN starts at pc N; `deopt N` is at pc N."""
    rows, pc = [], None
    for row in text.splitlines():
        block = re.fullmatch(r"@pc(\d+)", row.strip())
        if block:
            pc = int(block.group(1))
        elif row.strip().startswith("@") or row.startswith("function") or row == "}":
            pc = None if not row.startswith("    ") else pc
        deopt = re.search(r"\bdeopt (\d+)", row)
        at = int(deopt.group(1)) if deopt else pc
        rows.append((row, lines[at] if at is not None and at < len(lines) else None))
    return Pane(rows)


def ssa_panes(codes, name: str, lines: list[int]) -> dict[str, Pane]:
    try:
        from jitkit.ssa.tier import compile_module

        module = compile_module(codes)
        passes = module.ir.get(name)
        if not passes:
            why = module.fallbacks.get(name) or module.skipped.get(name, "not compiled")
            return {"input": Pane(error=f"{name}() has no SSA IR: {why}")}
    except Exception as error:  # the SSA tier refused this source
        return {"input": failed(error)}
    return {f"{i} {p}": ssa_lines(text, lines) for i, (p, text) in enumerate(passes)}


def asm_pane(kit, codes, name: str, tier: str, lines: list[int]) -> Pane:
    from jitkit.display import rows as listing_rows
    from jitkit.machine_code import llvm_code, stack_code
    from jitkit.tiers import TIERS as FACTORIES

    try:
        engine = FACTORIES[tier](kit, codes).engine
        if tier == "llvm":
            code = llvm_code(engine, name)
        elif engine.tier_of(name) != tier:
            why = getattr(engine.compiled, "fallbacks", {}).get(name, "")
            why = why or engine.compiled.skipped.get(name, f"runs in the {engine.tier_of(name)}")
            return Pane(error=f"the {tier} tier made no code for {name}(): {why}")
        else:
            code = stack_code(engine, name, tier)
    except Exception as error:  # the tier refused this source
        return failed(error)
    rows: list[tuple[str, int | None]] = []
    for region in code.regions:
        rows.append((f"; {region.name}", None))
        pc = None
        for row in listing_rows(region.data, region.labels, region.address):
            if row.label is not None:
                found = re.search(r"(?:\.pc|@pc|deopt\.)(\d+)$", row.label)
                pc = int(found.group(1)) if found else None
                rows.append((f"{row.label}:", None))
            if row.data:
                line = lines[pc] if pc is not None and pc < len(lines) else None
                rows.append((f"  {region.address + row.offset:x}  {row.text}", line))
    note = "" if tier != "llvm" else "LLVM keeps no source lines here (no debug info)"
    return Pane(rows, note=note)


def llvm_panes(kit, name: str) -> dict[str, Pane]:
    """The function's IR as LLVM's O0..O3 pipelines leave it (the in-process lowering)."""
    from jitkit.llvm.codegen import compile_module
    from jitkit.llvm.optimize import optimize
    from jitkit.llvm.verify import verify_ir

    try:
        program = compile_module(kit, "inprocess")
    except Exception as error:  # the LLVM compiler refused this source
        return dict.fromkeys(LEVELS, failed(error))
    panes = {}
    for level in LEVELS:
        try:
            text = str(optimize(verify_ir(str(program.module)), int(level[1])))
        except Exception as error:
            panes[level] = failed(error)
            continue
        symbol, mine = function_ir(text, (f"py.{name}", f"jk_call.{name}"))
        note = f"@{symbol} only (no source lines: no debug info is emitted)"
        if symbol != f"py.{name}":
            note = f"py.{name} was inlined into its entry: " + note
        panes[level] = Pane([(row, None) for row in mine.splitlines()], note=note)
    return panes


def function_ir(module: str, symbols: tuple[str, ...]) -> tuple[str, str]:
    """The first of `symbols` defined in a module's text, and its `define ... { ... }`
    (the whole module if none is)."""
    for symbol in symbols:
        pattern = rf'^define [^\n]*@"?{re.escape(symbol)}"?\(.*?^}}'
        found = re.search(pattern, module, re.S | re.M)
        if found:
            return symbol, found.group(0)
    return "the module", module
