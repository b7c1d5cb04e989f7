"""Running machine code from Python: executable memory, typed callables, an ABI checker
(notebook 01).

Takes bytes or an assembled `jitkit.x86.Code`; gives W^X pages (`ExecutableMemory`), a
callable (`NativeFunction`) freed when collected, and `check_callee_saved` reports.
Importing this loads no native library; the first use checks for Linux x86-64.
"""

from jitkit.native.abi import CALLEE_SAVED, AbiReport, check_callee_saved
from jitkit.native.memory import (
    PAGE_SIZE,
    ExecutableMemory,
    ExecutableMemoryError,
    NativeFunction,
)

__all__ = [
    "CALLEE_SAVED",
    "PAGE_SIZE",
    "AbiReport",
    "ExecutableMemory",
    "ExecutableMemoryError",
    "NativeFunction",
    "check_callee_saved",
]
