"""The line an autograded test cell ends with, so a learner sees "passed" (not silence).

`passed("ex1_alu_imm")` as a test cell's last line prints `ex1_alu_imm: 4 asserts passed`: the
line is reached only when every assert above it held. It counts the `assert` statements of
the cell that called it (the learner's copy has no hidden tests, so it counts fewer), read
from the cell's source in `linecache` (IPython keeps every cell there) or, where a grader ran
the cell with `exec`, from its compiled code. It never grades: the verdict stays the cell's.
"""

from __future__ import annotations

import ast
import dis
import linecache
import sys
from types import CodeType, FrameType


def passed(test: str) -> None:
    """Print `<test>: N asserts passed` for the test cell this is called from."""
    count = count_asserts(sys._getframe(1))
    noun = "assert" if count == 1 else "asserts"
    print(f"{test}: {count} {noun} passed" if count else f"{test}: passed")


def count_asserts(frame: FrameType) -> int:
    """The `assert` statements in the cell that `frame` runs (nested functions included)."""
    source = "".join(linecache.getlines(frame.f_code.co_filename))
    if source:
        try:
            return sum(isinstance(node, ast.Assert) for node in ast.walk(ast.parse(source)))
        except SyntaxError:  # a file that changed since: fall back to the code itself
            pass
    return _asserts_in(frame.f_code)


def _asserts_in(code: CodeType) -> int:
    """Each compiled `assert` loads AssertionError once (`LOAD_ASSERTION_ERROR`)."""
    own = sum(i.opname == "LOAD_ASSERTION_ERROR" for i in dis.get_instructions(code))
    return own + sum(_asserts_in(c) for c in code.co_consts if isinstance(c, CodeType))
