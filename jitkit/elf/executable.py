"""An ELF64 executable writer (ET_EXEC) whose entry point is our own code (notebook 02).

Takes segments (bytes plus read/write/execute flags) and an entry address; gives an
`Image`: the file header and program headers as field records (the notebook prints them
as tables and draws the file layout) and the file's bytes. No section headers, no
interpreter, no libc: the kernel maps the PT_LOAD segments and jumps to `e_entry`.
`hello_world()` is the smallest useful program: two raw syscalls and a message, hand-encoded.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from jitkit.elf.format import (
    BASE_ADDRESS,
    EHDR,
    EM_X86_64,
    ET_EXEC,
    EV_CURRENT,
    IDENT,
    PAGE,
    PF_R,
    PF_W,
    PF_X,
    PHDR,
    PT_LOAD,
    SHDR,
    Row,
)

RX, RW, R = PF_R | PF_X, PF_R | PF_W, PF_R


@dataclass(frozen=True)
class Segment:
    """Bytes the kernel maps with `flags`; `memsize` beyond the bytes is zero-filled (bss)."""

    data: bytes
    flags: int = RX
    memsize: int | None = None
    name: str = ""

    @property
    def size_in_memory(self) -> int:
        return len(self.data) if self.memsize is None else max(self.memsize, len(self.data))


@dataclass(frozen=True)
class Placed:
    """Where a segment's bytes go: offset in the file and address in memory."""

    segment: Segment
    offset: int
    address: int


def headers_size(count: int) -> int:
    """Bytes before the first segment's contents: the file header and `count` program headers."""
    return EHDR.size + count * PHDR.size


def place(segments: list[Segment], base: int = BASE_ADDRESS) -> list[Placed]:
    """Lay segments out: the first right after the headers (which it maps too, as `ld` does),
    each next one in the file right after, in memory on a fresh page at the same page offset
    (the kernel maps whole pages, so p_offset and p_vaddr must agree modulo the page size)."""
    offset = headers_size(len(segments))
    address = base + offset
    out = []
    for segment in segments:
        out.append(Placed(segment, offset, address))
        end = address + segment.size_in_memory
        offset += len(segment.data)
        address = (end + PAGE - 1) // PAGE * PAGE + offset % PAGE
    return out


@dataclass
class Image:
    """An executable as records: header fields, one program header per segment, contents."""

    header: dict[str, int | bytes]
    program_headers: list[dict[str, int | bytes]]
    placed: list[Placed] = field(default_factory=list)

    def to_bytes(self) -> bytes:
        """The file: header, program headers, then each segment's bytes at its offset."""
        out = bytearray(EHDR.pack(self.header))
        for ph in self.program_headers:
            out += PHDR.pack(ph)
        for p in self.placed:
            out += bytes(p.offset - len(out)) + p.segment.data
        return bytes(out)

    def header_rows(self) -> list[Row]:
        """The file header field by field, at its file offsets."""
        return EHDR.rows(self.header, 0)

    def program_header_rows(self, index: int = 0) -> list[Row]:
        """Program header `index` field by field, at its file offsets."""
        return PHDR.rows(self.program_headers[index], EHDR.size + index * PHDR.size)

    def regions(self) -> list[tuple[int, int, str]]:
        """(start, end, what) for every part of the file, in file order."""
        out = [(0, EHDR.size, "ELF header")]
        for i in range(len(self.program_headers)):
            start = EHDR.size + i * PHDR.size
            out.append((start, start + PHDR.size, f"program header {i}"))
        for i, p in enumerate(self.placed):
            out.append((p.offset, p.offset + len(p.segment.data), p.segment.name or f"segment {i}"))
        return out

    def picture(self, width: int = 64) -> str:
        """The file layout as text: one line per region, a bar scaled to its size."""
        total = max(end for _, end, _ in self.regions())
        lines = []
        for start, end, what in self.regions():
            bar = "#" * max(1, round((end - start) * width / total))
            lines.append(f"{start:>#6x}..{end:<#6x} {end - start:>5} B  {bar:<{width}} {what}")
        return "\n".join(lines)


def build(segments: list[Segment], entry: int, base: int = BASE_ADDRESS) -> Image:
    """An executable image of `segments`, starting at virtual address `entry`."""
    placed = place(segments, base)
    program_headers = []
    for i, p in enumerate(placed):
        # the first segment also maps the headers, so it starts at file offset 0
        start = 0 if i == 0 else p.offset
        vaddr = p.address - (p.offset - start)
        filesz = p.offset - start + len(p.segment.data)
        memsz = p.offset - start + p.segment.size_in_memory
        program_headers.append(
            {
                "p_type": PT_LOAD,
                "p_flags": p.segment.flags,
                "p_offset": start,
                "p_vaddr": vaddr,
                "p_paddr": vaddr,
                "p_filesz": filesz,
                "p_memsz": memsz,
                "p_align": PAGE,
            }
        )
    header = {
        "e_ident": IDENT, "e_type": ET_EXEC, "e_machine": EM_X86_64, "e_version": EV_CURRENT,
        "e_entry": entry, "e_phoff": EHDR.size, "e_shoff": 0, "e_flags": 0,
        "e_ehsize": EHDR.size, "e_phentsize": PHDR.size, "e_phnum": len(segments),
        "e_shentsize": SHDR.size, "e_shnum": 0, "e_shstrndx": 0,
    }  # fmt: skip
    return Image(header, program_headers, placed)


def write_executable(segments: list[Segment], entry_offset: int = 0) -> bytes:
    """The bytes of an executable that starts `entry_offset` bytes into the first segment."""
    entry = place(segments)[0].address + entry_offset
    return build(segments, entry).to_bytes()


# --- hand-encoded programs ----------------------------------------------------------------------

HELLO = b"Hello, world!\n"


def hello_code(message: bytes = HELLO) -> list[tuple[bytes, str]]:
    """write(1, message, len); exit(0) as (bytes, Intel text) pairs, encoded by hand."""
    n = len(message)
    return [
        (bytes.fromhex("b8 01 00 00 00"), "mov eax, 1          ; system call 1: write"),
        (bytes.fromhex("bf 01 00 00 00"), "mov edi, 1          ; fd 1: stdout"),
        (bytes.fromhex("48 8d 35 10 00 00 00"), "lea rsi, [rip + 16]  ; the message, 16 B on"),
        (b"\xba" + n.to_bytes(4, "little"), f"mov edx, {n}         ; its length"),
        (bytes.fromhex("0f 05"), "syscall"),
        (bytes.fromhex("b8 3c 00 00 00"), "mov eax, 60         ; system call 60: exit"),
        (bytes.fromhex("31 ff"), "xor edi, edi        ; status 0"),
        (bytes.fromhex("0f 05"), "syscall"),
    ]


def hello_world(message: bytes = HELLO) -> Image:
    """The hand-made hello world: one read+execute segment holding code and message."""
    code = b"".join(b for b, _ in hello_code(message)) + message
    return build([Segment(code, RX, name="code + message")], place([Segment(code)])[0].address)


def exit_code(status: int) -> bytes:
    """exit(status) by hand: mov eax, 60; mov edi, status; syscall."""
    return b"\xb8\x3c\x00\x00\x00" + b"\xbf" + (status % 2**32).to_bytes(4, "little") + b"\x0f\x05"
