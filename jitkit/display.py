"""What the notebooks show: the kit's real source, agreement tables, folds, trees, narrow
tables and wrapped IR, and (from `jitkit.x86.listing`) machine-code listings (notebooks 01+).

Every helper returns an object a notebook renders as HTML and `print` renders as text, at most a
100-character column wide.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any

from jitkit.x86.listing import STYLE, Listing, Row, format_html, format_text, rows, show

__all__ = ["Listing", "Row", "agree", "fold", "format_html", "format_text", "rows", "show",
           "source", "speed_table", "tree", "wrap_code", "wrap_ir", "wrap_table"]  # fmt: skip


# --- the kit's own source ------------------------------------------------------------------


@dataclass
class Source:
    """A piece of the kit's real source: prints as text, renders as highlighted HTML that
    folds away when long, so a chapter can show the grown-up version without pasting it."""

    name: str
    path: str
    first_line: int
    text: str
    fold_after: int = 40

    @property
    def header(self) -> str:
        last = self.first_line + self.text.count("\n") - (1 if self.text.endswith("\n") else 0)
        return f"{self.name}  ({self.path}, lines {self.first_line}-{last})"

    def __str__(self) -> str:
        return f"# {self.header}\n{self.text}"

    __repr__ = __str__

    def _repr_html_(self) -> str:
        try:
            from pygments import highlight
            from pygments.formatters import HtmlFormatter
            from pygments.lexers import PythonLexer

            formatter = HtmlFormatter(noclasses=True, nowrap=True, style="default")
            body = highlight(self.text, PythonLexer(), formatter)
        except ImportError:
            body = html.escape(self.text)
        opened = " open" if self.text.count("\n") <= self.fold_after else ""
        pre = (
            '<pre style="max-width: 100%; overflow-x: auto; font-size: 12px; '
            f'line-height: 1.3; margin: 0.3em 0">{body}</pre>'
        )
        summary = f"<summary><code>{html.escape(self.header)}</code></summary>"
        return f"<details{opened}>{summary}{pre}</details>"


def source(obj: Any, fold_after: int = 40) -> Source:
    """The real source of a kit module, class or function (through `inspect`), with where it
    lives; long pieces render folded in a notebook. Never paste the kit's code: show it."""
    import inspect
    from pathlib import Path

    lines, first = inspect.getsourcelines(obj)
    filename = Path(inspect.getsourcefile(obj) or "?")
    package_root = Path(__file__).resolve().parent.parent
    try:
        path = str(filename.resolve().relative_to(package_root))
    except ValueError:
        path = filename.name
    name = getattr(obj, "__qualname__", None) or getattr(obj, "__name__", repr(obj))
    return Source(name, path, max(first, 1), "".join(lines), fold_after)


@dataclass
class Agreement:
    """The same inputs through several implementations, one row each, and whether all agree."""

    columns: list[str]
    rows: list[tuple[str, list[str], bool]]

    @property
    def ok(self) -> bool:
        return all(same for _, _, same in self.rows)

    def __str__(self) -> str:
        table = [["input", *self.columns, ""]]
        table += [[arg, *values, "ok" if same else "DIFFER"] for arg, values, same in self.rows]
        table = [[c if len(c) <= 40 else c[:39] + "…" for c in r] for r in table]  # one column
        widths = [max(len(r[i]) for r in table) for i in range(len(table[0]))]
        out = [
            "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in table
        ]
        verdict = "all agree" if self.ok else "they DIFFER"
        return "\n".join([*out, f"{len(self.rows)} inputs: {verdict}"])

    __repr__ = __str__

    def _repr_html_(self) -> str:
        head = "".join(
            f'<th style="{STYLE}">{html.escape(c)}</th>' for c in ["input", *self.columns, ""]
        )
        body = []
        for arg, values, same in self.rows:
            tds = "".join(f'<td style="{STYLE}">{html.escape(v)}</td>' for v in [arg, *values])
            mark = "✓" if same else "✗ differ"
            body.append(f'<tr>{tds}<td style="{STYLE}">{mark}</td></tr>')
        verdict = "all agree" if self.ok else "<b>they differ</b>"
        return (
            f'<table class="jitkit-agree"><thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(body)}</tbody></table><p>{len(self.rows)} inputs: {verdict}</p>"
        )


def agree(inputs: Any, **implementations: Any) -> Agreement:
    """Run each input (a tuple of arguments, or one argument) through every implementation
    and tabulate the results; an exception counts as a result (its type and message)."""

    def outcome(fn: Any, args: tuple) -> str:
        try:
            return repr(fn(*args))
        except Exception as error:  # the exception is the result being compared
            return f"{type(error).__name__}: {error}"

    rows = []
    for item in inputs:
        args = item if isinstance(item, tuple) else (item,)
        values = [outcome(fn, args) for fn in implementations.values()]
        shown = ", ".join(repr(a) if not isinstance(a, bytes) else a.hex(" ") for a in args)
        rows.append((shown, values, len(set(values)) == 1))
    return Agreement(list(implementations), rows)


# --- long text and trees -------------------------------------------------------------------


@dataclass
class Folded:
    """Long text shown short: its first `lines` lines in the open, the rest behind a click
    (HTML `<details>`); as text, the first lines and how many more there are."""

    text: str
    lines: int = 30
    title: str = ""

    @property
    def total(self) -> int:
        return len(self.text.splitlines())

    def __str__(self) -> str:
        shown = self.text.splitlines()[: self.lines]
        more = self.total - len(shown)
        tail = [f"... {more} more lines (str(x.text) has them all)"] if more > 0 else []
        return "\n".join(([self.title] if self.title else []) + shown + tail)

    __repr__ = __str__

    def _repr_html_(self) -> str:
        head, rest = self.text.splitlines()[: self.lines], self.text.splitlines()[self.lines :]
        title = f"<b>{html.escape(self.title)}</b><br>" if self.title else ""
        first = f"{title}<pre style='{_PRE}'>{html.escape(chr(10).join(head))}</pre>"
        if not rest:
            return first
        more = f"<summary>{len(rest)} more lines</summary>"
        body = html.escape("\n".join(rest))
        return f"{first}<details>{more}<pre style='{_PRE}'>{body}</pre></details>"


_PRE = "max-width: 100%; overflow-x: auto; font-size: 12px; line-height: 1.3; margin: 0.2em 0"


def fold(text: Any, lines: int = 30, title: str = "") -> Folded:
    """Why: a 200-line listing is a wall; show the start and fold the rest away."""
    return Folded(str(text), lines, title)


@dataclass
class Tree:
    """An indented tree: prints as text, renders as the same text in a `<pre>`."""

    text: str

    def __str__(self) -> str:
        return self.text

    __repr__ = __str__

    def _repr_html_(self) -> str:
        return f"<pre style='{_PRE}'>{html.escape(self.text)}</pre>"


def tree(node: Any) -> Tree:
    """A kit AST node (or a module's functions, or a Python `ast` node) as an indented tree,
    one node a line with its plain fields beside it, children indented under a field name."""
    return Tree("\n".join(_tree_lines(node, "")))


_HIDDEN = {"line", "col", "filename", "varnames", "hidden", "slot", "source", "ctx",
           "lineno", "col_offset", "end_lineno", "end_col_offset", "type_comment"}  # fmt: skip


def _fields(node: Any) -> list[tuple[str, Any]]:
    if hasattr(node, "__dataclass_fields__"):  # a flag is shown only when set
        fields = node.__dataclass_fields__
        names = [n for n in fields if fields[n].default is not False or getattr(node, n)]
    elif hasattr(node, "_fields"):  # Python's ast
        names = list(node._fields)
    else:
        return []
    return [(n, getattr(node, n, None)) for n in names if n not in _HIDDEN]


def _is_node(value: Any) -> bool:
    return hasattr(value, "__dataclass_fields__") or hasattr(value, "_fields")


def _tree_lines(node: Any, indent: str) -> list[str]:
    if isinstance(node, dict):
        return [line for value in node.values() for line in _tree_lines(value, indent)]
    if isinstance(node, list | tuple) and not _is_node(node):
        return [line for item in node for line in _tree_lines(item, indent)]
    if not _is_node(node):
        return [f"{indent}{node!r}"]
    plain, children = [], []
    for name, value in _fields(node):
        many = isinstance(value, list | tuple | dict) and any(
            _is_node(v) for v in (value.values() if isinstance(value, dict) else value)
        )
        if _is_node(value) or many:
            children.append((name, value))
        elif value not in (None, [], ""):
            plain.append(f"{name}={value!r}" if not _short(node) else str(value))
    line = getattr(node, "line", getattr(node, "lineno", None))
    where = f"  (line {line})" if line is not None and not _short(node) else ""
    out = [f"{indent}{type(node).__name__} {' '.join(plain)}".rstrip() + where]
    for name, value in children:
        if _is_node(value):
            sub = _tree_lines(value, indent + "  ")
            out.append(f"{indent}  {name}: {sub[0].strip()}")
            out += sub[1:]
        else:
            out.append(f"{indent}  {name}:")
            out += _tree_lines(value, indent + "    ")
    return out


def _short(node: Any) -> bool:
    """Leaves that read best as `Const 2` / `Local n`, without field names or lines."""
    return type(node).__name__ in ("Const", "Local", "Name", "Constant")


# --- benchmark tables that fit a notebook column -------------------------------------------


def speed_table(rows: list[Any], column: int = 10) -> str:
    """`jitkit.bench.run`'s rows as three narrow tables stacked (milliseconds, ÷ gcc -O2,
    ÷ CPython; geomeans last) and the compile times: one tier per short column, so five
    tiers fit in 70 characters where `bench.table`'s side-by-side groups take 139."""
    from jitkit.bench import compile_table, mean_ratio

    tiers = list(rows[0].seconds)
    blocks = []
    for title, base in (("time, ms", None), ("÷ gcc -O2", "gcc -O2"), ("÷ CPython", "cpython")):
        lines = [f"{title:<14}" + "".join(f"{t:>{column}}" for t in tiers)]
        for row in rows:
            if base is None:
                cells = [f"{row.seconds[t] * 1e3:.2f}" for t in tiers]
            else:
                cells = [_times(row.ratio(t, base)) for t in tiers]
            lines.append(f"{row.kernel:<14}" + "".join(f"{c:>{column}}" for c in cells))
        if base is not None:
            means = [_times(mean_ratio(rows, t, base)) for t in tiers]
            lines.append(f"{'geomean':<14}" + "".join(f"{m:>{column}}" for m in means))
        blocks.append("\n".join(lines))
    if rows[0].compile_seconds:
        blocks.append(compile_table(rows))
    return "\n\n".join(blocks)


def _times(ratio: float) -> str:
    """Two or three significant figures: 14182x, 71.4x, 1.00x, 0.25x, 0.012x."""
    places = 0 if ratio >= 100 else 1 if ratio >= 10 else 2 if ratio >= 0.1 else 3
    return f"{ratio:.{places}f}x"


# --- SSA IR that fits ----------------------------------------------------------------------


def wrap_ir(ir: Any, width: int = 100) -> str:
    """The SSA IR text (or a `Function`, formatted) fitted to `width`: when any line is longer,
    every instruction's deopt state goes on a line of its own (and, if still long, its
    `stack(` on another), indented under the instruction, so the lines read alike, nothing is
    cut and a diff's `-`/`+` stays on the instruction's line."""
    if not isinstance(ir, str):
        from jitkit.ssa.text import format as format_ir

        ir = format_ir(ir)
    lines = ir.split("\n")
    if all(len(line) <= width for line in lines):
        return ir
    out = []
    for line in lines:
        head, found, state = line.partition(" deopt ")
        if not found:
            out.append(line)
            continue
        indent = " " * (len(line) - len(line.lstrip(" +-")) + 4)  # under the instruction
        state = f"{indent}deopt {state}"
        out.append(head)
        if len(state) > width and " stack(" in state:
            state, _, stack = state.partition(" stack(")
            out += [state, f"{indent}stack({stack}"]
        else:
            out.append(state)
    return "\n".join(out)


def wrap_code(text: str, width: int = 100) -> str:
    """Source text (C, lists, messages) with each line longer than `width` broken after a
    comma (else at a space), continuation lines indented 8 past the line's own indent: for
    languages where a line break between tokens changes nothing."""
    out = []
    for line in text.split("\n"):
        out += _wrap(line, width, len(line) - len(line.lstrip(" ")) + 8, ", ")
    return "\n".join(out)


def wrap_table(text: str, width: int = 100) -> str:
    """A fixed-column table whose last column is prose (the first line is its header): a row
    longer than `width` continues its last column on the next line, under that column."""
    lines = text.split("\n")
    header = lines[0].rstrip()
    hang = len(header) - len(header.split()[-1]) if header.strip() else 0
    return "\n".join(out for line in lines for out in _wrap(line, width, hang, " "))


def _wrap(line: str, width: int, hang: int, prefer: str) -> list[str]:
    """`line` cut at the last `prefer` (else a space) that keeps each piece within `width`;
    continuations start with `hang` spaces. A token longer than a line stays whole."""
    out, indent = [], " " * hang
    while len(line) > width:
        cut = line.rfind(prefer, hang, width)
        cut = cut + len(prefer.rstrip()) if cut > 0 else line.rfind(" ", hang, width + 1)
        if cut <= hang:
            break
        out.append(line[:cut].rstrip())
        line = indent + line[cut:].lstrip()
    return [*out, line]
