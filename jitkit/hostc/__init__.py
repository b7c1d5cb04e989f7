"""JIT by host compiler: kit AST -> C -> `cc -shared -O2` -> ctypes (notebook 04).

`cgen` writes the C, `runtime` is the C every module starts with, `build` compiles and caches
shared objects, `module.HostModule` loads one and calls it with the VM as its exact fallback,
and `measure` times compile latency and the break-even call count against the VM.
"""

from jitkit.hostc.module import HostModule, compile_source

__all__ = ["HostModule", "compile_source"]
