"""HostModule: C when it can, the VM when C cannot be exact, and CPython's results either way."""

from __future__ import annotations

import contextlib
import gc
import io
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from jitkit.hostc import HostModule, compile_source, module
from jitkit.lang.parse import parse_module
from jitkit.tiers import load
from tests.conftest import ROOT
from tests.programs.engines import run
from tests.test_differential import Choices, ProgramGenerator

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


GROW = """
def grow(n):
    x = 1
    for i in range(n):
        x = x * 1000
        print(i, x)
    return x
"""


def test_overflow_hands_the_call_to_the_vm_for_the_exact_big_int(capsys):
    m = compile_source(GROW)
    assert m.call("grow", 6) == 1000**6 and not m.bailouts  # fits: all in C
    capsys.readouterr()
    assert m.call("grow", 9) == 1000**9
    assert m.bailouts == {"overflow": 1}
    assert capsys.readouterr().out == "".join(f"{i} {1000 ** (i + 1)}\n" for i in range(9))


def test_division_by_zero_raises_after_earlier_prints_shown_once(capsys):
    m = compile_source(
        "def f(n):\n    for i in range(3):\n        print('step', i)\n    return n // 0\n"
    )
    with pytest.raises(ZeroDivisionError, match="integer division or modulo by zero"):
        m.call("f", 5)
    assert capsys.readouterr().out == "step 0\nstep 1\nstep 2\n"
    assert m.bailouts == {"zero_division": 1}


def test_int64_edges_of_every_operator():
    source = (
        "def neg(a):\n    return -a\n\ndef ab(a):\n    return abs(a)\n\n"
        "def fd(a, b):\n    return a // b\n\ndef md(a, b):\n    return a % b\n\n"
        "def pw(a, b):\n    return a ** b\n\ndef add(a, b):\n    return a + b\n"
    )
    m = compile_source(source)
    assert m.call("neg", INT64_MIN) == 2**63 and m.call("ab", INT64_MIN) == 2**63
    assert m.call("fd", INT64_MIN, -1) == 2**63 and m.call("md", INT64_MIN, -1) == 0
    assert m.call("pw", 2, 63) == 2**63 and m.call("pw", -2, 63) == INT64_MIN
    assert m.call("pw", 3, 0) == 1 and m.call("pw", 0, 0) == 1 and m.call("pw", -1, 2**62) == 1
    assert m.call("add", INT64_MAX, 1) == 2**63 and m.call("add", True, True) == 2
    assert m.bailouts == {"overflow": 5}  # neg, abs, //, 2 ** 63, +; (-2) ** 63 fits
    assert m.call("pw", 2, -1) == 0.5 and m.call("pw", -2, -3) == -0.125  # floats, in C
    assert m.bailouts == {"overflow": 5}


def test_recursion_past_the_limit_is_a_recursion_error():
    m = compile_source(
        "def down(n):\n    return down(n + 1)\n\n"
        "def depth(n):\n    if n == 0:\n        return 0\n    return 1 + depth(n - 1)\n"
    )
    with pytest.raises(RecursionError):
        m.call("down", 0)
    assert m.bailouts == {"recursion": 1}
    assert m.call("depth", 500) == 500 and m.bailouts == {"recursion": 1}  # in C
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(30_000)
    try:  # deeper than C's own cap: the VM, with heap frames, finishes it
        assert m.call("depth", 15_000) == 15_000
        assert m.bailouts == {"recursion": 2}
    finally:
        sys.setrecursionlimit(old)


def test_values_c_cannot_take_go_to_the_vm():
    m = compile_source("def f(a, b):\n    return a * b\n\ndef g(a):\n    return a == None\n")
    assert m.call("f", 2**70, 3) == 3 * 2**70
    with pytest.raises(TypeError):
        m.call("f", 1)
    with pytest.raises(TypeError):
        m.call("f", None, 1)  # None * 1: TypeError, from the VM
    assert m.call("g", None) is True and m.call("g", 0) is False and m.call("g", False) is False
    assert m.bailouts == {"arguments": 1, "type": 1}
    with pytest.raises(KeyError):
        m.call("nope")


def test_unbound_local_and_bad_range():
    m = compile_source(
        "def f(a):\n    if a:\n        x = 1\n    return x\n\n"
        "def g(s):\n    t = 0\n    for i in range(0, 10, s):\n        t += i\n    return t\n"
    )
    assert m.call("f", 1) == 1
    with pytest.raises(UnboundLocalError):
        m.call("f", 0)
    assert m.call("g", 3) == 18 and m.call("g", -1) == 0
    with pytest.raises(ValueError):
        m.call("g", 0)
    assert m.call("g", True) == 45


def test_range_near_int64_max_stops_without_overflowing():
    m = compile_source(
        "def f(a, b, s):\n    n = 0\n    for i in range(a, b, s):\n        n += 1\n    return n\n"
    )
    for a, b, s in [
        (INT64_MAX - 3, INT64_MAX, 1),
        (INT64_MAX - 10, INT64_MAX, 4),
        (INT64_MIN + 10, INT64_MIN, -3),
        (0, INT64_MAX, 2**62),
    ]:
        assert m.call("f", a, b, s) == len(range(a, b, s))
    assert not m.bailouts


def test_output_beyond_the_buffer_is_shown_as_it_goes_without_a_bail_out(capsys):
    """The buffer is bounded (`OUTPUT_BUFFER`): a call printing more flushes it when full
    and stays in C (it used to grow to 64 MiB, then hand the call to the VM)."""
    m = compile_source("def f(n):\n    for i in range(n):\n        print(i)\n    return n\n")
    assert m.call("f", 100) == 100 and not m.bailouts
    lines = 4 * module.OUTPUT_BUFFER // 5  # ~5 bytes a line: four buffers
    assert m.call("f", lines) == lines and not m.bailouts
    out = capsys.readouterr().out
    assert out == "".join(f"{i}\n" for i in range(100)) + "".join(f"{i}\n" for i in range(lines))


def test_the_tier_compiles_eagerly_and_reuses_the_kit_bytecode():
    program = load(GROW, "hostc")
    assert isinstance(program.engine, HostModule)
    assert program.engine.build.path.exists()
    assert program.call("grow", 2) == 10**6


class Int64Programs(ProgramGenerator):
    """The differential generator with literals that fit int64, so most calls stay in C."""

    def literal(self) -> str:
        if self.c.chance(30):
            return str(self.c.integer(-1000, 1000))
        return repr(self.c.choice([0, 1, 2, 3, -1, -7, 10, 255, True, False, 2**31]))


def test_random_programs_mostly_in_c_agree_with_cpython():
    in_c = 0
    for seed in range(40):
        source = Int64Programs(Choices(rng=random.Random(seed))).program()
        assert run("hostc", source) == run("cpython", source), source
        m = HostModule(parse_module(source))
        run_silently(m)
        in_c += not m.bailouts
    assert in_c >= 25  # the C path, not only the VM, is what agreed


def run_silently(m: HostModule) -> None:
    with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(Exception):
        m.run_main()


def test_random_expressions_on_int64_edges_agree_with_cpython():
    """Thirty random expressions in one module (one compile), each on a grid of edge values:
    same value and type as CPython, or the same exception type."""
    gen = ProgramGenerator(Choices(rng=random.Random(7)))
    bodies = [gen.expr(["a", "b"], 3) for _ in range(30)]
    source = "".join(f"def e{i}(a, b):\n    return {body}\n\n" for i, body in enumerate(bodies))
    m = compile_source(source)
    namespace: dict = {}
    exec(source, namespace)
    values = [INT64_MIN, -(2**31), -3, -1, 0, 1, 2, 5, 2**40, INT64_MAX, True]
    for i in range(len(bodies)):
        for a in values:
            for b in values[::3]:
                assert outcome(m.call, f"e{i}", a, b) == outcome(namespace[f"e{i}"], a, b), (
                    bodies[i],
                    a,
                    b,
                )


def outcome(fn, *args) -> tuple[str, str]:
    try:
        result = fn(*args)
    except Exception as e:  # noqa: BLE001 - the type is the result
        return ("raises", type(e).__name__)
    return ("returns", repr(result))


def test_the_native_stack_budget_hands_deep_calls_to_the_vm(monkeypatch):
    monkeypatch.setattr(module, "STACK_BUDGET", 16 << 10)  # 16 KiB: a few hundred frames
    m = compile_source(
        "def depth(n):\n    if n == 0:\n        return 0\n    return 1 + depth(n - 1)\n"
    )
    assert m.call("depth", 10) == 10 and not m.bailouts
    assert m.call("depth", 900) == 900 and m.bailouts == {"recursion": 1}


SMALL_STACK_THREAD = """
import sys, threading
from jitkit.hostc import compile_source
sys.setrecursionlimit(10**5)
threading.stack_size(1 << 18)  # 256 KiB: far less than the main thread's
m = compile_source(
    "def depth(n):\\n    if n == 0:\\n        return 0\\n    return 1 + depth(n - 1)\\n"
)
results = []
thread = threading.Thread(target=lambda: results.append(m.call("depth", 9000)))
thread.start()
thread.join()
print(results, dict(m.bailouts))
"""


def test_deep_recursion_in_a_small_stack_thread_hands_over_before_the_stack_ends():
    child = subprocess.run(
        [sys.executable, "-c", SMALL_STACK_THREAD],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert child.returncode == 0, (child.returncode, child.stderr)  # -11: a segfault
    assert child.stdout == "[9000] {'recursion': 1}\n"  # CPython's answer, via the VM


def mappings_of(folder: Path) -> int:
    with open("/proc/self/maps") as maps:
        return sum(str(folder) in line for line in maps)


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="needs /proc/self/maps")
def test_a_collected_module_unloads_its_library(tmp_path):
    """DESIGN.md contract 6: compiled code is freed when the compiled object is collected."""
    modules = [
        compile_source(f"def f(n):\n    return n * {k}\n", cache_dir=tmp_path) for k in range(5)
    ]
    assert [m.call("f", 2) for m in modules] == [0, 2, 4, 6, 8]
    assert mappings_of(tmp_path) >= 5  # each library mapped (text, data, ...)
    run, library = modules[0].run, modules[0].build.library
    del modules
    gc.collect()
    assert 0 < mappings_of(tmp_path) < 5 * 2  # the one a function pointer still holds
    del library
    gc.collect()
    assert mappings_of(tmp_path) > 0, "unloaded while a function pointer to it lives"
    del run
    gc.collect()
    assert mappings_of(tmp_path) == 0
    for k in range(20):
        compile_source(f"def f(n):\n    return n + {k}\n", cache_dir=tmp_path).call("f", 1)
    gc.collect()
    assert mappings_of(tmp_path) == 0


UNENCODABLE = "def f():\n    print('a')\n    print('\\ud800')\n    return 1\n"


def printed_by(call) -> tuple[bytes, str]:
    """What `call` writes to a UTF-8 (strict) stdout, and the exception it raises."""
    stream = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    with contextlib.redirect_stdout(stream), pytest.raises(UnicodeEncodeError) as error:
        call()
    stream.flush()
    return stream.buffer.getvalue(), str(error.value)


def test_output_before_an_unencodable_print_is_shown_like_cpython():
    namespace: dict = {}
    exec(UNENCODABLE, namespace)
    m = compile_source(UNENCODABLE)
    assert printed_by(lambda: m.call("f")) == printed_by(namespace["f"])
    assert printed_by(namespace["f"])[0] == b"a\n"
    assert m.bailouts == {"encoding": 1}
