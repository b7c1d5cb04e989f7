"""`jitkit.bench.measure` (notebook 10): interleaved rounds, every answer checked, a peer in a
child process, and the JSON `benchmarks/every_tier.py` writes read back to the same table."""

from __future__ import annotations

import json
import math
import sys

from jitkit import bench


def test_a_peer_child_runs_the_kernels_and_reports_cpu_time():
    peer = bench.Peer(sys.executable)  # this Python as a stand-in for PyPy: same driver
    try:
        namespace: dict = {}
        exec(bench.kernel_source(), namespace)
        result, seconds = peer.timed("gcd_sum", 40, 3)
        assert result == namespace["gcd_sum"](40) and seconds >= 0
    finally:
        peer.close()
    assert peer.proc.returncode == 0


def test_measure_interleaves_rounds_and_reads_back_from_json():
    sizes = {"fib": 12, "sum_loop": 3_000}
    suite = bench.measure(["interp", "ssa", bench.DECORATOR], sizes, rounds=2, with_peers=False)
    assert set(suite.samples) == set(sizes)
    for kernel in sizes:
        assert set(suite.samples[kernel]) == {
            "cpython",
            "gcc -O2",
            "interp",
            "ssa",
            bench.DECORATOR,
        }
        assert all(len(v) == 2 and min(v) > 0 for v in suite.samples[kernel].values())
        assert set(suite.compile[kernel]) == {"front end", "interp", "ssa", bench.DECORATOR}
    assert suite.results == {"fib": 144, "sum_loop": sum(i * i % 7 for i in range(3_000))}
    table = bench.ratio_table(suite, base="cpython")
    assert table.splitlines()[0].startswith("÷ cpython") and len(table.splitlines()) == 6
    assert max(len(line) for line in table.splitlines()) <= 100
    data = json.loads(json.dumps(bench.suite_json(suite, "pytest")))
    assert data["run"]["command"] == "pytest" and data["run"]["cores"] >= 1
    assert bench.ratio_table(bench.Suite.from_json(data), base="cpython") == table
    row = suite.rows()[0]
    assert bench.break_even(row, "interp", "cpython") == math.inf  # the VM is never faster
    assert len(bench.round_geomeans(suite, "ssa", "cpython")) == 2
