"""What C itself computes, with the VM fallback replaced by a marker (tests of the C alone)."""

from __future__ import annotations

import math

from jitkit.hostc import HostModule, compile_source


class HandedOver(Exception):
    """C bailed out: the call went to the VM."""


class NoVM:
    def call(self, name: str, *args: object) -> object:
        raise HandedOver(name)


def c_only(source: str) -> HostModule:
    """A HostModule whose bail-outs raise HandedOver instead of running the VM."""
    m = compile_source(source)
    m.rerun._vm = NoVM()
    return m


def same(a: object, b: object) -> bool:
    """Equal values of the same type, floats bit for bit in effect (-0.0 is not 0.0, NaN is
    NaN), lists item by item."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return repr(a) == repr(b) and math.copysign(1, a) == math.copysign(1, b)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return a == b
