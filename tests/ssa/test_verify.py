"""The SSA checker: each broken rule is caught and the message quotes the offending line."""

from __future__ import annotations

import pytest

from jitkit.errors import VerifyError
from jitkit.ssa.text import parse
from jitkit.ssa.verify import verify

GOOD = """\
function i64 $sum(i64 %n) {
@entry
    jmp @loop
@loop
    %i =i64 phi @entry 0, @body %i2
    %s =i64 phi @entry 0, @body %s2
    %c =bool lt %i, %n
    br %c, @body, @done
@body
    %s2 =i64 add %s, %i
    %i2 =i64 add %i, 1
    jmp @loop
@done
    ret %s
}
"""


def test_good_function_passes():
    verify(parse(GOOD))


@pytest.mark.parametrize(
    "old, new, words",
    [
        ("%s2 =i64 add %s, %i", "%s2 =i64 add %s, %zz", "%zz is not defined"),
        ("%i2 =i64 add %i, 1", "%i2 =i64 add %s2, 1\n    %s2 =i64 copy 1", "defined twice"),
        ("@entry 0, @body %i2", "@entry 0", "list the predecessors"),
        ("@entry 0, @body %i2", "@entry 0, @done %i2", "list the predecessors"),
        ("%c =bool lt %i, %n", "%c =i64 lt %i, %n", "lt gives bool"),
        ("br %c, @body, @done", "br %i, @body, @done", "has type i64, br wants bool"),
        ("br %c, @body, @done", "br %c, @body, @nowhere", "no block @nowhere"),
        ("jmp @loop\n@loop", "%z =i64 add %s2, 1\n    jmp @loop\n@loop", "does not dominate"),
        ("ret %s", "ret %s2", "does not dominate"),
        ("%s2 =i64 add %s, %i", "%s2 =i64 add %s, %i, 1", "takes 2 operand"),
        ("%s2 =i64 add %s, %i", "%s2 =i64 add_ovf %s, %i", "needs deopt state"),
        ("%s2 =i64 add %s, %i", "%s2 =i64 add %s, 9223372036854775808", "does not fit"),
        ("%s2 =i64 add %s, %i", "%s2 =i64 add %s, $sum", "can only be called"),
        ("%c =bool lt %i, %n", "%c =bool lt %i, %n\n    %d =bool and %c, 2", "not a bool"),
        ("    ret %s\n", "", "no terminator"),
    ],
)
def test_broken_rule_is_named_with_its_line(old, new, words):
    assert old in GOOD
    fn = parse(GOOD.replace(old, new, 1))
    with pytest.raises(VerifyError, match=words) as info:
        verify(fn)
    assert "@" in str(info.value)


def test_message_quotes_the_instruction():
    fn = parse(GOOD.replace("ret %s", "ret %s2"))
    with pytest.raises(VerifyError, match=r"@done: ret %s2: %s2 is used where"):
        verify(fn)
