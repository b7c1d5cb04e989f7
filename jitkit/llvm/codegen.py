"""Kit AST -> LLVM IR, the mini compiler's code generator (notebook 08 LLVM mini compiler).

In: a `jitkit.lang.nodes.Module` (from `jitkit.lang.parse.parse_module`) and a target
("inprocess", "libc", "nolibc"). Out: a `Program`: the `llvmlite.ir.Module` plus the table
of error sites. This module sets up the IR module (host triple, runtime, one LLVM function
per kit function) and lowers each function's frame; the node-by-node work is split by
concern, and `CodeGen` puts the pieces together:

- `values`: the tag/payload representation, error sites, `Program`
- `lowering`: shared helpers (guards, slots, strings, the interrupt poll)
- `arith`: `+ - * ** // %` with overflow intrinsics and Python's flooring, comparisons
- `floats`: floats (tag FLOAT) and mixed arithmetic with CPython's formulas, `float()`/`int()`
- `lists`: lists as a runtime struct (one element kind each), bounds checks, `len`, `for x in xs`
- `facts`: what the source proves before LLVM sees the checks (recursive sums, list kinds,
  bounded counters)
- `expressions`: constants, locals, calls, `and`/`or`, chained comparisons, builtins
- `statements`: assignments, `if`, loops, `break`/`continue`, `return`
- `printing`: `print` with Python's formatting
- `entries`: `jk_call.f` entries for Python, or `main`/`_start` for executables
- `module_globals`: module-level names (`LIMIT = 1000`) as LLVM globals the init writes

`handlers=` maps a node class to a function that lowers it instead (notebook 08's exercises
replace one node type's lowering and still compile and run the whole module).

In process, Python decides what an error site means (raise it, or re-run in the
interpreter; see `compiler`); in an executable, `main` prints the site's message to stderr
and exits 1. Only in process does compiled code poll the interrupt flag: on loop back-edges
and in each function's entry check, so neither a loop nor a long recursion ignores Ctrl-C.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from llvmlite import ir

from jitkit.lang import nodes as n
from jitkit.lang.parse import deep
from jitkit.llvm.arith import POW_TYPE
from jitkit.llvm.entries import EntryLowering
from jitkit.llvm.facts import (
    assigned_slots,
    bounded_counts,
    int_functions,
    list_kinds,
    returns,
    tail_sum,
)
from jitkit.llvm.lowering import FoldingBuilder, FunctionState, Handler, Loop
from jitkit.llvm.module_globals import GlobalLowering
from jitkit.llvm.printing import PRINT_VALUE_TYPE, PrintLowering
from jitkit.llvm.runtime import (
    CHECK_EVERY,
    I1,
    I8,
    I64,
    Runtime,
    emit_runtime,
    stack_pointer,
)
from jitkit.llvm.statements import StatementLowering
from jitkit.llvm.target import new_module
from jitkit.llvm.values import (
    BOOL,
    ERROR,
    INT,
    NONE,
    UNBOUND,
    VALUE,
    Program,
    Site,
    Val,
    const,
    lval,
)

# notebook 08 and its exercises import these from here (the rest from values and lowering)
__all__ = ["ERROR", "INT", "NONE", "CodeGen", "Loop", "Val", "compile_module", "const"]


RECURSION_MESSAGE = "maximum recursion depth exceeded"


class CodeGen(StatementLowering, PrintLowering, EntryLowering, GlobalLowering):
    """Lowers a kit module: `lower_<Stmt>` for statements, `lower_<Expr>` for expressions."""

    def __init__(
        self,
        kit: n.Module,
        target: str,
        interrupt_poll: bool = True,
        handlers: Mapping[type[n.Node], Handler] | None = None,
    ) -> None:
        self.kit, self.target = kit, target
        self.handlers = dict(handlers or {})
        self.module = new_module(kit.filename)
        self.rt: Runtime = emit_runtime(self.module, target)
        self.sites: list[Site] = []
        self.strings: dict[str, tuple[ir.Value, int]] = {}
        self.interrupt_address = None
        if target == "inprocess" and interrupt_poll:
            from jitkit.native.interrupts import interrupt_flag

            self.interrupt_address = interrupt_flag().address
        self.functions: dict[str, n.Function] = dict(kit.functions)
        if kit.main is not None:
            self.functions[n.MODULE_CODE_NAME] = kit.main
        self.llvm: dict[str, ir.Function] = {}
        for name, f in self.functions.items():
            left = [I64] if name != n.MODULE_CODE_NAME else []  # (the module code: depth 1)
            ftype = ir.FunctionType(VALUE, left + [I8, I64] * len(f.params))
            fn = ir.Function(self.module, ftype, f"py.{name}")
            fn.linkage = "internal"
            self.llvm[name] = fn
        # a second, untagged version of the functions that return ints when given ints: it
        # takes i64 arguments, and its caller knows the tag of what it returns (INT or ERROR)
        # (CHECK_EVERY copies of it: a call of itself goes to the next, which LLVM inlines
        # and whose entry checks only the depth). Each copy is declared when first called
        # (`int_copy`) and lowered then: a function that never calls itself (or only as a
        # running sum, a loop) has one. In process only: executables keep the IR chapter
        # 09's partial evaluator reads (one function per kit function)
        int_names = int_functions(kit.functions) if target == "inprocess" else set()
        self.int_llvm: dict[str, list[ir.Function | None]] = {
            name: [None] * CHECK_EVERY for name in sorted(int_names)
        }
        self.int_pending: list[tuple[str, int]] = []
        self.floats = makes_floats(kit)
        self.lists = makes_lists(kit)
        self.declare_globals()
        self.b = FoldingBuilder()
        # the runtime's `print` and `**` helpers: declared on first use, their bodies emitted
        # once the kit functions are (a module that neither prints nor raises to a power
        # does not carry them through text, parsing and the optimizer)
        self._print_value: ir.Function | None = None
        self._pow: ir.Function | None = None

    def int_copy(self, name: str, copy: int) -> ir.Function:
        """The `copy`-th untagged version of kit function `name`, declared on first use."""
        copies = self.int_llvm[name]
        fn = copies[copy]
        if fn is None:
            ftype = ir.FunctionType(VALUE, [I64] * (1 + len(self.functions[name].params)))
            fn = copies[copy] = self.declare(f"py.{name}.int{copy}", ftype)
            self.int_pending.append((name, copy))
        return fn

    @property
    def print_value(self) -> ir.Function:
        if self._print_value is None:
            self._print_value = self.declare("jk_print_value", PRINT_VALUE_TYPE)
        return self._print_value

    @property
    def pow(self) -> ir.Function:
        if self._pow is None:
            self._pow = self.declare("jk_pow", POW_TYPE)
        return self._pow

    def declare(self, name: str, ftype: ir.FunctionType) -> ir.Function:
        fn = ir.Function(self.module, ftype, name)
        fn.linkage = "internal"
        return fn

    @deep
    def lower_module(self) -> Program:
        for name, kit_fn in self.functions.items():
            self.lower_function(kit_fn, self.llvm[name])
        self.emit_entries()
        while self.int_pending:  # the untagged copies called so far, and those they call
            name, i = self.int_pending.pop(0)
            self.lower_function(self.functions[name], self.int_llvm[name][i], ints=True, copy=i)
        self.mark_cold()
        if self._print_value is not None:
            self.emit_print_value(self._print_value)
        if self._pow is not None:
            self.emit_pow(self._pow)
        return Program(self.module, self.sites, self.functions, self.kit.filename, self.target)

    def mark_cold(self) -> None:
        """The tagged version of a function with an untagged one runs only when Python passes
        it something else than ints (`None`, `True`, a big int) if no compiled code calls
        it: LLVM compiles it without optimizing (`optnone`). Why: optimizing it (and the
        untagged copies it inlined) was a third of fib's compile time (26 -> 15 ms for the
        module at one copy); such calls are rare, and still native and exact."""
        called = {
            instr.callee
            for fn in self.module.functions
            if fn.name.startswith("py.")
            for block in fn.blocks
            for instr in block.instructions
            if isinstance(instr, ir.CallInstr)
        }
        for name in self.int_llvm:
            fn = self.llvm[name]
            if fn not in called:
                fn.attributes.add("noinline")
                fn.attributes.add("optnone")

    def lower_function(
        self, kit_fn: n.Function, fn: ir.Function, ints: bool = False, copy: int = 0
    ) -> None:
        """The frame: a tag/payload slot per local, the arguments stored, the depth check.
        How many more calls deep this call may go (the recursion limit minus its depth) is
        its first argument, one less than its caller's, not a global counted up and down:
        nothing to undo on return (a store after each call kept LLVM from turning recursion
        into a loop) and nothing to load (the check is a compare with 0); the module code
        is depth 1. `ints`: an untagged version, its arguments ints (`int_functions`), the
        `copy`-th of CHECK_EVERY (each calls the next for a call of itself)."""
        self.f = FunctionState(kit_fn, fn, list_kinds=list_kinds(kit_fn), ints=ints, copy=copy)
        self.f.bounded = bounded_counts(kit_fn.body)
        if ints:
            self.f.int_slots = set(range(len(kit_fn.params))) - assigned_slots(kit_fn.body)
        self.b = b = FoldingBuilder(fn.append_basic_block("entry"))
        has_left = ints or len(fn.args) > 2 * len(kit_fn.params)
        args = fn.args[1:] if has_left else fn.args
        if ints:
            args = [x for a in args for x in (const(I8, INT), a)]
        limit = b.load(self.rt.depth_limit)
        self.f.left = fn.args[0] if has_left else b.sub(limit, const(I64, 1))
        self.f.slots = [
            (b.alloca(I8, name=f"{v}.tag"), b.alloca(I64, name=v)) for v in kit_fn.varnames
        ]
        for i, slot in enumerate(self.f.slots):
            if i < len(kit_fn.params):
                self.store(slot, Val(args[2 * i], args[2 * i + 1]))
            else:
                self.store(slot, lval(UNBOUND, 0))
        checks_stack = self.rt.stack_limit is not None and makes_calls(kit_fn.body)
        if self.target == "inprocess" and any(tail_sum(r, kit_fn) for r in returns(kit_fn.body)):
            self.f.sum = (b.alloca(I64, name="sum"), b.alloca(I1, name="summing"), b.alloca(I64))
            b.store(const(I64, 0), self.f.sum[0])
            # (an untagged version returns only ints: a sum from 0 gives the same, and LLVM
            # then needs no "summing?" flag across the nested loops of its inlined copies)
            b.store(const(I1, 1 if ints else 0), self.f.sum[1])
            b.store(self.f.left, self.f.sum[2])
            self.f.start = self.block("start")
            b.branch(self.f.start)
            b.position_at_end(self.f.start)
            self.f.left = b.load(self.f.sum[2], name="left")
        # the untagged copies after the first check only the depth: they are entered only
        # from the copy before them, so no more than CHECK_EVERY frames go unchecked (the
        # runtime's STACK_RESERVE under the limit holds them) and every CHECK_EVERY-th level
        # of a recursion polls the interrupt flag
        polls = self.interrupt_address is not None and copy == 0
        checks_stack = checks_stack and copy == 0
        within_depth = ok = b.icmp_signed(">=", self.f.left, const(I64, 0))
        if checks_stack:
            # in process: stop short of the thread's stack end. A leaf (it calls no kit
            # function) adds one frame below a caller that passed the check, which the
            # margin under the floor holds; skipping its check keeps it as small as before,
            # so LLVM still inlines it (checking gcd kept it out of gcd_sum: 13% slower)
            sp = stack_pointer(self.module, b)
            ok = b.and_(ok, b.icmp_unsigned(">=", sp, b.load(self.rt.stack_limit)))
        if polls:
            # recursion without loops (fib(90)) must hear Ctrl-C too: one branch for both
            # checks costs nothing measurable, a second branch cost fib 15-20%; Python tells
            # an interrupt from deep recursion by the flag
            ok = b.and_(ok, self.interrupt_quiet())
        self.entry_guard(ok, within_depth if checks_stack else None, kit_fn)
        self.lower_block(kit_fn.body)
        if not self.b.block.is_terminated:
            self.ret(self.returned(lval(NONE, 0), kit_fn))

    # A self-recursive `return x + f(args)` runs as a loop (in process): x joins a running
    # sum, the arguments become the parameters, every other local is unbound again, the
    # depth goes one up and the entry checks run again, as a call's would; a `return v`
    # then gives sum + v. Python's order of evaluation and of side effects is unchanged
    # (x, then the arguments, then the "call"); only the additions are regrouped, which
    # for ints gives the same number unless a partial sum leaves int64, and then (or when
    # x or v is not an int or bool) the call re-runs in the interpreter, exactly. LLVM's
    # own tail-recursion pass cannot do this through the overflow check, so fib(n - 1) +
    # fib(n - 2) made two calls per call, where gcc makes one.
    def lower_Return(self, s: n.Return) -> None:
        if self.f.sum is None and not self.f.ints:
            return super().lower_Return(s)
        if self.f.sum is None or not tail_sum(s, self.f.kit):
            self.ret(self.returned(self.expr(s.value), s))
        else:
            assert isinstance(s.value, n.BinOp) and isinstance(s.value.right, n.Call)
            x = self.expr(s.value.left)
            args = [self.expr(a) for a in s.value.right.args]
            self.store_sum(self.add_to_sum(x, s))
            if self.f.ints:  # the untagged version's parameters hold ints (`lower_Local`)
                for i, (v, a) in enumerate(zip(args, s.value.right.args, strict=True)):
                    if i in self.f.int_slots:
                        is_int = self.b.icmp_unsigned("==", v.tag, const(I8, INT))
                        self.guard(is_int, "unsupported", "a proven int argument was not one", a)
            unbound = [lval(UNBOUND, 0)] * (len(self.f.slots) - len(args))
            for slot, value in zip(self.f.slots, args + unbound, strict=True):
                self.store(slot, value)
            self.b.store(self.b.sub(self.f.left, const(I64, 1)), self.f.sum[2])
            self.b.branch(self.f.start)
        self.b.position_at_end(self.block("after.return"))

    def lower_Local(self, e: n.Local) -> Val:
        """In an untagged version a parameter never assigned is an int: its tag is a
        constant, so the tag checks of what it computes fold when compiling."""
        if self.f.ints and e.slot in self.f.int_slots:
            return Val(const(I8, INT), self.b.load(self.f.slots[e.slot][1]))
        return super().lower_Local(e)

    def lower_AugAssign(self, s: n.AugAssign) -> None:
        """`v += k` where `bounded_counts` proved v stays in int64: no overflow check."""
        if id(s) not in self.f.bounded:
            return super().lower_AugAssign(s)
        assert isinstance(s.value, n.Const)
        x = self.number(self.lower_Local(s.target), "+=", s)
        total = self.b.add(x, const(I64, s.value.value), flags=["nsw"])
        self.store(self.f.slots[s.target.slot], Val(const(I8, INT), total))

    def add_to_sum(self, v: Val, node: n.Node) -> Val:
        """sum + v (v alone while no sum is running), or an "unsupported" site when v is not
        an int or bool and an "overflow" site past int64: the interpreter re-runs the call."""
        b = self.b
        total, _, _ = self.f.sum
        message = "a recursive sum of other values than ints runs in the interpreter"
        self.guard(b.icmp_unsigned("<=", v.tag, const(I8, BOOL)), "unsupported", message, node)

        def added() -> Val:
            pair = b.sadd_with_overflow(b.load(total), v.payload)
            self.overflow_guard(b.extract_value(pair, 1), "+", node)
            return Val(const(I8, INT), b.extract_value(pair, 0))

        return self.split(self.summing(), added, lambda: v)

    def summing(self) -> ir.Value:
        """Is a running sum under way? Always, in an untagged version (it starts from 0)."""
        return const(I1, 1) if self.f.ints else self.b.load(self.f.sum[1])

    def store_sum(self, v: Val) -> None:
        total, summing, _ = self.f.sum
        self.b.store(v.payload, total)
        self.b.store(const(I1, 1), summing)

    def returned(self, v: Val, node: n.Node) -> ir.Value:
        """The {tag, payload} a `return v` gives back: sum + v while a sum runs. The
        untagged version returns only INT (its callers take that for granted): anything else
        is an "unsupported" site, which re-runs the call in the interpreter."""
        b = self.b
        if self.f.ints:
            is_int = b.icmp_unsigned("==", v.tag, const(I8, INT))
            self.guard(is_int, "unsupported", "an untagged version returned a non-int", node)
        if self.f.sum is not None:
            v = self.split(self.summing(), lambda: self.add_to_sum(v, node), lambda: v)
        return b.insert_value(b.insert_value(ir.Constant(VALUE, ir.Undefined), v.tag, 0),
                              v.payload, 1)  # fmt: skip

    def entry_guard(self, ok: ir.Value, within_depth: ir.Value | None, kit_fn: n.Function) -> None:
        """The entry checks' exit; when the stack was checked too (`within_depth` given) the
        cold path tells which check failed: the depth (a "recursion" site) or the native
        stack (a "stack" site: Python re-runs the call in the interpreter)."""
        if within_depth is None:
            self.guard(ok, "recursion", RECURSION_MESSAGE, kit_fn)
            return
        b = self.b
        fail_block, cont = self.block("fail.recursion"), self.block("ok")
        b.cbranch(ok, cont, fail_block)
        b.position_at_end(fail_block)
        deep = const(I64, self.site("recursion", RECURSION_MESSAGE, kit_fn))
        short = const(I64, self.site("stack", "native stack limit reached", kit_fn))
        site = b.select(within_depth, short, deep)
        self.ret(b.insert_value(ir.Constant(VALUE, [ERROR, 0]), site, 1))
        b.position_at_end(cont)


def makes_calls(body: list[n.Node]) -> bool:
    """Does this code call a kit function (anywhere in its statements and expressions)?"""
    todo: list[object] = list(body)
    while todo:
        node = todo.pop()
        if isinstance(node, n.Call):
            return True
        if isinstance(node, list):
            todo.extend(node)
        elif isinstance(node, n.Node):
            todo.extend(vars(node).values())
    return False


def makes_floats(kit: n.Module) -> bool:
    """Can this module make a float (a float literal, `/`, `float()`)? Only then does code
    branch on float tags: a module of ints compiles exactly as before floats existed, and in
    process a float argument to it is run by the interpreter."""

    def makes_float(node: n.Node) -> bool:
        return (
            (isinstance(node, n.Const) and isinstance(node.value, float))
            or (isinstance(node, (n.BinOp, n.AugAssign)) and node.op == "/")
            or (isinstance(node, n.Builtin) and node.func == "float")
        )

    return any_node(kit, makes_float)


def makes_lists(kit: n.Module) -> bool:
    """Does this module make lists (a list display)? Only then are values checked for the
    LIST tag; in process a list argument is always run by the interpreter."""
    return any_node(kit, lambda node: isinstance(node, n.ListDisplay))


def any_node(kit: n.Module, test: Callable[[n.Node], bool]) -> bool:
    todo: list[object] = [*kit.functions.values(), kit.main]
    while todo:
        node = todo.pop()
        if isinstance(node, n.Node) and test(node):
            return True
        if isinstance(node, list):
            todo.extend(node)
        elif isinstance(node, n.Node):
            todo.extend(vars(node).values())
    return False


def compile_module(
    kit: n.Module,
    target: str = "inprocess",
    interrupt_poll: bool = True,
    handlers: Mapping[type[n.Node], Handler] | None = None,
) -> Program:
    """Why: one call from a parsed kit module to an LLVM IR program for one target.
    `interrupt_poll=False` leaves the in-process interrupt polls out (to measure them);
    `handlers` replace the lowering of the node classes they name (`Lowering.lower_node`)."""
    return CodeGen(kit, target, interrupt_poll, handlers).lower_module()
