"""The callee-saved checker: catches planted clobbers, passes correct code, survives both."""

from __future__ import annotations

import ctypes

import pytest

from jitkit.errors import JitkitError
from jitkit.native import CALLEE_SAVED, NativeFunction, check_callee_saved
from jitkit.x86 import REGISTERS, Assembler, qword, rax, rbx, rdi, rsp

LEA_ADD = b"\x48\x8d\x04\x37\xc3"  # lea rax, [rdi + rsi]; ret


def clobbering(*names: str) -> Assembler:
    """`mov <reg>, 0` for each name, then `mov rax, rdi; ret`."""
    a = Assembler()
    for name in names:
        a.mov(REGISTERS[name], 0)
    a.mov(rax, rdi)
    a.ret()
    return a


def test_correct_code_passes():
    report = check_callee_saved(LEA_ADD, args=(3, 4))
    assert report.ok and report.clobbered == [] and report.rsp_delta == 0
    assert report.result == 7
    assert str(report).splitlines() == [
        "result: 7",
        "ok: rbx, rbp, r12, r13, r14, r15 and rsp preserved",
    ]


def test_planted_rbx_clobber_is_caught():
    code = b"\x48\xc7\xc3\x00\x00\x00\x00" + b"\x48\x89\xf8\xc3"  # mov rbx, 0; mov rax, rdi; ret
    report = check_callee_saved(code, args=(41,))
    assert report.clobbered == ["rbx"] and not report.ok
    assert report.result == 41
    assert report.seen["rbx"] == 0
    assert "rbx clobbered: was 0x5e471e1011111111, returned 0x0000000000000000" in str(report)


@pytest.mark.parametrize("name", CALLEE_SAVED)
def test_each_callee_saved_register_is_checked(name):
    report = check_callee_saved(clobbering(name).assemble(), args=(5,))
    assert report.clobbered == [name]
    assert report.result == 5


def test_python_survives_code_that_clobbers_all_of_them():
    for _ in range(3):
        report = check_callee_saved(clobbering(*CALLEE_SAVED).assemble(), args=(1,))
        assert report.clobbered == list(CALLEE_SAVED)
    assert check_callee_saved(LEA_ADD, args=(1, 2)).ok


def test_saving_and_restoring_is_fine():
    a = Assembler()
    a.push(rbx)
    a.mov(rbx, rdi)
    a.lea(rax, qword(rbx, 1))
    a.pop(rbx)
    a.ret()
    report = check_callee_saved(a.assemble(), args=(9,))
    assert report.ok and report.result == 10


def test_a_callee_that_pops_its_own_arguments_moves_rsp():
    code = b"\x48\x89\xf8" + b"\xc2\x08\x00"  # mov rax, rdi; ret 8  (stdcall style)
    report = check_callee_saved(code, args=(2,))
    assert report.rsp_delta == 8 and report.clobbered == [] and not report.ok
    assert "rsp moved by +8 bytes" in str(report)


def test_the_call_is_made_with_an_aligned_stack():
    a = Assembler()
    a.mov(rax, rsp)  # rsp on entry: the aligned call pushed 8 bytes of return address
    a.ret()
    report = check_callee_saved(a.assemble())
    assert report.aligned and report.rsp_at_call % 16 == 0
    assert report.result % 16 == 8
    assert report.result == report.rsp_at_call - 8


def test_six_arguments_arrive_in_the_system_v_registers():
    a = Assembler()
    a.mov(rax, rdi)
    for weight, name in enumerate(("rsi", "rdx", "rcx", "r8", "r9"), start=2):
        a.imul(REGISTERS[name], REGISTERS[name], weight)
        a.add(rax, REGISTERS[name])
    a.ret()
    args = (1, -2, 3, -4, 5, -6)
    report = check_callee_saved(a.assemble(), args=args)
    assert report.ok
    assert report.result == sum(i * x for i, x in enumerate(args, start=1))


def test_a_native_function_can_be_checked_directly():
    fn = NativeFunction(LEA_ADD, ctypes.c_int64, (ctypes.c_int64, ctypes.c_int64))
    assert check_callee_saved(fn, args=(-5, 2)).result == -3


def test_bad_arguments_are_refused():
    with pytest.raises(JitkitError, match="at most 6"):
        check_callee_saved(LEA_ADD, args=tuple(range(7)))
    with pytest.raises(JitkitError, match="integer"):
        check_callee_saved(LEA_ADD, args=(1.5,))


def test_a_reused_trampoline_forgets_the_previous_arguments():
    a = Assembler()
    a.mov(rax, REGISTERS["r9"])
    a.ret()
    code = a.assemble()
    assert check_callee_saved(code, args=(1, 2, 3, 4, 5, 6)).result == 6
    assert check_callee_saved(code).result == 0


def test_checks_are_fast_once_the_trampoline_exists():
    import time

    check_callee_saved(LEA_ADD, args=(1, 2))
    start = time.perf_counter()
    for _ in range(100):
        check_callee_saved(LEA_ADD, args=(1, 2))
    assert time.perf_counter() - start < 0.5  # 100 fresh trampolines would take ~0.5 s
