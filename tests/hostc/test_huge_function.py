"""A module with a function past `HUGE_FUNCTION` bytes of C compiles at -O0 (gcc -O2 is
superlinear on it: minutes for 5,000 statements), and the kernels keep -O2."""

from __future__ import annotations

from jitkit.bench import kernel_source
from jitkit.hostc.build import FLAGS
from jitkit.hostc.cgen import generate
from jitkit.hostc.module import HUGE_FUNCTION, tier_flags
from jitkit.lang.parse import parse_module


def flags_for(source: str) -> tuple[str, ...]:
    return tier_flags(generate(parse_module(source, "prog.py")), FLAGS)


def long_function(statements: int) -> str:
    body = "".join(f"    s = s + x * {i} - {i % 7}\n" for i in range(statements))
    return f"def f(x):\n    s = 0\n{body}    return s\n\nprint(f(2))\n"


def test_the_kernels_keep_o2():
    assert "-O2" in flags_for(kernel_source())


def test_a_function_past_the_limit_compiles_at_o0():
    small, huge = long_function(50), long_function(2000)
    assert "-O2" in flags_for(small)
    assert len(generate(parse_module(huge, "prog.py")).function_source("f")) > HUGE_FUNCTION
    assert flags_for(huge) == tuple("-O0" if f == "-O2" else f for f in FLAGS)


def test_flags_without_o2_are_left_alone():
    module = generate(parse_module(long_function(2000), "prog.py"))
    assert tier_flags(module, ("-shared", "-O1", "-fPIC")) == ("-shared", "-O1", "-fPIC")
