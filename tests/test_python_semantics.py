"""Corners of Python's semantics that adversarial testing found wrong (issue #14), each run in
a child process on every tier of `jitkit.tiers.TIERS` and on CPython: same stdout, same
exception type and the same message, word for word.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from jitkit.tiers import TIERS
from tests.conftest import sigint_as_a_terminal_gives_it

CHILD = """
import contextlib, io, json, sys
source, tier, call = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
out, error = io.StringIO(), None
with contextlib.redirect_stdout(out):
    try:
        if tier == "cpython":
            namespace = {"__name__": "__main__"}
            exec(compile(source, "prog.py", "exec"), namespace)
            if call:
                print(namespace[call[0]](*call[1]))
        elif tier == "vm-dis":  # the dis front end: CPython's own compiler, then the VM
            from jitkit.bytecode.from_cpython import translate_module
            from jitkit.vm.machine import VM
            vm = VM(translate_module(source, "prog.py"))
            vm.call("<module>")
            if call:
                print(vm.call(call[0], *call[1]))
        else:
            from jitkit.tiers import load
            program = load(source, tier, "prog.py")
            program.run_main()
            if call:
                print(program.call(call[0], *call[1]))
    except Exception as e:
        error = f"{type(e).__name__}: {e}"
print(json.dumps([out.getvalue(), error]))
"""


def run(source: str, tier: str, call: tuple | None = None) -> tuple[str, str | None]:
    """(stdout, "Type: message" or None) of the program on one tier, in a child process;
    `call` = (name, args) then calls one of its functions from Python and prints the result."""
    child = subprocess.run(
        [sys.executable, "-c", CHILD, textwrap.dedent(source), tier, json.dumps(call)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert child.returncode == 0, child.stderr[-2000:]
    return tuple(json.loads(child.stdout))


ARITY_DEFS = """
def none():
    return 1
def one(a):
    return a
def two(a, b):
    return a + b
def seven(a, b, c, d, e, f, g):
    return a + g
"""
ARITY_CALLS = [
    "print(none(1))",
    "print(one())",
    "print(one(1, 2))",
    "print(two())",
    "print(two(1))",
    "print(two(1, 2, 3))",
    "print(seven())",
    "print(seven(1, 2, 3, 4, 5, 6))",
]


@pytest.mark.parametrize("tier", TIERS)
@pytest.mark.parametrize("call", ARITY_CALLS)
def test_wrong_argument_counts_raise_cpythons_type_error(tier: str, call: str):
    """stack and ssa used to run `two(1)` with garbage in the missing slot."""
    source = textwrap.dedent(ARITY_DEFS) + f"print(two(20, 22))\n{call}\n"
    expected = run(source, "cpython")
    assert expected[1].startswith("TypeError: ")
    assert run(source, tier) == expected


@pytest.mark.parametrize("tier", TIERS)
@pytest.mark.parametrize("args", [(), (1,), (1, 2, 3)], ids=len)
def test_wrong_argument_counts_from_python(tier: str, args: tuple):
    """Called from Python, stack and ssa returned 0, 1 and 3 for `two()`, `two(1)` and
    `two(1, 2, 3)`, and read unpassed slots for `seven()`."""
    for name in ("two", "seven"):
        expected = run(ARITY_DEFS, "cpython", (name, args))
        assert expected[1].startswith("TypeError: ")
        assert run(ARITY_DEFS, tier, (name, args)) == expected


RECURSE = """
def r(n):
    if n == 0:
        return 0
    return 1 + r(n - 1)


print(r({n}))
"""


def run_file(tmp_path, source: str, tier: str) -> tuple[str, str]:
    """(stdout, the exception line of stderr) of `python prog.py` or `python -m jitkit run
    prog.py` (the kit's notes on VM frames, indented, come after it)."""
    path = tmp_path / "prog.py"
    path.write_text(source)
    command = [sys.executable, str(path)]
    if tier != "cpython":
        command = [sys.executable, "-m", "jitkit", "run", str(path), "--tier", tier]
    child = subprocess.run(command, capture_output=True, text=True, timeout=120)
    unindented = [line for line in child.stderr.splitlines() if not line.startswith(" ")]
    return child.stdout, (unindented or [""])[-1]


@pytest.mark.parametrize("tier", TIERS)
def test_recursion_limit_is_cpythons_to_the_frame(tmp_path, tier: str):
    """With the module's frame, r(998) fits in 1,000 frames and r(999) does not; stack, ssa
    and auto ran r(999) (a frame deopted at its entry check was resumed, not refused)."""
    limit = sys.getrecursionlimit()
    for n in (limit - 3, limit - 2, limit - 1):
        source = RECURSE.format(n=n)
        expected = run_file(tmp_path, source, "cpython")
        assert run_file(tmp_path, source, tier) == expected, n


THREADS = """
import sys, threading
from jitkit.tiers import load
source = '''
def r(n):
    if n == 0:
        return 0
    return 1 + r(n - 1)


def fib(n):
    if n < 2:
        return n
    return fib(n - 1) + fib(n - 2)
'''
tier = sys.argv[1]
if tier == "cpython":
    namespace = {}
    exec(source, namespace)
    call = lambda name, *args: namespace[name](*args)
else:
    call = load(source, tier, "prog.py").call
threading.stack_size(64 * 1024)
results = [None] * 8


def work(k):
    try:
        results[k] = [call("r", 900), call("fib", 14 + k % 3), call("r", 50 + k)]
    except BaseException as e:
        results[k] = f"{type(e).__name__}: {e}"


threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print(results, sys.getrecursionlimit())
"""


@pytest.mark.parametrize("tier", TIERS)
def test_eight_threads_with_small_stacks(tier: str):
    """8 threads on 64 KiB stacks recurse 900 deep through one program. auto segfaulted
    (a deopt inside a VM run started a nested run, each a C-stack level deeper); interp
    shared one frame stack between threads (IndexError, wrong results); treewalk ratcheted
    the recursion limit up for good."""

    def child(t: str) -> str:
        run = subprocess.run(
            [sys.executable, "-c", THREADS, t], capture_output=True, text=True, timeout=300
        )
        assert run.returncode == 0, f"{t}: exit {run.returncode}\n{run.stderr[-2000:]}"
        return run.stdout

    assert child(tier) == child("cpython")


PRINT_ERROR = """
def f(n):
    i = 0
    while i < n:
        print("line", i)
        if i == 2:
            print("bad", "\\ud800", i)
        i = i + 1
    return i


print(f(5))
print("not reached")
"""


@pytest.mark.parametrize("tier", TIERS)
def test_an_exception_raised_by_print_propagates(tmp_path, tier: str):
    """A lone surrogate cannot be written to UTF-8 stdout: CPython raises
    UnicodeEncodeError with "bad " already written. stack and ssa lost the exception in the
    ctypes callback ("Exception ignored"), dropped the line and went on to exit 0."""
    expected = run_file(tmp_path, PRINT_ERROR, "cpython")
    assert expected[0].endswith("line 2\nbad ") and expected[1].startswith("UnicodeEncodeError")
    assert run_file(tmp_path, PRINT_ERROR, tier) == expected


PRINTING_LOOP = """
def spin():
    n = 0
    while True:
        print(n)
        n = n + 1


spin()
"""


@pytest.mark.parametrize("tier", TIERS)
def test_sigint_stops_a_printing_loop(tmp_path, tier: str):
    """Ctrl-C in a loop that prints: CPython's handler runs inside the print (a ctypes
    callback on stack and ssa), where ctypes used to swallow the KeyboardInterrupt, so the
    loop could not be stopped at all. It must end as CPython's does: KeyboardInterrupt."""
    import signal
    import time

    path = tmp_path / "spin.py"
    path.write_text(PRINTING_LOOP)
    command = [sys.executable, "-m", "jitkit", "run", str(path), "--tier", tier]
    child = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        bufsize=1,
        preexec_fn=sigint_as_a_terminal_gives_it,
    )
    assert child.stdout.readline().strip() == "0"  # compiled and printing
    child.send_signal(signal.SIGINT)
    sent = time.monotonic()
    try:
        _, stderr = child.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        child.kill()
        pytest.fail(f"{tier}: still printing 10 s after SIGINT")
    print(f"{tier}: stopped {time.monotonic() - sent:.3f} s after SIGINT")
    assert child.returncode in (-signal.SIGINT, 130, 1), stderr[-1000:]
    assert stderr.rstrip().splitlines()[-1] == "KeyboardInterrupt", stderr[-1000:]


BINDINGS = {
    "defined twice": ("def g():\n    return 1\ndef g():\n    return 2\nprint(g())\n", "a second"),
    "called before its def": (
        "def a():\n    return b()\nprint(a())\ndef b():\n    return 1\n",
        "can call 'b' before its def",
    ),
    "rebound": ("def g():\n    return 1\ng = 5\nprint(g)\n", "rebinding the function name"),
    "print redefined": ("def print(x):\n    return x\nprint(1)\n", "redefining the builtin"),
    "range redefined": (
        "def range(n):\n    return n\ndef f():\n    for i in range(3):\n        pass\nf()\n",
        "redefining the builtin",
    ),
}


@pytest.mark.parametrize("tier", [*TIERS, "vm-dis"])
@pytest.mark.parametrize("case", BINDINGS)
def test_module_bindings_the_kit_cannot_follow_are_refused(tier: str, case: str):
    """CPython binds a module's names as its statements run; the kit binds every def once,
    up front. Where that would differ (the last def won, `g = 5` was ignored, a call before
    the def worked, a user's print was ignored), the program is refused, never run wrong."""
    source, why = BINDINGS[case]
    out, error = run(source, tier)
    assert out == "" and error.startswith("UnsupportedError: prog.py, line "), error
    assert why in error


def test_a_jitted_function_calling_a_redefined_builtin_is_refused(tmp_path):
    """@jit saw `print(x)` and used the builtin, though the module had its own print."""
    child = """
import jitkit

def print(*args):
    return 0

def f(x):
    print(x)
    return x

try:
    jitkit.jit(tier="stack")(f)(3)
except jitkit.UnsupportedError as e:
    import builtins
    builtins.print("refused:", str(e).split(" is not")[0])
"""
    (tmp_path / "mine.py").write_text(child)
    run_ = subprocess.run([sys.executable, tmp_path / "mine.py"], capture_output=True, text=True)
    assert run_.stdout.startswith("refused: mine.py, line 8, col 4: calling 'print', which")


DOCSTRINGS = '''"""A module with a docstring."""


def f(x):
    """A function with one."""
    return x + 1


print(f(41))
'''


@pytest.mark.parametrize("tier", [*TIERS, "vm-dis"])
def test_module_and_function_docstrings(tier: str):
    """A module docstring was refused as an unsupported str literal."""
    assert run(DOCSTRINGS, tier) == run(DOCSTRINGS, "cpython") == ("42\n", None)


TRY_EXCEPT = """
def f(x):
    try:
        return 10 // x
    except ZeroDivisionError:
        return -1


print(f(0))
"""


def test_the_dis_front_end_refuses_exception_handlers():
    """CPython 3.11+ reaches except-blocks only through the exception table, so walking the
    instructions dropped them: the VM raised ZeroDivisionError where CPython returns -1."""
    assert run(TRY_EXCEPT, "cpython") == ("-1\n", None)
    out, error = run(TRY_EXCEPT, "vm-dis")
    assert out == "" and error.startswith("UnsupportedError: prog.py, line 5, col 11: try/except")


# -------------------------------------------------- floats and lists (issue #17)

ENGINE_OF_TIER = {"interp": "vm-ast"}  # the feature table's name for a tier
FLOAT_ERRORS = [  # messages that differ between CPython versions: the running one decides
    "print(7.5 // 0.0)",
    "print(7.5 % 0)",
    "print(-1.0 // 0)",
    "print(int(float('-inf')))",
    "print(float(3 ** 700))",
    "print(1.5 ** 3000)",
    "print(0.0 ** -2)",
]


def agrees_or_refuses(tier: str, used: set[str], got: tuple, expected: tuple) -> bool:
    """The tier gives CPython's result, or refuses a feature the table lets it refuse."""
    from tests.programs import refused

    if got == expected:
        return True
    error = got[1] or ""
    return refused(ENGINE_OF_TIER.get(tier, tier), used) and error.startswith("UnsupportedError")


@pytest.mark.parametrize("tier", TIERS)
@pytest.mark.parametrize("line", FLOAT_ERRORS)
def test_float_errors_are_the_running_cpythons(tier: str, line: str):
    source = f"def f(a, b):\n    return a + b\n\nprint(f(1.5, 2))\n{line}\n"
    expected = run(source, "cpython")
    assert expected[1] is not None and expected[0] == "3.5\n"
    assert agrees_or_refuses(tier, {"floats"}, run(source, tier), expected)


LIST_DEFS = """
def grow(xs, v):
    xs.append(v)
    xs[0] = xs[0] * 2
    return xs

def mean(xs):
    total = 0.0
    for x in xs:
        total += x
    return total / len(xs)
"""


@pytest.mark.parametrize("tier", TIERS)
@pytest.mark.parametrize(
    "call",
    [("grow", [[1, 2.5], 3]), ("mean", [[1, 2, 4]]), ("mean", [[]]), ("grow", [[], 1])],
    ids=str,
)
def test_lists_and_floats_passed_from_python(tier: str, call: tuple):
    """A list or float argument makes a compiled tier hand the call to its fallback."""
    expected = run(LIST_DEFS, "cpython", call)
    assert agrees_or_refuses(tier, {"floats", "lists"}, run(LIST_DEFS, tier, call), expected)
