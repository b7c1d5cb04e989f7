"""Listings: capstone's decoding of our bytes, with labels, as text and as an HTML table."""

from __future__ import annotations

import ctypes
import subprocess
import sys

from jitkit.display import Row, format_text, rows, show
from jitkit.x86 import Assembler, eax, rax, rdi, rsi

ADD = b"\x48\x8d\x04\x37\xc3"  # lea rax, [rdi + rsi]; ret


def countdown() -> Assembler:
    a = Assembler()
    a.label("entry")
    a.xor(eax, eax)
    a.label("loop")
    a.add(rax, rsi)
    a.sub(rdi, 1)
    a.jne("loop")
    a.ret()
    return a


def test_rows_are_records_of_offset_bytes_text():
    assert rows(ADD) == [
        Row(0, b"\x48\x8d\x04\x37", "lea rax, [rdi + rsi]"),
        Row(4, b"\xc3", "ret"),
    ]


def test_text_listing_has_fixed_columns():
    assert str(show(ADD)) == (
        "  0000  48 8d 04 37                    lea rax, [rdi + rsi]\n"
        "  0004  c3                             ret"
    )


def test_labels_of_assembled_code_become_rows_and_name_jump_targets():
    code = countdown().assemble()
    text = str(show(code)).splitlines()
    assert text[0] == "entry:"
    assert text[2] == "loop:"
    assert text[5].endswith("jne 2 <loop>")
    assert [r.label for r in rows(code) if r.label] == ["entry", "loop"]


def test_a_label_never_falls_inside_an_instruction():
    # 0x48 0xb8 would start a 10-byte mov; a label at offset 1 splits it
    listing = rows(b"\x48\xc3", labels={"here": 1})
    assert [(r.offset, r.text, r.label) for r in listing] == [
        (0, ".byte 0x48", None),
        (1, "ret", "here"),
    ]


def test_several_labels_at_one_offset_and_one_at_the_end():
    listing = rows(ADD, labels={"a": 0, "b": 0, "end": len(ADD)})
    assert [(r.offset, r.label) for r in listing if r.label] == [(0, "a"), (0, "b"), (5, "end")]
    assert str(show(ADD, labels={"a": 0, "b": 0})).splitlines()[:2] == ["a:", "b:"]


def test_undecodable_bytes_show_as_data_and_decoding_resumes():
    listing = rows(b"\x06" + ADD)  # 0x06 (push es) does not exist in 64-bit mode
    assert [r.text for r in listing] == [".byte 0x06", "lea rax, [rdi + rsi]", "ret"]


def test_base_moves_addresses_and_jump_targets():
    code = countdown().assemble()
    text = str(show(code, base=0x401000))
    assert "0000000000401000" in text and "jne 0x401002 <loop>" in text


def test_html_is_a_table_with_escaped_cells_and_label_rows():
    page = show(countdown().assemble())._repr_html_()
    assert page.startswith('<table class="jitkit-listing">') and page.endswith("</table>")
    assert "<b>loop:</b>" in page
    assert "jne 2 &lt;loop&gt;" in page
    assert page.count("<tr>") == 1 + 2 + 5  # header, two labels, five instructions


def test_a_native_function_is_listed_at_its_address():
    from jitkit.native import NativeFunction

    fn = NativeFunction(ADD, ctypes.c_int64, (ctypes.c_int64, ctypes.c_int64))
    listing = show(fn)
    assert listing.base == fn.address
    assert str(listing).split()[0] == f"{fn.address:016x}"


def test_format_text_reads_records_only():
    assert (
        format_text([Row(0, b"\xc3", "ret", "f")], base=0x10) == "f:\n  0010  c3" + " " * 29 + "ret"
    )


def test_capstone_loads_only_when_something_is_shown():
    child = (
        "import sys, jitkit.display\n"
        "assert 'capstone' not in sys.modules\n"
        "jitkit.display.show(b'\\xc3')\n"
        "assert 'capstone' in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", child], check=True)


# --- fold and tree -------------------------------------------------------------------------


def test_fold_shows_the_first_lines_and_hides_the_rest_behind_a_click():
    from jitkit.display import fold

    text = "\n".join(f"line {i}" for i in range(100))
    folded = fold(text, lines=30, title="listing")
    shown = str(folded).splitlines()
    assert shown[0] == "listing" and shown[1] == "line 0" and shown[30] == "line 29"
    assert shown[-1].startswith("... 70 more lines")
    page = folded._repr_html_()
    opened, hidden = page.split("<details>")
    assert "line 29" in opened and "line 30" not in opened
    assert "<summary>70 more lines</summary>" in hidden and "line 99" in hidden
    short = fold("a\nb", lines=30)
    assert str(short) == "a\nb" and "<details>" not in short._repr_html_()
    assert "&lt;b&gt;" in fold("<b>")._repr_html_()  # text is escaped


def test_tree_indents_the_kit_ast_one_node_a_line():
    from jitkit.display import tree
    from jitkit.lang.parse import parse_module

    module = parse_module("def f(n):\n    if n < 2:\n        return n\n    return f(n - 1) * 2\n")
    text = str(tree(module.functions["f"]))
    assert text.splitlines()[:8] == [
        "Function name='f' params=['n']  (line 1)",
        "  body:",
        "    If  (line 2)",
        "      test: Compare ops=['<']  (line 2)",
        "        operands:",
        "          Local n",
        "          Const 2",
        "      body:",
    ]
    assert max(map(len, text.splitlines())) <= 100
    assert "  value: BinOp op='*'  (line 4)" in text


def test_tree_reads_pythons_ast_too():
    import ast

    from jitkit.display import tree

    assert str(tree(ast.parse("x = f(y)").body[0])).splitlines() == [
        "Assign  (line 1)",
        "  targets:",
        "    Name x",
        "  value: Call  (line 1)",
        "    func: Name f",
        "    args:",
        "      Name y",
    ]


# --- text that fits a notebook column ------------------------------------------------------


def test_wrap_ir_breaks_before_the_deopt_state_and_keeps_every_character():
    from jitkit.display import wrap_ir
    from jitkit.ssa.text import parse

    head = "    %t.6 =i64 mul_ovf %range0.i.1, %range0.i.1"
    state = "deopt 23 locals(%n, %s.1, %range0.i.1, %t.5, %n, 1) stack(%s.1, %range0.i.1, %t.6)"
    assert wrap_ir(f"{head} {state}").splitlines() == [head, "        " + state]
    # a diff line keeps its sign first; a state still too long breaks again before stack(
    lines = wrap_ir(f"-{head} {state}", width=80).splitlines()
    locals_, stack = state.split(" stack(")
    assert lines == ["-" + head, "         " + locals_, "         stack(" + stack]
    short = "    ret %s.1\n    %t.1 =i64 mul_ovf 2, 4 deopt 2 locals(%n) stack(2, 4)"
    assert wrap_ir(short) == short  # text that fits stays as it is
    together = wrap_ir(f"{short}\n{head} {state}").splitlines()  # else every state moves down
    assert together[1:3] == ["    %t.1 =i64 mul_ovf 2, 4", "        deopt 2 locals(%n) stack(2, 4)"]
    fn = parse("function i64 $f(i64 %n) {\n@entry\n    ret %n\n}\n")
    assert wrap_ir(fn).strip() == "function i64 $f(i64 %n) {\n@entry\n    ret %n\n}"


def test_wrap_code_breaks_after_a_comma_and_indents_the_rest():
    from jitkit.display import wrap_code

    line = "    return f(" + ", ".join(f"argument_{i}" for i in range(12)) + ");"
    lines = wrap_code(line, width=60).splitlines()
    assert all(len(x) <= 60 for x in lines) and len(lines) > 2
    assert all(x.endswith(",") for x in lines[:-1]) and lines[-1].endswith(");")
    assert all(x.startswith(" " * 12) and x[12] != " " for x in lines[1:])
    assert "".join(x.strip() + (" " if x.endswith(",") else "") for x in lines) == line.strip()
    assert wrap_code("x" * 120) == "x" * 120  # one token: left whole, never cut
    assert wrap_code("short, line") == "short, line"


def test_wrap_table_continues_the_last_column_under_itself():
    from jitkit.display import wrap_table

    table = "offset  field    meaning\n  0x0   e_ident  " + " ".join(["word"] * 30)
    lines = wrap_table(table, width=60).splitlines()
    assert lines[0] == "offset  field    meaning" and all(len(x) <= 60 for x in lines)
    hang = lines[0].index("meaning")
    assert all(x[:hang].strip() == "" and x[hang] != " " for x in lines[2:])
    assert sum(x.split().count("word") for x in lines[1:]) == 30


def test_speed_table_stacks_three_narrow_tables_from_bench_rows():
    from jitkit.bench import Row
    from jitkit.display import speed_table

    tiers = {"cpython": 2.0, "gcc -O2": 0.01, "treewalk": 30.0, "stack": 0.05, "ssa": 0.02}
    rows = [
        Row("fib", 20, 6765, dict(tiers), compile_seconds={"front end": 0.001}),
        Row("gcd_sum", 10, 1, {t: s * 2 for t, s in tiers.items()},
            compile_seconds={"front end": 0.002}),
    ]  # fmt: skip
    text = speed_table(rows)
    lines = text.splitlines()
    assert max(map(len, lines)) <= 100
    times, vs_gcc, vs_cpython, compile_times = text.split("\n\n")
    assert times.splitlines()[0].split() == ["time,", "ms", "cpython", "gcc", "-O2", "treewalk",
                                             "stack", "ssa"]  # fmt: skip
    cells = [line.split()[1:] for block in (times, vs_gcc, vs_cpython) for line in
             block.splitlines()[1:2]] + [vs_gcc.splitlines()[-1].split()[1:]]  # fmt: skip
    assert cells == [
        ["2000.00", "10.00", "30000.00", "50.00", "20.00"],  # ms
        ["200x", "1.00x", "3000x", "5.00x", "2.00x"],  # fib ÷ gcc -O2
        ["1.00x", "0.005x", "15.0x", "0.025x", "0.010x"],  # fib ÷ CPython
        ["200x", "1.00x", "3000x", "5.00x", "2.00x"],  # geomean ÷ gcc -O2: both kernels scale alike
    ]
    assert compile_times.startswith("compile time, ms")
