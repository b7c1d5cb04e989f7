"""Instruction selection for lists: lengths, bounds checks, loads, stores (notebook 07).

Takes one list opcode (`jitkit.ssa.ops`, kind "memory") whose operands have locations; emits
x86-64 over the runtime's list header (`jitkit.jitrt.layout`: `LIST_LEN`, `LIST_CAP`,
`LIST_DATA`): `len` is one load, `check_index` an unsigned compare with the length after
adding it to a negative index, a load or store one `mov` through the data pointer (a byte
for a bool, 8 bytes for an int, `movsd` for a double). `new`, `repeat` and `append` call the
runtime's `list_new`/`list_grow` through `runtime_call`, which only the tier
(`jitkit.ssa.deopt`) can do: there the allocator has kept nothing in a caller-saved
register across them, and their operands and deopt state live past the call. Mixed into
`jitkit.ssa.select.Selector`, whose `loc`, `move`, `stub` and `label` it shares; rax, rcx,
rdx and r11 are its scratch registers as everywhere in selection.
"""

from __future__ import annotations

from jitkit.errors import UnsupportedError
from jitkit.jitrt.layout import (
    CTX_LIST_GROW,
    CTX_LIST_NEW,
    LIST_CAP,
    LIST_DATA,
    LIST_KIND_BOOL,
    LIST_KIND_FLOAT,
    LIST_KIND_INT,
    LIST_LEN,
)
from jitkit.ssa.ir import Const, Instr, Value, double_bits
from jitkit.ssa.ops import LIST_CALLS
from jitkit.x86 import Mem, Reg, gpr, qword, r8, r9, r11, rax, rcx, rdi, rdx, rsi
from jitkit.x86 import byte as byte_ptr

KIND_CODE = {"l": LIST_KIND_INT, "b": LIST_KIND_BOOL, "d": LIST_KIND_FLOAT}
SIZE = {"l": 8, "b": 1, "d": 8}
BYTES = 0x0101010101010101  # a bool byte times this fills a word with it


class ListSelection:
    """`emit_list(i)` for every list opcode."""

    def runtime_call(self, offset: int, i: Instr) -> None:
        """Call the runtime entry at context offset `offset` (the tier's business)."""
        raise UnsupportedError(f"${self.fn.name}: {i}: lists need the tier's runtime")  # type: ignore[attr-defined]

    def emit_list(self, i: Instr) -> None:
        op = i.op
        if op in LIST_CALLS:
            getattr(self, f"emit_{op[:-1]}")(i, op[-1])
        elif op == "len":
            base = self.list_base(i.args[0])
            self.into(i, qword(base, LIST_LEN))
        elif op == "check_index":
            self.emit_check_index(i)
        elif op.startswith("load"):
            self.emit_load(i, op[-1])
        else:
            self.emit_store(i, op[-1])

    # --- addressing -------------------------------------------------------------------------

    def list_base(self, xs: Value, scratch: Reg = r11) -> Reg:
        """A register holding the list's address (a spilled one is loaded into `scratch`)."""
        x = self.loc(xs)  # type: ignore[attr-defined]
        if isinstance(x, Reg):
            return x
        self.a.mov(scratch, x)  # type: ignore[attr-defined]
        return scratch

    def element(self, xs: Value, k: Value, kind: str) -> Mem:
        """The element's address: the data pointer into r11, the index a register or a
        displacement (a spilled index goes through rax)."""
        a = self.a  # type: ignore[attr-defined]
        a.mov(r11, qword(self.list_base(xs), LIST_DATA))
        index, size = self.loc(k), SIZE[kind]  # type: ignore[attr-defined]
        bits = 8 * size
        if isinstance(index, int):
            return Mem(bits, r11, None, 1, index * size)
        if not isinstance(index, Reg):
            a.mov(rax, index)
            index = rax
        return Mem(bits, r11, index, size, 0)

    def into(self, i: Instr, src: Mem) -> None:
        """Load a word into the result's location (through rax if it is spilled)."""
        dst = self.loc(i.result)  # type: ignore[attr-defined]
        if isinstance(dst, Reg):
            self.a.mov(dst, src)  # type: ignore[attr-defined]
        else:
            self.a.mov(rax, src).mov(dst, rax)  # type: ignore[attr-defined]

    # --- the opcodes ------------------------------------------------------------------------

    def emit_check_index(self, i: Instr) -> None:
        """k = i, plus len if i < 0; deopt unless k < len as unsigned numbers (a negative k,
        still negative after the addition, is a huge unsigned one)."""
        a, (xs, index) = self.a, i.args  # type: ignore[attr-defined]
        base, x = self.list_base(xs), self.loc(index)  # type: ignore[attr-defined]
        length = qword(base, LIST_LEN)
        if isinstance(x, int) and 0 <= x < 2**31:
            a.cmp(length, x).jbe(self.stub(i))  # type: ignore[attr-defined]
            self.move(self.loc(i.result), x)  # type: ignore[attr-defined]
            return
        a.mov(rax, x)
        if not isinstance(x, int):
            counted = self.label("index")  # type: ignore[attr-defined]
            a.test(rax, rax).jns(counted).add(rax, length).label(counted)
        elif x < 0:
            a.add(rax, length)
        a.cmp(rax, length).jae(self.stub(i))  # type: ignore[attr-defined]
        self.move(self.loc(i.result), rax)  # type: ignore[attr-defined]

    def emit_load(self, i: Instr, kind: str) -> None:
        a, address = self.a, self.element(*i.args, kind)  # type: ignore[attr-defined]
        dst = self.loc(i.result)  # type: ignore[attr-defined]
        if kind == "d" and isinstance(dst, Reg):
            a.movsd(dst, address)
        elif kind in "ld":
            self.into(i, address)
        elif isinstance(dst, Reg):
            a.movzx(gpr(dst.code, 32), address)
        else:
            a.movzx(gpr(rax.code, 32), address).mov(dst, rax)

    def emit_store(self, i: Instr, kind: str) -> None:
        xs, k, v = i.args
        a, address = self.a, self.element(xs, k, kind)  # type: ignore[attr-defined]
        x = self.loc(v)  # type: ignore[attr-defined]
        if isinstance(x, float):
            x = double_bits(x)
        if kind == "b":
            if isinstance(x, int):
                a.mov(address, x)
            elif isinstance(x, Reg):
                a.mov(address, gpr(x.code, 8))
            else:
                a.mov(rcx, x).mov(address, gpr(rcx.code, 8))
        elif isinstance(x, Reg) and x.kind == "xmm":
            a.movsd(address, x)
        elif isinstance(x, Reg) or (isinstance(x, int) and -(2**31) <= x < 2**31):
            a.mov(address, x)
        else:
            a.mov(rcx, x).mov(address, rcx)

    # --- calls into the runtime -------------------------------------------------------------

    def allocate(self, i: Instr, kind: str, length: Reg | int) -> None:
        """rax = list_new(kind, length), or deopt when the runtime has no memory."""
        self.a.mov(rsi, length).mov(rdi, KIND_CODE[kind])  # type: ignore[attr-defined]
        self.runtime_call(CTX_LIST_NEW, i)
        self.a.test(rax, rax).jz(self.stub(i))  # type: ignore[attr-defined]

    def fill(self, kind: str, value: Reg, count: Reg, data: Reg) -> None:
        """`count` elements at `data` (both clobbered) become `value` (a bool: its low byte,
        spread to a word, eight at a time)."""
        a = self.a  # type: ignore[attr-defined]
        loop, done = self.label("fill"), self.label("filled")  # type: ignore[attr-defined]
        if kind == "b":
            a.mov(r11, BYTES).imul(value, r11)
            tail = self.label("tail")  # type: ignore[attr-defined]
            a.mov(r11, count).shr(count, 3).jz(tail)
            a.label(loop).mov(qword(data, 0), value).add(data, 8).sub(count, 1).jnz(loop)
            a.label(tail).emit("and", r11, 7)
            a.jz(done)
            bytewise = self.label("bytes")  # type: ignore[attr-defined]
            a.label(bytewise).mov(byte_ptr(data, 0), gpr(value.code, 8)).add(data, 1)
            a.sub(r11, 1).jnz(bytewise)
        else:
            a.test(count, count).jz(done)
            a.label(loop).mov(qword(data, 0), value).add(data, 8).sub(count, 1).jnz(loop)
        a.label(done)

    def emit_new(self, i: Instr, kind: str) -> None:
        """A list of max(n, 0) elements (the runtime zeroes them), then each set to the fill
        value unless that is zero."""
        n, value = i.args
        a, count = self.a, self.loc(n)  # type: ignore[attr-defined]
        self.allocate(i, kind, count if isinstance(count, (Reg, int)) else self.spilled(count))
        if not (isinstance(value, Const) and double_bits(float(value.value)) == 0):
            a.mov(rdx, rax)
            self.move(rax, self.loc(value))  # type: ignore[attr-defined]
            a.mov(rcx, qword(rdx, LIST_LEN)).mov(rdi, qword(rdx, LIST_DATA))
            self.fill(kind, rax, rcx, rdi)
            a.mov(rax, rdx)
        self.move(self.loc(i.result), rax)  # type: ignore[attr-defined]

    def spilled(self, where: Mem) -> Reg:
        self.a.mov(rax, where)  # type: ignore[attr-defined]
        return rax

    def emit_repeat(self, i: Instr, kind: str) -> None:
        """`xs * n`: len(xs) * max(n, 0) elements (deopt past int64), then xs's elements
        again and again: one word filled when xs has one element (`[0] * n`), else copied
        with an index that wraps at len(xs)."""
        a, (xs, n) = self.a, i.args  # type: ignore[attr-defined]
        a.mov(rax, qword(self.list_base(xs), LIST_LEN))
        count = self.loc(n)  # type: ignore[attr-defined]
        a.mov(rcx, count)
        positive = self.label("times")  # type: ignore[attr-defined]
        a.test(rcx, rcx).jns(positive).xor(gpr(rcx.code, 32), gpr(rcx.code, 32))
        a.label(positive).imul(rax, rcx).jo(self.stub(i))  # type: ignore[attr-defined]
        self.allocate(i, kind, rax)
        done, general = self.label("repeated"), self.label("pattern")  # type: ignore[attr-defined]
        a.mov(rdx, rax).mov(rcx, qword(rdx, LIST_LEN)).test(rcx, rcx).jz(done)
        base = self.list_base(xs)
        a.mov(r8, qword(base, LIST_LEN)).mov(rsi, qword(base, LIST_DATA))
        a.mov(rdi, qword(rdx, LIST_DATA))
        a.cmp(r8, 1).jne(general)
        if kind == "b":
            a.movzx(gpr(rax.code, 32), byte_ptr(rsi, 0))
        else:
            a.mov(rax, qword(rsi, 0))
        self.fill(kind, rax, rcx, rdi)
        a.jmp(done)
        # ys[k] = xs[j], j = k mod len(xs): r9 is j, rcx counts down the elements left
        a.label(general).xor(gpr(r9.code, 32), gpr(r9.code, 32))
        loop, wrapped = self.label("copy"), self.label("wrap")  # type: ignore[attr-defined]
        size = SIZE[kind]
        src, dst = Mem(8 * size, rsi, r9, size, 0), Mem(8 * size, rdi, None, 1, 0)
        scratch = gpr(rax.code, 8) if kind == "b" else rax
        a.label(loop).mov(scratch, src).mov(dst, scratch).add(rdi, size).add(r9, 1)
        a.cmp(r9, r8).jne(wrapped).xor(gpr(r9.code, 32), gpr(r9.code, 32)).label(wrapped)
        a.sub(rcx, 1).jnz(loop)
        a.label(done).mov(rax, rdx)
        self.move(self.loc(i.result), rax)  # type: ignore[attr-defined]

    def emit_append(self, i: Instr, kind: str) -> None:
        """Room for one more (list_grow when len == cap: it may move the data, never the
        header), the element at len, len + 1."""
        a, (xs, v) = self.a, i.args  # type: ignore[attr-defined]
        base = self.list_base(xs)
        room = self.label("room")  # type: ignore[attr-defined]
        a.mov(rax, qword(base, LIST_LEN)).cmp(rax, qword(base, LIST_CAP)).jb(room)
        a.mov(rdi, base)
        self.runtime_call(CTX_LIST_GROW, i)
        a.test(rax, rax).jz(self.stub(i))  # type: ignore[attr-defined]
        base = self.list_base(xs)
        a.mov(rax, qword(base, LIST_LEN))
        a.label(room).mov(rdx, qword(base, LIST_DATA))
        size = SIZE[kind]
        address = Mem(8 * size, rdx, rax, size, 0)
        x = self.loc(v)  # type: ignore[attr-defined]
        if isinstance(x, float):
            x = double_bits(x)
        if isinstance(x, Reg) and x.kind == "xmm":
            a.movsd(address, x)
        elif kind == "b":
            if isinstance(x, int):
                a.mov(address, x)
            else:
                a.mov(rcx, x).mov(address, gpr(rcx.code, 8))
        elif isinstance(x, Reg) or (isinstance(x, int) and -(2**31) <= x < 2**31):
            a.mov(address, x)
        else:
            a.mov(rcx, x).mov(address, rcx)
        a.add(rax, 1).mov(qword(base, LIST_LEN), rax)
