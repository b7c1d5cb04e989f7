"""Start-up cost: wall time and peak memory of a command (notebook 02).

Takes a command line; gives a `Measurement`: the fastest wall time over several runs and
the peak resident set size the kernel accounted to it. Peak memory needs care: a child
forked from this Python process inherits its 15+ MB high-water mark, so `wait4` here would
report Python's size for every command. The kit therefore builds a launcher with its own
tiny runtime (fork, execve, wait4 as raw system calls): the launcher is a few pages, so the
peak it reports is the measured program's own.
"""

from __future__ import annotations

import functools
import shutil
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from jitkit.elf.run import save
from jitkit.elf.runtime import program
from jitkit.x86 import Assembler, eax, edi, edx, mem, qword, r10, r12, rax, rbx, rdi, rdx, rsi, rsp

SYS_DUP2, SYS_FORK, SYS_EXECVE, SYS_WAIT4 = 33, 57, 59, 61
RU_MAXRSS = 32  # offset in struct rusage, after ru_utime and ru_stime (16 bytes each)


@dataclass(frozen=True)
class Measurement:
    """Fastest wall time in seconds and peak resident set in KiB of one command."""

    command: str
    seconds: float
    max_rss_kib: int


def emit_launcher_main(a: Assembler) -> None:
    """main(argc, argv): fork; the child sends stdout to stderr and execs argv[1..];
    the parent waits with wait4 and prints the child's ru_maxrss (KiB)."""
    a.label("main")
    a.push(rbx)
    a.push(r12)
    a.sub(rsp, 168)  # struct rusage (144 B) + status; rsp stays 16-aligned
    a.mov(rbx, rsi)  # argv
    a.lea(r12, mem(rsi, 8, rdi, 8))  # envp = argv + 8*(argc+1)
    a.mov(eax, SYS_FORK)
    a.syscall()
    a.test(rax, rax)
    a.jne("main.parent")
    a.mov(edi, 2)
    a.mov(rsi, 1)
    a.mov(eax, SYS_DUP2)  # dup2(2, 1): the measured program's output goes to stderr
    a.syscall()
    a.mov(rdi, qword(rbx, 8))
    a.lea(rsi, mem(rbx, 8))
    a.mov(rdx, r12)
    a.mov(eax, SYS_EXECVE)
    a.syscall()
    a.mov(edi, 127)  # only reached if execve failed
    a.call("exit")
    a.label("main.parent")
    a.mov(rdi, rax)  # pid
    a.lea(rsi, mem(rsp, 144))  # &status
    a.xor(edx, edx)
    a.mov(r10, rsp)  # &rusage
    a.mov(eax, SYS_WAIT4)
    a.syscall()
    a.mov(rdi, qword(rsp, RU_MAXRSS))
    a.call("print_int64")
    a.call("print_newline")
    a.xor(eax, eax)
    a.add(rsp, 168)
    a.pop(r12)
    a.pop(rbx)
    a.ret()


@functools.cache
def launcher() -> Path:
    """The launcher executable, built once per session in a temporary directory."""
    directory = Path(tempfile.mkdtemp(prefix="jitkit-measure-"))
    return save(program(emit_launcher_main), directory / "launch")


def peak_rss_kib(command: Sequence[str]) -> int:
    """The peak resident set (KiB) of one run of `command`, through the launcher. Recent
    kernels count resident pages per CPU, in batches: a process of a few pages may report 0."""
    path = shutil.which(str(command[0]))  # execve does not search PATH
    if path is None:
        raise FileNotFoundError(command[0])
    done = subprocess.run(
        [str(launcher()), path, *map(str, command[1:])], capture_output=True, text=True, check=True
    )
    return int(done.stdout.split()[-1])


def measure(command: Sequence[str], repeat: int = 20) -> Measurement:
    """Run `command` `repeat` times: the fastest wall time, the largest peak memory."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        best = min(best, time.perf_counter() - start)
    rss = max(peak_rss_kib(command) for _ in range(3))
    return Measurement(" ".join(map(str, command)), best, rss)
