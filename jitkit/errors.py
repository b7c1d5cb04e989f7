"""Every stage's own error, so a learner sees which stage refused and why.

All derive from `JitkitError`; none of them is ever a crash of the kernel.
"""


class JitkitError(Exception):
    """Base class of every error jitkit raises on purpose."""


class EncodeError(JitkitError):
    """An instruction or operand combination that x86-64 cannot encode."""


class MissingDependencyError(JitkitError, ImportError):
    """An optional native package (keystone, a C compiler...) is not available here."""


class VerifyError(JitkitError):
    """Malformed bytecode or IR, rejected before any code runs."""


class UnsupportedError(JitkitError):
    """Source code outside the supported Python subset (names file, line and construct)."""
