"""The list opcodes in the IR: what the verifier refuses, and what the interpreter (the oracle
the passes are checked against) does with them on Python lists."""

from __future__ import annotations

import pytest

from jitkit.errors import VerifyError
from jitkit.ssa.interp import run
from jitkit.ssa.ops import I64_MAX, Fault
from jitkit.ssa.text import parse
from jitkit.ssa.verify import verify

STATE = "deopt 1 locals(%n) stack()"


def function(body: str, ret: str = "i64") -> str:
    lines = "\n".join(f"    {line}" for line in body.strip().splitlines())
    return f"function {ret} $f(i64 %n) {{\n@entry\n{lines}\n}}\n"


@pytest.mark.parametrize(
    "body, message",
    [
        ("%xs =list newl %n, 0\n%l =i64 len %xs\nret %l", "needs deopt state"),
        ("%l =i64 len %n\nret %l", "has type i64, len wants list"),
        ("%l =i64 len 5\nret %l", "a list is a temporary"),
        (f"%xs =list newb %n, 0 {STATE}\nstoreb %xs, 0, 7\nret 0", "7 is not a bool"),
        (f"%xs =list newl %n, 0 {STATE}\nstorel %xs, 0, d_1.5\nret 0", "has type f64"),
        (f"%xs =list newl %n, 0 {STATE}\n%v =bool loadl %xs, 0\nret 0", "loadl gives i64"),
        (f"%xs =list newl %n, 0 {STATE}\n%k =i64 check_index %xs, 0\nret %k", "deopt state"),
        (f"%xs =list newl %n, 0 {STATE}\n%l =i64 len %xs {STATE}\nret %l", "no deopt state"),
    ],
)
def test_the_verifier_refuses_malformed_list_code(body, message):
    with pytest.raises(VerifyError, match=message):
        verify(parse(function(body)))


def test_a_local_not_assigned_yet_may_be_the_list_0():
    text = function("%xs =list copy 0\nret 0")
    verify(parse(text))


INDEXING = function(
    f"""
%xs =list newl %n, 5 {STATE}
%k =i64 check_index %xs, -2 deopt 2 locals(%n) stack(%xs)
storel %xs, %k, 9
%ys =list copy %xs
appendl %ys, 4 deopt 3 locals(%n) stack()
%j =i64 check_index %xs, -1 deopt 4 locals(%n) stack(%xs)
%last =i64 loadl %xs, %j
%second =i64 loadl %xs, %k
%l =i64 len %xs
%a =i64 mul %second, 100
%b =i64 mul %l, 10
%c =i64 add %a, %b
%r =i64 add %c, %last
ret %r
"""
)


def test_negative_indices_count_from_the_end_and_aliases_share_the_list():
    # [5, 5, 5] -> xs[-2] = 9 -> [5, 9, 5] -> ys.append(4) through the alias -> len 4
    assert run(parse(INDEXING), [3]).value == 9 * 100 + 4 * 10 + 4


def test_an_index_outside_the_list_deopts_at_its_check():
    out = run(parse(INDEXING), [1])  # [5]: xs[-2] is out of range
    assert out.deopt is not None and out.deopt[0] == 2
    assert out.deopt[2] == ([5],)  # the list itself, as the VM gets it back


def test_a_load_without_its_check_faults():
    text = function(f"%xs =list newl %n, 0 {STATE}\n%v =i64 loadl %xs, 3\nret %v")
    with pytest.raises(Fault):
        run(parse(text), [2])


def test_repeat_deopts_when_the_length_leaves_int64_and_clamps_negative_counts():
    text = function(
        f"%one =list newd 2, d_0.5 {STATE}\n%xs =list repeatd %one, %n {STATE}\n"
        "%l =i64 len %xs\nret %l"
    )
    fn = parse(text)
    assert run(fn, [3]).value == 6
    assert run(fn, [-4]).value == 0
    assert run(fn, [I64_MAX // 2 + 1]).deopt is not None
