"""The print builtin with Python's formatting (notebook 08 LLVM mini compiler).

In: a kit `Print` node. Out: calls into the runtime's buffered `write`: string literals
are written as constants, other values go through `jk_print_value(tag, payload)`, which
writes `str()` of an int (the runtime's `jk_print_int`), a bool, None or a float
(`repr`, `float_repr`); `sep` and `end`
as Python's `print` takes them. A string UTF-8 cannot encode (a lone surrogate, U+D800) is
where CPython's print raises UnicodeEncodeError on a UTF-8 stdout, after the pieces before it:
it becomes an "encode" error site there. In process the call then re-runs in the interpreter,
whose print does exactly what `sys.stdout` does with that text (raise, or take it as a
StringIO does); an executable prints CPython's error line and exits 1.
"""

from __future__ import annotations

from llvmlite import ir

from jitkit.lang import nodes as n
from jitkit.llvm.float_repr import emit_print_float
from jitkit.llvm.lists import KIND, LENGTH, ListLowering
from jitkit.llvm.runtime import I8, I64
from jitkit.llvm.values import BOOL, FLOAT, LIST, NONE, Val, const

PRINT_VALUE_TYPE = ir.FunctionType(ir.VoidType(), [I8, I64])


class PrintLowering(ListLowering):
    """`lower_Print` and the `jk_print_value` function it calls."""

    print_value: ir.Function  # jk_print_value, declared on first use (codegen)

    # print ::= values separated by `sep`, then `end`, formatted as Python's str()
    def lower_Print(self, s: n.Print) -> None:
        sep = " " if s.sep is None else s.sep
        end = "\n" if s.end is None else s.end
        values = [
            a.value if isinstance(a, n.Const) and isinstance(a.value, str) else self.expr(a)
            for a in s.args
        ]
        for i, value in enumerate(values):
            if i:
                self.print_text(sep, s)
            if isinstance(value, str):
                self.print_text(value, s)
            else:
                self.b.call(self.print_value, [value.tag, value.payload])
        self.print_text(end, s)

    def print_text(self, text: str, node: n.Print) -> None:
        """Write one of print's strings, or fail where CPython's UTF-8 stdout would."""
        try:
            text.encode()
        except UnicodeEncodeError as error:
            self.fail("encode", str(error), node)
            return
        self.write_text(text)

    def print_list(self, fn: ir.Function, xs: Val) -> None:
        """`[` the elements' reprs separated by `, ` `]`, and return (in jk_print_value)."""
        b, struct = self.b, self.struct(xs)
        self.write_text("[")
        kind = b.trunc(self.get(struct, KIND), I8)

        def element(i: ir.Value) -> None:
            with self.b.if_then(self.b.icmp_signed(">", i, const(I64, 0))):
                self.write_text(", ")
            self.b.call(fn, [kind, self.element(struct, i)])

        self.repeat_in(fn, self.get(struct, LENGTH), element)
        self.write_text("]")
        self.b.ret_void()

    def emit_print_value(self, fn: ir.Function) -> None:
        """The body of `jk_print_value(tag, payload)`: str() of an int, bool, None or float
        (`fn` declared with `PRINT_VALUE_TYPE`)."""
        b = ir.IRBuilder(fn.append_basic_block("entry"))
        tag, payload = fn.args
        blocks = {k: fn.append_basic_block(k) for k in ("int", "true", "false", "none")}
        is_bool = b.icmp_unsigned("==", tag, const(I8, BOOL))
        bool_block = fn.append_basic_block("bool")
        other = fn.append_basic_block("other")
        b.cbranch(is_bool, bool_block, other)
        b.position_at_end(bool_block)
        b.cbranch(b.icmp_signed("!=", payload, const(I64, 0)), blocks["true"], blocks["false"])
        b.position_at_end(other)
        b.cbranch(b.icmp_unsigned("==", tag, const(I8, NONE)), blocks["none"], blocks["int"])
        if self.floats:  # repr() of a float: the runtime's Ryu (float_repr)
            b.position_at_end(blocks["int"])
            blocks["int"], float_block = (
                fn.append_basic_block("int"),
                fn.append_basic_block("float"),
            )
            b.cbranch(b.icmp_unsigned("==", tag, const(I8, FLOAT)), float_block, blocks["int"])
            b.position_at_end(float_block)
            print_float = emit_print_float(self.module, self.rt.write)
            b.call(print_float, [b.bitcast(payload, ir.DoubleType())])
            b.ret_void()
        saved = self.b
        if self.lists:  # repr() of a list: [a, b, c]
            b.position_at_end(blocks["int"])
            list_block, blocks["int"] = fn.append_basic_block("list"), fn.append_basic_block("int")
            b.cbranch(b.icmp_unsigned("==", tag, const(I8, LIST)), list_block, blocks["int"])
            self.b = ir.IRBuilder(list_block)
            self.print_list(fn, Val(tag, payload))
        for key, text in (("true", "True"), ("false", "False"), ("none", "None")):
            self.b = ir.IRBuilder(blocks[key])
            self.write_text(text)
            self.b.ret_void()
        self.b = saved
        b.position_at_end(blocks["int"])
        b.call(self.rt.print_int, [payload])
        b.ret_void()
