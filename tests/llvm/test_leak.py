"""Compile-and-drop on the LLVM tier gives its memory back (issue #14 item 8).

Each case compiles and drops the same small module N times in a child process and reports
how much its resident set grew after a warm-up. What is measured (llvmlite 0.50):
the kit's own part (IR building, LLVM parsing and verifying, MCJIT's engine and code pages,
the ctypes entries) is freed; LLVM's pass pipelines as llvmlite runs them are not
(`jitkit.llvm.optimize` says how much), so the tier as a whole still grows.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from tests.conftest import ROOT

MODULES = 2000
BOUND_MB = 10.0  # issue #14: within 10 MB of where it started after 2,000 modules

CHILD = """
import gc, json, sys
from jitkit.lang.parse import parse_module
from jitkit.llvm.compiler import CompiledModule
passes = None if sys.argv[2] == "tier" else []
source = "def f(n):\\n    s = 0\\n    for i in range(n):\\n        s = s + i * i\\n    return s\\n"
kit = parse_module(source + "print(f(10))\\n", "prog.py")

def rss_mb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 2**20

def once():
    assert CompiledModule(kit, passes=passes).call("f", 5) == 30

for _ in range(50):  # warm-up: caches, the allocator's first arenas
    once()
gc.collect()
start = rss_mb()
for _ in range(int(sys.argv[1])):
    once()
gc.collect()
print(json.dumps({"grew_mb": rss_mb() - start}))
"""


def grown(modules: int, mode: str) -> float:
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(CHILD), str(modules), mode],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])["grew_mb"]


@pytest.mark.slow
def test_the_kits_part_of_a_compile_is_freed() -> None:
    """No pass pipeline (`passes=[]`): IR, parse, verify, MCJIT and the entries."""
    assert grown(MODULES, "bare") < BOUND_MB


@pytest.mark.slow
@pytest.mark.xfail(
    strict=True,
    reason="llvmlite 0.50's pass pipelines leak per module (O1 ~62 KB, O2 ~125 KB, measured "
    "in jitkit.llvm.optimize); not fixable from Python",
)
def test_the_tier_compile_and_drop_stays_within_10_mb() -> None:
    assert grown(MODULES, "tier") < BOUND_MB
