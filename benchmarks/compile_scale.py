"""Compile time and memory as functions grow, on every tier, in one run (issues #14, #18).

    python benchmarks/compile_scale.py [--tier T ...] [--only small|doubling|cliffs]
                                       [--repeat N] [--timeout S]

Three tables, each cell measured in a fresh child process (CPU seconds of `load` plus the
run of the module's top-level code, its peak RSS, and whether stdout equals CPython's):
  small     fib and a 200-line function: compile time only (`jitkit.tiers.load`), best of N
  doubling  a straight-line function of 100, 200, ... 3,200 lines: time and the ratio per
            doubling (linear compile time gives ~2x)
  cliffs    a function with 2,000 locals, one of 5,000 statements, a 3,000-argument print
            and an expression nested 1,000 deep, on every tier, and `python -m jitkit
            build --no-libc` of each (build, then run the executable)
A cell that exceeds `--timeout` shows "> S s".
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

TIERS = ("treewalk", "interp", "stack", "ssa", "auto", "llvm", "hostc")
ROOT = Path(__file__).resolve().parent.parent


# --- programs -----------------------------------------------------------------------------------


def fib_program() -> str:
    return "def fib(n):\n    if n < 2:\n        return n\n    return fib(n - 1) + fib(n - 2)\n"


LINES = (
    "    a = a + x * {k}",
    "    if a > {k}:\n        b = b - 1",
    "    c = (a + b) % {m}",
    "    while c > {k}:\n        c = c - 3",
    "    b = b + c * 2",
)


def lines_program(lines: int) -> str:
    """A function of `lines` lines mixing arithmetic, branches and short loops."""
    body, count, k = [], 0, 0
    while count < lines:
        text = LINES[k % len(LINES)].format(k=k % 50, m=k % 7 + 2)
        body.append(text)
        count += text.count("\n") + 1
        k += 1
    src = "def f(x):\n    a = 0\n    b = 0\n    c = 0\n" + "\n".join(body)
    return src + "\n    return a + b + c\n\nprint(f(3))\n"


def locals_program(n: int = 2000) -> str:
    body = "".join(f"    v{i} = x + {i}\n" for i in range(n))
    total = " + ".join(f"v{i}" for i in range(0, n, 50))
    return f"def f(x):\n{body}    return {total}\n\nprint(f(1))\n"


def statements_program(n: int = 5000) -> str:
    body = "".join(f"    s = s + x * {i % 7}\n" for i in range(n))
    return f"def f(x):\n    s = 0\n{body}    return s\n\nprint(f(2))\n"


def print_program(n: int = 3000) -> str:
    args = ", ".join(f"x + {i}" for i in range(n))
    return f"def f(x):\n    print({args})\n    return 0\n\nf(1)\n"


def nesting_program(depth: int = 1000) -> str:
    """`x + 1 + 1 ...` (left-nested) and `- - ... x` (right-nested), `depth` levels each
    (CPython's own parser takes both; 200 levels of parentheses is its tokenizer's limit)."""
    chain = "x" + " + 1" * depth
    unary = "- " * depth + "x"
    return f"def f(x):\n    return ({chain}) * 2 + ({unary})\n\nprint(f(1))\n"


CLIFFS = {
    "2,000 locals": locals_program,
    "5,000 statements": statements_program,
    "3,000-arg print": print_program,
    "1,000-deep nesting": nesting_program,
}


# --- one measurement in a child ----------------------------------------------------------------

CHILD = textwrap.dedent(
    """
    import contextlib, io, json, os, resource, sys, time
    sys.path.insert(0, os.environ["PYTHONPATH"].split(os.pathsep)[0])  # ROOT before -c's cwd
    from jitkit.tiers import load
    source, tier, repeat, run = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4] == "1"
    source = open(source).read()
    best, out = float("inf"), io.StringIO()
    for _ in range(repeat):
        out = io.StringIO()
        start = time.process_time()
        with contextlib.redirect_stdout(out):
            program = load(source, tier, "prog.py")
            if run:
                program.run_main()
        best = min(best, time.process_time() - start)
        del program
    expected = io.StringIO()
    with contextlib.redirect_stdout(expected):
        exec(compile(source, "prog.py", "exec"), {"__name__": "__main__"})
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    same = out.getvalue() == expected.getvalue() if run else True
    print(json.dumps({"seconds": best, "rss": rss, "same": same}))
    """
)


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def measure(source: str, tier: str, repeat: int, timeout: float, run: bool = True) -> dict:
    """Seconds (best of `repeat`), peak MB and whether stdout matched CPython's; or why not."""
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as f:
        f.write(source)
    try:
        argv = [sys.executable, "-c", CHILD, f.name, tier, str(repeat), "1" if run else "0"]
        done = subprocess.run(
            argv, capture_output=True, text=True, timeout=timeout, env=child_env()
        )
    except subprocess.TimeoutExpired:
        return {"error": f"> {timeout:.0f} s"}
    finally:
        os.unlink(f.name)
    if done.returncode != 0:
        return {"error": (done.stderr.strip().splitlines() or ["crashed"])[-1][:60]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure_build(source: str, timeout: float) -> dict:
    """`python -m jitkit build --no-libc` (seconds of the build), then the executable's output."""
    with tempfile.TemporaryDirectory() as tmp:
        prog, exe = Path(tmp, "prog.py"), Path(tmp, "prog")
        prog.write_text(source)
        script = (
            "import json, resource, subprocess, sys, time\n"
            "start = time.perf_counter()\n"
            "from jitkit.__main__ import main\n"
            f"main(['build', '--no-libc', {str(prog)!r}, '-o', {str(exe)!r}])\n"
            "seconds = time.perf_counter() - start\n"
            "rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024\n"
            "print(json.dumps({'seconds': seconds, 'rss': rss}))\n"
        )
        try:
            done = subprocess.run(
                [sys.executable, "-c", script],
                capture_output=True,
                text=True,
                timeout=timeout,
                env=child_env(),
            )
            if done.returncode != 0:
                return {"error": (done.stderr.strip().splitlines() or ["crashed"])[-1][:60]}
            result = json.loads(done.stdout.strip().splitlines()[-1])
            ran = subprocess.run([str(exe)], capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return {"error": f"> {timeout:.0f} s"}
    expected = subprocess.run(
        [sys.executable, "-c", source], capture_output=True, text=True, timeout=timeout
    )
    result["same"] = ran.stdout == expected.stdout and ran.returncode == 0
    return result


def cell(r: dict, ms: bool = False) -> str:
    if "error" in r:
        return r["error"]
    time = f"{r['seconds'] * 1000:.1f} ms" if ms else f"{r['seconds']:.2f} s"
    return time + ("" if r.get("same", True) else " WRONG")


# --- tables ---------------------------------------------------------------------------------------


def small(tiers: list[str], repeat: int, timeout: float) -> None:
    print("\ncompile time, best of", repeat, "(load only; nothing runs)")
    print(f"{'program':<22}" + "".join(f"{t:>12}" for t in tiers))
    for name, source in (("fib", fib_program()), ("200-line function", lines_program(200))):
        row = [measure(source, t, repeat, timeout, run=False) for t in tiers]
        print(f"{name:<22}" + "".join(f"{cell(r, ms=True):>12}" for r in row), flush=True)


def doubling(tiers: list[str], repeat: int, timeout: float) -> None:
    sizes = [100 * 2**k for k in range(6)]
    print("\ndoubling: a function of N lines, compile + run (seconds; x = ratio to N/2)")
    print(f"{'tier':<10}" + "".join(f"{n:>14,}" for n in sizes) + f"{'worst x':>9}")
    for tier in tiers:
        times, cells = [], []
        for size in sizes:
            r = measure(lines_program(size), tier, repeat, timeout)
            times.append(r.get("seconds"))
            ratio = ""
            if len(times) > 1 and times[-1] and times[-2]:
                ratio = f" {times[-1] / times[-2]:.1f}x"
            cells.append(cell(r) + ratio)
        ratios = [b / a for a, b in zip(times, times[1:], strict=False) if a and b]
        worst = f"{max(ratios):.2f}x" if ratios else "-"
        print(f"{tier:<10}" + "".join(f"{c:>14}" for c in cells) + f"{worst:>9}", flush=True)


def cliffs(tiers: list[str], timeout: float) -> None:
    print("\ncliffs: compile + run once (seconds, peak RSS MB); WRONG = stdout differs")
    columns = [*tiers, "build"]
    print(f"{'program':<20}" + "".join(f"{t:>16}" for t in columns))
    for name, make in CLIFFS.items():
        source = make()
        row = [measure(source, t, 1, timeout) for t in tiers]
        row.append(measure_build(source, timeout))
        shown = [cell(r) + (f" {r['rss']:.0f}M" if "rss" in r else "") for r in row]
        print(f"{name:<20}" + "".join(f"{s:>16}" for s in shown), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tier", action="append", choices=TIERS, help="default: all")
    parser.add_argument("--only", choices=("small", "doubling", "cliffs"), action="append")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--timeout", type=float, default=120.0)
    args = parser.parse_args()
    tiers = args.tier or list(TIERS)
    only = args.only or ["small", "doubling", "cliffs"]
    if "small" in only:
        small(tiers, args.repeat, args.timeout)
    if "doubling" in only:
        doubling(tiers, 1, args.timeout)
    if "cliffs" in only:
        cliffs(tiers, args.timeout)


if __name__ == "__main__":
    main()
