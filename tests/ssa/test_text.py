"""The IR text form: format and parse are inverses, every opcode included; errors name lines."""

from __future__ import annotations

import pytest

from jitkit.errors import VerifyError
from jitkit.ssa.ir import Const
from jitkit.ssa.ops import OPS
from jitkit.ssa.text import format, parse
from jitkit.ssa.verify import verify

EVERY_OPCODE = """\
function i64 $every(i64 %a, i64 %b, bool %p) {
@entry
    %add =i64 add %a, %b
    %sub =i64 sub %a, 1
    %mul =i64 mul %add, %sub
    %neg =i64 neg %mul
    %umulh =i64 umulh %a, -6148914691236517205
    %div =i64 div %a, 7
    %mod =i64 mod %a, 7
    %small =i64 and %a, 65535
    %udiv32 =i64 udiv32 %small, 7
    %umod32 =i64 umod32 %small, 7
    %and =i64 and %div, %mod
    %or =i64 or %and, 1
    %xor =bool xor %p, 1
    %shl =i64 shl %or, 3
    %sar =i64 sar %shl, 1
    %shr =i64 shr %sar, 2
    %eq =bool eq %a, %b
    %ne =bool ne %a, %b
    %lt =bool lt %a, %b
    %le =bool le %a, %b
    %gt =bool gt %a, %b
    %ge =bool ge %a, %b
    %copy =i64 copy %shr
    %zext =i64 zext %p
    %add_ovf =i64 add_ovf %a, %b deopt 4 locals(%a, %b) stack(%a, %b)
    %sub_ovf =i64 sub_ovf %a, %b deopt 5 locals(%a, %b) stack(%a, %b)
    %mul_ovf =i64 mul_ovf %a, %b deopt 6 locals(%a, %b) stack(%a, %b)
    %neg_ovf =i64 neg_ovf %a deopt 7 locals(%a, %b) stack(%a)
    %add_ovf_if =i64 add_ovf_if %p, %a, %b deopt 4 locals(%a, %b) stack(%a, %b)
    %sub_ovf_if =i64 sub_ovf_if %p, %a, 1 deopt 5 locals(%a, %b) stack(%a, 1)
    %mul_ovf_if =i64 mul_ovf_if %xor, 3, %b deopt 6 locals(%a, %b) stack(3, %b)
    %select =i64 select %p, %add_ovf_if, %mul_ovf_if
    %div_ovf =i64 div_ovf %a, %b deopt 8 locals(%a, %b) stack(%a, %b)
    %mod_ovf =i64 mod_ovf %a, %b deopt 9 locals(%a, %b) stack()
    guard %ge deopt 10 locals(%a, %b) stack()
    poll deopt 11 locals(%a, %b) stack()
    %fits =bool fits
    enter %add deopt 13 locals(%a, %b) stack(%a, 0, %b)
    %leave =i64 leave %add, %b deopt 14 locals(0, 0) stack(%add, %b)
    print %copy
    print 12, %zext, %p, 0, 0
    %call =i64 call $every(%a, %b, %xor) deopt 14 locals(%a, %b) stack(0)
    %itof =f64 itof %a
    %itof_exact =f64 itof_exact %b deopt 15 locals(%a, %b) stack()
    %fadd =f64 fadd %itof, d_0.5
    %fsub =f64 fsub %fadd, d_-0.0
    %fmul =f64 fmul %fsub, d_1e+16
    %fdiv =f64 fdiv %fmul, %itof_exact deopt 16 locals(%a, %b) stack(%fmul, %itof_exact)
    %fmod =f64 fmod %fdiv, d_-2.5 deopt 16 locals(%a, %b) stack(%fdiv, d_-2.5)
    %ffloordiv =f64 ffloordiv %fmod, %itof deopt 16 locals(%a, %b) stack(%fmod, %itof)
    %fneg =f64 fneg %ffloordiv
    %fabs =f64 fabs %fneg
    %ftoi =i64 ftoi %fabs deopt 17 locals(%a, %b) stack()
    %feq =bool feq %fabs, d_inf
    %fne =bool fne %fabs, d_nan
    %flt =bool flt %fabs, d_-inf
    %fle =bool fle %fabs, d_1.5e-07
    %fgt =bool fgt %fabs, %fneg
    %fge =bool fge %fabs, d_0.0
    %newl =list newl %a, 0 deopt 18 locals(%a, %b) stack()
    %newb =list newb 3, %p deopt 18 locals(%a, %b) stack()
    %newd =list newd 2, d_0.5 deopt 18 locals(%a, %b) stack()
    %repeatl =list repeatl %newl, %b deopt 19 locals(%a, %b) stack(%newl, %b)
    %repeatb =list repeatb %newb, 2 deopt 19 locals(%a, %b) stack(%newb, 2)
    %repeatd =list repeatd %newd, %a deopt 19 locals(%a, %b) stack(%newd, %a)
    %len =i64 len %repeatl
    %check_index =i64 check_index %newb, -1 deopt 20 locals(%a, %newb) stack(%newb, -1)
    %loadl =i64 loadl %repeatl, 0
    %loadb =bool loadb %newb, %check_index
    %loadd =f64 loadd %newd, 1
    storel %newl, %len, %loadl
    storeb %newb, %check_index, 1
    stored %repeatd, 0, %fabs
    appendl %newl, %a deopt 21 locals(%a, %b) stack(%newl, %a)
    appendb %newb, %loadb deopt 21 locals(%a, %b) stack(%newb, %loadb)
    appendd %newd, d_-1.0 deopt 21 locals(%a, %b) stack(%newd, d_-1.0)
    br %eq, @yes, @no
@yes
    jmp @join
@no
    jmp @join
@join
    %phi =i64 phi @yes %call, @no 0
    ret %phi
}
"""


def test_every_opcode_round_trips():
    fn = parse(EVERY_OPCODE)
    verify(fn)
    assert format(fn) == EVERY_OPCODE
    assert format(parse(format(fn))) == EVERY_OPCODE
    used = {i.op for _, i in fn.instrs()}
    assert used == set(OPS), f"not covered: {set(OPS) - used}"


def test_comments_and_blank_lines_are_ignored():
    text = "# a comment\nfunction i64 $f() {\n\n@a   # entry\n    ret 1\n}\n"
    assert format(parse(text)) == "function i64 $f() {\n@a\n    ret 1\n}\n"


@pytest.mark.parametrize(
    "text, line, words",
    [
        ("function i64 $f() {\n@a\n    %x =i64 frob 1\n    ret %x\n}", 3, "unknown opcode"),
        ("function i64 $f() {\n@a\n    ret 1\n    ret 2\n}", 4, "after the terminator"),
        ("function i64 $f() {\n    ret 1\n}", 2, "before the first block"),
        ("function i65 $f() {\n@a\n    ret 1\n}", 1, "unknown type"),
        ("function i64 $f() {\n@a\n    ret 1\n", 3, "missing '}'"),
        ("function i64 $f() {\n@a\n    ret 1x\n}", 3, "bad operand"),
        ("function i64 $f() {\n@a\n    %y =i64 copy 1\n    %x =i64 phi @a %y\n}", 4, "phi after"),
    ],
)
def test_parse_errors_name_the_line(text, line, words):
    with pytest.raises(VerifyError, match=f"line {line}: .*{words}"):
        parse(text)


def test_double_constants_keep_their_bits():
    """`d_` constants: -0.0 is not 0.0, 1.0 is not 1, NaN round-trips; a bad one names its line."""
    text = "function f64 $f() {\n@a\n    %x =f64 fadd d_-0.0, d_nan\n    ret %x\n}\n"
    fn = parse(text)
    assert format(fn) == text
    x, y = fn.blocks[0].body[0].args
    zero = parse(text.replace("d_-0.0", "d_0.0")).blocks[0].body[0].args[0]
    assert str(x) == "d_-0.0" and x != zero and x == Const(-0.0) and y == Const(float("nan"))
    assert Const(1.0) != Const(1) and hash(Const(-0.0)) != hash(zero)
    with pytest.raises(VerifyError, match="line 3: bad double"):
        parse(text.replace("d_nan", "d_x1"))
    with pytest.raises(VerifyError, match="is an integer"):
        verify(parse(text.replace("d_nan", "1")))
