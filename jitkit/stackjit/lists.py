"""Templates for lists (notebook 05; issue #17).

Takes one list instruction whose list the type analysis knows (`Site.element`: the kind of
its elements, "int", "bool" or "float"); emits x86-64 over the runtime's list header
(`jitkit.jitrt.layout.LIST_*`): a list is the address of its header, elements are untagged
(an int64, a double's bits, a bool's byte). Making or growing a list calls the runtime's
routine through the context (r15), with rsp 16-byte aligned as every template has it; a 0
back (memory refused) deopts. An index out of range, after adding the length to a negative
one, is one unsigned compare against the length: it deopts, and the VM raises CPython's
IndexError. Each template reads its operands from their stack slots (the compiler flushes
the operand cache first) and jumps to the deopt stub before it changes anything.
"""

from __future__ import annotations

from jitkit.bytecode.opcodes import Op
from jitkit.jitrt.layout import (
    CTX_LIST_GROW,
    CTX_LIST_NEW,
    CTX_LIST_NEW_FILLED,
    LIST_DATA,
    LIST_KINDS,
    LIST_LEN,
    element_size,
)
from jitkit.stackjit.cache import Entry, OperandCache
from jitkit.stackjit.templates import Site, template
from jitkit.x86 import (
    Mem,
    Reg,
    al,
    dl,
    eax,
    ecx,
    edi,
    edx,
    esi,
    gpr,
    qword,
    r8,
    r9,
    r10,
    r11,
    r11b,
    r15,
    rax,
    rcx,
    rdi,
    rdx,
    rsi,
)
from jitkit.x86 import byte as byte_ptr

# opcodes whose template calls the runtime (locals must not live in caller-saved registers)
CALLS_RUNTIME = frozenset({Op.BUILD_LIST, Op.LIST_APPEND})


def element(s: Site, data: Reg, index: Reg) -> Mem:
    """Element `index` of the elements at `data`: a byte for a bool, else a word."""
    if s.element == "bool":
        return byte_ptr(data, 0, index=index, scale=1)
    return qword(data, 0, index=index, scale=8)


def store_element(s: Site, data: Reg, index: Reg, value: Reg, low: Reg) -> None:
    """data[index] = value (`low`: value's low byte, for a bool list)."""
    s.a.mov(element(s, data, index), low if s.element == "bool" else value)


def load_element(s: Site, into: Reg, data: Reg, index: Reg) -> None:
    if s.element == "bool":
        s.a.movzx(into, element(s, data, index))
    else:
        s.a.mov(into, element(s, data, index))


def in_range(s: Site, xs: Reg, index: Reg) -> None:
    """Python's index rule: a negative index counts from the end; then one unsigned compare
    against the length sends anything outside [0, len) to the deopt stub."""
    a = s.a
    a.test(index, index).jns(s.label("index"))
    a.add(index, qword(xs, LIST_LEN))
    a.label(s.label("index")).cmp(index, qword(xs, LIST_LEN)).jae(s.deopt)


@template(Op.BUILD_LIST, guarded=True)
def emit_build_list(s: Site) -> None:
    """[a1, .., an]: a new list of n elements, then each item stored in order."""
    a, n = s.a, s.arg
    a.mov(edi, LIST_KINDS[s.element or "int"]).mov(esi, n).call(qword(r15, CTX_LIST_NEW))
    a.test(rax, rax).jz(s.deopt)
    if n:
        a.mov(rcx, qword(rax, LIST_DATA))
        for k in range(n):
            a.mov(rdx, s.slot(-n + k)).mov(r11, k)
            store_element(s, rcx, r11, rdx, dl)
    a.mov(s.slot(-n) if n else s.slot(s.depth), rax)


@template(Op.BINARY_SUBSCR, guarded=True)
def emit_subscript(s: Site) -> None:
    """xs[i]: the element, or the deopt stub when i is out of range."""
    a = s.a
    a.mov(rax, s.slot(-2)).mov(rcx, s.slot(-1))
    in_range(s, rax, rcx)
    a.mov(rdx, qword(rax, LIST_DATA))
    load_element(s, eax if s.element == "bool" else rax, rdx, rcx)
    a.mov(s.slot(-2), rax)


@template(Op.STORE_SUBSCR, guarded=True)
def emit_store_subscript(s: Site) -> None:
    """xs[i] = v (v, xs, i on the stack, as CPython orders them)."""
    a = s.a
    a.mov(rax, s.slot(-2)).mov(rcx, s.slot(-1))
    in_range(s, rax, rcx)
    a.mov(rdx, qword(rax, LIST_DATA)).mov(rax, s.slot(-3))
    store_element(s, rdx, rcx, rax, al)


@template(Op.UNARY_LEN)
def emit_len(s: Site) -> None:
    s.a.mov(rax, s.slot(-1)).mov(rax, qword(rax, LIST_LEN)).mov(s.slot(-1), rax)


@template(Op.CHECK_APPEND, Op.CHECK_ITER)
def emit_list_check(s: Site) -> None:
    """The types say the value is a list: nothing to check (the VM raises for others)."""


@template(Op.LIST_APPEND, guarded=True)
def emit_append(s: Site) -> None:
    """xs.append(v): room for one more (the runtime moves the elements when full, the header
    stays), the value stored at the end, then the length. The result, None, is only a type."""
    a = s.a
    a.mov(rdi, s.slot(-2)).call(qword(r15, CTX_LIST_GROW))
    a.test(rax, rax).jz(s.deopt)
    a.mov(rcx, qword(rax, LIST_LEN)).mov(rdx, qword(rax, LIST_DATA)).mov(r11, s.slot(-1))
    store_element(s, rdx, rcx, r11, r11b)
    a.add(qword(rax, LIST_LEN), 1)


def emit_repeat(s: Site, list_first: bool) -> None:
    """xs * n or n * xs (BINARY_MUL with a list operand): a new list of len(xs) * n elements
    (none when n <= 0). `[v] * n` is one call that fills; longer lists are copied round by
    round. A length past int64 deopts (the VM raises MemoryError)."""
    a = s.a
    xs, n = (s.slot(-2), s.slot(-1)) if list_first else (s.slot(-1), s.slot(-2))
    kind = LIST_KINDS[s.element or "int"]
    a.mov(rax, xs).mov(rsi, qword(rax, LIST_LEN)).imul(rsi, n).jo(s.deopt)
    a.cmp(qword(rax, LIST_LEN), 1).jne(s.label("general"))
    a.mov(rdx, qword(rax, LIST_DATA))
    a.xor(ecx, ecx)  # its one element
    load_element(s, edx if s.element == "bool" else rdx, rdx, rcx)
    a.mov(edi, kind).call(qword(r15, CTX_LIST_NEW_FILLED))
    a.test(rax, rax).jz(s.deopt).jmp(s.label("done"))
    a.label(s.label("general")).mov(edi, kind).call(qword(r15, CTX_LIST_NEW))
    a.test(rax, rax).jz(s.deopt)
    a.mov(rcx, qword(rax, LIST_LEN)).test(rcx, rcx).jz(s.label("done"))
    size = element_size(s.element or "int")
    a.mov(r8, qword(rax, LIST_DATA)).mov(r9, xs)
    a.mov(r10, qword(r9, LIST_DATA)).mov(r9, qword(r9, LIST_LEN)).xor(edx, edx)
    a.label(s.label("copy"))  # rcx elements left; source element rdx of r9
    if size == 1:
        a.mov(r11b, byte_ptr(r10, 0, index=rdx, scale=1)).mov(byte_ptr(r8), r11b)
    else:
        a.mov(r11, qword(r10, 0, index=rdx, scale=8)).mov(qword(r8), r11)
    a.add(r8, size).add(rdx, 1).cmp(rdx, r9).jne(s.label("next"))
    a.xor(edx, edx)
    a.label(s.label("next")).sub(rcx, 1).jnz(s.label("copy"))
    a.label(s.label("done")).mov(s.slot(-2), rax)


# --- through the operand cache (`cache.py`): the same code, operands where the cache has them


def low8(reg: Reg) -> Reg:
    """The low byte of a 64-bit register (al, sil, r9b, ...)."""
    return gpr(reg.code, 8)


def base_register(c: OperandCache, xs: Entry, free: list[Reg]) -> Reg:
    """A register holding the list: where the cache keeps it, else one of `free`."""
    where = c.source(xs)
    if isinstance(where, Reg):
        return where
    return c.load(free.pop(0), xs)


def free_registers(*operands: Entry) -> list[Reg]:
    """rax, rcx, rdx without the one an operand is in (the deopt stub writes it out)."""
    return [r for r in (rax, rcx, rdx) if ("reg", r) not in operands]


def cached_subscript(c: OperandCache, s: Site) -> None:
    """xs[i] with xs and i where the cache has them; the index is copied before the length
    is added to it, so a deopt hands the interpreter both operands unchanged."""
    c.spill_registers(keep=2)
    index, xs = c.at(1), c.at(2)
    c.stub(s.pc)
    free = free_registers(index, xs)
    base = base_register(c, xs, free)
    i = c.load(free.pop(0), index)
    in_range(s, base, i)
    s.a.mov(rsi, qword(base, LIST_DATA))
    load_element(s, gpr(i.code, 32) if s.element == "bool" else i, rsi, i)
    c.drop(2)
    c.push(("reg", i))


def cached_store_subscript(c: OperandCache, s: Site) -> None:
    """xs[i] = v: a constant is stored as an immediate, a value in a register from there."""
    c.spill_registers(keep=3)
    index, xs, value = c.at(1), c.at(2), c.at(3)
    c.stub(s.pc)
    free = free_registers(index, xs, value)
    base = base_register(c, xs, free)
    i = c.load(free.pop(0), index)
    in_range(s, base, i)
    a = s.a
    a.mov(rsi, qword(base, LIST_DATA))
    target = element(s, rsi, i)
    src = c.source(value)
    if isinstance(src, int) and (s.element != "bool" or src in (0, 1)):
        a.mov(target, src)
    else:
        reg = src if isinstance(src, Reg) else c.load(r11, value)
        a.mov(target, low8(reg) if s.element == "bool" else reg)
    c.drop(3)


def cached_len(c: OperandCache, s: Site) -> None:
    c.spill_registers(keep=1)
    xs = c.at(1)
    free = free_registers(xs)
    base = base_register(c, xs, free)
    result = base if base in (rax, rcx, rdx) else free[0]
    s.a.mov(result, qword(base, LIST_LEN))
    c.drop(1)
    c.push(("reg", result))


def cached_nothing(c: OperandCache, s: Site) -> None:
    """CHECK_APPEND, CHECK_ITER: the list stays where it is."""


LIST_CACHED = {
    Op.BINARY_SUBSCR: cached_subscript,
    Op.STORE_SUBSCR: cached_store_subscript,
    Op.UNARY_LEN: cached_len,
    Op.CHECK_APPEND: cached_nothing,
    Op.CHECK_ITER: cached_nothing,
}
