"""Shared test set-up: repository paths and a runner for `python -m jitkit`.

Hypothesis drops its per-example deadline under CI=true: shared CI machines are slow in bursts.
The host-compiler JIT's cache is a session temporary folder unless JITKIT_CACHE_DIR is set.
A test marked `once_per_ci(python="3.X")` runs under every Python, except inside `.ci/run`
(which runs the suite under 3.11, 3.12 and 3.13 and sets JITKIT_CI_PYTHONS): there it runs
under its one Python, so the heaviest tests (browser, real nbgrader, the wheel) run once each.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import settings

ROOT = Path(__file__).resolve().parent.parent


def sigint_as_a_terminal_gives_it() -> None:
    """`preexec_fn` for a child that a test sends SIGINT: a shell starts background jobs with
    SIGINT ignored, and Python then keeps ignoring it (as CPython's own loop would), so a CI
    run started in the background would see the child print forever."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


settings.register_profile("ci", deadline=None, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Inside `.ci/run`, skip a `once_per_ci` test under every Python but its own."""
    ci_pythons = os.environ.get("JITKIT_CI_PYTHONS", "").split()
    this = "{}.{}".format(*sys.version_info[:2])
    for item in items:
        marker = item.get_closest_marker("once_per_ci")
        if marker is None or not ci_pythons:
            continue
        python = marker.kwargs["python"]
        assert python in ci_pythons, f"{item.nodeid}: once_per_ci on {python}, CI runs {ci_pythons}"
        if python != this:
            why = f"runs once per CI run, under Python {python} (.ci/run, JITKIT_CI_PYTHONS)"
            item.add_marker(pytest.mark.skip(reason=why))


@pytest.fixture(scope="session", autouse=True)
def hostc_cache_dir(tmp_path_factory: pytest.TempPathFactory):
    """The host-compiler JIT's objects go to a temporary folder for the session (children
    inherit it), not to ~/.cache; a JITKIT_CACHE_DIR set by the caller is kept. Tests of the
    default location unset it with monkeypatch."""
    if os.environ.get("JITKIT_CACHE_DIR"):
        yield Path(os.environ["JITKIT_CACHE_DIR"])
        return
    folder = tmp_path_factory.mktemp("hostc-cache")
    os.environ["JITKIT_CACHE_DIR"] = str(folder)
    try:
        yield folder
    finally:
        os.environ.pop("JITKIT_CACHE_DIR", None)


@pytest.fixture(scope="session")
def root() -> Path:
    """The repository root (where pyproject.toml is)."""
    return ROOT


@pytest.fixture(scope="session")
def jitkit_cli():
    """Run `python -m jitkit ARGS...` with this Python; returns the CompletedProcess."""

    def run(*args: str, timeout: float = 300, **kwargs) -> subprocess.CompletedProcess:
        command = [sys.executable, "-m", "jitkit", *map(str, args)]
        return subprocess.run(
            command, capture_output=True, text=True, timeout=timeout, cwd=ROOT, **kwargs
        )

    return run
