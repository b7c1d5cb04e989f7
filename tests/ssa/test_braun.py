"""Braun et al.'s construction by hand: a phi where two writes meet, none where one value
reaches a loop header, and trivial phis that vanish in a chain (nested loops)."""

from __future__ import annotations

from jitkit.ssa.braun import Variables
from jitkit.ssa.ir import Block, Const, Function, Instr, Temp
from jitkit.ssa.text import format
from jitkit.ssa.verify import verify


class Int64Variables(Variables):
    def phi_type(self, var, label: str) -> str:
        return "i64"

    def phi_hint(self, var) -> str:
        return str(var)


def function(edges: dict[str, list[str]]) -> tuple[Function, Int64Variables]:
    """Blocks named by `edges` (the first is the entry), each ending in jmp or br %c."""
    fn = Function("f", [("bool", Temp("c"))], "i64")
    v = Int64Variables(fn, {Temp("c"): "bool"})
    for label, succs in edges.items():
        op = "br" if len(succs) == 2 else "jmp" if succs else "ret"
        args = [Temp("c")] if op == "br" else [Const(0)] if op == "ret" else []
        fn.blocks.append(Block(label, term=Instr(op, args, labels=list(succs))))
        for s in succs:
            v.edge(label, s)
    return fn, v


def test_two_writes_meet_in_a_phi():
    fn, v = function({"entry": ["a", "b"], "a": ["join"], "b": ["join"], "join": []})
    for label in fn.blockmap():
        v.seal(label)
    v.write("x", "a", Const(1))
    v.write("x", "b", Const(2))
    x = v.read("x", "join")
    fn.block("join").term = Instr("ret", [x])
    verify(v.finish())
    assert "@join\n    %x.1 =i64 phi @a 1, @b 2\n    ret %x.1\n" in format(fn)


def test_a_value_that_loops_around_unchanged_needs_no_phi():
    """The header is read before its back edge exists (unsealed): the waiting phi gets its
    operands at `seal` and turns out trivial, in the inner and then the outer loop."""
    fn, v = function({
        "entry": ["outer"], "outer": ["inner", "exit"], "inner": ["inner", "latch"],
        "latch": ["outer"], "exit": [],
    })  # fmt: skip
    v.seal("entry")
    v.write("x", "entry", Const(7))
    v.write("i", "entry", Const(0))
    inside = v.read("x", "inner")  # unsealed: a phi waits in inner, and one in outer
    i = v.read("i", "inner")
    step = Temp("i2")
    fn.block("inner").body.append(Instr("add", [i, Const(1)], step, "i64"))
    v.types[step] = "i64"
    v.write("i", "inner", step)
    for label in ("inner", "latch", "outer", "exit"):
        v.seal(label)
    assert v.resolve(inside) == Const(7)
    fn.block("exit").term = Instr("ret", [v.read("i", "exit")])
    verify(v.finish())
    text = format(fn)
    assert text.count("phi") == 2  # i in outer and inner; x in neither
    assert "@outer\n    %i.2 =i64 phi @entry 0, @latch %i2\n" in text
    assert "@inner\n    %i.1 =i64 phi @outer %i.2, @inner %i2\n    %i2 =i64 add %i.1, 1\n" in text
