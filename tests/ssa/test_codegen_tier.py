"""SSA code inside the stack tier's runtime, from IR written by hand with its deopt states:
deopt records the VM resumes exactly (overflow mid-loop after prints, a callee deopting under
native callers, x // 0, INT64_MIN // -1), prints through the callback, calls between SSA and
template code, the interrupt poll, and callee-saved registers kept."""

from __future__ import annotations

import ctypes
import math
import subprocess
import sys
import textwrap

import pytest

from jitkit.bench import kernel_source
from jitkit.bytecode.compiler import compile_module
from jitkit.errors import UnsupportedError
from jitkit.jitrt.layout import CTX_FLAG, CTX_STACK_LIMIT, STACK_BUDGET
from jitkit.lang.parse import parse_module
from jitkit.native import check_callee_saved
from jitkit.native.interrupts import interrupt_flag
from jitkit.ssa.pipeline import DEFAULT
from jitkit.ssa.regalloc import TIER_REGISTERS, Slot
from jitkit.ssa.text import parse
from jitkit.ssa.tier import ssa_tier
from jitkit.x86 import Assembler, qword, r13, r14, r15, rax, rdi, rsi, rsp

SOURCE = textwrap.dedent("""
    def fib(n):
        if n < 2:
            return n
        return fib(n - 1) + fib(n - 2)

    def fact(n):
        if n <= 1:
            return 1
        return n * fact(n - 1)

    def grow(n):
        x = 1
        for i in range(n):
            print(i, x)
            x = x * 1000
        return x

    def div(a, b):
        print("before")
        return a // b

    def twice(n):
        return fib(n) + fib(n)
""")

# Deopt states name the bytecode above: offsets are its pcs, locals all of code.varnames,
# stacks the operand stack there (strings and functions are any constant: the types say).
IR = {
    "fib": """
function i64 $fib(i64 %n) {
@entry
    %c =bool lt %n, 2
    br %c, @base, @rec
@base
    ret %n
@rec
    %a =i64 sub_ovf %n, 1 deopt 9 locals(%n) stack(0, %n, 1)
    %r1 =i64 call $fib(%a) deopt 11 locals(%n) stack()
    %b =i64 sub_ovf %n, 2 deopt 14 locals(%n) stack(%r1, 0, %n, 2)
    %r2 =i64 call $fib(%b) deopt 16 locals(%n) stack(%r1)
    %s =i64 add_ovf %r1, %r2 deopt 16 locals(%n) stack(%r1, %r2)
    ret %s
}
""",
    "fact": """
function i64 $fact(i64 %n) {
@entry
    %c =bool le %n, 1
    br %c, @base, @rec
@base
    ret 1
@rec
    %m =i64 sub_ovf %n, 1 deopt 10 locals(%n) stack(%n, 0, %n, 1)
    %r =i64 call $fact(%m) deopt 12 locals(%n) stack(%n)
    %p =i64 mul_ovf %n, %r deopt 12 locals(%n) stack(%n, %r)
    ret %p
}
""",
    "grow": """
function i64 $grow(i64 %n) {
@entry
    jmp @head
@head
    %x =i64 phi @entry 1, @body %x2
    %k =i64 phi @entry 0, @body %k2
    %c =bool lt %k, %n
    br %c, @body, @exit
@body
    %k2 =i64 add_ovf %k, 1 deopt 18 locals(%n, %x, %k, %k, %n, 1) stack(%k, 1)
    print 24, %k, %x, 0, 0
    %x2 =i64 mul_ovf %x, 1000 deopt 27 locals(%n, %x, %k, %k2, %n, 1) stack(%x, 1000)
    jmp @head
@exit
    ret %x
}
""",
    "div": """
function i64 $div(i64 %a, i64 %b) {
@entry
    print 3, 0, 0, 0
    %q =i64 div_ovf %a, %b deopt 6 locals(%a, %b) stack(%a, %b)
    ret %q
}
""",
}


def hand_built(passes=DEFAULT):
    """The module with the IR above; `twice` (no IR) gets the stack tier's templates."""
    codes = compile_module(parse_module(SOURCE))
    return ssa_tier(codes, passes=passes, build=build)


def build(codes, name):
    if name not in IR:
        raise UnsupportedError(f"{name}: no IR written for it")
    return parse(IR[name])


@pytest.fixture(scope="module", params=["passes", "no passes"])
def tier(request):
    return hand_built(DEFAULT if request.param == "passes" else ())


def test_functions_with_ir_run_as_ssa_code_and_the_rest_on_templates(tier):
    assert tier.compiled.tiers == {
        "fib": "ssa", "fact": "ssa", "grow": "ssa", "div": "ssa", "twice": "stack",
    }  # fmt: skip
    assert "no IR written" in tier.compiled.fallbacks["twice"]
    assert [tier.call("fib", n) for n in range(20)] == [0, 1, 1, 2, 3, 5, 8, 13, 21, 34, 55,
                                                        89, 144, 233, 377, 610, 987, 1597,
                                                        2584, 4181]  # fmt: skip
    assert tier.call("twice", 15) == 2 * 610  # template code calling SSA code


def test_overflow_mid_loop_after_printing_continues_exactly(tier, capsys):
    assert tier.call("grow", 10) == 1000**10
    assert capsys.readouterr().out.splitlines() == [f"{i} {1000**i}" for i in range(10)]
    assert tier.last_deopt[0].function == "grow" and tier.last_deopt[0].pc == 27


def test_a_callee_deopting_under_native_callers_resumes_every_frame(tier):
    assert tier.call("fact", 30) == math.factorial(30)
    frames = tier.last_deopt
    assert [f.function for f in frames] == ["fact"] * len(frames) and len(frames) > 5
    assert all(f.pc == 12 for f in frames)  # callers after their CALL, the callee at its MUL


@pytest.mark.parametrize("a", [7, -7, 0, 2**63 - 1, -(2**63)])
@pytest.mark.parametrize("b", [2, -2, 3, -3, 1, -1, 2**63 - 1, -(2**63)])
def test_floor_division_is_pythons_and_min_by_minus_one_deopts(tier, capsys, a, b):
    assert tier.call("div", a, b) == a // b
    assert capsys.readouterr().out == "before\n"
    assert bool(tier.last_deopt) == ((a, b) == (-(2**63), -1))  # only that one leaves int64


def test_division_by_zero_raises_after_printing_once(tier, capsys):
    with pytest.raises(ZeroDivisionError):
        tier.call("div", 1, 0)
    assert capsys.readouterr().out == "before\n"


def test_recursion_past_the_limit_deopts_at_entry_and_raises(tier):
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(200)
    try:
        with pytest.raises(RecursionError):
            tier.call("fact", 10_000)
    finally:
        sys.setrecursionlimit(limit)


def test_allocation_never_touches_the_runtime_registers(tier):
    for alloc in tier.compiled.allocations.values():
        for where in alloc.location.values():
            assert isinstance(where, Slot) or where in TIER_REGISTERS


def probe(entry: int) -> bytes:
    """System V `probe(ctx, args)`: sets r15/r14, the stack limit and r13 = 0 frames as the
    Python entry does, saves nothing else, so the checker sees what the compiled function
    itself clobbers; r13 must come back 0 (or the value returned is spoiled)."""
    a = Assembler()
    a.push(r13).push(r14).push(r15)
    a.mov(r15, rdi).mov(r14, qword(r15, CTX_FLAG)).xor(r13, r13)
    a.lea(rax, qword(rsp, -STACK_BUDGET)).mov(qword(r15, CTX_STACK_LIMIT), rax)
    a.mov(rdi, rsi).mov(rax, entry).call(rax)
    a.shl(r13, 32).or_(rax, r13)  # frames left counted: the result shows it
    a.pop(r15).pop(r14).pop(r13).ret()
    return a.assemble().bytes


def check_abi(tier, name: str, arg: int):
    ctx, buffer = tier._context(0)
    flag = interrupt_flag()
    ctx.deopt_ptr, ctx.depth, ctx.max_depth = ctypes.addressof(buffer), 0, 1000
    ctx.flag = flag.address
    argv = (ctypes.c_int64 * 1)(arg)
    entry = tier.memory.address + tier.compiled.machine.labels[f"{name}.entry"]
    return check_callee_saved(probe(entry), (ctypes.addressof(ctx), ctypes.addressof(argv)))


@pytest.mark.parametrize("name, arg", [("fib", 12), ("fact", 30), ("fact", 5), ("grow", 3)])
def test_callee_saved_registers_survive_ssa_code(tier, name, arg, capsys):
    report = check_abi(tier, name, arg)
    assert report.ok, str(report)


@pytest.mark.parametrize("name, arg, value", [("fib", 20, 6765), ("sum_loop", 100, 197)])
def test_callee_saved_registers_and_the_frame_count_survive_builder_code(name, arg, value):
    source = kernel_source()
    tier = ssa_tier(compile_module(parse_module(source)))
    assert tier.tier_of(name) == "ssa" and not tier.compiled.fallbacks  # r13 counts frames
    report = check_abi(tier, name, arg)
    assert report.ok, str(report)
    assert report.result == value == tier.call(name, arg)


def test_sigint_stops_an_ssa_while_true_loop_within_a_second():
    code = textwrap.dedent(
        """
        import os, signal, threading, time
        from jitkit.bytecode.compiler import compile_module
        from jitkit.lang.parse import parse_module
        from jitkit.ssa.text import parse
        from jitkit.ssa.tier import ssa_tier
        IR = '''
        function i64 $spin() {
        @entry
            jmp @loop
        @loop
            %n =i64 phi @entry 0, @loop %n2
            %n2 =i64 add_ovf %n, 1 deopt 6 locals(%n) stack(%n, 1)
            jmp @loop
        }
        '''
        src = 'def spin():\\n    n = 0\\n    while True:\\n        n = n + 1\\n'
        tier = ssa_tier(compile_module(parse_module(src)), build=lambda c, n: parse(IR))
        assert tier.compiled.tiers == {'spin': 'ssa'}, tier.compiled.fallbacks
        start = time.perf_counter()  # before the timer: the signal comes 0.3 s after this
        threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT)).start()
        try:
            tier.call('spin')
        except KeyboardInterrupt:
            print(time.perf_counter() - start)
        """
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=60)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert 0.3 <= float(result.stdout) < 1.3


def test_a_function_the_code_generator_refuses_gets_templates():
    codes = compile_module(parse_module(SOURCE))
    no_state = "function i64 $twice(i64 %n) {\n@entry\n    %a =i64 call $fib(%n)\n    ret %a\n}\n"
    tier = ssa_tier(codes, build=lambda c, name: parse(IR.get(name, no_state)))
    assert tier.tier_of("twice") == "stack" and tier.tier_of("fib") == "ssa"
    assert "a call without deopt state" in tier.compiled.fallbacks["twice"]
    assert tier.call("twice", 10) == 110
