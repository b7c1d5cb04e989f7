"""Run a notebook top to bottom in a fresh kernel of *this* Python, one cell at a time.

Takes a notebook node and a working directory; gives one `CellResult` per code cell. A
failing cell does not stop the run, a cell that runs too long is interrupted, and a dead
kernel marks the rest as not run: the caller decides what counts as a failure.
"""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jupyter_client.kernelspec import KernelSpec, KernelSpecManager
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError
from traitlets import default

KERNEL_NAME = "jitkit-python"
CELL_TIMEOUT = 120  # seconds; every chapter must run in well under a minute in total
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


class _ThisPythonSpecs(KernelSpecManager):
    """Kernel specs that always start `sys.executable`, whatever kernels are installed."""

    def get_kernel_spec(self, kernel_name: str) -> KernelSpec:
        argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
        return KernelSpec(argv=argv, display_name="Python (jitkit)", language="python")


class _ThisPythonKernel(AsyncKernelManager):
    """A kernel manager whose only kernel is this Python (nbclient owns and stops it)."""

    @default("kernel_spec_manager")
    def _kernel_spec_manager_default(self) -> KernelSpecManager:
        return _ThisPythonSpecs()


@dataclass(frozen=True)
class CellResult:
    """How one code cell ended: "ok", "error", "timeout" or "not run" (kernel died)."""

    index: int
    status: str
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def failure_message(ename: str, evalue: str, traceback: list[str]) -> str:
    """One line saying why a cell failed: the exception and the cell line that raised it."""
    text = f"{ename}: {evalue}" if evalue else ename
    for line in (_ANSI.sub("", entry) for entry in traceback):
        for row in line.splitlines():
            if row.lstrip().startswith("---->"):
                statement = row.split("---->", 1)[1].strip()
                statement = statement.split(" ", 1)[1] if " " in statement else statement
                return f"{text} (at: {statement.strip()})"
    return text


def run_notebook(nb: Any, cwd: Path, timeout: int = CELL_TIMEOUT) -> list[CellResult]:
    """Execute every code cell of `nb` (in place, outputs included) in a fresh kernel."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:  # the usual case: no loop here, run one and close it after
        return asyncio.run(_run(nb, cwd, timeout))
    with ThreadPoolExecutor(1) as pool:  # called from a running loop (inside Jupyter)
        return pool.submit(asyncio.run, _run(nb, cwd, timeout)).result()


async def _run(nb: Any, cwd: Path, timeout: int) -> list[CellResult]:
    client = NotebookClient(
        nb,
        kernel_manager_class=_ThisPythonKernel,
        kernel_name=KERNEL_NAME,
        timeout=timeout,
        startup_timeout=120,
        interrupt_on_timeout=True,
        error_on_timeout={"ename": "CellTimeoutError", "evalue": f"timed out after {timeout}s"},
        allow_errors=False,
        resources={"metadata": {"path": str(cwd)}},
    )
    results: list[CellResult] = []
    code_cells = [i for i, cell in enumerate(nb.cells) if cell.cell_type == "code"]
    why = "the kernel died in an earlier cell"
    try:
        async with client.async_setup_kernel(stderr=subprocess.DEVNULL):
            for index in code_cells:
                results.append(await _run_cell(client, nb.cells[index], index, timeout))
                if results[-1].status == "not run":
                    break
    except (RuntimeError, TimeoutError) as exc:  # the kernel did not start (or stop) cleanly
        why = f"the kernel failed: {exc}"
    done = {r.index for r in results}
    return results + [CellResult(i, "not run", why) for i in code_cells if i not in done]


async def _run_cell(client: NotebookClient, cell: Any, index: int, timeout: int) -> CellResult:
    """Run one cell; its failure, timeout or a dead kernel becomes a result, not a raise."""
    try:
        await client.async_execute_cell(cell, index)
    except CellExecutionError as exc:
        status = "timeout" if exc.ename == "CellTimeoutError" else "error"
        return CellResult(index, status, _message(exc))
    except CellTimeoutError:
        return CellResult(index, "timeout", f"timed out after {timeout}s")
    except DeadKernelError:
        return CellResult(index, "not run", "the kernel died in this cell")
    return CellResult(index, "ok")


def _message(exc: CellExecutionError) -> str:
    traceback = str(exc).splitlines()
    if exc.ename == "CellTimeoutError":
        return exc.evalue
    return failure_message(exc.ename, exc.evalue, traceback)
