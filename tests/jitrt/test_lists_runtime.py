"""The list runtime's routines (`jitkit.jitrt.lists`), called as compiled code calls them:
through the context's addresses with r15 = the context. The oracle for what a list holds
is the Python list the same operations make."""

from __future__ import annotations

import ctypes
import gc

import pytest

from jitkit.jitrt import lists
from jitkit.jitrt.layout import (
    CTX_LIST_GROW,
    CTX_LIST_NEW,
    CTX_LIST_NEW_FILLED,
    LIST_CAP,
    LIST_DATA,
    LIST_KIND_BOOL,
    LIST_KIND_FLOAT,
    LIST_KIND_INT,
    LIST_LEN,
    Context,
)
from jitkit.jitrt.types import word
from jitkit.native import NativeFunction
from jitkit.x86 import Assembler, qword, r15, rcx, rdi, rdx, rsi


def through_context(offset: int, nargs: int) -> NativeFunction:
    """`int64 f(Context *ctx, a, b, c)`: calls the routine at ctx+offset with r15 = ctx."""
    a = Assembler()
    a.push(r15).mov(r15, rdi).mov(rdi, rsi).mov(rsi, rdx).mov(rdx, rcx)
    a.call(qword(r15, offset)).pop(r15).ret()
    args = (ctypes.c_void_p,) + (ctypes.c_int64,) * nargs
    return NativeFunction(a.assemble().bytes, restype=ctypes.c_int64, argtypes=args)


NEW = through_context(CTX_LIST_NEW, 2)
FILLED = through_context(CTX_LIST_NEW_FILLED, 3)
GROW = through_context(CTX_LIST_GROW, 1)


@pytest.fixture
def arena():
    """A context with its arena, as the runtime gives each (thread, nesting level)."""
    return lists.Arena(Context())


@pytest.fixture
def ctx(arena):
    return arena.ctx


def header(address: int) -> tuple[int, int, int]:
    words = (ctypes.c_int64 * 4).from_address(address)
    return words[LIST_LEN // 8], words[LIST_CAP // 8], words[LIST_DATA // 8]


def append(address: int, kind: int, value: int) -> None:
    """What a template does after list_grow: store at data[len], len += 1."""
    length, _, data = header(address)
    if kind == LIST_KIND_BOOL:
        ctypes.c_uint8.from_address(data + length).value = value
    else:
        ctypes.c_int64.from_address(data + 8 * length).value = value
    ctypes.c_int64.from_address(address + LIST_LEN).value = length + 1


@pytest.mark.parametrize(
    ("kind", "bits", "value"),
    [
        (LIST_KIND_INT, 7, 7),
        (LIST_KIND_INT, -1, -1),
        (LIST_KIND_BOOL, 1, True),
        (LIST_KIND_BOOL, 0, False),
        (LIST_KIND_FLOAT, word(2.5), 2.5),
    ],  # fmt: skip
)
@pytest.mark.parametrize("n", [0, 1, 7, 8, 9, 1000, 300_000])
def test_a_filled_list_is_python_s_list_times_n(ctx, kind, bits, value, n):
    xs = FILLED(ctypes.addressof(ctx), kind, n, bits)
    assert xs != 0
    assert lists.to_python(xs) == [value] * n


def test_list_new_is_zeroed_and_a_negative_length_is_empty(ctx):
    for kind, zero in ((LIST_KIND_INT, 0), (LIST_KIND_BOOL, False), (LIST_KIND_FLOAT, 0.0)):
        FILLED(ctypes.addressof(ctx), kind, 64, -1)  # dirty the arena: zeroing is not free
        assert lists.to_python(NEW(ctypes.addressof(ctx), kind, 33)) == [zero] * 33
    assert lists.to_python(NEW(ctypes.addressof(ctx), LIST_KIND_INT, -3)) == [0] * -3 == []


@pytest.mark.parametrize("kind", [LIST_KIND_INT, LIST_KIND_BOOL])
def test_growing_keeps_the_elements_and_the_header(ctx, kind):
    xs = NEW(ctypes.addressof(ctx), kind, 0)
    want = []
    for i in range(5000):
        value = i % 2 if kind == LIST_KIND_BOOL else i * 3 - 7
        assert GROW(ctypes.addressof(ctx), xs) == xs  # the header never moves
        length, cap, _ = header(xs)
        assert cap > length
        append(xs, kind, value)
        want.append(bool(value) if kind == LIST_KIND_BOOL else value)
    assert lists.to_python(xs) == want


def test_a_list_too_long_or_memory_refused_gives_zero(ctx):
    assert FILLED(ctypes.addressof(ctx), LIST_KIND_INT, lists.MAX_LENGTH + 1, 0) == 0
    assert FILLED(ctypes.addressof(ctx), LIST_KIND_INT, 1 << 62, 0) == 0
    # 2**40 int64s = 8 TiB: the kernel refuses the chunk
    assert FILLED(ctypes.addressof(ctx), LIST_KIND_INT, lists.MAX_LENGTH, 0) == 0


def test_release_keeps_the_largest_chunk_and_reuses_it(arena):
    """The end of a call: the arena starts again in its largest chunk, so a kernel making
    the same big list call after call maps it once."""
    ctx = arena.ctx
    first = FILLED(ctypes.addressof(ctx), LIST_KIND_BOOL, 3_000_001, 1)
    small = FILLED(ctypes.addressof(ctx), LIST_KIND_INT, 10, 1)
    assert ctx.arena_mapped == 1
    arena.release()
    assert (ctx.arena_count, ctx.arena_mapped, ctx.arena_base) == (1, 0, first)
    again = FILLED(ctypes.addressof(ctx), LIST_KIND_BOOL, 3_000_001, 1)
    assert again == first and ctx.arena_mapped == 0  # the same memory, no new mmap
    assert lists.to_python(again) == [True] * 3_000_001
    assert FILLED(ctypes.addressof(ctx), LIST_KIND_INT, 10, 1) == small
    # a call that needs more maps a bigger chunk; after it only the biggest stays
    FILLED(ctypes.addressof(ctx), LIST_KIND_INT, 2_000_000, 1)
    assert ctx.arena_mapped == 1 and ctx.arena_count == 2
    arena.release()
    assert ctx.arena_count == 1 and ctx.arena_last >= 16_000_000


def test_aliases_materialize_as_one_list_with_a_memo(ctx):
    xs = FILLED(ctypes.addressof(ctx), LIST_KIND_INT, 3, 5)
    memo: dict[int, list] = {}
    a, b = lists.to_python(xs, memo), lists.to_python(xs, memo)
    assert a is b and a == [5, 5, 5]
    assert lists.to_python(xs) is not a


def mapped(address: int) -> bool:
    """Whether `address` lies in a mapping of this process (/proc/self/maps)."""
    with open("/proc/self/maps") as maps:
        for line in maps:
            start, end = (int(x, 16) for x in line.split()[0].split("-"))
            if start <= address < end:
                return True
    return False


def test_an_arena_that_goes_unmaps_its_chunks():
    arena = lists.Arena(Context())
    xs = FILLED(ctypes.addressof(arena.ctx), LIST_KIND_INT, 1_000_000, 3)
    arena.release()  # the call ends: the chunk is kept for the next one
    assert mapped(xs)
    del arena
    gc.collect()
    assert not mapped(xs)
