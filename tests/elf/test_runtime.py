"""The tiny runtime, run for real: argv, exit status, print_int64 against Python's str()
over the whole int64 range, parse_int64, and the bump allocator across mmap chunks."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jitkit.elf.run import run, save
from jitkit.elf.runtime import HEAP_CHUNK, program, sample_program
from jitkit.x86 import Assembler, eax, ecx, mem, qword, r12, r13, r14, rax, rbx, rcx, rdi, rsi, rsp
from tests.elf.wellformed import check

INT64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)
BOUNDARIES = [0, 1, -1, 9, 10, -10, 99, 100, 2**31, -(2**31) - 1, 2**63 - 1, -(2**63), -(2**63) + 1]


def print_values(values: list[int]):
    """A program whose main prints each value of a table on its own line."""

    def emit_main(a: Assembler) -> None:
        a.label("main")
        a.push(rbx)
        a.push(r12)
        a.sub(rsp, 8)
        a.lea(rbx, mem(label="values"))
        a.mov(r12, len(values))
        a.label("main.loop")
        a.test(r12, r12)
        a.je("main.done")
        a.mov(rdi, qword(rbx))
        a.call("print_int64")
        a.call("print_newline")
        a.add(rbx, 8)
        a.dec(r12)
        a.jmp("main.loop")
        a.label("main.done")
        a.xor(eax, eax)
        a.add(rsp, 8)
        a.pop(r12)
        a.pop(rbx)
        a.ret()
        a.align(8, 0)
        a.label("values")
        for v in values:
            a.quad(v)

    return program(emit_main)


def expected_lines(values: list[int]) -> bytes:
    return "".join(f"{v}\n" for v in values).encode()


def test_print_int64_boundaries(tmp_path):
    image = print_values(BOUNDARIES)
    result = run(image)
    assert (result.stdout, result.stderr, result.status) == (expected_lines(BOUNDARIES), b"", 0)
    check(save(image, tmp_path / "ints"))


@settings(max_examples=40, deadline=None)
@given(st.lists(INT64, min_size=1, max_size=40))
def test_print_int64_matches_python_str(values):
    assert run(print_values(values)).stdout == expected_lines(values)


def emit_parse_main(a: Assembler) -> None:
    """main: print parse_int64(argv[i]) for each argument after argv[0]."""
    a.label("main")
    a.push(rbx)
    a.lea(rbx, mem(rsi, 8))
    a.label("main.loop")
    a.mov(rdi, qword(rbx))
    a.test(rdi, rdi)
    a.je("main.done")
    a.call("parse_int64")
    a.mov(rdi, rax)
    a.call("print_int64")
    a.call("print_newline")
    a.add(rbx, 8)
    a.jmp("main.loop")
    a.label("main.done")
    a.xor(eax, eax)
    a.pop(rbx)
    a.ret()


@settings(max_examples=25, deadline=None)
@given(st.lists(INT64, max_size=30))
def test_parse_int64_round_trips(values):
    result = run(program(emit_parse_main), [str(v) for v in values])
    assert result.stdout == expected_lines(values)


def test_parse_int64_stops_at_a_non_digit():
    result = run(program(emit_parse_main), ["12abc", "-", "", "007", "-0", "3 4"])
    assert result.stdout == b"12\n0\n0\n7\n0\n3\n"


@pytest.mark.parametrize(
    "args", [[], ["one"], ["a b", "", "-5", "ünïcödé", "x" * 1000], [str(i) for i in range(200)]]
)
def test_sample_program_echoes_argv_and_prints_fib90(args, tmp_path):
    image = sample_program()
    result = run(image, args, argv0="sample")
    fib90 = 2880067194370816120
    expected = "".join(f"{s}\n" for s in ["sample", *args]) + f"{fib90}\n"
    assert (result.stdout.decode(), result.status) == (expected, 0)
    check(save(image, tmp_path / "sample"))


@pytest.mark.parametrize("status, expected", [(0, 0), (3, 3), (255, 255), (256, 0), (-1, 255)])
def test_main_return_value_is_the_exit_status(status, expected):
    def emit_main(a: Assembler) -> None:
        a.label("main")
        a.mov(eax, status % 2**32)
        a.ret()

    assert run(program(emit_main)).status == expected


def test_argc_reaches_main():
    def emit_main(a: Assembler) -> None:
        a.label("main")
        a.mov(rax, rdi)
        a.ret()

    assert run(program(emit_main), ["x"] * 6).status == 7


def test_bump_allocator_spans_chunks_without_overlap():
    """Allocate n blocks of 24 bytes (more than one mmap chunk in all) and one block bigger
    than a chunk; store i in block i, then sum through the pointers and OR their low bits.
    Overlapping blocks would change the sum; misaligned ones would show in the OR."""
    n = 3 * HEAP_CHUNK // 32

    def emit_main(a: Assembler) -> None:
        a.label("main")
        for reg in (rbx, r12, r13):
            a.push(reg)
        a.mov(rdi, n * 8)
        a.call("alloc")  # rbx = pointer table
        a.mov(rbx, rax)
        a.xor(r12, r12)  # i
        a.label("main.fill")
        a.mov(rdi, 24)
        a.call("alloc")
        a.mov(qword(rax), r12)
        a.mov(qword(rbx, 0, r12, 8), rax)
        a.inc(r12)
        a.cmp(r12, n)
        a.jb("main.fill")
        a.mov(rdi, 2 * HEAP_CHUNK + 8)
        a.call("alloc")  # bigger than a chunk: must still be usable to its end
        a.mov(qword(rax, 2 * HEAP_CHUNK), r12)
        a.mov(r13, rax)
        a.emit("and", r13, 15)
        a.xor(ecx, ecx)  # sum
        a.xor(r12, r12)
        a.label("main.sum")
        a.mov(rax, qword(rbx, 0, r12, 8))
        a.add(rcx, qword(rax))
        a.emit("or", r13, rax)
        a.inc(r12)
        a.cmp(r12, n)
        a.jb("main.sum")
        a.emit("and", r13, 15)
        a.mov(r12, rcx)
        a.mov(rdi, r13)
        a.call("print_int64")  # OR of all low 4 bits: 0
        a.call("print_newline")
        a.mov(rdi, r12)
        a.call("print_int64")  # sum of 0..n-1
        a.call("print_newline")
        a.xor(eax, eax)
        for reg in (r13, r12, rbx):
            a.pop(reg)
        a.ret()

    assert run(program(emit_main)).stdout == f"0\n{n * (n - 1) // 2}\n".encode()


def test_callee_saved_register_survives_runtime_calls():
    """r14 is callee-saved and the runtime never touches it: a value survives every call."""

    def emit_main(a: Assembler) -> None:
        a.label("main")
        a.push(r14)
        a.mov(r14, 1234567)
        a.mov(rdi, -(2**63))
        a.call("print_int64")
        a.mov(rdi, 100)
        a.call("alloc")
        a.lea(rdi, mem(label="main.s"))
        a.call("print_str")
        a.mov(rdi, r14)
        a.call("print_int64")
        a.pop(r14)
        a.xor(eax, eax)
        a.ret()
        a.data(b"|\0", label="main.s")

    assert run(program(emit_main)).stdout == b"-9223372036854775808|1234567"
