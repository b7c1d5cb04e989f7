"""Second front end: CPython's own bytecode -> kit bytecode (notebook 03 interpreters).

In: a function object, or a module's source, compiled by the running CPython (3.11, 3.12
or 3.13). Out: verified kit `Code` objects keyed by function name, the same shape the
AST compiler gives, so the VM cannot tell the front ends apart.

We read `dis.get_instructions` by opname and `argval`, never by opcode number. CPython's
stack holds things the kit stack does not (NULL markers, builtins such as `print`, range
iterators, keyword-name tuples); a model of the CPython stack tracks those "phantoms" so only
real values reach the kit stack. `for x in range(...)` becomes the same counter loop the AST
compiler emits (RANGE_CHECK, RANGE_TEST, three private locals), and `for x in xs` the same
index loop (CHECK_ITER, two private locals). Floats and lists translate; slices, other
methods than `append` and attribute reads are refused. A function's LOAD_GLOBAL of a
module-level name that is not a function becomes the kit's LOAD_GLOBAL, and the module code
stores such a name (STORE_GLOBAL) right after each STORE_NAME of it, as the AST front end does.
Imports only the standard library and jitkit's own stdlib-only modules.
"""

from __future__ import annotations

import ast
import builtins
import dis
import inspect
import os
import sys
import types
from collections.abc import Callable

from jitkit.bytecode.code import Code, CodeBuilder
from jitkit.bytecode.compiler import reverse_top
from jitkit.bytecode.opcodes import BINARY_OPS, BUILTIN_OPS, COMPARE_OPS, NO_ARGUMENT_BUILTINS, Op
from jitkit.bytecode.verify import verify, verify_module
from jitkit.errors import UnsupportedError
from jitkit.lang.nodes import MODULE_CODE_NAME, hidden_foreach_names, hidden_range_names
from jitkit.lang.parse import VALUE_BUILTINS, check_module_bindings

REAL = "value"  # a model entry standing for one value on the kit stack
BUILTINS = {"print", "range", *VALUE_BUILTINS}
NO_EFFECT = {"NOP", "RESUME", "PRECALL", "EXTENDED_ARG", "CACHE", "TO_BOOL", "NOT_TAKEN"}
UNARY = {"UNARY_NEGATIVE": Op.UNARY_NEG, "UNARY_NOT": Op.UNARY_NOT, "UNARY_POSITIVE": Op.UNARY_POS}
IF_FALSE = {"POP_JUMP_IF_FALSE", "POP_JUMP_FORWARD_IF_FALSE", "POP_JUMP_BACKWARD_IF_FALSE"}
IF_TRUE = {"POP_JUMP_IF_TRUE", "POP_JUMP_FORWARD_IF_TRUE", "POP_JUMP_BACKWARD_IF_TRUE"}
JUMPS = {"JUMP_FORWARD", "JUMP_BACKWARD", "JUMP_BACKWARD_NO_INTERRUPT", "JUMP"}
BAD_FLAGS = (
    inspect.CO_VARARGS
    | inspect.CO_VARKEYWORDS
    | inspect.CO_GENERATOR
    | inspect.CO_COROUTINE
    | inspect.CO_ASYNC_GENERATOR
)


class Phantom(tuple):
    """A CPython stack entry with no kit value: ("null",), ("builtin", "print"), ..."""


def phantom(*parts: object) -> Phantom:
    return Phantom(parts)


class Translator:
    """Translates one CPython code object, instruction by instruction, into one kit Code."""

    def __init__(
        self,
        co: types.CodeType,
        functions: set[str],
        module: bool = False,
        globals: list[str] | None = None,
    ) -> None:
        self.co, self.functions, self.module = co, functions, module
        self.globals = globals or []  # the module's global names (Code.globals)
        if (
            co.co_flags & BAD_FLAGS
            or co.co_kwonlyargcount
            or co.co_posonlyargcount
            or co.co_cellvars
            or co.co_freevars
        ):
            raise self.fail(
                None, "functions with *args, closures, generators or keyword-only parameters"
            )
        name = MODULE_CODE_NAME if module else co.co_name
        varnames = [] if module else list(co.co_varnames)
        self.b = CodeBuilder(
            name, co.co_argcount, varnames, co.co_filename, co.co_firstlineno, self.globals
        )
        self.stack: list[object] = []
        self.states: dict[int, list] = {}  # CPython offset -> model stack on arrival
        self.kit_at: dict[int, int] = {}
        self.patches: list[tuple[int, int]] = []
        self.kwnames: tuple = ()
        self.ranges = 0
        self.foreachs = 0
        self.reachable = True
        self.defined: dict[str, types.CodeType] = {}  # module code: def name -> its code

    def refuse_handlers(self) -> None:
        """CPython 3.11+ compiles try/except and with to zero-cost handlers that no jump
        reaches: walking the instructions would silently drop them. Refuse, at the
        handler's line."""
        entries = getattr(dis.Bytecode(self.co), "exception_entries", [])
        target = entries[0].target if entries else 0
        handler = next(
            (
                ins
                for ins in dis.get_instructions(self.co)
                if ins.offset >= target and ins.positions and ins.positions.lineno
            ),
            None,
        )
        if handler is not None:
            self.b.line = handler.positions.lineno
        raise self.fail(handler, "try/except, with or another exception handler")

    def fail(self, ins: dis.Instruction | None, what: str) -> UnsupportedError:
        line = self.b.line if hasattr(self, "b") else self.co.co_firstlineno
        col = ins.positions.col_offset if ins and ins.positions else 0
        return UnsupportedError(
            f"{os.path.basename(self.co.co_filename)}, line {line}, col {col or 0}: {what} "
            "is not supported by jitkit (the dis front end reads the subset of notebook 03)"
        )

    def translate(self) -> Code:
        if self.co.co_exceptiontable:  # handlers are reached only through this table
            self.refuse_handlers()
        for ins in dis.get_instructions(self.co):
            if not self.arrive(ins):
                continue
            self.kit_at[ins.offset] = self.b.here()
            if ins.positions and ins.positions.lineno:
                self.b.line = ins.positions.lineno
            if ins.opname not in NO_EFFECT:
                handler = getattr(self, f"op_{ins.opname}", None)
                if handler is None:
                    raise self.fail(ins, f"CPython instruction {ins.opname} {ins.argrepr}".strip())
                handler(ins)
        for at, offset in self.patches:
            self.b.code.args[at] = self.kit_at[offset]
        verify(self.b.code)
        return self.b.code

    def arrive(self, ins: dis.Instruction) -> bool:
        """Set the model stack at an instruction; False for code no path reaches."""
        known = self.states.get(ins.offset)
        if known is not None and self.reachable and known != self.stack:
            raise self.fail(ins, "paths that meet with different stack shapes")
        if known is not None and not self.reachable:
            self.stack, self.reachable = list(known), True
        if self.reachable:
            self.states[ins.offset] = list(self.stack)
        return self.reachable

    # ----------------------------------------------------------- model stack

    def pop_real(self, ins: dis.Instruction, count: int = 1) -> None:
        for _ in range(count):
            if not self.stack or self.stack.pop() is not REAL:
                raise self.fail(ins, f"{ins.opname} on a value jitkit cannot hold")

    def kit_depth(self, n: int) -> int:
        """Kit stack position of the model's n-th entry (1 = top)."""
        return sum(1 for e in self.stack[-n:] if e is REAL)

    def emit_jump(self, ins: dis.Instruction, op: Op) -> None:
        """A jump to `ins.argval`; the kit's own forward-only conditional jumps are kept."""
        target = ins.argval
        seen = self.states.get(target)
        if seen is not None and seen != self.stack:
            raise self.fail(ins, "a jump whose target has a different stack shape")
        self.states[target] = list(self.stack)
        backward = target <= ins.offset
        if backward and op != Op.JUMP:  # conditional back edge: skip over JUMP_BACKWARD
            inverse = Op.JUMP_IF_TRUE if op == Op.JUMP_IF_FALSE else Op.JUMP_IF_FALSE
            self.b.emit(inverse, self.b.here() + 2)
            op = Op.JUMP
        self.patches.append((self.b.emit(Op.JUMP_BACKWARD if backward else op, -1), target))

    # ----------------------------------------------------- loads and stores

    def op_LOAD_FAST(self, ins: dis.Instruction) -> None:
        self.b.emit(Op.LOAD_LOCAL, self.b.add_local(ins.argval))
        self.stack.append(REAL)

    op_LOAD_FAST_CHECK = op_LOAD_FAST

    def op_STORE_FAST(self, ins: dis.Instruction) -> None:
        self.pop_real(ins)
        self.b.emit(Op.STORE_LOCAL, self.b.add_local(ins.argval))

    def op_LOAD_FAST_LOAD_FAST(self, ins: dis.Instruction) -> None:
        for name in ins.argval:
            self.b.emit(Op.LOAD_LOCAL, self.b.add_local(name))
            self.stack.append(REAL)

    def op_STORE_FAST_STORE_FAST(self, ins: dis.Instruction) -> None:
        for name in ins.argval:
            self.pop_real(ins)
            self.b.emit(Op.STORE_LOCAL, self.b.add_local(name))

    def op_STORE_FAST_LOAD_FAST(self, ins: dis.Instruction) -> None:
        store, load = ins.argval
        self.pop_real(ins)
        self.b.emit(Op.STORE_LOCAL, self.b.add_local(store))
        self.b.emit(Op.LOAD_LOCAL, self.b.add_local(load))
        self.stack.append(REAL)

    def op_LOAD_CONST(self, ins: dis.Instruction) -> None:
        value = ins.argval
        if isinstance(value, types.CodeType):
            self.stack.append(phantom("code", value))
        elif isinstance(value, tuple):  # keyword names, or folded `a, b = 1, 2`
            self.stack.append(phantom("tuple-const", value))
        elif value is None or type(value) in (int, bool, float, str):
            self.b.emit(Op.LOAD_CONST, self.b.add_constant(value))
            self.stack.append(REAL)
        else:
            raise self.fail(ins, f"the constant {value!r}")

    def op_LOAD_GLOBAL(self, ins: dis.Instruction) -> None:
        null = [phantom("null")] if ins.arg & 1 else []
        if ins.argval in self.functions and not null:  # no NULL: not the callee of a call
            raise self.fail(ins, f"using function {ins.argval!r} as a value")
        after = sys.version_info >= (3, 13)
        self.stack += (
            ([] if after else null) + [self.load_global(ins, ins.argval)] + (null if after else [])
        )

    def load_global(self, ins: dis.Instruction, name: str) -> object:
        if name in self.functions:
            self.b.emit(Op.LOAD_FUNC, self.b.add_name(name))
            return REAL
        if name in self.globals and not self.module:
            if name in BUILTINS:
                raise self.fail(ins, f"calling {name!r}, which the module rebinds")
            self.b.emit(Op.LOAD_GLOBAL, self.globals.index(name))
            return REAL
        if name in BUILTINS:
            return phantom("builtin", name)
        raise self.fail(ins, f"global variable {name!r}")

    def op_STORE_GLOBAL(self, ins: dis.Instruction) -> None:
        what = "'global' statement (only the module's top-level code binds module-level names)"
        raise self.fail(ins, what)

    def op_LOAD_NAME(self, ins: dis.Instruction) -> None:
        if ins.argval in self.b.code.varnames:
            self.op_LOAD_FAST(ins)
        else:
            self.stack.append(self.load_global(ins, ins.argval))

    def op_STORE_NAME(self, ins: dis.Instruction) -> None:
        top = self.stack[-1] if self.stack else None
        if isinstance(top, Phantom) and top[0] == "function":
            self.stack.pop()
            self.defined[ins.argval] = top[1]
            return
        self.op_STORE_FAST(ins)
        if ins.argval in self.globals:  # main's local, then the module's global
            self.b.emit(Op.LOAD_LOCAL, self.b.add_local(ins.argval))
            self.b.emit(Op.STORE_GLOBAL, self.globals.index(ins.argval))

    def op_MAKE_FUNCTION(self, ins: dis.Instruction) -> None:
        top = self.stack.pop() if self.stack else None
        if ins.arg or not (isinstance(top, Phantom) and top[0] == "code"):
            raise self.fail(ins, "a def with defaults, annotations or closures")
        self.stack.append(phantom("function", top[1]))

    def op_PUSH_NULL(self, ins: dis.Instruction) -> None:
        self.stack.append(phantom("null"))

    # -------------------------------------------------------- stack shuffles

    def op_POP_TOP(self, ins: dis.Instruction) -> None:
        if self.stack.pop() is REAL:
            self.b.emit(Op.POP)

    def op_END_FOR(self, ins: dis.Instruction) -> None:
        for _ in range(1 if sys.version_info >= (3, 13) else 2):
            self.op_POP_TOP(ins)

    def op_COPY(self, ins: dis.Instruction) -> None:
        entry = self.stack[-ins.arg]
        if entry is REAL:
            self.b.emit(Op.COPY, self.kit_depth(ins.arg))
        self.stack.append(entry)

    def op_SWAP(self, ins: dis.Instruction) -> None:
        n, s = ins.arg, self.stack
        between = any(e is REAL for e in s[len(s) - n + 1 : -1])
        if (s[-1] is REAL) != (s[-n] is REAL) and between:  # else kit order is unchanged
            raise self.fail(ins, "SWAP of a value with a CPython-only stack entry")
        if s[-1] is REAL and s[-n] is REAL:
            self.b.emit(Op.SWAP, self.kit_depth(n))
        s[-1], s[-n] = s[-n], s[-1]

    def op_BUILD_TUPLE(self, ins: dis.Instruction) -> None:
        if any(e is not REAL for e in self.stack[len(self.stack) - ins.arg :]):
            raise self.fail(ins, "a tuple of CPython-only values")
        self.stack.append(phantom("tuple", ins.arg))

    def op_UNPACK_SEQUENCE(self, ins: dis.Instruction) -> None:
        top = self.stack[-1]
        if isinstance(top, Phantom) and top[0] == "tuple-const" and len(top[1]) == ins.arg:
            self.stack.pop()
            for value in reversed(top[1]):
                self.op_LOAD_CONST(types.SimpleNamespace(argval=value, positions=None))
            return
        if self.stack.pop() != phantom("tuple", ins.arg):
            raise self.fail(ins, "unpacking anything but 'a, b = x, y'")
        reverse_top(self.b, ins.arg)

    # ----------------------------------------------------------------- lists

    def op_BUILD_LIST(self, ins: dis.Instruction) -> None:
        self.pop_real(ins, ins.arg)
        self.b.emit(Op.BUILD_LIST, ins.arg)
        self.stack.append(REAL)

    def op_LIST_EXTEND(self, ins: dis.Instruction) -> None:
        """`[1, 2, 3]` is BUILD_LIST 0 extended by a constant tuple: `[] + [1, 2, 3]` here."""
        items = self.stack.pop()
        if not (isinstance(items, Phantom) and items[0] == "tuple-const") or ins.arg != 1:
            raise self.fail(ins, "a starred list display")
        for value in items[1]:
            self.op_LOAD_CONST(types.SimpleNamespace(argval=value, positions=None))
        self.pop_real(ins, len(items[1]))
        self.b.emit(Op.BUILD_LIST, len(items[1]))
        self.b.emit(Op.BINARY_ADD)

    def op_BINARY_SUBSCR(self, ins: dis.Instruction) -> None:
        self.pop_real(ins, 2)
        self.b.emit(Op.BINARY_SUBSCR)
        self.stack.append(REAL)

    def op_STORE_SUBSCR(self, ins: dis.Instruction) -> None:
        self.pop_real(ins, 3)
        self.b.emit(Op.STORE_SUBSCR)

    def op_LOAD_ATTR(self, ins: dis.Instruction) -> None:
        """Only `xs.append` as a method to call (3.12+: LOAD_ATTR with the method bit)."""
        method = ins.opname == "LOAD_METHOD" or sys.version_info >= (3, 12) and ins.arg & 1
        if ins.argval != "append" or not method:
            raise self.fail(ins, f"attribute {ins.argval!r} (lists have only .append(x))")
        self.pop_real(ins)
        self.b.emit(Op.CHECK_APPEND)  # CPython looks the method up before the argument runs
        self.stack += [phantom("method", "append"), REAL]

    op_LOAD_METHOD = op_LOAD_ATTR  # 3.11

    # ------------------------------------------------------------- operators

    def op_BINARY_OP(self, ins: dis.Instruction) -> None:
        op = BINARY_OPS.get(ins.argrepr.rstrip("="))
        if op is None:
            raise self.fail(ins, f"operator {ins.argrepr!r}")
        self.pop_real(ins, 2)
        (self.b.emit_inplace if ins.argrepr.endswith("=") else self.b.emit)(op)
        self.stack.append(REAL)

    def op_COMPARE_OP(self, ins: dis.Instruction) -> None:
        self.pop_real(ins, 2)
        self.b.emit(COMPARE_OPS[ins.argval])
        self.stack.append(REAL)

    def unary(self, ins: dis.Instruction, op: Op) -> None:
        self.pop_real(ins)
        self.b.emit(op)
        self.stack.append(REAL)

    def op_UNARY_NEGATIVE(self, ins: dis.Instruction) -> None:
        self.unary(ins, UNARY[ins.opname])

    op_UNARY_NOT = op_UNARY_POSITIVE = op_UNARY_NEGATIVE

    def op_CALL_INTRINSIC_1(self, ins: dis.Instruction) -> None:
        if ins.argrepr != "INTRINSIC_UNARY_POSITIVE":
            raise self.fail(ins, f"CPython intrinsic {ins.argrepr}")
        self.unary(ins, Op.UNARY_POS)

    # ----------------------------------------------------------------- jumps

    def op_POP_JUMP_IF_FALSE(self, ins: dis.Instruction) -> None:
        self.pop_real(ins)
        self.emit_jump(ins, Op.JUMP_IF_FALSE if ins.opname in IF_FALSE else Op.JUMP_IF_TRUE)

    op_POP_JUMP_IF_TRUE = op_POP_JUMP_FORWARD_IF_FALSE = op_POP_JUMP_IF_FALSE
    op_POP_JUMP_FORWARD_IF_TRUE = op_POP_JUMP_BACKWARD_IF_FALSE = op_POP_JUMP_IF_FALSE
    op_POP_JUMP_BACKWARD_IF_TRUE = op_POP_JUMP_IF_FALSE

    def op_JUMP_IF_FALSE_OR_POP(self, ins: dis.Instruction) -> None:  # 3.11
        self.b.emit(Op.DUP)
        self.emit_jump(ins, Op.JUMP_IF_FALSE if "FALSE" in ins.opname else Op.JUMP_IF_TRUE)
        self.pop_real(ins)
        self.b.emit(Op.POP)

    op_JUMP_IF_TRUE_OR_POP = op_JUMP_IF_FALSE_OR_POP

    def op_JUMP_FORWARD(self, ins: dis.Instruction) -> None:
        self.emit_jump(ins, Op.JUMP)
        self.reachable = False

    op_JUMP_BACKWARD = op_JUMP_BACKWARD_NO_INTERRUPT = op_JUMP = op_JUMP_FORWARD

    def op_RETURN_VALUE(self, ins: dis.Instruction) -> None:
        self.pop_real(ins)
        self.b.emit(Op.RETURN)
        self.reachable = False

    def op_RETURN_CONST(self, ins: dis.Instruction) -> None:
        self.op_LOAD_CONST(ins)
        self.op_RETURN_VALUE(ins)

    # ----------------------------------------------------------------- calls

    def op_KW_NAMES(self, ins: dis.Instruction) -> None:  # 3.11, 3.12
        self.kwnames = self.co.co_consts[ins.arg]

    def op_CALL_KW(self, ins: dis.Instruction) -> None:  # 3.13
        names = self.stack.pop()
        if not (isinstance(names, Phantom) and names[0] == "tuple-const"):
            raise self.fail(ins, "a call with computed keyword names")
        self.kwnames = names[1]
        self.op_CALL(ins)

    def op_CALL(self, ins: dis.Instruction) -> None:
        argc, kwnames, self.kwnames = ins.arg, self.kwnames, ()
        self.pop_real(ins, argc)
        pair = [self.stack.pop(), self.stack.pop()]
        callee = pair[0] if pair[1] == phantom("null") else pair[1]
        if callee is REAL and not kwnames:
            self.b.emit(Op.CALL, argc)
            self.stack.append(REAL)
        elif isinstance(callee, Phantom) and callee[0] == "builtin":
            self.call_builtin(ins, callee[1], argc, kwnames)
        elif callee == phantom("method", "append") and argc == 1 and not kwnames:
            self.b.emit(Op.LIST_APPEND)  # the list below the argument, still on the kit stack
            self.stack.append(REAL)
        else:
            raise self.fail(ins, "this call")

    def call_builtin(self, ins: dis.Instruction, name: str, argc: int, kw: tuple) -> None:
        if name == "print" and set(kw) <= {"sep", "end"}:
            self.call_print(argc - len(kw), kw)
        elif name == "range" and 1 <= argc <= 3 and not kw:
            self.call_range(argc)
        elif name in NO_ARGUMENT_BUILTINS and argc == 0 and not kw:  # float(), int()
            self.b.emit(Op.LOAD_CONST, self.b.add_constant(NO_ARGUMENT_BUILTINS[name]))
            self.stack.append(REAL)
        elif name in BUILTIN_OPS and argc in VALUE_BUILTINS[name] and not kw:
            self.b.emit(BUILTIN_OPS[name])
            self.stack.append(REAL)
        else:
            raise self.fail(ins, f"{name}() with these arguments")

    def call_print(self, positional: int, kw: tuple) -> None:
        """Reorder keyword values into the kit's `a1..an sep end` and PRINT."""
        order = list(kw)
        for name, default in (("sep", " "), ("end", "\n")):
            if name not in order:
                self.b.emit(Op.LOAD_CONST, self.b.add_constant(default))
                order.append(name)
        if order[-2:] == ["end", "sep"]:
            self.b.emit(Op.SWAP, 2)
        self.b.emit(Op.PRINT, positional)
        self.stack.append(phantom("none"))

    def call_range(self, argc: int) -> None:
        """range(a[, b[, c]]) -> start stop step checked and kept in three private locals."""
        if argc == 1:
            self.b.emit(Op.LOAD_CONST, self.b.add_constant(0))
            self.b.emit(Op.SWAP, 2)
        if argc <= 2:
            self.b.emit(Op.LOAD_CONST, self.b.add_constant(1))
        self.b.emit(Op.RANGE_CHECK)
        slots = [self.b.add_local(v) for v in hidden_range_names(self.ranges)]
        self.ranges += 1
        for slot in reversed(slots):
            self.b.emit(Op.STORE_LOCAL, slot)
        self.stack.append(phantom("range", slots[0]))

    def op_GET_ITER(self, ins: dis.Instruction) -> None:
        top = self.stack.pop()
        if isinstance(top, Phantom) and top[0] in ("tuple", "tuple-const"):
            top = self.tuple_as_list(ins, top)  # CPython's `for x in [a, b]` is over (a, b)
        if top is REAL:  # for x in xs: the list and an index in two private locals
            slots = [self.b.add_local(v) for v in hidden_foreach_names(self.foreachs)]
            self.foreachs += 1
            self.b.emit(Op.CHECK_ITER)
            self.b.emit(Op.STORE_LOCAL, slots[0])
            self.b.emit(Op.LOAD_CONST, self.b.add_constant(0))
            self.b.emit(Op.STORE_LOCAL, slots[1])
            self.stack.append(phantom("listiter", slots[0]))
            return
        if not (isinstance(top, Phantom) and top[0] == "range"):
            raise self.fail(ins, "iterating over anything but range(...) or a list")
        self.stack.append(phantom("iter", top[1]))

    def tuple_as_list(self, ins: dis.Instruction, tuple_: Phantom) -> object:
        """A display CPython made a tuple: the same items, as the kit's list."""
        count = len(tuple_[1]) if tuple_[0] == "tuple-const" else tuple_[1]
        if tuple_[0] == "tuple-const":
            for value in tuple_[1]:
                self.op_LOAD_CONST(types.SimpleNamespace(argval=value, positions=None))
        self.pop_real(ins, count)  # BUILD_TUPLE left its items in the model
        self.b.emit(Op.BUILD_LIST, count)
        return REAL

    def op_FOR_ITER(self, ins: dis.Instruction) -> None:
        if self.stack[-1][0] == "listiter":
            self.list_next(ins, self.stack[-1][1])
            return
        i, stop, step = (self.stack[-1][1] + k for k in range(3))
        for slot in (i, stop, step):
            self.b.emit(Op.LOAD_LOCAL, slot)
        self.b.emit(Op.RANGE_TEST)
        self.exit_loop(ins)
        for op, arg in [
            (Op.LOAD_LOCAL, i),
            (Op.LOAD_LOCAL, i),
            (Op.LOAD_LOCAL, step),
            (Op.BINARY_ADD, 0),
            (Op.STORE_LOCAL, i),
        ]:
            self.b.emit(op, arg)
        self.stack.append(REAL)

    def list_next(self, ins: dis.Instruction, xs: int) -> None:
        """FOR_ITER over a list: stop once the index reaches len(xs), read again each trip."""
        i = xs + 1
        for op, arg in [(Op.LOAD_LOCAL, i), (Op.LOAD_LOCAL, xs), (Op.UNARY_LEN, 0)]:
            self.b.emit(op, arg)
        self.b.emit(Op.COMPARE_LT)
        self.exit_loop(ins)
        for op, arg in [(Op.LOAD_LOCAL, xs), (Op.LOAD_LOCAL, i), (Op.BINARY_SUBSCR, 0)]:
            self.b.emit(op, arg)
        one = self.b.add_constant(1)
        for op, arg in [(Op.LOAD_LOCAL, i), (Op.LOAD_CONST, one), (Op.BINARY_ADD, 0)]:
            self.b.emit(op, arg)
        self.b.emit(Op.STORE_LOCAL, i)
        self.stack.append(REAL)

    def exit_loop(self, ins: dis.Instruction) -> None:
        """FOR_ITER's exit: the loop test is on the kit stack; jump out when it is false."""
        exhausted = (
            self.stack[:-1] if sys.version_info < (3, 12) else self.stack + [phantom("exhausted")]
        )
        self.states[ins.argval] = exhausted
        self.patches.append((self.b.emit(Op.JUMP_IF_FALSE, -1), ins.argval))


def translate_code(
    co: types.CodeType, functions: set[str], globals: list[str] | None = None
) -> Code:
    """Why: one CPython function's bytecode becomes one verified kit code object."""
    return Translator(co, functions, globals=globals).translate()


def global_reads(co: types.CodeType) -> list[str]:
    """The names a function's LOAD_GLOBALs read, first read first."""
    return list(
        dict.fromkeys(ins.argval for ins in dis.get_instructions(co) if ins.opname == "LOAD_GLOBAL")
    )


def name_stores(co: types.CodeType) -> list[str]:
    """The names module code binds (STORE_NAME), in code order."""
    return list(
        dict.fromkeys(ins.argval for ins in dis.get_instructions(co) if ins.opname == "STORE_NAME")
    )


def translate_function(fn: Callable) -> dict[str, Code]:
    """Why: `@jit` on a live function: translate it and every module function it calls."""
    fn = getattr(fn, "__wrapped__", fn)
    found: dict[str, types.FunctionType] = {}
    pending = [fn]
    while pending:
        f = pending.pop()
        if f.__defaults__ or f.__closure__:
            raise UnsupportedError(f"{f.__name__}: defaults and closures are not supported")
        found[f.__name__] = f
        for name in f.__code__.co_names:
            g = getattr(f.__globals__.get(name), "__wrapped__", f.__globals__.get(name))
            if inspect.isfunction(g) and name not in found and g.__name__ == name:
                pending.append(g)
    reads = {name: global_reads(f.__code__) for name, f in found.items()}
    names = [
        name
        for f in found.values()
        for name in reads[f.__name__]
        if name not in found and name not in BUILTINS and is_python_global(f, name)
    ]
    names = list(dict.fromkeys(names))
    for f in found.values():
        if f.__globals__ is not fn.__globals__ and set(reads[f.__name__]) & set(names):
            raise UnsupportedError(
                f"{f.__name__}: reading a module-level name of another module than "
                f"{fn.__name__!r}'s is not supported"
            )
    codes = {name: translate_code(f.__code__, set(found), names) for name, f in found.items()}
    verify_module(codes)
    return codes


def is_python_global(f: Callable, name: str) -> bool:
    """As the AST front end's `python_globals`: bound in `f`'s module to something other than
    a function, or not bound there and not a Python builtin (missing at call time)."""
    if name not in f.__globals__:
        return not hasattr(builtins, name)
    return not inspect.isfunction(getattr(f.__globals__[name], "__wrapped__", f.__globals__[name]))


def translate_module(source: str, filename: str = "<string>") -> dict[str, Code]:
    """Why: a whole program (defs plus top-level statements) through CPython's compiler."""
    check_module_bindings(ast.parse(source, filename), filename)  # as the AST front end does
    module_code = compile(source, filename, "exec")
    defs = [c for c in module_code.co_consts if isinstance(c, types.CodeType)]
    read = {name for co in defs for name in global_reads(co)}
    functions = {co.co_name for co in defs}
    globals = [name for name in name_stores(module_code) if name in read and name not in functions]
    top = Translator(module_code, functions, module=True, globals=globals)
    main = top.translate()
    names = set(top.defined)
    codes = {name: translate_code(co, names, globals) for name, co in top.defined.items()}
    codes[MODULE_CODE_NAME] = main
    verify_module(codes)
    return codes
