"""Ways into a compiled module from outside (notebook 08 LLVM mini compiler).

In: the module's lowered kit functions, its error sites and its target. Out: in process,
one `void @"jk_call.f"(i64* frame)` per kit function that Python calls through ctypes (the
frame holds [tag0, arg0, tag1, arg1, ...] in and [tag, value] out; it sets the native stack
limit the functions' entry checks compare with); in an executable,
`jk_main() -> i64 status` that runs the top-level code and, at an error site, prints
CPython's last two traceback lines to stderr and returns 1, plus the process entry (`main`
with libc, `_start` without) from the runtime.
"""

from __future__ import annotations

from collections.abc import Callable

from llvmlite import ir

from jitkit.lang import nodes as n
from jitkit.llvm.lowering import Lowering
from jitkit.llvm.runtime import (
    I8,
    I32,
    I64,
    STACK_BUDGET,
    STACK_RESERVE,
    emit_entry,
    stack_pointer,
    string_constant,
)
from jitkit.llvm.runtime import function as new_function
from jitkit.llvm.values import ERROR, INT, MAIN, const


class EntryLowering(Lowering):
    """`emit_entries` and the two kinds of entry it chooses between."""

    kit: n.Module
    target: str
    functions: dict[str, n.Function]
    llvm: dict[str, ir.Function]
    int_llvm: dict[str, list[ir.Function | None]]
    int_copy: Callable[[str, int], ir.Function]

    def emit_entries(self) -> None:
        """In process: `jk_call.<f>(i64* frame)` per function; executables: main/_start."""
        if self.target == "inprocess":
            for name, fn in self.llvm.items():
                self.emit_call_entry(name, fn)
            return
        if MAIN not in {f.name for f in self.llvm.values()}:
            return self.emit_exe_main(None)
        return self.emit_exe_main(self.llvm[n.MODULE_CODE_NAME])

    def emit_call_entry(self, name: str, fn: ir.Function) -> None:
        """`void @"jk_call.f"(i64* frame)`: [tag0, arg0, tag1, arg1, ...] -> [tag, value]."""
        entry = ir.Function(
            self.module, ir.FunctionType(ir.VoidType(), [I64.as_pointer()]), f"jk_call.{name}"
        )
        b = ir.IRBuilder(entry.append_basic_block("entry"))
        (frame,) = entry.args
        if self.rt.stack_limit is not None:
            # STACK_BUDGET below here, never under the floor, plus the reserve for the
            # levels between two stack checks
            sp = stack_pointer(self.module, b)
            budget = b.sub(sp, const(I64, STACK_BUDGET))
            floor = b.load(self.rt.stack_floor)
            limit = b.select(b.icmp_unsigned(">", budget, floor), budget, floor)
            b.store(b.add(limit, const(I64, STACK_RESERVE)), self.rt.stack_limit)
        count = len(self.functions[name].params)
        args = []
        for i in range(count):
            args.append(b.trunc(b.load(b.gep(frame, [const(I32, 2 * i)])), I8))
            args.append(b.load(b.gep(frame, [const(I32, 2 * i + 1)])))
        if len(fn.args) > len(args):  # calls left under the limit (module code: none)
            args.insert(0, b.sub(b.load(self.rt.depth_limit), const(I64, 1)))
        if name in self.int_llvm:  # all ints: the untagged version
            all_ints = b.icmp_unsigned("==", args[1], const(I8, INT))
            for tag in args[3::2]:
                all_ints = b.and_(all_ints, b.icmp_unsigned("==", tag, const(I8, INT)))
            untagged, tagged = entry.append_basic_block("ints"), entry.append_basic_block("any")
            b.cbranch(all_ints, untagged, tagged)
            b.position_at_end(untagged)
            self.give_back(b, frame, b.call(self.int_copy(name, 0), [args[0], *args[2::2]]))
            b.position_at_end(tagged)
        self.give_back(b, frame, b.call(fn, args))

    @staticmethod
    def give_back(b: ir.IRBuilder, frame: ir.Value, pair: ir.Value) -> None:
        """Store the {tag, payload} a function returned into the frame and return."""
        b.store(b.zext(b.extract_value(pair, 0), I64), b.gep(frame, [const(I32, 0)]))
        b.store(b.extract_value(pair, 1), b.gep(frame, [const(I32, 1)]))
        b.ret_void()

    def emit_exe_main(self, module_fn: ir.Function | None) -> None:
        """`jk_main() -> i64 status`: run the top-level code; on an error site print its report."""
        fn, b = new_function(self.module, "jk_main", I64, [])
        if module_fn is None:
            b.ret(const(I64, 0))
        else:
            pair = b.call(module_fn, [])
            ok, failed = fn.append_basic_block("ok"), fn.append_basic_block("failed")
            site = b.extract_value(pair, 1)
            b.cbranch(b.icmp_unsigned("==", b.extract_value(pair, 0), const(I8, ERROR)), failed, ok)
            b.position_at_end(ok)
            b.ret(const(I64, 0))
            b.position_at_end(failed)
            self.b = b
            b.call(self.rt.flush, [])
            self.write_text("Traceback (most recent call last):\n", fd=2)
            # every site's report in one string, found through a table of offsets (a switch
            # with a case per site made LLVM's O2 quadratic in the number of sites)
            reports = [s.report(self.kit.filename).encode() for s in self.sites]
            starts = [0]
            for text in reports:
                starts.append(starts[-1] + len(text))
            text = string_constant(self.module, b"".join(reports) or b" ", "jk_reports")
            table_type = ir.ArrayType(I64, len(starts))
            table = ir.GlobalVariable(self.module, table_type, "jk_report_starts")
            table.initializer = ir.Constant(table_type, starts)
            table.global_constant, table.linkage = True, "private"
            known, unknown = fn.append_basic_block("known"), fn.append_basic_block("unknown")
            b.cbranch(b.icmp_unsigned("<", site, const(I64, len(reports))), known, unknown)
            b.position_at_end(known)
            start = b.load(b.gep(table, [const(I64, 0), site]))
            end = b.load(b.gep(table, [const(I64, 0), b.add(site, const(I64, 1))]))
            ptr = b.gep(text, [const(I64, 0), start])
            b.call(self.rt.write, [ptr, b.sub(end, start), const(I32, 2)])
            b.ret(const(I64, 1))
            b.position_at_end(unknown)
            b.ret(const(I64, 1))
        emit_entry(self.module, self.target, fn, self.rt)
