"""The code generator's folding builder (`jitkit.llvm.lowering.FoldingBuilder`): a check it
folds when compiling must give what LLVM itself computes at run time, and a check on a value
not known when compiling must stay in the IR (the oracle: LLVM, running the unfolded IR)."""

from __future__ import annotations

import ctypes
import itertools

from llvmlite import ir

from jitkit.llvm.jit import Engine
from jitkit.llvm.lowering import FoldingBuilder
from jitkit.llvm.target import new_module

I1, I8, I64 = ir.IntType(1), ir.IntType(8), ir.IntType(64)
OPS = ("==", "!=", "<", "<=", ">", ">=")
VALUES = {I8: (0, 1, 2, 3, 127, -128, -1), I64: (0, 1, -1, 2, 1 << 62, -(1 << 63), (1 << 63) - 1)}


def cases() -> list[tuple[str, ir.IntType, str, int, int]]:
    return [
        (signed, typ, op, a, c)
        for typ, values in VALUES.items()
        for signed in ("signed", "unsigned")
        for op in OPS
        for a, c in itertools.product(values, repeat=2)
    ]


def test_folded_comparisons_equal_llvms_own() -> None:
    """Each case: the plain builder's `icmp` in a function LLVM compiles (at O0, so LLVM
    folds nothing either) and the folding builder's constant; they must agree."""
    module = new_module("fold")
    folded = []
    for i, (signed, typ, op, a, c) in enumerate(cases()):
        fn = ir.Function(module, ir.FunctionType(I64, []), f"case{i}")
        b = ir.IRBuilder(fn.append_basic_block("entry"))
        bit = getattr(b, f"icmp_{signed}")(op, ir.Constant(typ, a), ir.Constant(typ, c))
        b.ret(b.zext(bit, I64))
        constant = getattr(FoldingBuilder(), f"icmp_{signed}")(
            op, ir.Constant(typ, a), ir.Constant(typ, c)
        )
        assert isinstance(constant, ir.Constant) and constant.type == I1
        folded.append(constant.constant)
    engine = Engine(module, opt_level=0)
    for i, case in enumerate(cases()):
        llvm_says = ctypes.CFUNCTYPE(ctypes.c_int64)(engine.address(f"case{i}"))()
        assert llvm_says == folded[i], case


def test_a_value_not_known_when_compiling_is_still_checked() -> None:
    module = new_module("fold")
    fn = ir.Function(module, ir.FunctionType(I1, [I8]), "f")
    b = FoldingBuilder(fn.append_basic_block("entry"))
    tag = fn.args[0]
    known = b.icmp_unsigned("<=", ir.Constant(I8, 0), ir.Constant(I8, 1))
    ok = b.and_(known, b.icmp_unsigned("<=", tag, ir.Constant(I8, 1)))
    assert isinstance(ok, ir.ICMPInstr)  # true AND x is x: the check of the argument stays
    b.ret(b.select(known, ok, ir.Constant(I1, 0)))
    assert 'icmp ule i8 %".1", 1' in str(module)
    assert b.or_(ok, ir.Constant(I1, 1)).constant == 1
    assert b.not_(known).constant == 0
    assert b.zext(known, I64).constant == 1
