"""The assembler against keystone on whole programs: labels, forward and backward jumps that
relax from rel8 to rel32 at the same boundaries, data, relocations; and random instruction
sequences drawn from every table row (hypothesis), decoded back by capstone."""

import functools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jitkit.errors import EncodeError
from jitkit.x86 import CONDITIONS, ROWS, Assembler, mem, qword, rax, rdi, rsi
from jitkit.x86.encoder import operand_bits
from jitkit.x86.oracles import capstone_disassemble, keystone_assemble, normalize
from tests.x86.cases import cases

JUMPS = ["jmp", "call"] + [f"j{cc}" for cc in CONDITIONS]


def program(jump: str, before: int, after: int, label_first: bool) -> Assembler:
    """`jump` to a label `before`/`after` nops away: a backward or a forward reference."""
    a = Assembler()
    if label_first:
        a.label("target")
    for _ in range(before):
        a.nop()
    a.emit(jump, "target")
    for _ in range(after):
        a.nop()
    if not label_first:
        a.label("target")
    a.ret()
    return a


@pytest.mark.parametrize("jump", JUMPS)
@pytest.mark.parametrize("distance", [0, 1, 125, 126, 127, 128, 129, 130, 300])
@pytest.mark.parametrize("label_first", [True, False], ids=["backward", "forward"])
def test_jumps_relax_like_keystone(jump, distance, label_first):
    code = program(jump, distance if label_first else 0, 0 if label_first else distance,
                   label_first).assemble()  # fmt: skip
    assert code.bytes == keystone_assemble(code.source())
    jump_line = next(line for line in code.lines if line.text.startswith(jump))
    decoded = capstone_disassemble(jump_line.data, jump_line.offset)[0]
    assert normalize(decoded.text) == normalize(jump_line.text.replace("target",
                                                hex(code.labels["target"])))  # fmt: skip


def test_short_jump_is_chosen_where_it_fits():
    near = program("jne", 0, 127, False).assemble()
    far = program("jne", 0, 128, False).assemble()
    assert near.bytes[:1] == b"\x75" and far.bytes[:2] == b"\x0f\x85"


def test_labels_data_and_rip_relative_references():
    a = Assembler()
    a.lea(rsi, mem(label="message")).mov(rax, qword(label="number")).ret()
    a.data(b"hi\n", label="message").align(8).label("number").quad(-2)
    code = a.assemble()
    # lea rsi, [rip + d]: d is measured from the end of the lea
    assert int.from_bytes(code.bytes[3:7], "little", signed=True) == code.labels["message"] - 7
    assert code.bytes[code.labels["number"] :] == (2**64 - 2).to_bytes(8, "little")
    assert code.bytes[:14] == keystone_assemble(
        f"lea rsi, [rip + {code.labels['message'] - 7}]\n"
        f"mov rax, qword ptr [rip + {code.labels['number'] - 14}]"
    )


def test_undefined_labels_become_relocations_with_psabi_addends():
    a = Assembler()
    a.call("puts").lea(rdi, mem(label="table")).cmp(qword(label="flag"), 1).mov(rax, "entry")
    a.quad("entry")
    code = a.assemble(externals=True)
    kinds = [(r.kind, r.symbol, r.offset, r.addend) for r in code.relocations]
    assert kinds == [
        ("R_X86_64_PLT32", "puts", 1, -4),
        ("R_X86_64_PC32", "table", 8, -4),
        ("R_X86_64_PC32", "flag", 15, -5),  # an imm8 follows the disp32: P is 5 bytes before
        ("R_X86_64_64", "entry", 22, 0),
        ("R_X86_64_64", "entry", 30, 0),
    ]
    with pytest.raises(EncodeError, match="undefined label 'puts'"):
        a.assemble()


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda a: a.label("x").label("x"), "defined twice"),
        (lambda a: a.mov(rax, rdi, rsi), "no form of 'mov'"),
        (lambda a: a.add(rax, 2**33), "no form of 'add'"),
        (lambda a: a.ret(rax), "no form of 'ret'"),
        (lambda a: a.add(rax, "x"), "cannot take a label"),
    ],
)
def test_errors_point_at_the_instruction_that_caused_them(build, message):
    with pytest.raises(EncodeError, match=message):
        build(Assembler())


def test_keyword_mnemonics_take_a_trailing_underscore():
    a = Assembler()
    a.and_(rax, rdi).or_(rax, 1).not_(rax)
    assert a.assemble().bytes == keystone_assemble("and rax, rdi; or rax, 1; not rax")


def test_unknown_mnemonic_is_an_attribute_error():
    with pytest.raises(AttributeError, match="frob"):
        Assembler().frob(rax)


def test_listing_shows_offsets_bytes_text_and_labels():
    a = Assembler()
    a.mov(rax, 0).label("loop").add(rax, rdi).dec(rdi).jnz("loop").ret()
    assert a.assemble().listing().splitlines() == [
        "  0000  48 c7 c0 00 00 00 00           mov rax, 0",
        "loop:",
        "  0007  48 01 f8                       add rax, rdi",
        "  000a  48 ff cf                       dec rdi",
        "  000d  75 f8                          jne loop",
        "  000f  c3                             ret",
    ]


# --- random sequences --------------------------------------------------------------------------

ENCODABLE = [f for f in ROWS if not any(k.startswith("rel") for k in f.operands)]


@functools.cache
def row_cases(index: int) -> list[tuple]:
    return cases(ENCODABLE[index])


@st.composite
def instructions(draw):
    if draw(st.integers(0, 5)) == 0:
        return ("jump", draw(st.sampled_from(JUMPS)), draw(st.integers(0, 3)))
    index = draw(st.integers(0, len(ENCODABLE) - 1))
    ops = draw(st.sampled_from(row_cases(index)))
    return ("insn", ENCODABLE[index], ops)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(instructions(), min_size=1, max_size=60), st.data())
def test_random_sequences_match_keystone_and_capstone(items, data):
    a = Assembler()
    labels = [f"L{i}" for i in range(4)]
    placed = set()
    widths = []  # operand width of each emitted instruction, for comparing immediates
    for kind, what, arg in items:
        if kind == "jump":
            a.emit(what, labels[arg])
            widths.append(64)
        else:
            a.emit(what.mnemonic, *arg)
            widths.append(operand_bits(what))
        if data.draw(st.booleans()) and len(placed) < len(labels):
            name = labels[len(placed)]
            a.label(name)
            placed.add(name)
    for name in labels:
        if name not in placed:
            a.label(name)
    a.ret()
    widths.append(64)
    code = a.assemble()
    assert code.bytes == keystone_assemble(code.source())
    decoded = capstone_disassemble(code.bytes)
    rows = [line for line in code.lines if line.data]
    assert [d.data for d in decoded] == [line.data for line in rows]
    for d, line, width in zip(decoded, rows, widths, strict=True):
        text = line.text
        mnemonic, _, target = text.partition(" ")
        if target in code.labels:
            text = f"{mnemonic} {code.labels[target]:#x}"
        assert normalize(d.text, width) == normalize(text, width), (d.text, line.text)


def test_an_operand_that_is_no_operand_is_a_clear_error():
    with pytest.raises(EncodeError, match=r"not \(Reg, list\)"):
        Assembler().mov(rax, [1])
