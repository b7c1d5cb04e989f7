"""Every verifier rule has a failing example; good code passes and gets its stack size."""

import pytest

from jitkit.bytecode.code import Code
from jitkit.bytecode.opcodes import Op
from jitkit.bytecode.verify import verify, verify_module
from jitkit.errors import VerifyError

C, L, F = Op.LOAD_CONST, Op.LOAD_LOCAL, Op.LOAD_FUNC


def code(*instrs, consts=(0,), varnames=("a",), argcount=0, names=()):
    ops = [i[0] for i in instrs]
    args = [i[1] if len(i) > 1 else 0 for i in instrs]
    return Code("f", argcount, list(varnames), list(consts), list(names), ops, args, [1] * len(ops))


def test_good_code_passes_and_gets_stack_size():
    c = code((C, 0), (C, 0), (Op.BINARY_ADD,), (Op.RETURN,))
    verify(c)
    assert c.stacksize >= 2


BAD = {
    "unknown opcode": code((999,), (Op.RETURN,)),
    "operand not int": code((C, 0.5), (Op.RETURN,)),
    "const out of range": code((C, 1), (Op.RETURN,)),
    "local out of range": code((L, 1), (Op.RETURN,)),
    "name out of range": code((F, 0), (Op.RETURN,)),
    "jump past the end": code((C, 0), (Op.JUMP, 5), (Op.RETURN,)),
    "negative jump": code((C, 0), (Op.JUMP, -1), (Op.RETURN,)),
    "backward JUMP": code((C, 0), (Op.POP,), (Op.JUMP, 0)),
    "forward JUMP_BACKWARD": code((C, 0), (Op.JUMP_BACKWARD, 2), (Op.RETURN,)),
    "underflow": code((Op.BINARY_ADD,), (Op.RETURN,)),
    "COPY too deep": code((C, 0), (Op.COPY, 2), (Op.RETURN,)),
    "zero depth": code((C, 0), (Op.SWAP, 0), (Op.RETURN,)),
    "negative count": code((C, 0), (Op.CALL, -1), (Op.RETURN,)),
    "inconsistent depth": code((C, 0), (Op.JUMP_IF_FALSE, 3), (C, 0), (C, 0), (Op.RETURN,)),
    "falls off the end": code((C, 0), (Op.POP,)),
    "CALL of an int": code((C, 0), (Op.CALL, 0), (Op.RETURN,)),
    "function as an operand": code((F, 0), (C, 0), (Op.BINARY_ADD,), (Op.RETURN,), names=("f",)),
    "function stored": code((F, 0), (Op.STORE_LOCAL, 0), (C, 0), (Op.RETURN,), names=("f",)),
    "function on one path only": code(
        (C, 0),
        (Op.JUMP_IF_FALSE, 4),
        (F, 0),
        (Op.JUMP, 5),
        (C, 0),
        (Op.POP,),
        (C, 0),
        (Op.RETURN,),
        names=("f",),
    ),
    "empty": code(),
    "argcount exceeds locals": code((C, 0), (Op.RETURN,), argcount=2),
    "list constant": code((C, 0), (Op.RETURN,), consts=([1],)),
    "complex constant": code((C, 0), (Op.RETURN,), consts=(1j,)),
}


@pytest.mark.parametrize("name", BAD)
def test_verifier_rejects(name):
    with pytest.raises(VerifyError):
        verify(BAD[name])


def test_module_rejects_unknown_callee():
    c = code((F, 0), (Op.CALL, 0), (Op.RETURN,), names=["nowhere"])
    with pytest.raises(VerifyError, match="nowhere"):
        verify_module({"f": c})


def test_verify_uses_the_stack_depths_it_is_given():
    from jitkit.bytecode.verify import stack_depths

    seen = []

    def depths(c):
        seen.append(c.name)
        return stack_depths(c)

    good = code((C, 0), (C, 0), (Op.BINARY_ADD,), (Op.RETURN,))
    verify(good, depths=depths)
    assert seen == ["f"] and good.stacksize == 3
    with pytest.raises(VerifyError, match="always wrong"):
        verify(good, depths=lambda c: (_ for _ in ()).throw(VerifyError("always wrong")))
