"""VM: profiling counters, source lines on errors, trace output, and the jit decorator."""

import contextlib
import io

import pytest

from jitkit.bytecode.compiler import compile_module
from jitkit.bytecode.opcodes import OPCODES, Op
from jitkit.errors import UnsupportedError
from jitkit.jit import TIERS, jit
from jitkit.lang.parse import parse_module
from jitkit.vm.machine import VM

SOURCE = """
def loop(n):
    s = 0
    for i in range(n):
        s += i
    return s


def div(a, b):
    return a // b
"""


def test_profile_counts_calls_and_back_edges():
    vm = VM(compile_module(parse_module(SOURCE)))
    assert vm.call("loop", 5) == 10
    vm.call("loop", 3)
    assert vm.profile.calls["loop"] == 2
    assert sum(vm.profile.loops.values()) == 8
    assert "loop" in str(vm.profile)


def test_errors_carry_the_source_line():
    vm = VM(compile_module(parse_module(SOURCE, "prog.py")))
    with pytest.raises(ZeroDivisionError) as info:
        vm.call("div", 1, 0)
    assert any("line 10, in div" in note for note in info.value.__notes__)


def test_trace_prints_stack_then_instruction(capsys):
    vm = VM(compile_module(parse_module(SOURCE)), trace=True)
    vm.call("div", 7, 2)
    out = capsys.readouterr().out
    assert "[7, 2]" in out and "BINARY_FLOORDIV" in out


def test_every_opcode_has_a_vm_case():
    import inspect

    text = inspect.getsource(VM.run)
    assert all(text.count(f"op == {op.name}:") == 1 for op in OPCODES)
    assert len(Op) == len(OPCODES)


def test_powers_are_cpythons_and_complex_results_are_refused():
    vm = VM(compile_module(parse_module("def p(a, b):\n    return a ** b\n")))
    assert vm.call("p", 2, 10) == 1024
    assert vm.call("p", 2, -1) == 2**-1 and type(vm.call("p", 2, -2)) is float
    with pytest.raises(UnsupportedError, match="complex number"):
        vm.call("p", -8, 0.5)
    with pytest.raises(ZeroDivisionError) as error:
        vm.call("p", 0, -1)
    with pytest.raises(ZeroDivisionError) as expected:
        0**-1  # noqa: B018
    assert str(error.value) == str(expected.value)


def fact(n):
    return 1 if n <= 1 else n * fact(n - 1)


@pytest.mark.parametrize("tier", ["interp", "treewalk"])
@pytest.mark.parametrize("frontend", ["ast", "dis"])
def test_jit_matches_cpython(tier, frontend):
    f = jit(fact, tier=tier, frontend=frontend)
    assert f(25) == fact(25) and f.tier == tier
    if tier == "interp":
        assert "fact" in f.codes and f.profile.calls["fact"] == 25


def test_jit_decorator_forms_and_unknown_tier(capsys):
    assert jit(tier="treewalk")(fact)(5) == 120
    jit(fact).dis()
    assert "LOAD_FUNC" in capsys.readouterr().out
    with pytest.raises(ValueError, match="treewalk, interp, stack, ssa, auto, llvm, hostc"):
        jit(fact, tier="warp")


@pytest.mark.parametrize("tier", TIERS)
def test_every_tier_of_the_decorator_gives_exact_ints(tier):
    f = jit(fact, tier=tier)
    assert f(25) == fact(25)  # past int64: machine-code tiers hand back to exact ints
    assert f(20) == fact(20) and f.tier == tier


def test_deep_recursion_is_a_recursion_error():
    def down(n):
        return down(n + 1)

    for tier in ("interp", "treewalk"):
        with pytest.raises(RecursionError):
            jit(down, tier=tier)(0)


def test_replaced_handlers_run_instead_of_the_loop_cases():
    """`VM(handlers=...)`: the hook the exercises use. A deliberately wrong `<` shows that
    the replacement, not the loop's own case, runs."""
    calls = []

    def less_is_more(stack, arg, pc):
        calls.append(pc)
        right = stack.pop()
        stack[-1] = stack[-1] > right
        return pc

    def jump_if_false(stack, arg, pc):
        return arg if not stack.pop() else pc

    codes = compile_module(parse_module("def lt(a, b):\n    return 1 if a < b else 2\n"))
    vm = VM(codes, handlers={Op.COMPARE_LT: less_is_more, Op.JUMP_IF_FALSE: jump_if_false})
    assert (vm.call("lt", 1, 2), vm.call("lt", 2, 1)) == (2, 1)
    assert len(calls) == 2 and VM(codes).call("lt", 1, 2) == 1


def test_wrong_argument_count_is_a_type_error_like_cpython():
    vm = VM(compile_module(parse_module("def f(a, b):\n    return a + b\n")))
    with pytest.raises(TypeError, match=r"^f\(\) missing 1 required positional argument: 'b'$"):
        vm.call("f", 1)
    with pytest.raises(TypeError, match=r"^f\(\) takes 2 positional arguments but 3 were given$"):
        vm.call("f", 1, 2, 3)


def power_of_three(n):
    s = 1
    for _ in range(n):
        s = s * 3
    return s


def mixed_min(a):
    return min(a > 0, a)


def test_compiled_tiers_report_their_vm_profile_and_where_a_function_runs():
    f = jit(power_of_three, tier="ssa")
    assert f(100) == 3**100  # overflows at 3**40: the VM finishes the loop
    assert sum(f.profile.loops.values()) == 100 - 39 and f.running_tier() == "ssa"
    g = jit(mixed_min, tier="stack")
    assert g(5) is True and g.running_tier() == "interp"  # bool or int: left to the VM


def test_augmented_assignment_extends_a_list_in_place():
    source = "a = [1]\nb = a\na += [2]\nb *= 2\nprint(a, b)\n"
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        VM(compile_module(parse_module(source))).call("<module>")
    assert out.getvalue() == "[1, 2, 1, 2] [1, 2, 1, 2]\n"  # CPython's: one list, changed twice
