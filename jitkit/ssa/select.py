"""Instruction selection for the computing opcodes of allocated SSA (notebook 07).

Takes one instruction whose operands and result have locations (`Allocation`: a register, a
spill slot or a constant); emits x86-64 that works on those locations directly (`add rbx,
r12`, `cmp rsi, 10`, `lea rdi, [rbx - 1]`), with immediates where they fit and a comparison
left in the flags for the branch or guard right after it. Checked (`_ovf`) opcodes and guards
jump to `stub(i)`, the deopt code the subclass provides. rax, rcx, rdx and r11 are never
allocated: they are the scratch registers of division, shifts and moves.
"""

from __future__ import annotations

from jitkit.errors import UnsupportedError
from jitkit.ssa.ir import Const, Function, Global, Instr, Temp, Value
from jitkit.ssa.memory import ListSelection
from jitkit.ssa.ops import OPS
from jitkit.ssa.regalloc import Allocation, Slot
from jitkit.ssa.sse import ORDERED, DoubleSelection
from jitkit.x86 import REGISTERS, Assembler, Mem, gpr, qword, r11, rax, rbp, rcx, rdx
from jitkit.x86.operands import Reg

ALU = {"add": "add", "sub": "sub", "and": "and", "or": "or", "xor": "xor", "mul": "imul"}
ALU.update({"add_ovf": "add", "sub_ovf": "sub", "mul_ovf": "imul"})
CHECKED_IF = {"add_ovf_if": "add", "sub_ovf_if": "sub", "mul_ovf_if": "imul"}
UNDO = {"add_ovf": "sub", "sub_ovf": "add"}  # the inverse of a checked op that overflowed
SHIFTS = {"shl": "shl", "sar": "sar", "shr": "shr"}
CONDITION = {"eq": "e", "ne": "ne", "lt": "l", "le": "le", "gt": "g", "ge": "ge"}
NEGATED = {"e": "ne", "ne": "e", "l": "ge", "ge": "l", "le": "g", "g": "le"}
NEGATED.update({"a": "be", "be": "a", "ae": "b", "b": "ae"})  # after ucomisd (doubles)
DOUBLE = {name for name, op in OPS.items() if op.result == "f64" or op.operand == "f64"}
SWAPPED = {"e": "e", "ne": "ne", "l": "g", "g": "l", "le": "ge", "ge": "le"}
Operand = Reg | Mem | int | float
TWO = Const(2.0)


def imm32(x: object) -> bool:
    return isinstance(x, int) and -(2**31) <= x < 2**31


class Selector(ListSelection, DoubleSelection):
    """One function's instructions; `prefix` makes its labels unique in a shared assembler.
    Doubles are `DoubleSelection`'s (SSE2)."""

    def __init__(self, fn: Function, alloc: Allocation, a: Assembler, prefix: str) -> None:
        self.fn, self.alloc, self.a, self.prefix = fn, alloc, a, prefix
        self.saved = alloc.used_callee_saved()
        self.uses: dict[Temp, int] = {}
        for _, i in fn.instrs():
            for v in i.uses():
                if isinstance(v, Temp):
                    self.uses[v] = self.uses.get(v, 0) + 1
        self.fused: str | None = None  # condition code of a comparison left in the flags
        self.cold: list[tuple[str, Operand | Instr, str, str]] = []  # see `emit_cold`
        self.count = 0

    # --- locations ----------------------------------------------------------------------------

    def slot(self, index: int) -> Mem:
        """Spill slot `index`, below the saved registers."""
        return qword(rbp, -8 * (len(self.saved) + 1 + index))

    def loc(self, v: Value) -> Operand:
        """A value's operand: a register, a stack slot, an int or a double."""
        if isinstance(v, Const):
            return v.value
        if isinstance(v, Global):
            raise UnsupportedError(f"${self.fn.name}: {v} used as a value")
        where = self.alloc.location[v]
        return self.slot(where.index) if isinstance(where, Slot) else REGISTERS[where]

    def source(self, v: Value, scratch: Reg) -> Operand:
        """An ALU source operand: a register, memory, or an imm32 (else loaded to `scratch`)."""
        x = self.loc(v)
        if isinstance(x, int) and not imm32(x):
            self.a.mov(scratch, x)
            return scratch
        return x

    def move(self, dst: Operand, src: Operand) -> None:
        a = self.a
        if dst == src and type(dst) is type(src):
            return
        if self.move_double(dst, src):
            return
        if isinstance(dst, Reg) and src == 0:
            a.xor(gpr(dst.code, 32), gpr(dst.code, 32))
        elif isinstance(dst, Mem) and (
            isinstance(src, Mem) or not (imm32(src) or isinstance(src, Reg))
        ):
            a.mov(r11, src).mov(dst, r11)
        else:
            a.mov(dst, src)

    def label(self, what: str) -> str:
        self.count += 1
        return f"{self.prefix}/{what}{self.count}"

    def block_label(self, label: str) -> str:
        return f"{self.prefix}@{label}"

    # --- instructions ---------------------------------------------------------------------

    def fusable(self, i: Instr, following: Instr | None) -> bool:
        """A comparison whose only use is the branch or guard right after it."""
        return (
            (i.op in CONDITION or i.op in ORDERED)
            and following is not None
            and following.op in ("br", "guard", "select")
            and following.args[0] == i.result
            and self.uses.get(i.result, 0) == 1  # type: ignore[arg-type]
        )

    def fuse_test(self, i: Instr, compare: Instr, following: Instr | None) -> bool:
        """`%t = and %x, C` then `%c = eq/ne %t, 0` then a branch on %c, each the only use
        of the one before: one `test x, C` leaves the flags for the branch."""
        if i.op != "and" or compare.op not in ("eq", "ne") or not self.fusable(compare, following):
            return False
        x, mask = i.args if isinstance(i.args[1], Const) else i.args[::-1]
        zero = compare.args[1] if compare.args[0] == i.result else compare.args[0]
        if not (isinstance(mask, Const) and imm32(mask.value) and zero == Const(0)):
            return False
        if i.result not in compare.args or self.uses.get(i.result, 0) != 1:  # type: ignore[arg-type]
            return False
        where = self.loc(x)
        if isinstance(where, int):
            return False
        self.a.test(where, mask.value)
        self.fused = CONDITION[compare.op]
        return True

    # instr ::= one case per opcode family
    def emit_instr(self, i: Instr, following: Instr | None) -> None:
        op = i.op
        if i.result in self.alloc.lazy:
            return  # compared again in the cold test of each check it guards
        if OPS[op].memory:  # lists: jitkit.ssa.memory
            self.emit_list(i)
            return
        if op == "fmul" and TWO in i.args:  # 2x as x + x: exact, and fadd has the shorter
            x = i.args[1] if i.args[0] == TWO else i.args[0]  # latency (mandel's 2 * zr * zi)
            here = self.loc(i.result)  # type: ignore[arg-type]
            if isinstance(here, Reg) and here == self.loc(x):
                self.a.emit("addsd", here, here)  # in place: x ends here
            else:
                self.emit_double(Instr("fadd", [x, x], i.result, i.type), fuse=False)
        elif op in DOUBLE and op not in ("copy", "phi", "select", "call", "print", "ret"):
            self.emit_double(i, fuse=self.fusable(i, following))
        elif op == "select":
            self.emit_select(i)
        elif op in CHECKED_IF:
            self.emit_checked_if(i)
        elif op in CONDITION:
            self.emit_compare(i, fuse=self.fusable(i, following))
        elif op in ALU:
            self.emit_alu(i)
        elif op in ("neg", "neg_ovf"):
            dst = self.target(i)
            self.move(dst, self.loc(i.args[0]))
            self.a.neg(dst)
            if op == "neg_ovf":
                self.a.jo(self.stub(i))
            self.move(self.loc(i.result), dst)  # type: ignore[arg-type]
        elif op in SHIFTS:
            self.emit_shift(i)
        elif op in ("copy", "zext"):  # a bool is 0 or 1 in all 64 bits already
            self.move(self.loc(i.result), self.loc(i.args[0]))  # type: ignore[arg-type]
        elif op == "umulh":  # mul r/m64: rdx:rax = rax * operand (a constant goes in rax)
            x, y = (self.loc(v) for v in i.args)
            if isinstance(x, int) or not isinstance(y, int):
                x, y = y, x
            self.a.mov(rax, y)
            if isinstance(x, int):
                self.a.mov(r11, x)
                x = r11
            self.a.mul(x)
            self.move(self.loc(i.result), rdx)  # type: ignore[arg-type]
        elif op in ("div", "mod", "div_ovf", "mod_ovf"):
            self.emit_division(i)
        elif op in ("udiv32", "umod32"):  # both in [0, 2**32): div r32 is several times faster
            self.a.mov(rax, self.loc(i.args[0])).mov(r11, self.loc(i.args[1]))
            self.a.xor(REGISTERS["edx"], REGISTERS["edx"]).div(REGISTERS["r11d"])
            self.move(self.loc(i.result), rdx if op == "umod32" else rax)  # type: ignore[arg-type]
        elif op == "guard":
            self.emit_guard(i)
        else:
            self.emit_effect(i)

    def emit_effect(self, i: Instr) -> None:
        """`call`, `print` and anything else that needs a runtime: a subclass's business."""
        raise UnsupportedError(f"${self.fn.name}: {i}: needs the tier's runtime (deopt, print)")

    def stub(self, i: Instr, undo: tuple | None = None) -> str:
        """The label of the code that deoptimizes at `i` (after the instruction `undo`)."""
        raise UnsupportedError(f"${self.fn.name}: {i}: deopt needs the tier's runtime")

    def target(self, i: Instr) -> Reg:
        """Where to compute `i`: its own register, unless that is one of its other operands
        or (for a checked op) a value the deopt stub still reads; else rax."""
        dst = self.loc(i.result)  # type: ignore[arg-type]
        if not isinstance(dst, Reg):
            return rax
        others = [self.loc(v) for v in i.args[1:]]
        if i.deopt is not None:
            others += [self.loc(v) for v in (*i.deopt.locals, *i.deopt.stack)]
        return rax if dst in others else dst

    def emit_alu(self, i: Instr) -> None:
        a, (x, y) = self.a, i.args
        if OPS[i.op].commutative and (
            isinstance(x, Const) or self.loc(y) == self.loc(i.result) != self.loc(x)  # type: ignore[arg-type]
        ):
            x, y = y, x  # the constant second (an immediate), or compute in y's register
        here, there = self.loc(i.result), self.loc(y)  # type: ignore[arg-type]
        if i.op in UNDO and isinstance(here, Reg) and here == self.loc(x) != there:
            # x ends here, in the result's register, but the deopt state still names it: add
            # in place and let the stub subtract again (two's complement undoes exactly)
            src = self.source(y, r11)
            a.emit(ALU[i.op], here, src).jo(self.stub(i, undo=(UNDO[i.op], here, src)))
            return
        if i.op in ("add", "sub") and isinstance(here, Reg) and isinstance(there, int):
            left, disp = self.loc(x), there if i.op == "add" else -there
            if isinstance(left, Reg) and left != here and imm32(disp):
                a.lea(here, qword(left, disp))  # no flags needed
                return
        dst = self.target(Instr(i.op, [x, y], i.result, i.type, deopt=i.deopt))
        left = self.loc(x)
        if i.op == "mul" and there in (3, 5, 9) and isinstance(left, Reg):
            a.lea(dst, qword(left, 0, left, there - 1))  # one cycle, not imul's three
        elif ALU[i.op] == "imul" and imm32(there) and not isinstance(left, int):
            a.imul(dst, left, there)  # three operands: no move first
        else:
            self.move(dst, left)
            src = self.source(y, r11)
            if ALU[i.op] == "imul" and isinstance(src, int):
                a.imul(dst, dst, src)
            else:
                a.emit(ALU[i.op], dst, src)
        if i.op.endswith("_ovf"):
            a.jo(self.stub(i))
        self.move(self.loc(i.result), dst)  # type: ignore[arg-type]

    def emit_select(self, i: Instr) -> None:
        """`%r = select %c, %a, %b`: b into the result, a replaces it when c holds (a cmov;
        the flags may come from the comparison right before, so nothing here changes them)."""
        c, x, y = i.args
        if isinstance(c, Const):
            self.move(self.loc(i.result), self.loc(x if c.value else y))  # type: ignore[arg-type]
            return
        if i.type == "f64":
            raise UnsupportedError(f"${self.fn.name}: {i}: no cmov for xmm registers")
        dst = self.loc(i.result)  # type: ignore[arg-type]
        src, cond = self.loc(x), self.loc(c)
        if not isinstance(dst, Reg) or dst in (src, cond):
            dst = rax
        if isinstance(src, int):
            self.a.mov(r11, src)
            src = r11
        other = self.loc(y)
        if other != dst:
            self.a.mov(dst, other)  # mov, not `xor` for 0: the flags may be in use
        cc = self.condition(c)
        self.a.emit(f"cmov{cc}", dst, src)
        self.move(self.loc(i.result), dst)  # type: ignore[arg-type]

    def emit_checked_if(self, i: Instr) -> None:
        """`%r = add_ovf_if %p, %a, %b`: computed where the deopt stub can still read a and
        b; an overflow goes out of line, where it deopts only if %p holds and otherwise comes
        back with the wrapped value (its arm did not run: a `select` drops it). A label
        ending in `.pcN` (N: the check's bytecode pc) keeps the moved code's source line
        readable in listings (the explorer maps rows to lines by such labels)."""
        p, x, y = i.args
        a, name = self.a, CHECKED_IF[i.op]
        self.count += 1
        a.label(f"{self.prefix}/speculated{self.count}.pc{i.deopt.offset}")  # type: ignore[union-attr]
        if OPS[i.op].commutative and isinstance(self.loc(x), int):
            x, y = y, x
        left, right = self.loc(x), self.loc(y)
        dst = self.loc(i.result)  # type: ignore[arg-type]
        lazy = self.alloc.lazy.get(p)  # type: ignore[arg-type]
        tested = [self.loc(v) for v in lazy.args] if lazy is not None else [self.loc(p)]
        keep = [*tested, right, *(self.loc(v) for v in (*i.deopt.locals, *i.deopt.stack))]  # type: ignore[union-attr]
        if not isinstance(dst, Reg) or dst in keep:
            dst = rax
        check, back = self.label("overflow"), self.label("wrapped")
        self.cold.append((check, lazy if lazy is not None else self.loc(p), self.stub(i), back))
        if name == "imul" and right in (3, 5, 9) and isinstance(left, Reg):
            # the test for overflow apart from the value: the value takes one cycle (lea),
            # not three, on the path the select waits for
            a.imul(rax, left, right).jo(check).label(back)
            a.lea(dst, qword(left, 0, left, right - 1))
        elif name == "imul" and imm32(right) and not isinstance(left, int):
            a.imul(dst, left, right).jo(check).label(back)
        else:
            self.move(dst, left)
            src = self.source(y, r11)
            if name == "imul" and isinstance(src, int):
                a.imul(dst, dst, src)
            else:
                a.emit(name, dst, src)
            a.jo(check).label(back)
        self.move(self.loc(i.result), dst)  # type: ignore[arg-type]

    def emit_cold(self) -> None:
        """The out-of-line tests of speculated checks: deopt if the arm ran, else go back (a
        lazy predicate is compared here, its operands still live)."""
        for check, p, stub, back in self.cold:
            self.a.label(check)
            if isinstance(p, Instr):
                cc = self.compare(p.args[0], p.args[1], CONDITION[p.op])
                self.a.emit(f"j{cc}", stub).jmp(back)
                continue
            if isinstance(p, int):
                self.a.jmp(stub if p else back)
                continue
            if isinstance(p, Reg):
                self.a.test(p, p)
            else:
                self.a.cmp(p, 0)
            self.a.jne(stub).jmp(back)

    def emit_shift(self, i: Instr) -> None:
        x, y = i.args
        count = self.loc(y)
        if not isinstance(count, int):
            self.a.mov(rcx, count)
        dst = self.target(i)
        self.move(dst, self.loc(x))
        self.a.emit(SHIFTS[i.op], dst, count & 63 if isinstance(count, int) else REGISTERS["cl"])
        self.move(self.loc(i.result), dst)  # type: ignore[arg-type]

    def compare(self, x: Value, y: Value, cc: str) -> str:
        """`cmp` the two operands (the constant on the right); gives the condition code."""
        left, right = self.loc(x), self.loc(y)
        if isinstance(left, int):
            left, right, cc = right, left, SWAPPED[cc]
        if isinstance(left, int):
            self.a.mov(rax, left)
            left = rax
        if (
            isinstance(right, int)
            and not imm32(right)
            or isinstance(left, Mem)
            and isinstance(right, Mem)
        ):
            self.a.mov(r11, right)
            right = r11
        if right == 0 and isinstance(left, Reg):
            self.a.test(left, left)  # same flags for these conditions, shorter
        else:
            self.a.cmp(left, right)
        return cc

    def emit_compare(self, i: Instr, fuse: bool) -> None:
        cc = self.compare(i.args[0], i.args[1], CONDITION[i.op])
        if fuse:
            self.fused = cc
            return
        dst = self.loc(i.result)  # type: ignore[arg-type]
        reg = dst if isinstance(dst, Reg) else rax
        self.a.emit(f"set{cc}", gpr(reg.code, 8)).movzx(gpr(reg.code, 32), gpr(reg.code, 8))
        self.move(dst, reg)

    def condition(self, v: Value) -> str:
        """The condition code under which bool `v` is true (flags set here unless fused)."""
        if self.fused is not None:
            cc, self.fused = self.fused, None
            return cc
        x = self.loc(v)
        if isinstance(x, int):
            self.a.mov(rax, x)
            x = rax
        if isinstance(x, Reg):
            self.a.test(x, x)
        else:
            self.a.cmp(x, 0)
        return "ne"

    def emit_guard(self, i: Instr) -> None:
        cc = self.condition(i.args[0])
        self.a.emit(f"j{NEGATED[cc]}", self.stub(i))

    def emit_division(self, i: Instr) -> None:
        """idiv truncates; Python floors: when the remainder is nonzero and its sign differs
        from the divisor's, the quotient drops by one and the remainder gains the divisor.
        The checked forms deopt on a zero divisor and on INT64_MIN // -1 (idiv traps)."""
        a, floor = self.a, i.op.startswith("div")
        x, y = i.args
        d = self.loc(y)
        done = self.label("floor")
        a.mov(rax, self.loc(x)).mov(r11, d)
        if i.op.endswith("_ovf") and not (isinstance(d, int) and d not in (0, -1)):
            divide = self.label("divide")
            a.test(r11, r11).jz(self.stub(i))
            a.cmp(r11, -1).jne(divide)
            if floor:
                a.neg(rax).jo(self.stub(i))  # x // -1 == -x
            else:
                a.xor(REGISTERS["edx"], REGISTERS["edx"])  # x % -1 == 0
            a.jmp(done)
            a.label(divide)
        a.cqo().idiv(r11)
        a.test(rdx, rdx).je(done)
        a.mov(rcx, rdx).xor(rcx, r11).jns(done)
        if floor:
            a.sub(rax, 1)
        else:
            a.add(rdx, r11)
        a.label(done)
        self.move(self.loc(i.result), rax if floor else rdx)  # type: ignore[arg-type]
