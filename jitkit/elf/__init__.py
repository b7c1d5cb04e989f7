"""ELF files by hand: executables with our own entry point, objects for `ld` (notebook 02).

Takes machine code (bytes, or `jitkit.x86` assemblers); gives ELF64 executables that run
with no libc and no loader (`executable`, `link`, `runtime`), relocatable objects that the
system linker combines with C (`relocatable`), and ways to run and inspect them (`run`,
`toolchain`). `format` holds every constant and record layout, in one place.
"""

from jitkit.elf.executable import Image, Segment, hello_world, write_executable
from jitkit.elf.link import LinkError, link
from jitkit.elf.measure import Measurement, measure
from jitkit.elf.relocatable import ObjectFile, write_object
from jitkit.elf.run import Result, run, save
from jitkit.elf.runtime import program, sample_program

__all__ = [
    "Image",
    "LinkError",
    "Measurement",
    "ObjectFile",
    "Result",
    "Segment",
    "hello_world",
    "link",
    "measure",
    "program",
    "run",
    "sample_program",
    "save",
    "write_executable",
    "write_object",
]
