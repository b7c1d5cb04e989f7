"""The bytecode -> SSA builder: the IR it writes for small functions (as text), the push/pop
elimination in numbers, each lowering against Python on int64 edge values (a result outside
int64, or an exception, must deopt at the instruction with the VM's frame), and the reasons
it gives for what it refuses."""

from __future__ import annotations

import itertools
import textwrap

import pytest

from jitkit.bytecode.compiler import compile_module
from jitkit.bytecode.opcodes import Op
from jitkit.errors import UnsupportedError
from jitkit.lang.parse import parse_module
from jitkit.ssa.build import build, build_module, traffic
from jitkit.ssa.interp import run
from jitkit.ssa.ir import Function
from jitkit.ssa.ops import fits
from jitkit.ssa.pipeline import compile
from jitkit.ssa.text import format
from jitkit.ssa.verify import verify
from jitkit.stackjit import compile_module as compile_stack_module
from tests.ssa.test_ssa_differential import BridgeVM

SOURCE = """
def axpy(a, x, y):
    return a * x + y

def total(n):
    s = 0
    i = 0
    k = 7
    while i < n:
        s += i * k
        i += 1
    return s

def pick(a, b):
    if a < b:
        m = a
    else:
        m = b
    return m

def twice(n):
    print("n", n, n < 3, sep=",")
    return axpy(n, 2, total(n))
"""
CODES = compile_module(parse_module(SOURCE, "build.py"))


def built(name: str, codes=CODES) -> Function:
    fn = build(codes, name)
    verify(fn)
    return fn


def ir(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


def test_straight_line_code_loses_its_pushes_and_pops():
    fn = built("axpy")
    assert format(fn) == ir("""
        function i64 $axpy(i64 %a, i64 %x, i64 %y) {
        @entry
            %t.1 =i64 mul_ovf %a, %x deopt 2 locals(%a, %x, %y) stack(%a, %x)
            %t.2 =i64 add_ovf %t.1, %y deopt 4 locals(%a, %x, %y) stack(%t.1, %y)
            ret %t.2
        }
        """)
    assert str(traffic(CODES["axpy"], fn)) == (
        "bytecode: 6 instructions, 5 pushes, 5 pops through 2 stack slots "
        "(3 instructions only move values)\n"
        "SSA:      3 instructions (0 phis), no pushes, no pops"
    )


def test_a_loop_gets_phis_for_what_changes_and_polls_on_its_back_edge():
    """`k` never changes in the loop: its phi is trivial and removed at once, so `7` is used."""
    assert format(built("total")) == ir("""
        function i64 $total(i64 %n) {
        @entry
            jmp @pc6
        @pc6
            %s.1 =i64 phi @entry 0, @pc10 %t.3
            %i.1 =i64 phi @entry 0, @pc10 %t.4
            %t.1 =bool lt %i.1, %n
            br %t.1, @pc10, @pc21
        @pc10
            %t.2 =i64 mul_ovf %i.1, 7 deopt 13 locals(%n, %s.1, %i.1, 7) stack(%s.1, %i.1, 7)
            %t.3 =i64 add_ovf %s.1, %t.2 deopt 14 locals(%n, %s.1, %i.1, 7) stack(%s.1, %t.2)
            %t.4 =i64 add_ovf %i.1, 1 deopt 18 locals(%n, %t.3, %i.1, 7) stack(%i.1, 1)
            poll deopt 20 locals(%n, %t.3, %t.4, 7) stack()
            jmp @pc6
        @pc21
            ret %s.1
        }
        """)
    assert [run(built("total"), [n]).value for n in range(5)] == [0, 0, 7, 21, 42]


def test_a_join_gets_a_phi():
    assert format(built("pick")).endswith(
        "@pc9\n    %m.1 =i64 phi @pc4 %a, @pc7 %b\n    ret %m.1\n}\n"
    )


def test_calls_carry_the_state_after_the_call_and_prints_their_pc():
    """The caller resumes after the CALL with the stack below the callee (the function
    object and the 2 already pushed are Const 0 and 2: their types say what they are)."""
    text = format(built("twice"))
    assert "    print 7, 0, %n, %t.1, 0, 0\n" in text
    assert "call $total(%n) deopt 14 locals(%n) stack(0, %n, 2)\n" in text
    assert "call $axpy(%n, 2, %t.2) deopt 15 locals(%n) stack()\n" in text
    assert CODES["twice"].ops[13] == Op.CALL and CODES["twice"].ops[7] == Op.PRINT
    out = run(built("twice"), [2], {f.name: f for f in map(built, ("axpy", "total"))})
    assert (out.value, out.output) == (2 * 2 + 7, (("twice", 7, (0, 2, 1, 0, 0)),))


def power(a: int, b: int) -> int:
    """What the VM computes for a ** b (2**64 stands for a result too big to compute here; a
    negative exponent gives a float, as in CPython, which compiled int code must deopt for:
    2**64 stands for it too)."""
    if b < 0:
        return 2**64 if a else a**b  # 0 ** -1: ZeroDivisionError
    return a**b if abs(a) < 2 or b < 64 else 2**64


EDGES = [-(2**63), -(2**62), -7, -3, -1, 0, 1, 2, 3, 7, 2**31, 2**62, 2**63 - 1]
EXPRESSIONS = {
    "a + b": lambda a, b: a + b,
    "a - b": lambda a, b: a - b,
    "a * b": lambda a, b: a * b,
    "a // b": lambda a, b: a // b,
    "a % b": lambda a, b: a % b,
    "-a": lambda a, b: -a,
    "+a": lambda a, b: +a,
    "abs(a)": lambda a, b: abs(a),
    "min(a, b)": lambda a, b: min(a, b),
    "max(a, b)": lambda a, b: max(a, b),
    "a ** (b % 70)": lambda a, b: a ** (b % 70),
    "a ** b": lambda a, b: power(a, b),
    "(a < b) + (a >= b) * 2": lambda a, b: (a < b) + (a >= b) * 2,
    "not a": lambda a, b: not a,
    "min(a < b, a == b)": lambda a, b: min(a < b, a == b),
    "a if a > b else b - 1": lambda a, b: a if a > b else b - 1,
}


def resume(codes, out) -> tuple[object, str | None]:
    """Finish a deopted run in the VM, through the stack tier's runtime (as compiled code
    does): (value, exception type name)."""
    vm = BridgeVM(codes, {}, compile_stack_module(codes))
    try:
        return vm.tier.resume(vm.records(out), 0), None
    except Exception as e:  # noqa: BLE001 - the type is the result
        return None, type(e).__name__


@pytest.mark.parametrize("expression", EXPRESSIONS)
def test_each_lowering_computes_python_or_deopts_at_its_instruction(expression):
    """A result that fits int64 comes out of the IR (a deopt is allowed only where x86
    cannot compute it: MIN % -1); any other result deopts, and the VM, resumed from the
    deopt state, gives Python's answer or exception."""
    source = f"def f(a, b):\n    return {expression}\n"
    codes = compile_module(parse_module(source, "e.py"))
    fn = built("f", codes)
    python = EXPRESSIONS[expression]
    for a, b in itertools.product(EDGES, EDGES):
        try:
            want, error = python(a, b), None
        except (ZeroDivisionError, UnsupportedError) as e:
            want, error = None, type(e).__name__
        out = run(fn, [a, b])
        if out.deopt is None:
            assert error is None and out.value == want and fits(want), (a, b)
            assert fn.ret == ("bool" if type(want) is bool else "i64")
            continue
        offset, local, _ = out.deopt
        assert local == (a, b) and codes["f"].ops[offset] not in (Op.LOAD_LOCAL, Op.LOAD_CONST)
        assert error is not None or not fits(want) or (expression, a, b) == ("a % b", -(2**63), -1)
        if fits(want if error is None else 0) or expression != "a ** b":
            assert resume(codes, out) == (want, error), (a, b)


def test_a_range_with_step_zero_deopts_before_the_loop():
    source = "def f(n, k):\n    s = 0\n    for i in range(0, n, k):\n        s += i\n    return s\n"
    codes = compile_module(parse_module(source, "r.py"))
    fn = built("f", codes)
    assert [run(fn, [n, k]).value for n, k in [(5, 1), (5, 2), (-5, -2), (5, -1)]] == [10, 6, -6, 0]
    offset, local, stack = run(fn, [5, 0]).deopt
    assert codes["f"].ops[offset] == Op.RANGE_CHECK and stack == (0, 5, 0)
    assert local[:3] == (5, 0, 0)  # n, k, s; i and the hidden range slots are unassigned


def test_every_back_edge_polls_with_the_frame_at_its_jump():
    source = "def f(n):\n    while n > 0:\n        n -= 1\n"
    source += "        if n == 3:\n            continue\n    return n\n"
    codes = compile_module(parse_module(source, "w.py"))
    fn = built("f", codes)
    polls = [i.deopt.offset for _, i in fn.instrs() if i.op == "poll"]
    backs = [pc for pc, op in enumerate(codes["f"].ops) if op == Op.JUMP_BACKWARD]
    assert sorted(polls) == backs and len(backs) == 2
    assert run(fn, [9], interrupt_at=2).deopt == (backs[-1], (7,), ())


@pytest.mark.parametrize(
    "source, words",
    [
        ("def f(a):\n    if a:\n        return 1\n", "may be int or none"),
        ("def f(a):\n    if a:\n        return 1\n    return True\n", "may be bool or int"),
        ("def f(a):\n    return a + 1180591620717411303424\n", "needs > 64 bits"),
        ("def f(a):\n    if a:\n        b = 1\n    c = b + 1\n    return c\n", "before assignment"),
    ],
)
def test_refusals_name_the_reason(source, words):
    with pytest.raises(UnsupportedError, match=words):
        build(compile_module(parse_module(source, "u.py")), "f")


def test_a_caller_of_a_refused_function_is_refused_too():
    source = "def g(a):\n    if a:\n        return 1\n\ndef f(a):\n    g(a)\n    return a\n"
    source += "\ndef h(a):\n    return a\n"
    module = build_module(compile_module(parse_module(source, "m.py")))
    assert isinstance(module["h"], Function)
    assert "int or none" in str(module["g"]) and "calls g()" in str(module["f"])


def test_dump_prints_the_bytecode_and_the_ssa_with_its_traffic(capsys):
    build(CODES, "axpy", dump={"bytecode", "ssa"})
    out = capsys.readouterr().out
    assert out.startswith("--- bytecode ---\nDisassembly of axpy(")
    assert "--- ssa ---\nfunction i64 $axpy(" in out
    assert out.endswith("SSA:      3 instructions (0 phis), no pushes, no pops\n")


def test_a_long_function_builds_without_deep_recursion():
    """A thousand ifs in a row: no read of a variable walks far back (blocks read every
    local on entry), so Python's recursion limit is never near."""
    body = "".join(f"    if a > {k}:\n        b = {k}\n" for k in range(1000))
    codes = compile_module(parse_module(f"def f(a, x):\n    b = 0\n{body}    return b + x\n"))
    fn = built("f", codes)
    assert [run(fn, [a, 1]).value for a in (-5, 0, 500, 5000)] == [1, 1, 500, 1000]


def test_a_counted_loop_optimizes_to_one_test_and_an_unchecked_step():
    """RANGE_TEST branches on the step's sign; with a constant step `fold` keeps one side,
    so the loop test is `lt` and `guards` can prove the counter's `+ 1` never overflows."""
    source = "def f(n):\n    s = 0\n    for i in range(n):\n        s += i\n    return s\n"
    fn = compile(build(compile_module(parse_module(source)), "f"), verify=True)
    ops = [i.op for _, i in fn.instrs()]
    assert ops.count("lt") == 1 and "or" not in ops and "gt" not in ops
    assert ops.count("add") == 1 and ops.count("add_ovf") == 1  # s += i stays checked
    assert [run(fn, [n]).value for n in (-1, 0, 5)] == [0, 0, 10]
