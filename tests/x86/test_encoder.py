"""Every row of the instruction table against keystone (same bytes for the same text) and
capstone (our bytes decode back to the same instruction), over every register, register
pair, awkward address and boundary immediate that selects the row."""

import pytest

from jitkit.errors import EncodeError
from jitkit.x86 import ROWS, eax, encode, qword, rax, rbx, rip, rsp
from jitkit.x86.encoder import encode_form, operand_bits
from jitkit.x86.oracles import capstone_disassemble, keystone_assemble, normalize
from tests.x86.cases import cases

ENCODABLE = [form for form in ROWS if not any(k.startswith("rel") for k in form.operands)]


@pytest.mark.parametrize("form", ENCODABLE, ids=lambda f: f"{f.syntax} ({f.encoding})")
def test_row_matches_keystone_and_capstone(form):
    operand_sets = cases(form)
    assert operand_sets, f"no operands select the row {form.syntax}: it is unreachable"
    bits = operand_bits(form)
    for ops in operand_sets:
        enc = encode_form(form, ops)
        text = enc.text()
        assert enc.data == keystone_assemble(text), f"{text}: ours {enc.data.hex()}"
        decoded = capstone_disassemble(enc.data)
        assert len(decoded) == 1 and decoded[0].data == enc.data, f"{text}: {decoded}"
        assert normalize(decoded[0].text, bits) == normalize(text, bits), (text, decoded[0].text)


def test_every_row_is_reachable_from_its_mnemonic():
    """No row is shadowed by an earlier one (relative rows are reached by the assembler)."""
    for form in ENCODABLE:
        assert cases(form), form.syntax


@pytest.mark.parametrize(
    "mnemonic, operands, message",
    [
        ("add", (rax, 2**40), "no form of 'add'"),
        ("mov", (qword(rax), qword(rbx)), "no form of 'mov'"),
        ("frobnicate", (rax,), "unknown instruction"),
    ],
)
def test_impossible_operands_raise_clear_errors(mnemonic, operands, message):
    with pytest.raises(EncodeError, match=message):
        encode(mnemonic, *operands)


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda: qword(rax, 0, rbx, 3), "scale must be 1, 2, 4 or 8"),
        (lambda: qword(rax, 0, rsp), "rsp cannot be an index"),
        (lambda: qword(eax), "use a 64-bit register"),
        (lambda: qword(rax, 2**31), "does not fit in 32 bits"),
        (lambda: qword(rip, 0, rax), "takes no index"),
        (lambda: qword(None, 0, None, 2), "a scale needs an index"),
    ],
)
def test_impossible_addresses_raise_clear_errors(build, message):
    with pytest.raises(EncodeError, match=message):
        build()
