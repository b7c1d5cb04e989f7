"""The `once_per_ci` marker: inside `.ci/run` a heavy test runs under its one Python only,
outside it under every Python (tests/conftest.py)."""

from __future__ import annotations

import sys

import pytest

from tests.conftest import ROOT

pytest_plugins = ["pytester"]
THIS = "{}.{}".format(*sys.version_info[:2])
TESTS = """
import pytest

@pytest.mark.once_per_ci(python="{this}")
def test_here(): pass

@pytest.mark.once_per_ci(python="{other}")
def test_elsewhere(): pass

def test_unmarked(): pass
"""


@pytest.fixture
def suite(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeconftest((ROOT / "tests" / "conftest.py").read_text())
    other = "3.99"
    pytester.makepyfile(TESTS.format(this=THIS, other=other))
    pytester.makeini("[pytest]\nmarkers =\n    once_per_ci(python): test\n")
    return pytester


def test_inside_ci_only_this_pythons_tests_run(suite, monkeypatch):
    monkeypatch.setenv("JITKIT_CI_PYTHONS", f"{THIS} 3.99")
    result = suite.runpytest("-p", "no:xdist", "-rs")
    result.assert_outcomes(passed=2, skipped=1)
    result.stdout.fnmatch_lines(["*runs once per CI run, under Python 3.99*"])


def test_outside_ci_every_test_runs(suite, monkeypatch):
    monkeypatch.delenv("JITKIT_CI_PYTHONS", raising=False)
    suite.runpytest("-p", "no:xdist").assert_outcomes(passed=3)


def test_a_python_ci_does_not_run_is_an_error(suite, monkeypatch):
    monkeypatch.setenv("JITKIT_CI_PYTHONS", THIS)
    result = suite.runpytest("-p", "no:xdist")
    assert result.ret != 0
    result.stdout.fnmatch_lines(["*once_per_ci on 3.99, CI runs*"])
