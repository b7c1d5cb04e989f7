"""The stack tier does each piece of compile work once (issue #18): the bytecode is verified
once, the VM decodes a code only when it first runs it, and the depth the templates use is
the verifier's, read from the type analysis instead of computed again."""

from __future__ import annotations

import pytest

from jitkit.bytecode.code import Code
from jitkit.bytecode.compiler import compile_module
from jitkit.bytecode.opcodes import Op
from jitkit.bytecode.verify import stack_depths
from jitkit.errors import VerifyError
from jitkit.jitrt.types import analyse, analyse_module
from jitkit.lang.parse import parse_module
from jitkit.stackjit import stack_tier
from jitkit.vm.machine import VM
from tests.programs.test_programs import PROGRAMS

FIB = "def fib(n):\n    if n < 2:\n        return n\n    return fib(n - 1) + fib(n - 2)\n"


def codes_of(source: str) -> dict[str, Code]:
    return compile_module(parse_module(source))


def underflowing() -> dict[str, Code]:
    """A module whose one function pops from an empty stack."""
    code = Code("f", 0, [], consts=[], ops=[Op.POP, Op.RETURN], args=[0, 0], lines=[1, 1])
    return {"f": code}


def test_a_vm_of_unverified_codes_still_verifies():
    with pytest.raises(VerifyError, match="underflow"):
        VM(underflowing())
    with pytest.raises(VerifyError, match="underflow"):
        stack_tier(underflowing())


def test_verified_codes_are_not_verified_again(monkeypatch):
    import jitkit.vm.machine as machine

    calls = []
    monkeypatch.setattr(machine, "verify_module", lambda codes: calls.append(codes))
    codes = codes_of(FIB)
    assert stack_tier(codes, verified=True).call("fib", 20) == 6765
    assert calls == []
    VM(codes)
    assert calls == [codes]


def test_a_code_is_decoded_when_it_first_runs():
    codes = codes_of(FIB + "\ndef g(x):\n    return x + 1\n")
    vm = VM(codes, verified=True)
    assert dict(vm.plain_ops) == {}
    assert vm.call("g", 2) == 3
    assert set(vm.plain_ops) == {id(codes["g"])}
    assert vm.call("fib", 10) == 55
    assert set(vm.plain_ops) == {id(codes["g"]), id(codes["fib"])}


def test_code_that_runs_natively_is_never_decoded():
    tier = stack_tier(codes_of(FIB), verified=True)
    assert tier.call("fib", 25) == 75025
    assert tier.tier_of("fib") == "stack"
    assert dict(tier.vm.plain_ops) == {}


@pytest.mark.parametrize("path", PROGRAMS, ids=lambda p: p.stem)
def test_the_analysis_keeps_the_verifiers_depths(path):
    """`emit_function` reads each instruction's depth off the analysed stack: it must be the
    verifier's depth, and the same instructions reachable."""
    codes = codes_of(path.read_text())
    for name, types in analyse_module(codes, float_params=True).items():
        depths = [None if s is None else len(s.stack) for s in types.states]
        assert depths == stack_depths(codes[name]), name


@pytest.mark.parametrize("path", PROGRAMS, ids=lambda p: p.stem)
def test_an_analysis_reused_across_rounds_is_what_a_fresh_one_gives(path):
    """`analyse_module` keeps a function's analysis while its inputs stand: each kept one
    must equal a fresh analysis under the final return types."""
    codes = codes_of(path.read_text())
    result = analyse_module(codes, float_params=True)
    returns = {name: types.returns for name, types in result.items()}
    for name, types in result.items():
        params = tuple(
            (k, t)
            for k, t in enumerate(types.states[0].locals[: codes[name].argcount])
            if t != {"int"}
        )  # floats, and lists the module's calls pass
        fresh = analyse(codes[name], returns, params)
        assert fresh.states == types.states and fresh.returns == types.returns, name
