"""Golden pass tests: `cases/<pass>_*.ir` hold an input function, a `# after <pass>:` section
with the expected IR, and `# args:` / `# expect:` lines every version must satisfy.

`# expect: 8` is a returned value, `# expect: deopt 20` a deopt at bytecode offset 20;
`# output: 1, 2` (optional, before the `# expect:`) the values printed on the way.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from hypothesis import strategies as st

from jitkit.ssa.interp import Outcome, OutOfFuel, run
from jitkit.ssa.ir import Function
from jitkit.ssa.ops import I64_MAX, I64_MIN
from jitkit.ssa.text import format, parse
from jitkit.ssa.verify import verify
from tests.ssa.generate import random_function

CASES = Path(__file__).parent / "cases"
AFTER = re.compile(r"^# after (\w+):\s*$", re.M)


@dataclass(frozen=True)
class Expect:
    """One `# expect:` line: a returned value, or the bytecode offset of a deopt; the output."""

    value: int | None
    deopt: int | None
    output: tuple[int, ...]

    def met_by(self, got: Outcome) -> bool:
        if got.output != self.output:
            return False
        if self.deopt is not None:
            return got.deopt is not None and got.deopt[0] == self.deopt
        return got.deopt is None and got.value == self.value


@dataclass
class Case:
    """One `cases/*.ir` file: input text, pass name, expected text, runs to check."""

    path: Path
    source: str
    pass_name: str
    expected: str
    runs: list[tuple[list[int], Expect]] = field(default_factory=list)


def _code(text: str) -> str:
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    return "\n".join(lines) + "\n"


def load(path: Path) -> Case:
    text = path.read_text()
    m = AFTER.search(text)
    assert m, f"{path.name}: no '# after <pass>:' line"
    rest = text[m.end() :]
    case = Case(path, text[: m.start()], m[1], _code(rest.split("# args:")[0]))
    args: list[int] = []
    output: tuple[int, ...] = ()
    for line in rest.splitlines():
        key, _, value = line.partition(":")
        ints = [int(x) for x in re.findall(r"-?\d+", value)]
        if key == "# args":
            args, output = ints, ()
        elif key == "# output":
            output = tuple(ints)
        elif key == "# expect":
            deopt = value.split()[0] == "deopt"
            expect = Expect(None, ints[0], output) if deopt else Expect(ints[0], None, output)
            case.runs.append((args, expect))
    return case


def cases(pass_name: str) -> list[Case]:
    return [load(p) for p in sorted(CASES.glob(f"{pass_name}_*.ir"))]


def check(case: Case, transform: Callable[[Function], bool]) -> None:
    """The pass turns the input into exactly the expected text; both run as expected."""
    before = parse(case.source)
    verify(before)
    after = parse(case.source)
    transform(after)
    verify(after)
    assert format(after) == case.expected, f"{case.path.name}:\n{format(after)}"
    assert format(parse(case.expected)) == case.expected
    for args, want in case.runs:
        for fn in (before, after):
            got = run(fn, args)
            assert want.met_by(got), f"{case.path.name} {args}: {got} != {want}"


def check_random(transform: Callable[[Function], bool], seed: int, args: list[int]) -> None:
    """On a random function, the pass keeps the IR valid and the outcome the same."""
    fn = random_function(random.Random(seed), loop=seed % 3 == 0)
    text = format(fn)
    try:
        want = run(fn, args)
    except OutOfFuel:
        return
    transform(fn)
    verify(fn)
    assert run(fn, args) == want, f"before:\n{text}\nafter:\n{format(fn)}"


ARGS = st.one_of(
    st.integers(-20, 20),
    st.sampled_from([I64_MIN, I64_MAX, 2**32, -(2**31)]),
    st.integers(I64_MIN, I64_MAX),
)
