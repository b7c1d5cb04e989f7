"""Rule 6 (function values only where a CALL takes them) walks the code in time and memory
linear in the operand stack's depth (issue #14 item 7), and says what the tuple-per-state
walk it replaced said, on random straight-line code and on stacks 4,000 deep."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from jitkit.bytecode.code import Code
from jitkit.bytecode.opcodes import Op, stack_effect
from jitkit.bytecode.verify import check_callees, stack_depths, successors
from jitkit.errors import VerifyError

ROOT = Path(__file__).resolve().parents[2]


def code(*instrs) -> Code:
    ops = [i[0] for i in instrs]
    args = [i[1] if len(i) > 1 else 0 for i in instrs]
    return Code("f", 0, ["a"], [0], ["f"], ops, args, [1] * len(ops))


def reference(code: Code) -> str | None:
    """The walk as it was: the whole stack as a tuple of flags per state (quadratic)."""
    seen: dict[int, tuple[bool, ...]] = {}
    work: list[tuple[int, tuple[bool, ...]]] = [(0, ())]
    while work:
        pc, stack = work.pop()
        if pc in seen:
            if seen[pc] != stack:
                return "one path"
            continue
        seen[pc] = stack
        op, arg = code.ops[pc], code.args[pc]
        items = list(stack)
        if op == Op.LOAD_FUNC:
            items.append(True)
        elif op in (Op.DUP, Op.COPY):
            items.append(items[-(arg if op == Op.COPY else 1)])
        elif op == Op.SWAP:
            items[-1], items[-arg] = items[-arg], items[-1]
        else:
            pops, pushes = stack_effect(op, arg)
            taken = items[len(items) - pops :]
            del items[len(items) - pops :]
            if op == Op.CALL:
                if not taken[0]:
                    return "not a function"
                taken = taken[1:]
            if any(taken):
                return "operand"
            items += [False] * pushes
        work.extend((s, tuple(items)) for s in successors(code, pc))
    return None


def verdict(code: Code) -> str | None:
    try:
        check_callees(code)
    except VerifyError as e:
        text = str(e)
        for key in ("one path", "not a function", "operand"):
            if key in text:
                return key
        raise
    return None


def random_code(rng: random.Random) -> Code:
    """Straight-line code that never underflows, then a branch that may disagree."""
    instrs: list[tuple] = []
    depth = 0
    for _ in range(rng.randrange(1, 25)):
        choices = [(Op.LOAD_FUNC, 0), (Op.LOAD_CONST, 0)]
        if depth >= 1:
            choices += [(Op.DUP,), (Op.POP,), (Op.CALL, 0), (Op.UNARY_NEG,)]
        if depth >= 2:
            k = rng.randrange(2, depth + 1)
            choices += [(Op.SWAP, k), (Op.COPY, k), (Op.CALL, k - 1), (Op.BINARY_ADD,)]
            choices += [(Op.PRINT, k - 2)]
        instr = rng.choice(choices)
        instrs.append(instr)
        pops, pushes = stack_effect(instr[0], instr[1] if len(instr) > 1 else 0)
        depth += pushes - pops
    if rng.random() < 0.3:  # a diamond: one arm pushes a function, the other a constant
        at = len(instrs)
        instrs += [(Op.LOAD_CONST, 0), (Op.JUMP_IF_FALSE, at + 4), (Op.LOAD_FUNC, 0)]
        instrs += [(Op.JUMP, at + 5), (Op.LOAD_CONST, 0)]
        depth += 1
    instrs += [(Op.POP,)] * depth + [(Op.LOAD_CONST, 0), (Op.RETURN,)]
    return code(*instrs)


def test_function_values_moved_by_swap_copy_and_dup():
    F, C = Op.LOAD_FUNC, Op.LOAD_CONST
    ok = [
        code((F, 0), (C, 0), (Op.SWAP, 2), (Op.CALL, 0), (Op.POP,), (Op.RETURN,)),
        code((F, 0), (Op.DUP,), (Op.CALL, 0), (Op.POP,), (Op.CALL, 0), (Op.RETURN,)),
        code((F, 0), (C, 0), (Op.COPY, 2), (Op.CALL, 0), (Op.POP,), (Op.POP,), (Op.CALL, 0),
             (Op.RETURN,)),
    ]  # fmt: skip
    for c in ok:
        stack_depths(c)
        check_callees(c)
    with pytest.raises(VerifyError, match="not a function"):
        check_callees(code((F, 0), (C, 0), (Op.SWAP, 2), (Op.CALL, 1), (Op.RETURN,)))
    with pytest.raises(VerifyError, match="operand"):
        check_callees(code((F, 0), (Op.DUP,), (C, 0), (Op.BINARY_ADD,), (Op.RETURN,)))


def test_agrees_with_the_quadratic_walk_on_random_code():
    rng = random.Random(14)
    verdicts = set()
    for _ in range(3000):
        c = random_code(rng)
        stack_depths(c)
        assert verdict(c) == reference(c), c
        verdicts.add(verdict(c))
    assert verdicts == {None, "one path", "not a function", "operand"}


MEASURE = """
import json, sys, tracemalloc
from jitkit.bytecode.compiler import compile_module
from jitkit.lang.parse import parse_module
sys.setrecursionlimit(20_000)
peaks = {}
for depth in (1000, 4000):
    source = "def f(x):\\n    print(" + ", ".join(["x"] * depth) + ")\\n    return 0\\n"
    module = parse_module(source)
    tracemalloc.start()
    codes = compile_module(module)
    peaks[depth] = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert codes["f"].stacksize >= depth + 2
print(json.dumps(peaks))
"""


def test_a_4000_deep_operand_stack_compiles_in_memory_near_linear():
    """Peak traced memory of compiling (and verifying) a print of 1,000 and of 4,000
    arguments: linear grows 4x, the tuple-per-state walk grew 16x (4.2 -> 64.8 MB)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", MEASURE],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    peaks = {int(k): v for k, v in json.loads(done.stdout).items()}
    assert peaks[4000] < 6 * peaks[1000], peaks
    assert peaks[4000] < 8_000_000, peaks
