"""Brainfuck: three engines (naive, optimized, JIT with both kinds of I/O) agree with each
other and with the expected outputs of real programs written by others (../shared/bf)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jitkit.bf import BrainfuckError, BrainfuckJIT, listing, parse, run_naive, run_optimized

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "bf"
needs_shared = pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/bf is not here")
ENGINES = {
    "naive": run_naive,
    "optimized": run_optimized,
    "jit-buffer": lambda src, data=b"", tape_size=30000: BrainfuckJIT(src, "buffer",
                                                                      tape_size).run(data),
    "jit-callback": lambda src, data=b"", tape_size=30000: BrainfuckJIT(src, "callback",
                                                                        tape_size).run(data),
}  # fmt: skip


def shared_case(name: str) -> tuple[str, bytes, bytes]:
    case = json.loads((SHARED / f"{name}.test").read_text())
    return (
        (SHARED / f"{name}.bf").read_text(),
        case["feed-in"].encode(),
        case["expect-out"].encode(),
    )


@needs_shared
@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("name", ["helloworld", "factor"])
def test_real_programs(engine, name):
    source, data, expected = shared_case(name)
    assert ENGINES[engine](source, data) == expected


@needs_shared
def test_mandelbrot_through_the_jit():
    source = (SHARED / "mandelbrot.bf").read_text()
    assert BrainfuckJIT(source).run() == (SHARED / "mandelbrot.out").read_bytes()


def test_folding_into_bigger_operations():
    ops = parse("+++>>-<[-]>[->+++>+<<]<.,")
    assert listing(ops).splitlines() == [
        "    0  ADD        3",
        "    1  MOVE       2",
        "    2  ADD        -1",
        "    3  MOVE       -1",
        "    4  CLEAR",
        "    5  MOVE       1",
        "    6  MULTIPLY   p[+1] += p*3, p[+2] += p*1; p = 0",
        "    7  MOVE       -1",
        "    8  OUT",
        "    9  IN",
    ]


def test_loops_that_do_more_than_move_values_stay_loops():
    kinds = [op.kind for op in parse("[->+<.]+[>]")]
    assert kinds == ["OPEN", "ADD", "MOVE", "ADD", "MOVE", "OUT", "CLOSE", "ADD", "OPEN",
                     "MOVE", "CLOSE"]  # fmt: skip


@pytest.mark.parametrize(
    "source, where", [("+[\n>]]", "line 2, col 3"), ("+\n [", "line 2, col 2")]
)
def test_unbalanced_brackets_name_the_place(source, where):
    with pytest.raises(BrainfuckError, match=where):
        parse(source)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("source", ["<", ">" * 64, "+[>+]", "+[<+>-]<<"])
def test_leaving_the_tape_is_an_error_in_every_engine(engine, source):
    with pytest.raises(BrainfuckError, match="off the tape"):
        ENGINES[engine](source, tape_size=64)


def test_end_of_input_reads_zero():
    for engine in ENGINES.values():
        assert engine(",.,.+.", b"A") == b"A\x00\x01"


def test_interrupt_stops_an_endless_jit_loop():
    code = (
        "import os, signal, threading, time\n"
        "from jitkit.bf import BrainfuckJIT\n"
        "jit = BrainfuckJIT('+[]')\n"
        "start = time.perf_counter()  # before the timer starts: it fires 0.3 s after this\n"
        "threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT)).start()\n"
        "try:\n"
        "    jit.run()\n"
        "except KeyboardInterrupt:\n"
        "    print(time.perf_counter() - start)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=30)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert 0.3 <= float(result.stdout) < 1.3  # stopped within a second of the signal


# --- random programs that always terminate ----------------------------------------------------


@st.composite
def bodies(draw, depth: int) -> str:
    """Code that leaves the pointer where it found it and never touches cells to its left,
    so an enclosing loop's counter is only changed by that loop's own final `-`."""
    parts = []
    for _ in range(draw(st.integers(0, 4))):
        offset = draw(st.integers(1, 3))
        choice = draw(st.integers(0, 4 if depth else 3))
        if choice == 0:
            inner = "+" * draw(st.integers(1, 9)) if draw(st.booleans()) else "-"
        elif choice == 1:
            inner = "."
        elif choice == 2:
            inner = ","
        elif choice == 3:
            inner = "[-]"
        else:
            inner = "[" + draw(bodies(depth - 1)) + "-]"
        parts.append(">" * offset + inner + "<" * offset)
    return "".join(parts)


@st.composite
def programs(draw) -> str:
    setup = "".join(">" * draw(st.integers(0, 2)) + "+" * draw(st.integers(0, 12))
                    for _ in range(draw(st.integers(1, 4))))  # fmt: skip
    return setup + draw(bodies(2)) + "[" + draw(bodies(1)) + "-]" + draw(bodies(0))


@settings(max_examples=40, deadline=None)
@given(programs(), st.binary(max_size=4), st.sampled_from([16, 30000]))
def test_random_terminating_programs_agree_across_engines(source, data, tape_size):
    results = {}
    for name, engine in ENGINES.items():
        try:
            results[name] = engine(source, data, tape_size)
        except BrainfuckError:
            results[name] = BrainfuckError
    assert len(set(results.values())) == 1, (source, results)
