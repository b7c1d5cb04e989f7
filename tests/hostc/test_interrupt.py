"""Ctrl-C stops a compiled `while True:` (in a child process: SIGINT here would hit pytest)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

from tests.conftest import ROOT

CHILD = textwrap.dedent(
    """
    import os, signal, threading, time
    from jitkit.tiers import load
    SPIN = "def spin():\\n    print('spinning')\\n    n = 0\\n    while True:\\n        n += 1\\n"
    spin = load(SPIN, "hostc")
    assert spin.engine.build.path.exists()
    threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT)).start()
    start = time.perf_counter()
    try:
        spin.call("spin")
    except KeyboardInterrupt:
        print(f"interrupted after {time.perf_counter() - start:.3f}")
    print("alive", spin.engine.bailouts == {})
    """
)


def test_sigint_stops_a_compiled_infinite_loop_within_a_second():
    child = subprocess.run(
        [sys.executable, "-c", CHILD],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert child.returncode == 0, child.stderr
    shown, first, second = child.stdout.splitlines()
    assert shown == "spinning"  # printed by C before Ctrl-C: shown once, not dropped
    assert first.startswith("interrupted after ")
    assert float(first.split()[-1]) < 1.0
    assert second == "alive True"  # no bail-out: C itself noticed the flag
