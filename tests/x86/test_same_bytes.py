"""The fast assembler (issue 18) against the one before it, on the code the stack and SSA
tiers really emit for the kit's kernels: every call the tiers make is recorded, replayed on
both, and the bytes, labels, relocations and listing rows must be the same."""

import keyword
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import jitkit.x86.assembler as fast
from jitkit.tiers import load
from jitkit.x86 import mem, rax
from tests.x86 import assembler_before as before

KERNELS = Path(fast.__file__).resolve().parent.parent / "kernels" / "kernels.py"
BUILDERS = ("emit", "label", "data", "quad", "align")


def recorded_programs(tier: str, monkeypatch) -> list[tuple[list, int, bool]]:
    """(calls, base, externals) of every Assembler the tier assembles while loading kernels.py;
    calls made inside the assembler (a.mov -> emit) are recorded once."""
    programs = []

    def recording(name, method, mnemonic=None):
        def record(self, *args, **kwargs):
            if not getattr(self, "_inside", False):
                call = (name, args if mnemonic is None else (mnemonic, *args), kwargs)
                self.__dict__.setdefault("_calls", []).append(call)
            self._inside = True
            try:
                return method(self, *args, **kwargs)
            finally:
                self._inside = False

        return record

    for name in BUILDERS:
        monkeypatch.setattr(fast.Assembler, name, recording(name, getattr(fast.Assembler, name)))
    for name, mnemonic in fast._spellings().items():  # a.mov(...) does not go through emit
        method = recording("emit", getattr(fast.Assembler, name), mnemonic)
        monkeypatch.setattr(fast.Assembler, name, method)
    assemble = fast.Assembler.assemble

    def record_assemble(self, base=0, externals=False):
        programs.append((self.__dict__.get("_calls", []), base, externals))
        return assemble(self, base, externals)

    monkeypatch.setattr(fast.Assembler, "assemble", record_assemble)
    load(KERNELS.read_text(), tier, "kernels.py")
    monkeypatch.undo()
    return programs


def spelled(mnemonic: str) -> str:
    return mnemonic + "_" if keyword.iskeyword(mnemonic) else mnemonic


def replay(assembler_class, calls, base, externals):
    a = assembler_class()
    for name, args, kwargs in calls:
        if name == "emit":  # as the tiers call it: a.mov(...), a.and_(...)
            name, args = spelled(args[0]), args[1:]
        getattr(a, name)(*args, **kwargs)
    return a.assemble(base, externals)


def rows(code) -> list[tuple]:
    return [(line.offset, line.data, line.text, line.label) for line in code.lines]


@pytest.mark.parametrize("tier", ["stack", "ssa"])
def test_tiers_code_assembles_to_the_same_bytes_as_before(tier, monkeypatch):
    programs = recorded_programs(tier, monkeypatch)
    assert programs and sum(len(calls) for calls, _, _ in programs) > 500
    for calls, base, externals in programs:
        new = replay(fast.Assembler, calls, base, externals)
        old = replay(before.Assembler, calls, base, externals)
        assert new.bytes == old.bytes
        assert new.labels == old.labels
        assert new.relocations == old.relocations
        assert rows(new) == rows(old)


@st.composite
def jumpy_programs(draw) -> list[tuple]:
    """Labels, short and long jumps back and forth, calls, rip-relative loads, padding and
    alignment: the layouts where relaxation passes interact."""
    count = draw(st.integers(1, 6))
    names = [f"L{i}" for i in range(count)]
    target = st.sampled_from(names + ["elsewhere"])
    step = st.one_of(
        st.tuples(
            st.just("emit"), st.tuples(st.sampled_from(["jmp", "jne", "jz", "call"]), target)
        ),
        st.tuples(st.just("emit"), st.tuples(st.just("lea"), st.just(rax), target.map(_rip))),
        st.tuples(st.just("emit"), st.tuples(st.just("mov"), st.just(rax), target)),
        st.tuples(st.just("data"), st.tuples(st.integers(1, 90).map(bytes))),
        st.tuples(st.just("align"), st.tuples(st.sampled_from([4, 16, 64]))),
        st.tuples(st.just("quad"), st.tuples(target)),
    )
    calls = [(name, args, {}) for name, args in draw(st.lists(step, max_size=40))]
    for name in names:
        calls.insert(draw(st.integers(0, len(calls))), ("label", (name,), {}))
    return calls


def _rip(label: str):
    return mem(label=label)


@settings(max_examples=300, deadline=None)
@given(jumpy_programs(), st.sampled_from([0, 0x1000, 0x401003]))
def test_relaxation_and_relocations_match_before(calls, base):
    new = replay(fast.Assembler, calls, base, True)
    old = replay(before.Assembler, calls, base, True)
    assert (new.bytes, new.labels, new.relocations) == (old.bytes, old.labels, old.relocations)
    assert rows(new) == rows(old)
