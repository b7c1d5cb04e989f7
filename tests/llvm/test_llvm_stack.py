"""Deep recursion in LLVM-compiled code on small native stacks (contract 5: the process lives),
in child processes, against CPython's own answers."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from jitkit.lang.parse import parse_module
from jitkit.llvm.codegen import compile_module

DEEP = '''
import sys, threading
from jitkit.llvm.compiler import compile_source

SOURCE = """
def depth(n):
    if n == 0:
        return 0
    return 1 + depth(n - 1)

def countdown(n):
    if n == 0:
        return 0
    print(n, "left")
    return 1 + countdown(n - 1)
"""
exec(SOURCE)  # CPython's own depth and countdown: the oracle
compiled = compile_source(SOURCE)
sys.setrecursionlimit(10**5)


def both(name, n):
    print("== cpython", flush=True)
    expected = globals()[name](n)
    print("== llvm", flush=True)
    got = compiled.call(name, n)
    print("== results", expected, got, flush=True)


both("depth", 19000)  # the main thread: 8 MiB of stack
# 256 KiB: no room at all under the floor's margin, the interpreter runs the call; 1 MiB:
# compiled code shows its first 64 KiB of output, then hands over (the re-run skips them)
for size_kib, name in ((256, "depth"), (256, "countdown"), (1024, "countdown")):
    threading.stack_size(size_kib << 10)
    thread = threading.Thread(target=both, args=(name, 19000))
    thread.start()
    thread.join()
print("alive")
'''


def test_deep_recursion_on_small_thread_stacks_matches_cpython(tmp_path):
    script = tmp_path / "deep.py"
    script.write_text(DEEP)
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]  # was -11 (SIGSEGV) in the thread
    assert done.stderr == ""
    blocks = done.stdout.removesuffix("alive\n").split("== cpython\n")
    assert blocks[0] == "" and len(blocks) == 5 and done.stdout.endswith("alive\n")
    for block in blocks[1:]:  # CPython's output and answer against the compiled call's
        expected, rest = block.split("== llvm\n")
        got, results = rest.split("== results ")
        assert got == expected and results == "19000 19000\n"
    assert done.stdout.count("19000 left") == 4  # CPython's two countdowns, the JIT's two


def test_only_in_process_code_checks_the_native_stack():
    kit = parse_module(
        textwrap.dedent("""
        def f(n):
            return f(n - 1) if n else leaf(n)
        def leaf(n):
            return n + 1
        print(f(3))
    """)
    )
    program = compile_module(kit, "inprocess")
    # the entry checks of the functions that call (f, the first of f's untagged copies and
    # the module's code; a leaf adds one frame, which the floor's margin holds) and the
    # three entries Python calls
    assert str(program).count('call i64 @"llvm.read_register.i64"(metadata') == 3 + 3
    assert [(s.kind, s.function) for s in program.sites if s.kind == "stack"] == [
        ("stack", "f"),
        ("stack", "<module>"),
        ("stack", "f"),
    ]
    for target in ("libc", "nolibc"):
        program = compile_module(kit, target)
        assert "read_register" not in str(program) and "jk_stack" not in str(program)
        assert "stack" not in {s.kind for s in program.sites}
