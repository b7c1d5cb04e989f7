"""Lists as a runtime struct in LLVM IR (notebook 08 LLVM mini compiler).

In: the kit's list nodes (`[a, b]`, `[x] * n`, `xs[i]`, `xs[i] = v`, `xs.append(v)`,
`len(xs)`, `for x in xs`). Out: IR over `%jk.list = {i64 len, i64 cap, i64 kind, i64* data}`,
allocated by the `heap` module; a list value is the tag LIST and the struct's address.

A list holds one element kind (the tag of int, bool or float; EMPTY until something is
stored): the payloads sit unboxed in `data`, so `xs[i]` is a bounds check and one load, and
`kind` gives the tag back. Storing another kind (or None, or a list) into a list is an
"unsupported" site: in process the call re-runs in the interpreter, which has Python's lists.
Index errors are CPython's exactly where CPython raises them (IndexError after the list and
index were evaluated, negative indices counted from the end); a non-list where a list is
wanted is CPython's TypeError or AttributeError, message by message for each kind of value.
List `==`, `<` and `+` are unsupported sites too (the interpreter compares and concatenates).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from llvmlite import ir

from jitkit.lang import nodes as n
from jitkit.llvm.floats import FloatLowering, cpython_message
from jitkit.llvm.heap import emit_heap
from jitkit.llvm.lowering import Loop
from jitkit.llvm.runtime import BYTES, I8, I64
from jitkit.llvm.values import BOOL, FLOAT, INT, LIST, NONE, Val, const

EMPTY = 255  # the kind of a list nothing was stored into yet
LENGTH, CAPACITY, KIND, NARROW, DATA = 0, 1, 2, 3, 4
MAX_LENGTH = 1 << 40  # beyond this `[x] * n` is left to the interpreter (MemoryError there)
SAMPLES = {INT: 1, BOOL: True, NONE: None, FLOAT: 1.0}  # a Python value of each scalar tag
MIXED = "a list holds one kind of element in compiled code (int, bool or float)"
POLL_EVERY = 1 << 12  # elements of a `for x in xs` loop between two interrupt polls


def store(xs: object, index: object) -> None:
    xs[index] = 0  # type: ignore[index]


def read(xs: object, index: object) -> object:
    return xs[index]  # type: ignore[index]


def repeat(xs: object, times: object) -> object:
    return xs * times  # type: ignore[operator]


def not_a_list(what: Callable[[object], object]) -> dict[int, str]:
    """CPython's message for `what(value)` with a value of each scalar tag."""
    return {tag: cpython_message(lambda s=sample: what(s)) for tag, sample in SAMPLES.items()}


def not_an_int(what: Callable[[object], object]) -> dict[int, str]:
    """CPython's message for `what(value)` where an int is wanted: None, a float, a list."""
    samples = {NONE: None, FLOAT: 1.0, LIST: []}
    return {tag: cpython_message(lambda s=sample: what(s)) for tag, sample in samples.items()}


NOT_SUBSCRIPTABLE = not_a_list(lambda v: read(v, 0))
NO_ITEM_ASSIGNMENT = not_a_list(lambda v: store(v, 0))
NO_APPEND = not_a_list(lambda v: v.append)  # type: ignore[attr-defined]
NOT_ITERABLE = not_a_list(iter)  # type: ignore[arg-type]
NO_LEN = not_a_list(len)  # type: ignore[arg-type]
BAD_INDEX = not_an_int(lambda i: read([0], i))
BAD_REPEAT = not_an_int(lambda n: repeat([0], n))
READ_RANGE = cpython_message(lambda: read([], 0))
STORE_RANGE = cpython_message(lambda: store([], 0))


class Elements(NamedTuple):
    """Where a list's elements are: the data, and whether they are bytes (a bool list made
    with its kind: `[True] * n` takes an eighth of the memory, as a C `char` array would)."""

    data: ir.Value  # i8*
    narrow: ir.Value  # i1: one byte per element, else an i64 per element


class ListLowering(FloatLowering):
    """The list nodes, `len`, and list-aware truth and `*`."""

    lists: bool  # the module makes lists (else none of this is emitted)

    # ---------------------------------------------------------------- the struct
    def is_list(self, v: Val) -> ir.Value:
        return self.b.icmp_unsigned("==", v.tag, const(I8, LIST))

    def struct(self, v: Val) -> ir.Value:
        return self.b.inttoptr(v.payload, self.list_type().as_pointer())

    def list_type(self) -> ir.IdentifiedStructType:
        """`%jk.list = {len, cap, kind, narrow, data}`, named in this module's context."""
        typ = self.module.context.get_identified_type("jk.list")
        if typ.is_opaque:
            typ.set_body(I64, I64, I64, I64, BYTES)
        return typ

    def field(self, xs: ir.Value, index: int) -> ir.Value:
        return self.b.gep(xs, [const(ir.IntType(32), 0), const(ir.IntType(32), index)])

    def get(self, xs: ir.Value, index: int) -> ir.Value:
        return self.tagged(self.b.load(self.field(xs, index)), "header")

    def put(self, xs: ir.Value, index: int, value: ir.Value) -> None:
        self.tagged(self.b.store(value, self.field(xs, index)), "header")

    def elements(self, xs: ir.Value, kind: int | None = None) -> Elements:
        """Where the elements are; a list of a known kind has a known width (no branch)."""
        if kind is not None:
            return Elements(self.get(xs, DATA), const(ir.IntType(1), int(kind == BOOL)))
        narrow = self.b.icmp_unsigned("!=", self.get(xs, NARROW), const(I64, 0))
        return Elements(self.get(xs, DATA), narrow)

    def kind_of(self, xs: ir.Value, known: int | None) -> ir.Value:
        """The list's element kind as an i64: a constant when known when compiling."""
        return const(I64, known) if known is not None else self.get(xs, KIND)

    def load_element(self, at: Elements, i: ir.Value) -> ir.Value:
        """Element i as an i64 payload (a byte zero-extended)."""
        b = self.b
        with b.if_else(at.narrow) as (byte, word):
            with byte:
                small = b.zext(self.tagged(b.load(b.gep(at.data, [i])), "element"), I64)
                byte_block = b.block
            with word:
                words = b.bitcast(at.data, I64.as_pointer())
                large = self.tagged(b.load(b.gep(words, [i])), "element")
                word_block = b.block
        value = b.phi(I64)
        value.add_incoming(small, byte_block)
        value.add_incoming(large, word_block)
        return value

    def store_element(self, at: Elements, i: ir.Value, value: ir.Value) -> None:
        b = self.b
        with b.if_else(at.narrow) as (byte, word):
            with byte:
                self.tagged(b.store(b.trunc(value, I8), b.gep(at.data, [i])), "element")
            with word:
                words = b.bitcast(at.data, I64.as_pointer())
                self.tagged(b.store(value, b.gep(words, [i])), "element")

    def data_bytes(self, count: ir.Value, narrow: ir.Value) -> ir.Value:
        return self.b.select(narrow, count, self.b.mul(count, const(I64, 8)))

    def tagged(self, access: ir.Instruction, what: str) -> ir.Instruction:
        """Type-based alias metadata: a store into a list's elements never changes a list's
        header (they are separate allocations), so LLVM may keep `len`, `kind` and `data`
        in registers across a loop that stores elements (the sieve's inner loop)."""
        if not hasattr(self, "tbaa_tags"):
            m = self.module
            root = m.add_metadata([ir.MetaDataString(m, "jitkit lists")])
            self.tbaa_tags = {}
            for name in ("header", "element"):
                node = m.add_metadata([ir.MetaDataString(m, name), root, const(I64, 0)])
                self.tbaa_tags[name] = m.add_metadata([node, node, const(I64, 0)])
        access.set_metadata("tbaa", self.tbaa_tags[what])
        return access

    def alloc(self, size: ir.Value, node: n.Node) -> ir.Value:
        alloc, _ = emit_heap(self.module, self.target)
        memory = self.b.call(alloc, [size])
        self.guard(self.b.icmp_unsigned("!=", memory, ir.Constant(BYTES, None)), "unsupported",
                   "out of memory for a compiled list", node)  # fmt: skip
        return memory

    def new_list(self, length: ir.Value, capacity: ir.Value, kind: ir.Value, node: n.Node) -> Val:
        """A list struct with room for `capacity` elements (at least 4), `length` of them used."""
        b = self.b
        capacity = b.select(b.icmp_signed(">", capacity, const(I64, 4)), capacity, const(I64, 4))
        narrow = b.icmp_unsigned("==", kind, const(I64, BOOL))
        header = self.alloc(const(I64, 40), node)
        data = self.alloc(self.data_bytes(capacity, narrow), node)
        xs = b.bitcast(header, self.list_type().as_pointer())
        for index, value in ((LENGTH, length), (CAPACITY, capacity), (KIND, kind)):
            self.put(xs, index, value)
        self.put(xs, NARROW, b.zext(narrow, I64))
        self.put(xs, DATA, data)
        return Val(const(I8, LIST), b.ptrtoint(xs, I64))

    def element_kind(self, item: Val, node: n.Node) -> ir.Value:
        """An element's tag as a list kind; None and lists are left to the interpreter."""
        b = self.b
        scalar = b.or_(b.icmp_unsigned("<=", item.tag, const(I8, BOOL)), self.is_float(item))
        self.guard(scalar, "unsupported", MIXED, node)
        return b.zext(item.tag, I64)

    def check_kind(self, xs: ir.Value, item: Val, node: n.Node) -> None:
        """Store-side: the item's kind must be the list's (an empty list takes it)."""
        b = self.b
        kind, want = self.get(xs, KIND), self.element_kind(item, node)
        empty = b.icmp_unsigned("==", kind, const(I64, EMPTY))
        self.guard(b.or_(empty, b.icmp_unsigned("==", kind, want)), "unsupported", MIXED, node)
        with b.if_then(empty, likely=False):
            self.put(xs, KIND, want)

    def check_type(self, v: Val, table: dict[int, str], node: n.Node, kind: str = "type") -> None:
        """CPython's error for a value of the wrong type, one guard per kind of value."""
        for tag, message in table.items():
            self.guard(self.b.icmp_unsigned("!=", v.tag, const(I8, tag)), kind, message, node)

    def index(self, xs: ir.Value, index: Val, message: str, node: n.Node) -> ir.Value:
        """An int index counted from the end when negative, checked against the length. One
        unsigned compare admits 0 <= i < len; only an index outside that takes the second
        path (-len <= i < 0 counts from the end, anything else is the IndexError site), so a
        loop over non-negative indices pays one compare per access and no normalisation."""
        b = self.b
        self.check_type(index, BAD_INDEX, node)
        length = self.get(xs, LENGTH)
        i = index.payload
        inside, from_end = self.block("index.in"), self.block("index.end")
        done = self.block("index")
        b.cbranch(b.icmp_unsigned("<", i, length), inside, from_end)
        b.position_at_end(from_end)
        counted = b.add(i, length)  # no overflow: len <= MAX_LENGTH
        negative = b.icmp_signed("<", i, const(I64, 0))
        self.guard(b.and_(negative, b.icmp_signed(">=", counted, const(I64, 0))), "index",
                   message, node)  # fmt: skip
        end_block = b.block
        b.branch(done)
        b.position_at_end(inside)
        b.branch(done)
        b.position_at_end(done)
        at = b.phi(I64, "index")
        at.add_incoming(i, inside)
        at.add_incoming(counted, end_block)
        return at

    def element(self, xs: ir.Value, i: ir.Value, kind: int | None = None) -> ir.Value:
        return self.load_element(self.elements(xs, kind), i)

    # ---------------------------------------------------------------- nodes
    def lower_ListDisplay(self, e: n.ListDisplay) -> Val:
        items = [self.expr(item) for item in e.items]
        b = self.b
        count = const(I64, len(items))
        kind = self.element_kind(items[0], e) if items else const(I64, EMPTY)
        for item in items[1:]:
            same = b.icmp_unsigned("==", self.element_kind(item, e), kind)
            self.guard(same, "unsupported", MIXED, e)
        result = self.new_list(count, count, kind, e)
        xs = self.struct(result)
        at = self.elements(xs)
        for i, item in enumerate(items):
            self.store_element(at, const(I64, i), item.payload)
        return result

    def lower_Subscript(self, e: n.Subscript) -> Val:
        container = self.expr(e.value)
        index = self.expr(e.index)
        self.check_type(container, NOT_SUBSCRIPTABLE, e)
        xs = self.struct(container)
        i = self.index(xs, index, READ_RANGE, e)
        kind = self.kind_of(xs, container.kind)
        return Val(self.b.trunc(kind, I8), self.element(xs, i, container.kind))

    def lower_StoreSubscript(self, s: n.StoreSubscript) -> None:
        item = self.expr(s.item)  # CPython's order: the item, the list, the index
        container = self.expr(s.value)
        index = self.expr(s.index)
        self.check_type(container, NO_ITEM_ASSIGNMENT, s)
        xs = self.struct(container)
        i = self.index(xs, index, STORE_RANGE, s)
        # a list with an element has a kind (only `append` gives an EMPTY list one), so after
        # the bounds check one compare suffices: no store to the header in a loop of stores
        # (LLVM then keeps `len`, `kind` and `data` in registers across the loop)
        kind = self.kind_of(xs, container.kind)
        self.guard(self.b.icmp_unsigned("==", kind, self.element_kind(item, s)), "unsupported",
                   MIXED, s)  # fmt: skip
        self.store_element(self.elements(xs, container.kind), i, item.payload)

    def lower_Append(self, e: n.Append) -> Val:
        container = self.expr(e.value)
        self.check_type(container, NO_APPEND, e, "attribute")  # before the item, as CPython
        item = self.expr(e.item)
        b = self.b
        xs = self.struct(container)
        self.check_kind(xs, item, e)
        length, capacity = self.get(xs, LENGTH), self.get(xs, CAPACITY)
        with b.if_then(b.icmp_signed(">=", length, capacity)):
            bigger = b.mul(capacity, const(I64, 2))
            old = self.elements(xs)
            data = self.alloc(self.data_bytes(bigger, old.narrow), e)
            self.copy(old, Elements(data, old.narrow), length)
            self.put(xs, DATA, data)
            self.put(xs, CAPACITY, bigger)
        self.store_element(self.elements(xs), length, item.payload)
        self.put(xs, LENGTH, b.add(length, const(I64, 1)))
        return Val(const(I8, NONE), const(I64, 0))

    def copy(self, source: Elements, dest: Elements, count: ir.Value) -> None:
        """dest[0:count] = source[0:count] (LLVM makes it a memcpy)."""
        self.repeat(count, lambda i: self.store_element(dest, i, self.load_element(source, i)))

    def repeat(self, count: ir.Value, body: Callable[[ir.Value], None]) -> None:
        """for i in range(count): body(i), as IR, in the kit function being lowered."""
        self.repeat_in(self.f.fn, count, body)

    def repeat_in(self, fn: ir.Function, count: ir.Value, body: Callable[[ir.Value], None]) -> None:
        """for i in range(count): body(i), as IR in `fn`."""
        b = self.b
        before = b.block
        loop, done = fn.append_basic_block("repeat"), fn.append_basic_block("repeat.end")
        b.cbranch(b.icmp_signed(">", count, const(I64, 0)), loop, done)
        b.position_at_end(loop)
        i = b.phi(I64)
        i.add_incoming(const(I64, 0), before)
        body(i)
        following = b.add(i, const(I64, 1))
        i.add_incoming(following, b.block)
        b.cbranch(b.icmp_signed("<", following, count), loop, done)
        b.position_at_end(done)

    def list_binary(self, op: str, left: Val, right: Val, node: n.Node) -> Val:
        """`xs * n` and `n * xs` (a new list of the elements repeated); other operators with
        a list are the interpreter's."""
        b = self.b
        if op != "*":
            self.fail("unsupported", f"{op!r} with a list runs in the interpreter", node)
            return Val(const(I8, NONE), const(I64, 0))
        left_list = self.is_list(left)
        source = Val(b.select(left_list, left.tag, right.tag),
                     b.select(left_list, left.payload, right.payload))  # fmt: skip
        times = Val(b.select(left_list, right.tag, left.tag),
                    b.select(left_list, right.payload, left.payload))  # fmt: skip
        self.check_type(times, BAD_REPEAT, node)
        xs = self.struct(source)
        length = self.get(xs, LENGTH)
        count = b.select(b.icmp_signed(">", times.payload, const(I64, 0)), times.payload,
                         const(I64, 0))  # fmt: skip
        small = b.icmp_unsigned("<=", count, const(I64, MAX_LENGTH))
        self.guard(small, "unsupported", "a list this long runs in the interpreter", node)
        total = b.mul(length, count)
        self.guard(b.icmp_unsigned("<=", total, const(I64, MAX_LENGTH)), "unsupported",
                   "a list this long runs in the interpreter", node)  # fmt: skip
        # the source's kind even when the result is empty: `[True] * n` is a bool list for
        # every n, so where the source is a display the kind and the element width are
        # constants LLVM folds into every loop over the result (`[True] * 0` then takes
        # only bools; an append of another kind re-runs in the interpreter, as mixing does)
        result = self.new_list(total, total, self.get(xs, KIND), node)
        data, old = self.elements(self.struct(result)), self.elements(xs)
        single = b.icmp_signed("==", length, const(I64, 1))
        with b.if_else(single) as (one, many):
            with one:  # [x] * n: a fill (no division per element)
                first = self.load_element(old, const(I64, 0))
                self.repeat(total, lambda i: self.store_element(data, i, first))
            with many:  # copy after copy

                def one_copy(k: ir.Value) -> None:
                    base = b.mul(k, length)
                    self.repeat(length, lambda i: self.store_element(
                        data, b.add(base, i), self.load_element(old, i)))  # fmt: skip

                self.repeat(count, one_copy)
        return result

    def repeat_in_place(self, old: Val, repeated: Val) -> Val:
        """`xs *= n`: the new list `list_binary` made becomes xs's own header (length,
        capacity, data), so every name for xs sees the copies (CPython's in-place `*=`); an
        int or float on the left keeps `repeated`, the binary operator's value."""
        b = self.b
        left_list = self.is_list(old)
        with b.if_then(left_list):
            xs, made = self.struct(old), self.struct(repeated)
            for index in (LENGTH, CAPACITY, KIND, NARROW, DATA):
                self.put(xs, index, self.get(made, index))
        return Val(b.select(left_list, old.tag, repeated.tag),
                   b.select(left_list, old.payload, repeated.payload))  # fmt: skip

    def length(self, v: Val, node: n.Node) -> Val:
        """len(xs)."""
        self.check_type(v, NO_LEN, node)
        return Val(const(I8, INT), self.get(self.struct(v), LENGTH))

    # for ::= hidden list = iterable; hidden i = 0; while i < len(list): x = list[i]; i += 1
    def lower_ForEach(self, s: n.ForEach) -> None:
        b = self.b
        iterable = self.expr(s.iterable)
        self.check_type(iterable, NOT_ITERABLE, s)
        list_slot, index_slot = self.f.slots[s.hidden], self.f.slots[s.hidden + 1]
        self.store(list_slot, iterable)
        self.store(index_slot, Val(const(I8, INT), const(I64, 0)))
        test, body, done = self.block("each.test"), self.block("each.body"), self.block("each.end")
        b.branch(test)
        b.position_at_end(test)
        xs = self.struct(self.load(list_slot))
        i = b.load(index_slot[1])
        length = self.get(xs, LENGTH)
        more = b.icmp_signed("<", i, length)  # re-read each trip
        if self.interrupt_address is None:
            b.cbranch(more, body, done)
            loop = Loop(test, done)
        else:
            # polled once per POLL_EVERY elements: rounds run in chunks up to `limit`, the
            # length when the chunk began (a list never shrinks: no pop, del or in-place
            # `*=` in the subset, so every index under it is in bounds); at the end of a
            # chunk the flag is polled and the length read again (an append in the body)
            chunk, next_block, limit = (
                self.block("each.chunk"),
                self.block("each.next"),
                self.temp()[1],
            )
            b.cbranch(more, chunk, done)
            b.position_at_end(chunk)
            room = b.icmp_unsigned(">", b.sub(length, i), const(I64, POLL_EVERY))
            b.store(b.select(room, b.add(i, const(I64, POLL_EVERY)), length), limit)
            b.branch(body)
            b.position_at_end(next_block)
            inside = b.icmp_signed("<", b.load(index_slot[1]), b.load(limit))
            b.cbranch(inside, body, self.back_edge(test, s))
            loop = Loop(next_block, done)
        b.position_at_end(body)
        xs = self.struct(self.load(list_slot))
        i = b.load(index_slot[1])
        kind = self.kind_of(xs, iterable.kind)
        element = Val(b.trunc(kind, I8), self.element(xs, i, iterable.kind))
        b.store(b.add(i, const(I64, 1), flags=["nsw"]), index_slot[1])
        self.store(self.f.slots[s.target.slot], element)
        here = b.block  # (the element's load made blocks of its own)
        if self.interrupt_address is None:
            loop = Loop(self.back_edge(test, s), done)
        self.loop_body(s.body, here, loop)

    def list_truth(self, v: Val) -> ir.Value:
        """A list is true when it has elements."""
        b = self.b
        is_list = self.is_list(v)
        scalar = self.float_truth(v) if self.floats else super().truth(v)
        with_list = self.block("truth.list")
        here, done = b.block, self.block("truth.end")
        b.cbranch(is_list, with_list, done)
        b.position_at_end(with_list)
        nonempty = b.icmp_signed("!=", self.get(self.struct(v), LENGTH), const(I64, 0))
        b.branch(done)
        b.position_at_end(done)
        result = b.phi(ir.IntType(1))
        result.add_incoming(scalar, here)
        result.add_incoming(nonempty, with_list)
        return result

    def truth(self, v: Val) -> ir.Value:
        return self.list_truth(v) if self.lists else super().truth(v)

    def refuse_list_compare(self, left: Val, right: Val, node: n.Node) -> None:
        either = self.b.or_(self.is_list(left), self.is_list(right))
        message = "comparing lists runs in the interpreter"
        self.guard(self.b.not_(either), "unsupported", message, node)
