"""The call-cost ladder's loops make exactly the calls they claim (timings are for
benchmarks/, not for assertions)."""

import ctypes

from jitkit.native.ladder import CALLBACK, call_loop, identity, measure


def test_loops_call_their_target_once_per_iteration():
    seen = []
    callback = CALLBACK(lambda i: seen.append(i) or i)
    address = ctypes.cast(callback, ctypes.c_void_p).value
    assert call_loop(True)(5, address) == 5
    assert seen == [0, 1, 2, 3, 4]
    assert call_loop(False)(1000, None) == 1000
    assert call_loop(False, with_call=False)(7, None) == 7
    assert identity()(-42) == -42


def test_measure_reports_every_rung():
    rungs = measure(calls=1000, repeat=1)
    assert [r.name for r in rungs] == [
        "native -> native",
        "Python -> Python",
        "Python -> native (ctypes)",
        "native -> Python (callback)",
    ]
