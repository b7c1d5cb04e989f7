"""jitkit: build JIT compilers in Python, from bytes to SSA to LLVM.

Importing jitkit prints nothing and loads no native library; each layer loads on first use.
"""

from jitkit.errors import (
    EncodeError,
    JitkitError,
    MissingDependencyError,
    UnsupportedError,
    VerifyError,
)

__version__ = "0.1.0"

__all__ = [
    "EncodeError",
    "JitkitError",
    "MissingDependencyError",
    "UnsupportedError",
    "VerifyError",
    "__version__",
]
