"""The LLVM tests' shared pair: a test module's `SOURCE` compiled in process, and the same
source run by CPython (the oracle), each once per module."""

from __future__ import annotations

import pytest

from jitkit.llvm.compiler import compile_source


@pytest.fixture(scope="module")
def compiled(request):
    return compile_source(request.module.SOURCE)


@pytest.fixture(scope="module")
def python(request):
    namespace: dict = {}
    exec(request.module.SOURCE, namespace)
    return namespace


def outcome(call):
    """What a call gives: ("ok", value, its type) or (exception type, message)."""
    try:
        value = call()
        return "ok", value, type(value)
    except Exception as error:  # noqa: BLE001 - the type and message are compared
        return type(error).__name__, str(error)
