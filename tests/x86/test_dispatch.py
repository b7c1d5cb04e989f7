"""The encoder finds rows by operand shape (issue 18); here, random operands of every shape
against the row search it replaced (tests/x86/encoder_before.py) and against keystone: the
same row or the same error, and keystone's bytes for the instruction's text. The shape cache
is shared across examples, so most lookups are hits on a row found for other operands."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jitkit.errors import EncodeError
from jitkit.x86 import FORMS, REGISTERS, ROWS, Assembler, Mem, eax, qword, rax, rbp
from jitkit.x86.encoder import clear_caches, encode_form, find_form, matches, operand_shape
from jitkit.x86.oracles import capstone_disassemble, keystone_assemble
from tests.x86 import encoder_before as before
from tests.x86.cases import BOUNDARY_DISPS, BOUNDARY_IMMS, IMM64, addresses, candidates

BASES = [r for r in REGISTERS.values() if r.bits == 64 and r.kind == "gpr"]
MNEMONICS = sorted(FORMS) + ["jz", "setnae", "cmovnle"]
EDGES = sorted({b + d for b in [0, 1, 127, 255, 2**31, 2**32, 2**63, 2**64] for d in (-1, 0, 1)})


def memory(bits: int) -> st.SearchStrategy[Mem]:
    plain = st.tuples(
        st.just(bits), st.sampled_from(BASES), st.none(), st.just(1),
        st.sampled_from(BOUNDARY_DISPS),
    )  # fmt: skip
    indexed = st.tuples(
        st.just(bits), st.sampled_from(BASES + [None]),
        st.sampled_from([r for r in BASES if r.name != "rsp"]), st.sampled_from([1, 2, 4, 8]),
        st.sampled_from(BOUNDARY_DISPS),
    )  # fmt: skip
    rip = st.tuples(
        st.just(bits), st.just(REGISTERS["rip"]), st.none(), st.just(1), st.integers(-99, 99)
    )
    return st.one_of(plain, indexed, rip).map(lambda fields: Mem(*fields))


OPERANDS = st.one_of(
    st.sampled_from(list(REGISTERS.values())),
    st.sampled_from([0, 8, 16, 32, 64, 128]).flatmap(memory),
    st.sampled_from(BOUNDARY_IMMS + IMM64 + EDGES + [-e for e in EDGES]),
    st.integers(-(2**65), 2**65),
    st.booleans(),
)


def near(kind: str, form) -> st.SearchStrategy:
    """An operand of `kind`'s own sort: a register, address or boundary value that may or may
    not select this row (an immediate too big for it, a register of another width)."""
    if kind.startswith("rel"):
        return st.sampled_from(EDGES + [-e for e in EDGES])
    return st.sampled_from(candidates(kind, form))


ANY = st.tuples(st.sampled_from(MNEMONICS), st.lists(OPERANDS, max_size=3).map(tuple))
NEAR_A_ROW = st.sampled_from(ROWS).flatmap(
    lambda form: st.tuples(
        st.just(form.mnemonic), st.tuples(*(near(k, form) for k in form.operands))
    )
)
INSTRUCTIONS = st.one_of(NEAR_A_ROW, ANY)


def outcome(find, mnemonic, operands):
    try:
        return find(mnemonic, operands)
    except EncodeError:
        return "EncodeError"


POOL = [
    *REGISTERS.values(),
    *(op for bits in (8, 16, 32, 64, 128) for op in addresses(bits)[::5]),
    *addresses(0)[::5],
    *BOUNDARY_IMMS, *IMM64, *EDGES, *(-e for e in EDGES),
]  # fmt: skip


def same_shape(op) -> st.SearchStrategy:
    """Another operand the dispatch cannot tell from `op` (rcx for rdx, 5 for 100)."""
    twins = [p for p in POOL if type(p) is type(op) and operand_shape(p) == operand_shape(op)]
    return st.sampled_from(twins) if twins else st.just(op)


@settings(max_examples=1000, deadline=None)
@given(INSTRUCTIONS, st.data())
def test_dispatch_finds_the_row_the_search_finds(instruction, data):
    """The row for `operands`, looked up right after the row for operands of the same shapes
    was searched and cached, is the row the old search finds for `operands` themselves."""
    mnemonic, operands = instruction
    twins = tuple(data.draw(same_shape(op)) for op in operands)
    clear_caches()
    outcome(find_form, mnemonic, twins)
    form = outcome(find_form, mnemonic, operands)
    assert form == outcome(before.find_form, mnemonic, operands), (twins, operands)
    if form == "EncodeError" or any(k.startswith("rel") for k in form.operands):
        return
    enc = encode_form(form, operands)
    assert enc.data == before.encode_form(form, operands).data
    assert enc.data == keystone_assemble(enc.text()), enc.text()
    assert [d.data for d in capstone_disassemble(enc.data)] == [enc.data]


def test_an_integer_lookalike_never_reuses_an_integers_encoding():
    """The assembler caches encodings by operands, and True == 1.0 == 1: after `add rax, 1`
    the others must still be refused, not encoded as 1."""
    a = Assembler().add(rax, 1).mov(qword(rbp, -8), 1)
    for mnemonic, operands in (("add", (rax, True)), ("add", (rax, 1.0))):
        with pytest.raises(EncodeError):
            getattr(a, mnemonic)(*operands)
        with pytest.raises(EncodeError):
            a.emit(mnemonic, *operands)
    with pytest.raises(EncodeError):
        a.mov(qword(rbp, -8), True)
    assert a.assemble().bytes == keystone_assemble("add rax, 1; mov qword ptr [rbp - 8], 1")


def test_equal_registers_made_apart_hash_and_compare_equal():
    """A Reg built by hand is the same operand as the kit's (the caches key on operands)."""
    from jitkit.x86 import Reg

    twin = Reg("eax", 0, 32)
    assert twin == eax and hash(twin) == hash(eax) and twin is not eax
    assert Reg("eax", 0, 32, "xmm") != eax
    assert Assembler().add(twin, 1).assemble().bytes == Assembler().add(eax, 1).assemble().bytes


def test_operands_of_one_shape_fit_the_same_kinds_of_every_row():
    """Why the dispatch is right: whether an operand fits a row's operand kind depends only
    on its shape. Every row, every operand kind, a pool of registers, addresses and integers
    (every one from -300 to 300 and around each power of two)."""
    ints = {*range(-300, 301), *EDGES, *(-e for e in EDGES)}
    ints |= {s * (2**k + d) for k in range(66) for d in (-1, 0, 1) for s in (1, -1)}
    pool = [op for op in POOL if type(op) is not int] + sorted(ints)
    classes: dict = {}
    for op in pool:
        classes.setdefault(operand_shape(op), []).append(op)
    assert len(classes) >= 20
    for form in ROWS:
        for kind in form.operands:
            for shape, ops in classes.items():
                fits = {matches(kind, op, form) for op in ops}
                assert len(fits) == 1, (form.syntax, kind, shape, ops[:5])
