"""jitkit: build JIT compilers in Python, from bytes to SSA to LLVM.

Importing jitkit prints nothing and loads no native library; each layer loads on first use.
`@jitkit.jit` / `@jitkit.jit(tier=...)` is the front door.
"""

from jitkit.errors import (
    EncodeError,
    JitkitError,
    MissingDependencyError,
    UnsupportedError,
    VerifyError,
)
from jitkit.jit import jit

__version__ = "0.1.0"

__all__ = [
    "EncodeError",
    "JitkitError",
    "MissingDependencyError",
    "UnsupportedError",
    "VerifyError",
    "__version__",
    "jit",
]
