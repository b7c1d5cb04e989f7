"""Tiered execution: functions start in the VM, hot ones move to the stack tier, hotter ones
to the SSA tier, and the answers never change."""

import re
import textwrap

from jitkit.bytecode.compiler import compile_module
from jitkit.lang.parse import parse_module
from jitkit.tiering import AutoTier, Thresholds

SOURCE = textwrap.dedent("""
    def fib(n):
        if n < 2:
            return n
        return fib(n - 1) + fib(n - 2)

    def total(n):
        s = 0
        for i in range(n):
            s += i
        return s

    def grow(n):
        x = 1
        for i in range(n):
            x = x * 3
        return x

    def mixed(n):
        if n:
            return True
        return 5
""")


def auto(**thresholds) -> AutoTier:
    return AutoTier(compile_module(parse_module(SOURCE)), Thresholds(**thresholds))


def test_a_function_is_promoted_after_enough_calls():
    tier = auto(calls=3)
    results = [tier.call("total", 10) for _ in range(5)]
    assert results == [45] * 5
    assert tier.tier_of("total") == "stack"
    assert tier.events == ["total: promoted to the stack tier after 3 calls"]


def test_recursive_calls_from_vm_code_switch_to_machine_code_mid_run():
    tier = auto(calls=20, ssa=10**9)
    assert tier.call("fib", 20) == 6765
    assert tier.tier_of("fib") == "stack"
    assert tier.vm.profile.calls["fib"] < 100  # the other ~21,000 calls ran natively


def test_a_hot_loop_promotes_its_function_for_the_next_call():
    tier = auto(calls=10**9, loops=100)
    assert tier.call("total", 500) == sum(range(500))
    assert tier.tier_of("total") == "stack"
    assert tier.call("total", 500) == sum(range(500))


def test_deopt_in_promoted_code_still_gives_pythons_answer():
    tier = auto(calls=1)
    assert tier.call("grow", 100) == 3**100


def test_functions_the_tier_cannot_compile_fall_back_with_a_reason():
    tier = auto(calls=1)
    assert [tier.call("mixed", n) for n in (1, 0, 1)] == [True, 5, True]
    assert tier.tier_of("mixed") == "interp"
    assert "bool or int" in tier.fallbacks["mixed"]


def test_auto_climbs_from_the_vm_to_the_stack_tier_to_the_ssa_tier():
    tier = AutoTier(
        compile_module(parse_module("def f(n):\n    return n * n + 1\n")), Thresholds(3, ssa=4)
    )
    seen = []
    for k in range(10):
        assert tier.call("f", k) == k * k + 1
        seen.append(tier.tier_of("f"))
    assert seen[0] == "interp" and "stack" in seen and seen[-1] == "ssa"
    assert tier.events == [
        "f: promoted to the stack tier after 3 calls",
        "f: promoted to the SSA tier after 4 stack-tier calls and loop trips",
    ]


def test_recursion_promoted_mid_run_reaches_the_ssa_tier():
    tier = auto(calls=5, ssa=3)
    assert tier.call("fib", 18) == 2584
    assert tier.tier_of("fib") == "ssa"
    promoted = re.fullmatch(
        r"fib: promoted to the SSA tier after (\d+) stack-tier calls and loop trips",
        tier.events[-1],
    )
    assert promoted and int(promoted.group(1)) >= 3


def test_native_entries_count_towards_the_ssa_tier():
    """The template code counts its own entries, recursive ones included: one long call on
    the stack tier is enough for the next call to run optimized code."""
    tier = auto(calls=1)  # Thresholds.ssa stays at its default
    assert tier.call("fib", 15) == 610
    assert tier.tier_of("fib") == "stack" and tier.native.calls_of("fib") > tier.thresholds.ssa
    assert tier.call("fib", 16) == 987
    assert tier.tier_of("fib") == "ssa"


def test_loop_trips_in_stack_code_count_towards_the_ssa_tier():
    tier = auto(calls=10**9, loops=100)  # promoted to the stack tier by its loop
    assert tier.call("total", 500) == sum(range(500))
    assert tier.call("total", 500) == sum(range(500))  # runs natively: 500 more trips
    assert tier.native.calls_of("total") >= 500
    assert tier.call("total", 10) == 45 and tier.tier_of("total") == "ssa"
