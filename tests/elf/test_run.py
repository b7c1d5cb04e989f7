"""Running produced executables, measuring start-up, and the oracle itself: a damaged
file must be caught by the well-formedness check, or the other tests prove nothing."""

import sys

import pytest

from jitkit.elf.executable import Segment, exit_code, hello_world, write_executable
from jitkit.elf.format import EHDR, PHDR
from jitkit.elf.measure import measure, peak_rss_kib
from jitkit.elf.run import run, save
from tests.elf.wellformed import check


def test_run_accepts_bytes_images_and_paths(tmp_path):
    path = save(hello_world(), tmp_path / "hello")
    assert path.stat().st_mode & 0o777 == 0o755
    outputs = {run(x).stdout for x in (hello_world(), hello_world().to_bytes(), path, str(path))}
    assert outputs == {b"Hello, world!\n"}


def test_run_passes_argv0_and_arguments():
    import jitkit.elf.runtime as rt

    result = run(rt.sample_program(), ["x"], argv0="zero")
    assert result.stdout.startswith(b"zero\nx\n")


def test_measure_reports_time_and_memory(tmp_path):
    hello = save(hello_world(), tmp_path / "hello")
    m = measure([str(hello)], repeat=3)
    assert 0 < m.seconds < 1
    python = peak_rss_kib([sys.executable, "-c", "x = bytearray(64 << 20)"])
    assert python > 64 * 1024  # the 64 MiB it touched, counted for the child only
    assert peak_rss_kib([str(hello)]) < 1024  # not this Python's 15+ MB inherited through fork


def test_measure_needs_an_existing_program():
    with pytest.raises(FileNotFoundError):
        peak_rss_kib(["no-such-program-jitkit"])


def damaged(field: str, value: int) -> bytes:
    """The exit(0) executable with one header field overwritten."""
    data = bytearray(write_executable([Segment(exit_code(0))]))
    for layout, base in ((EHDR, 0), (PHDR, EHDR.size)):
        for row in layout.rows(layout.unpack(bytes(data), base), base):
            if row.name == field:
                data[row.offset : row.offset + row.size] = value.to_bytes(row.size, "little")
                return bytes(data)
    raise KeyError(field)


@pytest.mark.parametrize(
    "field, value",
    [("e_phentsize", 40), ("p_filesz", 1 << 20), ("e_shoff", 4096), ("e_shnum", 3)],
)
def test_the_oracle_catches_damaged_files(field, value, tmp_path):
    with pytest.raises(AssertionError, match="readelf complains"):
        check(save(damaged(field, value), tmp_path / "bad"))
