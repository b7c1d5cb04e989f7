"""`python -m jitkit run`, `build` and `bench` from the command line, against CPython."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from jitkit.tiers import TIERS

PROGRAM = Path(__file__).parent / "programs" / "fib.py"


def jitkit(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "jitkit", *args], capture_output=True,
                          text=True, timeout=300)  # fmt: skip


def cpython(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(path)], capture_output=True, text=True)


@pytest.mark.parametrize("tier", list(TIERS))
def test_run_prints_what_python_prints(tier):
    result = jitkit("run", str(PROGRAM), "--tier", tier)
    assert result.returncode == 0, result.stderr
    assert result.stdout == cpython(PROGRAM).stdout


@pytest.mark.parametrize("tier", list(TIERS))
def test_a_module_of_definitions_only_runs_and_prints_nothing(tier):
    from jitkit.tiers import load

    assert load("def f(n):\n    return n\n", tier).run_main() is None


@pytest.mark.parametrize("libc", [True, False], ids=["libc", "no-libc"])
def test_build_makes_an_executable_that_prints_what_python_prints(tmp_path, libc):
    out = tmp_path / "fib"
    result = jitkit("build", str(PROGRAM), "-o", str(out), "-O2", *([] if libc else ["--no-libc"]))
    assert result.returncode == 0, result.stderr
    run = subprocess.run([str(out)], capture_output=True, text=True)
    expected = cpython(PROGRAM)
    assert (run.stdout, run.returncode) == (expected.stdout, expected.returncode)


def test_bench_prints_ratios_as_json():
    result = jitkit("bench", "--tier", "stack", "--repeat", "1", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert [k["kernel"] for k in report["kernels"]] == [
        "fib", "sum_loop", "gcd_sum", "collatz", "count_primes", "mandel", "sieve"]  # fmt: skip
    assert set(report["geomean_vs_gcc"]) == {"cpython", "gcc -O2", "stack"}
    assert report["geomean_vs_gcc"]["gcc -O2"] == pytest.approx(1.0)
    gcd_sum = report["kernels"][2]
    assert gcd_sum["functions"] == 2  # gcd_sum and the gcd it calls
    assert set(gcd_sum["compile_seconds"]) == {"front end", "stack"}
    assert all(s > 0 for s in gcd_sum["compile_seconds"].values())


def test_kernel_module_keeps_callees_only():
    from jitkit.bench import kernel_module

    source = "def a(n):\n    return n\n\ndef b(n):\n    return a(n)\n\ndef c(n):\n    return c(n)\n"
    assert kernel_module(source, "b") == "def a(n):\n    return n\n\ndef b(n):\n    return a(n)"
    assert kernel_module(source, "c") == "def c(n):\n    return c(n)"
