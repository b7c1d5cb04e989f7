"""`x op= v`: the binary operator carries the in-place flag (`Code.inplace`) through both front
ends, the listing (`BINARY_ADD (+=)`, as CPython's dis shows `BINARY_OP (+=)`) and the
verifier; the VM runs CPython's in-place operator there."""

import pytest

from jitkit.bytecode.assemble import parse
from jitkit.bytecode.compiler import compile_module
from jitkit.bytecode.disasm import dis
from jitkit.bytecode.from_cpython import translate_module
from jitkit.bytecode.opcodes import Op
from jitkit.bytecode.verify import verify
from jitkit.errors import VerifyError
from jitkit.lang.parse import parse_module
from jitkit.vm.machine import VM

SOURCE = "def f(xs, n):\n    s = xs\n    s += [n]\n    s *= 2\n    return n - 1\n"


@pytest.mark.parametrize("front", ["ast", "dis"])
def test_both_front_ends_flag_the_augmented_operators_only(front):
    codes = compile_module(parse_module(SOURCE)) if front == "ast" else translate_module(SOURCE)
    code = codes["f"]
    flagged = sorted(Op(code.ops[pc]).name for pc in code.inplace)
    assert flagged == ["BINARY_ADD", "BINARY_MUL"]  # not the `n - 1`
    xs = [0]
    assert VM(codes).call("f", xs, 5) == 4 and xs == [0, 5, 0, 5]  # one list, changed in place
    text = dis(code)
    assert "BINARY_ADD        (+=)" in text and "BINARY_SUB\n" in text
    back = parse(text)
    assert (back.ops, back.inplace) == (code.ops, code.inplace)


def test_the_flag_is_checked():
    with pytest.raises(VerifyError, match=r"BINARY_ADD \(-=\): only \(\+=\)"):
        parse(
            "Disassembly of f(a):\n  LOAD_LOCAL (a)\n  LOAD_LOCAL (a)\n  BINARY_ADD (-=)\n  RETURN"
        )
    code = parse("Disassembly of f(a):\n  LOAD_LOCAL (a)\n  RETURN")
    code.inplace = {0}
    with pytest.raises(VerifyError, match="only a binary operator can be in place"):
        verify(code)
