"""The words compiled code and the runtime share, each defined once (notebooks 05 and 07).

The context struct is read by compiled code through r15; its offsets (`CTX_*`) come from the
ctypes `Context` below, so the code and the runtime cannot disagree. A deopt record is a
header (`RECORD_FIELDS`, at the word indices `RECORD_WORD`) followed by the frame: locals,
then the operand stack (`frame_word`).
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable
from dataclasses import dataclass, fields

from jitkit.bytecode.code import Code

DEOPT = 1  # status: the frames on the way out wrote deopt records
INTERRUPTED = 2  # status: stopped for SIGINT where no deopt state was known (no record)
FINISH = 3  # status: returned, and the runtime finishes: a list result, chunks to free

NATIVE_DEPTH_CAP = 10_000  # deeper recursion continues in the VM (heap frames)
STACK_BUDGET = 2 << 20  # bytes of native stack compiled code may use below its entry
# A frame this small may skip the stack check: the depth cap bounds the stack such frames
# take, and on a thread whose stack is shorter than the budget the entry lowers the cap.
SMALL_FRAME_SHIFT = 7  # 128 bytes: NATIVE_DEPTH_CAP such frames fit in STACK_BUDGET
SMALL_FRAME = 1 << SMALL_FRAME_SHIFT


class Context(ctypes.Structure):
    """Read and written by compiled code through r15; `CTX_*` are its field offsets."""

    _fields_ = [
        ("deopt_ptr", ctypes.c_void_p),  # next free word of the deopt buffer
        ("stack_limit", ctypes.c_void_p),  # rsp must stay above this
        ("depth", ctypes.c_int64),  # compiled frames now active
        ("max_depth", ctypes.c_int64),  # deopt (to the VM) beyond this depth
        ("print", ctypes.c_void_p),  # void print(int64 site, int64 *values)
        ("result", ctypes.c_int64),  # the return value
        ("flag", ctypes.c_void_p),  # the interrupt flag byte
        ("calls", ctypes.c_void_p),  # int64 per function index: entries and loop trips
        ("stack_floor", ctypes.c_void_p),  # the thread's lowest usable stack address
        # lists (#17): the runtime's routines, System V, never calling Python (`lists.py`)
        ("list_new", ctypes.c_void_p),  # list *list_new(kind, length): zeroed elements
        ("list_new_filled", ctypes.c_void_p),  # list *(kind, length, bits): each element bits
        ("list_grow", ctypes.c_void_p),  # list *list_grow(list *): cap > len after it
        # the arena those routines allocate from (`lists.py`): every block belongs to the
        # running entry call and is freed when it finishes
        ("arena_ptr", ctypes.c_void_p),  # next free byte of the current chunk
        ("arena_end", ctypes.c_void_p),  # end of the current chunk
        ("arena_base", ctypes.c_void_p),  # start of the chunk kept between calls (or 0)
        ("arena_last", ctypes.c_int64),  # bytes of the last chunk mapped (the next is 2x)
        ("arena_chunks", ctypes.c_void_p),  # (address, bytes) per chunk alive, kept first
        ("arena_count", ctypes.c_int64),  # entries in that table
        ("arena_mapped", ctypes.c_int64),  # chunks this call mapped: the runtime frees them
    ]


CTX_DEOPT_PTR = Context.deopt_ptr.offset
CTX_STACK_LIMIT = Context.stack_limit.offset
CTX_DEPTH = Context.depth.offset
CTX_MAX_DEPTH = Context.max_depth.offset
CTX_PRINT = Context.print.offset
CTX_RESULT = Context.result.offset
CTX_FLAG = Context.flag.offset
CTX_CALLS = Context.calls.offset
CTX_STACK_FLOOR = Context.stack_floor.offset
CTX_LIST_NEW = Context.list_new.offset
CTX_LIST_NEW_FILLED = Context.list_new_filled.offset
CTX_LIST_GROW = Context.list_grow.offset
CTX_ARENA_PTR = Context.arena_ptr.offset
CTX_ARENA_END = Context.arena_end.offset
CTX_ARENA_BASE = Context.arena_base.offset
CTX_ARENA_LAST = Context.arena_last.offset
CTX_ARENA_CHUNKS = Context.arena_chunks.offset
CTX_ARENA_COUNT = Context.arena_count.offset
CTX_ARENA_MAPPED = Context.arena_mapped.offset

# A list (#17) is the address of this header, made by the runtime: its elements untagged,
# an int as an int64, a float as its double, a bool as one byte (0 or 1).
LIST_LEN = 0  # int64: number of elements
LIST_CAP = 8  # int64: capacity, in elements
LIST_DATA = 16  # the address of the elements
LIST_KIND = 24  # int64: LIST_KIND_INT, LIST_KIND_BOOL or LIST_KIND_FLOAT
LIST_HEADER = 32  # bytes
LIST_KIND_INT, LIST_KIND_BOOL, LIST_KIND_FLOAT = 0, 1, 2
LIST_KINDS = {"int": LIST_KIND_INT, "bool": LIST_KIND_BOOL, "float": LIST_KIND_FLOAT}


def element_size(kind: int | str) -> int:
    """Bytes per element of a list of `kind` (a LIST_KIND_* number or "int", "bool",
    "float"): a bool is one byte, so sieve's flags take n bytes, not 8n."""
    kind = LIST_KINDS.get(kind, kind)  # type: ignore[arg-type]
    if kind not in LIST_KINDS.values():
        raise ValueError(f"no list kind {kind!r}")
    return 1 if kind == LIST_KIND_BOOL else 8


# A deopt record: these header words, then the frame's words (locals, then the operand
# stack). Both tiers' stubs write it through `RECORD_WORD` and `frame_word`; `read_record`
# is its one reader.
RECORD_FIELDS = (
    "function",  # the function's index (`FunctionInfo.index`)
    "resume",  # the pc the VM resumes at
    "depth",  # operand-stack depth there; -1: a guard's, the depth before the pc it checked
    "state_pc",  # the pc whose types describe the frame's words
)
RECORD_WORD = {name: k for k, name in enumerate(RECORD_FIELDS)}
RECORD_HEADER = len(RECORD_FIELDS)


@dataclass(frozen=True)
class RecordHeader:
    """A deopt record's header as the runtime reads it."""

    function: int
    resume: int
    depth: int
    state_pc: int


assert tuple(f.name for f in fields(RecordHeader)) == RECORD_FIELDS


def frame_word(slot: int) -> int:
    """The record word of frame slot `slot` (local i is slot i, operand j is nlocals + j)."""
    return RECORD_HEADER + slot


def read_record(address: int, words_of: Callable[[int], int]) -> tuple[RecordHeader, list, int]:
    """The record at `address`: its header, its frame words (`words_of(function index)` of
    them) and the address of the next record."""
    header = RecordHeader(*(ctypes.c_int64 * RECORD_HEADER).from_address(address))
    words = words_of(header.function)
    values = list((ctypes.c_int64 * words).from_address(address + 8 * frame_word(0)))
    return header, values, address + 8 * frame_word(words)


def frame_words(code: Code) -> int:
    """Words of a compiled frame and of its deopt record after the header: locals, then
    the operand stack."""
    return len(code.varnames) + code.stacksize


def record_words(code: Code) -> int:
    """Words of one deopt record of `code`'s frame."""
    return frame_word(frame_words(code))
