"""The one exactness mechanism of hostc and llvm (`jitkit.exact.rerun`), held on both tiers.

Every expected output here is CPython's own (the program run by `exec`, or by `python` in a
child process); the tiers must print the same text, once, in order, and raise the same
exception, however much was shown before the call bailed out.
"""

from __future__ import annotations

import contextlib
import io
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest

from jitkit.exact.rerun import OUTPUT_BUFFER, Tag, complete
from jitkit.hostc.runtime import prelude
from jitkit.llvm import values
from jitkit.native.stack import NATIVE_DEPTH_CAP
from jitkit.tiers import load
from tests.conftest import ROOT, sigint_as_a_terminal_gives_it
from tests.test_python_semantics import PRINTING_LOOP

TIERS = ("hostc", "llvm")
DOORS = ("entry", "ctypes")  # the builtin entry's stub, or the engine's `call` through ctypes


def cpython(source: str, name: str, *args: object) -> tuple[str, object]:
    """What CPython prints and returns (or raises) for `name(*args)`."""
    namespace: dict = {}
    exec(source, namespace)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        try:
            result: object = namespace[name](*args)
        except Exception as error:  # noqa: BLE001 - compared with the tier's
            result = error
    return out.getvalue(), result


def tier_run(source: str, tier: str, door: str, name: str, *args: object):
    """What the tier prints and returns (or raises), and its engine."""
    program = load(source, tier)
    call = program.call if door == "entry" else program.engine.call
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        try:
            result: object = call(name, *args)
        except Exception as error:  # noqa: BLE001 - compared with CPython's
            result = error
    return out.getvalue(), result, program.engine


def same_outcome(got: object, expected: object) -> bool:
    if isinstance(expected, Exception):
        return type(got) is type(expected) and str(got) == str(expected)
    return type(got) is type(expected) and got == expected


def test_the_tags_are_one_enum_for_c_and_llvm():
    text = prelude()
    for tag in Tag:
        assert f"#define JK_{tag.name} {tag.value}\n" in text
        assert getattr(values, tag.name) == tag.value
    assert "enum { JK_INT" not in text  # no second spelling left


def test_complete_keeps_a_character_split_at_the_end_for_the_next_buffer():
    for text in ["abc", "é", "a€b", "𝄞", "a\udc80"]:
        data = text.encode("utf-8", "surrogatepass")
        for cut in range(len(data) + 1):
            whole = complete(data[:cut])
            shown = data[:whole].decode("utf-8", "surrogatepass")  # whole characters only
            assert text.startswith(shown)
            if whole < cut:  # what is held back is the start of the next character
                assert cut - whole < len(text[len(shown)].encode("utf-8", "surrogatepass"))


OVERFLOW = """
def grow(lines, n):
    i = 0
    while i < lines:
        if i % 7 == 0:
            print("line", i, "é")
        else:
            print("line", i)
        i = i + 1
    x = 1
    for k in range(n):
        x = x * 3
        print(k, x)
    return x
"""


@pytest.mark.parametrize("door", DOORS)
@pytest.mark.parametrize("tier", TIERS)
@pytest.mark.parametrize("lines", [0, 10, 3 * OUTPUT_BUFFER // 10])
def test_an_overflow_after_output_shows_each_line_once_in_order(tier, door, lines):
    """3 ** 40 overflows int64: the call re-runs in the VM. With `lines` printed first (none,
    a few, or three buffers' worth, so some were shown before the bail-out, a character of
    two bytes split between buffers on the way) the output is CPython's, line for line."""
    expected = cpython(OVERFLOW, "grow", lines, 45)
    out, result, engine = tier_run(OVERFLOW, tier, door, "grow", lines, 45)
    assert out == expected[0]
    assert same_outcome(result, expected[1])
    assert sum(engine.bailouts.values()) == 1


ZERO_DIVISION_AFTER_OUTPUT = """
def f(lines):
    i = 0
    while i < lines:
        print(i, i * i)
        i = i + 1
    return lines // (i - lines)
"""


@pytest.mark.parametrize("tier", TIERS)
def test_output_past_the_buffer_then_an_exact_error_is_shown_once(tier):
    lines = OUTPUT_BUFFER // 4
    expected = cpython(ZERO_DIVISION_AFTER_OUTPUT, "f", lines)
    out, result, _ = tier_run(ZERO_DIVISION_AFTER_OUTPUT, tier, "entry", "f", lines)
    assert (out, type(result)) == (expected[0], ZeroDivisionError)


UNENCODABLE = """
def f(lines):
    i = 0
    while i < lines:
        print("ascii", i)
        i = i + 1
    print("before", end=" ")
    print("caf\u00e9")
    print("not reached")
"""


def printed_by(call) -> tuple[bytes, str]:
    """What `call` writes to an ASCII (strict) stdout, and the exception it raises."""
    stream = io.TextIOWrapper(io.BytesIO(), encoding="ascii")
    with contextlib.redirect_stdout(stream), pytest.raises(UnicodeEncodeError) as error:
        call()
    stream.flush()
    return stream.buffer.getvalue(), str(error.value)


@pytest.mark.parametrize("tier", TIERS)
@pytest.mark.parametrize("lines", [3, OUTPUT_BUFFER // 5])
def test_an_unencodable_print_after_shown_output_raises_at_that_print(tier, lines):
    """The stream raises in the sink (a whole buffer it cannot encode): the error is kept,
    the code stops, and the VM's re-run shows the text before the failing print and raises
    there, as CPython does; nothing is lost in ctypes."""
    namespace: dict = {}
    exec(UNENCODABLE, namespace)
    program = load(UNENCODABLE, tier)
    expected = printed_by(lambda: namespace["f"](lines))
    assert expected[0].endswith(b"before ")
    assert printed_by(lambda: program.call("f", lines)) == expected
    assert program.engine.bailouts == {"encoding": 1}


class InterruptingStream(io.StringIO):
    """A stdout whose `after`-th write takes the text, then raises KeyboardInterrupt: what
    CPython's SIGINT handler does when the signal comes while the sink writes."""

    def __init__(self, after: int) -> None:
        super().__init__()
        self.after = after

    def write(self, text: str) -> int:
        super().write(text)
        self.after -= 1
        if self.after == 0:
            raise KeyboardInterrupt
        return len(text)


SPIN = """
def spin(limit):
    n = 0
    while n < limit:
        print(n)
        n = n + 1
    return n
"""


@pytest.mark.parametrize("door", DOORS)
@pytest.mark.parametrize("tier", TIERS)
def test_a_keyboard_interrupt_raised_in_the_sink_ends_the_call(tier, door):
    """It used to be lost in ctypes ("Exception ignored on calling ctypes callback"). Now it
    is kept, the code stops at its next poll, the output up to there is shown (whole lines,
    in order) and the call raises KeyboardInterrupt, long before its loop would end."""
    program = load(SPIN, tier)
    call = program.call if door == "entry" else program.engine.call
    stream = InterruptingStream(after=2)
    with contextlib.redirect_stdout(stream), pytest.raises(KeyboardInterrupt):
        call("spin", 10**9)
    lines = stream.getvalue().split("\n")
    assert lines[-1] == "" and lines[:-1] == [str(i) for i in range(len(lines) - 1)]
    assert len(stream.getvalue()) > OUTPUT_BUFFER  # the two writes: one buffer, then more
    assert call("spin", 5) == 5  # the module works on


RECURSION = """
def depth(n):
    if n == 0:
        return 0
    return 1 + depth(n - 1)
"""


@pytest.mark.parametrize("tier", TIERS)
def test_recursion_past_the_native_depth_cap_is_cpythons(tier):
    """Past `NATIVE_DEPTH_CAP` compiled frames the call re-runs in the VM (heap frames), so a
    raised recursion limit is honoured; past the limit it is CPython's RecursionError. In a
    child process: CPython's own answer needs the same raised limit."""
    limit = NATIVE_DEPTH_CAP + 5_000
    child = textwrap.dedent(
        f"""
        import sys
        sys.setrecursionlimit({limit})
        from jitkit.tiers import load
        source = {RECURSION!r}
        namespace = {{}}
        exec(source, namespace)
        program = load(source, {tier!r})
        for n in (100, {NATIVE_DEPTH_CAP + 1_000}, {2 * limit}):
            answers = []
            for depth in (namespace["depth"], lambda n: program.call("depth", n)):
                try:
                    answers.append(depth(n))
                except RecursionError as error:
                    answers.append(type(error).__name__)
            print(n, *answers)
        print(dict(program.engine.bailouts))
        """
    )
    ran = subprocess.run(
        [sys.executable, "-c", child],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert ran.returncode == 0, ran.stderr[-2000:]
    *rows, bailouts = ran.stdout.splitlines()
    deep = NATIVE_DEPTH_CAP + 1_000
    assert rows == [
        "100 100 100",
        f"{deep} {deep} {deep}",
        f"{2 * limit} RecursionError RecursionError",
    ]
    assert bailouts != "{}"  # the deep calls went to the VM


def child_env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONIOENCODING": "utf-8"}


@pytest.mark.parametrize("tier", [*TIERS, "stack", "ssa"])
def test_sigint_while_printing_ends_with_keyboard_interrupt_and_whole_lines(tmp_path, tier):
    """Ctrl-C arrives while compiled code prints (often inside the print callback, where
    CPython runs its handler): the program ends with KeyboardInterrupt, nothing reported as
    ignored, its output 0, 1, 2, ... in order with no line lost or repeated. A reader drains
    the pipe, so no write blocks (a blocked write may end mid-line, in CPython too)."""
    path = tmp_path / "spin.py"
    path.write_text(PRINTING_LOOP)
    command = [sys.executable, "-m", "jitkit", "run", str(path), "--tier", tier]
    child = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=child_env(),
        cwd=ROOT,
        preexec_fn=sigint_as_a_terminal_gives_it,
    )
    chunks: list[bytes] = []
    reader = threading.Thread(target=lambda: chunks.extend(iter(lambda: child.stdout.read1(), b"")))
    reader.start()
    while sum(map(len, chunks)) < 4 * OUTPUT_BUFFER:  # compiled and printing for a while
        time.sleep(0.01)
    child.send_signal(signal.SIGINT)
    try:
        stderr = child.stderr.read().decode()
        child.wait(timeout=30)
    finally:
        child.kill()
        reader.join()
    lines = b"".join(chunks).decode().split("\n")
    assert stderr.rstrip().splitlines()[-1] == "KeyboardInterrupt", stderr[-1000:]
    assert "Exception ignored" not in stderr, stderr[-1000:]
    assert lines[:-1] == [str(i) for i in range(len(lines) - 1)]
    assert str(len(lines) - 1).startswith(lines[-1])  # at most the next number, begun


MEMORY = """
def flood(lines):
    i = 0
    while i < lines:
        print("{}", i)
        i = i + 1
    return i


print(flood({}))
"""


def peak_rss_kib(tier: str, megabytes: int, tmp_path) -> int:
    """The child's peak RSS after printing about `megabytes` MB to /dev/null."""
    lines = megabytes * 10_000  # 100-byte lines
    path = tmp_path / f"flood{megabytes}.py"
    path.write_text(MEMORY.format("x" * 92, lines))
    child = (
        "import resource, sys\n"
        "from jitkit.tiers import load\n"
        f"load(open({str(path)!r}).read(), {tier!r}).run_main()\n"
        "sys.stdout.flush()\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)\n"
    )
    ran = subprocess.run(
        [sys.executable, "-c", child],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        timeout=600,
        cwd=ROOT,
        env=child_env(),
    )
    assert ran.returncode == 0, ran.stderr[-2000:]
    return int(ran.stderr.split()[-1])


@pytest.mark.parametrize("tier", TIERS)
def test_printing_100_mb_keeps_memory_bounded(tmp_path, tier):
    """The buffer is 64 KiB however much a call prints: 100 MB of output raises the peak RSS
    by less than 16 MB over 1 MB of output (hostc held up to 64 MiB, then re-ran the call)."""
    small = peak_rss_kib(tier, 1, tmp_path)
    large = peak_rss_kib(tier, 100, tmp_path)
    assert large - small < 16 << 10, (small, large)
