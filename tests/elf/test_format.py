"""Record layouts: sizes fixed by the ELF64 spec, pack/unpack round trips, the field table."""

import struct

import pytest

from jitkit.elf.format import EHDR, PHDR, RELA, SHDR, SYM, format_rows, r_info, st_info


@pytest.mark.parametrize(
    "layout, size", [(EHDR, 64), (PHDR, 56), (SHDR, 64), (SYM, 24), (RELA, 24)]
)
def test_record_sizes_match_the_spec(layout, size):
    assert layout.size == size == sum(f.size for f in layout.fields)


def test_pack_unpack_round_trip():
    values = {f.name: i + 1 for i, f in enumerate(PHDR.fields)}
    data = PHDR.pack(values)
    assert PHDR.unpack(data) == values
    assert data[:8] == struct.pack("<II", 1, 2)  # little-endian, no padding


def test_pack_names_missing_and_unknown_fields():
    values = {f.name: 0 for f in PHDR.fields}
    del values["p_align"]
    values["p_bogus"] = 1
    with pytest.raises(ValueError, match=r"missing \['p_align'\], unknown \['p_bogus'\]"):
        PHDR.pack(values)


def test_rows_carry_file_offsets():
    values = {f.name: 0 for f in PHDR.fields}
    rows = PHDR.rows(values, offset=64)
    assert [(r.offset, r.name) for r in rows][:3] == [
        (64, "p_type"),
        (68, "p_flags"),
        (72, "p_offset"),
    ]
    table = format_rows(rows)
    assert table.splitlines()[1].split()[:4] == ["0x40", "4", "p_type", "0x0"]


def test_packed_info_fields():
    assert st_info(1, 2) == 0x12
    assert r_info(5, 2) == (5 << 32) | 2
