"""The native tier runtime's shared words: one deopt record layout that both tiers' stubs
write and one reader reads, and context offsets named, never spelled as numbers."""

from __future__ import annotations

import ctypes
import re

import pytest

from jitkit.bytecode.compiler import compile_module
from jitkit.jitrt import layout
from jitkit.jitrt.layout import (
    RECORD_FIELDS,
    RECORD_HEADER,
    RECORD_WORD,
    Context,
    frame_word,
    read_record,
)
from jitkit.lang.parse import parse_module
from jitkit.ssa.tier import ssa_tier
from jitkit.stackjit import stack_tier
from tests.conftest import ROOT

GROW = """
def grow(n):
    x = 3
    i = 0
    while i < n:
        x = x * 1000
        i = i + 1
    return x

def outer(n):
    return grow(n) + 1
"""


def write_record(buffer: ctypes.Array, at: int, header: dict, frame: list[int]) -> int:
    """A record written as a stub writes one: header fields by name, then frame slots."""
    for name, value in header.items():
        buffer[at + RECORD_WORD[name]] = value
    for slot, value in enumerate(frame):
        buffer[at + frame_word(slot)] = value
    return at + frame_word(len(frame))


def test_the_reader_reads_records_as_the_writers_describe_them():
    buffer = (ctypes.c_int64 * 32)()
    sizes = {7: 3, 2: 5}  # function index -> frame words
    first = {"function": 7, "resume": 12, "depth": -1, "state_pc": 11}
    second = {"function": 2, "resume": 4, "depth": 2, "state_pc": 3}
    end = write_record(buffer, 0, first, [10, -20, 30])
    end = write_record(buffer, end, second, [1, 2, 3, 4, 2**63 - 1])
    assert end == 2 * RECORD_HEADER + 8
    at, read = ctypes.addressof(buffer), []
    while at < ctypes.addressof(buffer) + 8 * end:
        header, values, at = read_record(at, sizes.__getitem__)
        read.append(({f: getattr(header, f) for f in RECORD_FIELDS}, values))
    assert read == [(first, [10, -20, 30]), (second, [1, 2, 3, 4, 2**63 - 1])]


@pytest.mark.parametrize("make", [stack_tier, ssa_tier], ids=["stack", "ssa"])
def test_both_tiers_write_records_the_one_reader_turns_into_the_same_frames(make):
    # 3 * 1000**6 fits an int64, 3 * 1000**7 does not: the multiply at i == 6 deopts
    tier = make(compile_module(parse_module(GROW)))
    assert tier.call("outer", 10) == 3 * 1000**10 + 1
    frames = [(f.function, f.locals, f.stack) for f in tier.last_deopt]
    assert frames == [
        ("outer", {"n": 10}, []),
        ("grow", {"n": 10, "x": 3 * 1000**6, "i": 6}, [3 * 1000**6, 1000]),
    ]
    assert tier.last_deopt[0].pc == 3  # the caller resumes after its CALL


def test_native_tiers_name_context_fields_and_record_words():
    """A bare number after r15 (the context) or in a record store would be a second copy of
    the layout; `qword(rdi, -8 * k)` (arguments) is not the record."""
    bare = re.compile(r"qword\((?:r15|rdi|rcx), [-+*\d ]+\)")  # an offset of numbers only
    found = [
        f"{path.relative_to(ROOT)}:{n}: {line.strip()}"
        for package in ("stackjit", "ssa", "jitrt")
        for path in sorted((ROOT / "jitkit" / package).rglob("*.py"))
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if bare.search(line)
    ]
    assert not found, found


def test_every_context_field_has_its_offset_constant():
    named = {
        k.removeprefix("CTX_").lower(): v for k, v in vars(layout).items() if k.startswith("CTX_")
    }
    assert named == {name: getattr(Context, name).offset for name, _ in Context._fields_}
