"""Executable memory: W^X as the kernel sees it, typed calls, and pages freed on collection."""

from __future__ import annotations

import ctypes
import errno
import gc
import signal
import subprocess
import sys

import pytest

from jitkit.errors import JitkitError, MissingDependencyError
from jitkit.native import PAGE_SIZE, ExecutableMemory, ExecutableMemoryError, NativeFunction
from jitkit.native import memory as memory_module
from jitkit.x86 import Assembler, rax, rdi, rsi
from tests.native.maps import mapping_of, permissions

I64 = ctypes.c_int64
ADD = b"\x48\x8d\x04\x37\xc3"  # lea rax, [rdi + rsi]; ret


def test_hand_written_bytes_run_as_a_typed_function():
    add = NativeFunction(ADD, restype=I64, argtypes=(I64, I64))
    assert add(3, 4) == 7
    assert add(-10, 3) == -7
    assert add(2**62, 2**62) == -(2**63)  # int64 wraps, unlike Python
    assert add.size == 5 and add.code == ADD
    assert add.address % PAGE_SIZE == 0
    assert repr(add).startswith("<NativeFunction int64_t(int64_t, int64_t) at 0x")


def test_assembled_code_runs_and_keeps_its_labels():
    a = Assembler()
    a.label("entry")
    a.mov(rax, rdi)
    a.sub(rax, rsi)
    a.ret()
    sub = NativeFunction(a.assemble(), I64, (I64, I64))
    assert [sub(5, 7), sub(-1, -1)] == [-2, 0]
    assert sub.labels == {"entry": 0}


def test_pages_are_rw_while_written_then_rx_never_both():
    memory = ExecutableMemory(len(ADD))
    assert permissions(memory.address) == "rw-p"
    memory.write(0, ADD)
    assert permissions(memory.address) == "rw-p"
    memory.seal()
    assert permissions(memory.address) == "r-xp"
    assert memory.read(0, len(ADD)) == ADD
    assert memory.size == PAGE_SIZE


def test_no_mapping_of_ours_is_ever_writable_and_executable():
    functions = [NativeFunction(ADD, I64, (I64, I64)) for _ in range(20)]
    assert {permissions(fn.address) for fn in functions} == {"r-xp"}


def test_writing_after_seal_is_refused_by_the_api():
    memory = ExecutableMemory.from_code(ADD)
    with pytest.raises(ExecutableMemoryError, match="W\\^X"):
        memory.write(0, b"\xc3")
    assert memory.read(0, len(ADD)) == ADD


def test_writing_after_seal_is_refused_by_the_cpu():
    """Bypassing the API, a raw store into sealed pages faults; it is not silently executed."""
    child = (
        "import ctypes\n"
        "from jitkit.native import ExecutableMemory\n"
        "m = ExecutableMemory.from_code(b'\\xc3')\n"
        "ctypes.memmove(m.address, b'\\x90', 1)\n"
        "print('wrote into executable memory')\n"
    )
    run = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True)
    assert run.returncode == -signal.SIGSEGV, run.stdout + run.stderr
    assert "wrote" not in run.stdout


def test_out_of_range_writes_and_empty_memory_are_refused():
    memory = ExecutableMemory(10)
    with pytest.raises(ExecutableMemoryError, match="do not fit"):
        memory.write(PAGE_SIZE - 2, b"abc")
    with pytest.raises(ExecutableMemoryError, match="at least one byte"):
        ExecutableMemory(0)


def test_a_failing_mmap_raises_with_errno():
    with pytest.raises(ExecutableMemoryError) as caught:
        ExecutableMemory(1 << 60)
    assert caught.value.errno == errno.ENOMEM
    assert "mmap" in str(caught.value) and isinstance(caught.value, JitkitError)


def test_mapping_disappears_when_the_function_is_collected():
    fn = NativeFunction(ADD, I64, (I64, I64))
    address = fn.address
    assert mapping_of(address) is not None
    del fn
    gc.collect()
    assert mapping_of(address) is None


def test_freeing_needs_no_cycle_collector():
    """Reference counting alone frees the pages: nothing (ctypes included) forms a cycle."""
    gc.disable()
    try:
        fn = NativeFunction(ADD, I64, (I64, I64))
        fn(1, 2)
        address = fn.address
        del fn
        assert mapping_of(address) is None
    finally:
        gc.enable()


def test_a_kept_ctypes_pointer_keeps_the_pages():
    fn = NativeFunction(ADD, I64, (I64, I64))
    cfunc, address = fn.cfunc, fn.address
    del fn
    gc.collect()
    assert cfunc(20, 22) == 42  # still mapped, not a use-after-free
    del cfunc
    gc.collect()
    assert mapping_of(address) is None


def test_explicit_free_is_idempotent():
    memory = ExecutableMemory.from_code(ADD)
    address = memory.address
    memory.free()
    memory.free()
    assert memory.freed and mapping_of(address) is None
    with pytest.raises(ExecutableMemoryError):
        memory.read()


def _statm() -> tuple[int, int]:
    """(virtual size, resident set) in pages, from /proc/self/statm."""
    with open("/proc/self/statm") as f:
        size, resident = f.read().split()[:2]
    return int(size), int(resident)


def test_memory_stays_flat_over_10000_compile_and_free_cycles():
    def cycle(n: int) -> None:
        for i in range(n):
            assert NativeFunction(ADD, I64, (I64, I64))(i, 1) == i + 1

    cycle(1000)  # warm up allocator and ctypes caches
    gc.collect()
    size_before, resident_before = _statm()
    cycle(10_000)
    gc.collect()
    size_after, resident_after = _statm()
    # a leak would keep 10,000 touched pages: about 40 MB of both
    assert size_after - size_before < 256, (size_before, size_after)
    assert resident_after - resident_before < 256, (resident_before, resident_after)


def test_other_platforms_fail_at_use_not_at_import(monkeypatch):
    monkeypatch.setattr(sys, "platform", "darwin")
    memory_module.libc.cache_clear()
    try:
        with pytest.raises(MissingDependencyError, match="Linux on x86-64"):
            NativeFunction(ADD)
    finally:
        monkeypatch.undo()
        memory_module.libc.cache_clear()
    assert NativeFunction(ADD, I64, (I64, I64))(1, 1) == 2


def test_import_loads_no_native_library():
    child = (
        "import sys, jitkit.native, jitkit.display\n"
        "assert jitkit.native.memory.libc.cache_info().currsize == 0\n"
        "assert 'capstone' not in sys.modules and 'keystone' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", child], check=True)
