"""binder/ and requirements/lock.txt: exact versions that satisfy pyproject.toml, installed by
the image repo2docker would build, on a pinned Python, with binutils.

The lock is checked with packaging's own parser (not ours) for each Python the kit supports.
The recipe test renders repo2docker's Dockerfile offline (`--no-build --debug`: no Docker).
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.conftest import ROOT

BINDER = ROOT / "binder"
LOCK = ROOT / "requirements" / "lock.txt"
PYTHONS = ("3.11.7", "3.12.1", "3.13.0")  # requires-python >= 3.11; CI runs these three


def lock_script():
    """requirements/lock.py, the script that writes both locks, as a module."""
    spec = importlib.util.spec_from_file_location("lock", ROOT / "requirements" / "lock.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


BINDER_PYTHON = lock_script().BINDER_PYTHON


def _lines(path: Path) -> list[str]:
    text = path.read_text().splitlines()
    return [line.strip() for line in text if line.strip() and not line.lstrip().startswith("#")]


def linux_x86_64(python: str) -> dict[str, str]:
    """A marker environment: CPython `python` on Linux x86-64 (Binder's and CI's machine)."""
    return {
        "python_version": ".".join(python.split(".")[:2]),
        "python_full_version": python,
        "implementation_name": "cpython",
        "platform_python_implementation": "CPython",
        "sys_platform": "linux",
        "platform_system": "Linux",
        "platform_machine": "x86_64",
        "os_name": "posix",
        "extra": "",
    }


def pins(path: Path, environment: dict[str, str]) -> dict[str, str]:
    """name -> version of a lock's `name==version [; marker]` lines that apply here; a name
    pinned twice for the same environment is an error."""
    found: dict[str, str] = {}
    for line in _lines(path):
        requirement = Requirement(line)
        if requirement.marker and not requirement.marker.evaluate(environment):
            continue
        (spec,) = requirement.specifier
        assert spec.operator == "==", line
        name = canonicalize_name(requirement.name)
        assert name not in found, f"{name} pinned twice for Python {environment['python_version']}"
        found[name] = spec.version
    return found


def unmet(requirements: list[str], pinned: dict[str, str], environment: dict[str, str]):
    """The requirements (of those that apply here) the pins do not satisfy."""
    for text in requirements:
        requirement = Requirement(text)
        if requirement.marker and not requirement.marker.evaluate(environment):
            continue
        version = pinned.get(canonicalize_name(requirement.name))
        if version is None or not requirement.specifier.contains(version, prereleases=True):
            yield f"{text} (lock: {version})"


def project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def test_runtime_pins_python_311():
    assert _lines(BINDER / "runtime.txt") == ["python-3.11"]


def test_binder_requirements_are_pure_pins():
    """No `-e .` (it would make repo2docker copy the whole repository before installing, so
    every commit rebuilds the dependency layer), no ranges, no markers."""
    for line in _lines(BINDER / "requirements.txt"):
        assert re.fullmatch(r"[A-Za-z0-9._-]+==[A-Za-z0-9.+!-]+", line), line


def test_binder_lock_satisfies_the_runtime_dependencies():
    environment = linux_x86_64(BINDER_PYTHON)
    pinned = pins(BINDER / "requirements.txt", environment)
    assert list(unmet(project()["dependencies"], pinned, environment)) == []


@pytest.mark.parametrize("python", [*PYTHONS, BINDER_PYTHON])
def test_lock_satisfies_every_dependency_and_extra(python):
    """dev.py installs jitkit[test,instructor] through the lock, on every supported Python."""
    environment = linux_x86_64(python)
    pinned = pins(LOCK, environment)
    wanted = [*project()["dependencies"]]
    for extra in ("test", "instructor"):
        wanted += project()["optional-dependencies"][extra]
    assert list(unmet(wanted, pinned, environment)) == []


def test_binder_pins_the_locks_versions():
    """One resolution: Binder gets the versions the test suite ran with on Python 3.11."""
    environment = linux_x86_64(BINDER_PYTHON)
    lock = pins(LOCK, environment)
    binder = pins(BINDER / "requirements.txt", environment)
    assert {name: (version, lock.get(name)) for name, version in binder.items()} == {
        name: (version, version) for name, version in binder.items()
    }


def test_apt_packages():
    assert {"binutils", "graphviz"} <= set(_lines(BINDER / "apt.txt"))


def run_post_build(tmp_path: Path, jupyterlab: str) -> subprocess.CompletedProcess:
    """binder/postBuild in a copy of binder/, with `python` and `jupyter` stand-ins on PATH
    (the stand-in JupyterLab reports version `jupyterlab`)."""
    shutil.copytree(BINDER, tmp_path / "binder")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "python").write_text(f'#!/bin/sh\necho "$@" > {tmp_path}/pip-args\n')
    (bin_dir / "jupyter").write_text(f"#!/bin/sh\necho {jupyterlab}\n")
    for stand_in in bin_dir.iterdir():
        stand_in.chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    return subprocess.run(
        ["bash", "binder/postBuild"], cwd=tmp_path, env=env, capture_output=True, text=True
    )


def test_post_build_installs_the_kit_and_checks_jupyterlab(tmp_path):
    locked = pins(BINDER / "requirements.txt", linux_x86_64(BINDER_PYTHON))["jupyterlab"]
    run = run_post_build(tmp_path / "same", locked)
    assert run.returncode == 0, run.stderr
    pip_args = (tmp_path / "same" / "pip-args").read_text().split()
    assert pip_args == ["-m", "pip", "install", "--no-cache-dir", "--no-deps", "-e", "."]
    run = run_post_build(tmp_path / "older", "4.4.9")
    assert run.returncode == 1
    assert (
        run.stderr
        == f"binder/postBuild: JupyterLab is 4.4.9, binder/requirements.txt pins {locked}\n"
    )


def test_repo2docker_recipe(tmp_path):
    """The image recipe repo2docker would build: Python 3.11, apt packages, the lock installed
    into the server's own environment before the repository is copied (a cached layer), then
    postBuild installs the kit."""
    escapism = pytest.importorskip("escapism")
    repo = tmp_path / "repo"
    shutil.copytree(BINDER, repo / "binder")
    shutil.copy(ROOT / "pyproject.toml", repo)
    r2d = Path(sys.executable).parent / "repo2docker"
    run = subprocess.run(
        [str(r2d), "--no-build", "--debug", str(repo)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    dockerfile = run.stdout
    # The conda environment of the pinned Python is copied in under an escaped file name
    # (escapism with "-", then "-" and a short hash).
    copied = re.findall(r"^COPY \S+ build_script_files/(\S+)-[0-9a-f]+ ", dockerfile, re.M)
    names = [escapism.unescape(name, escape_char="-") for name in copied]
    (environment,) = [name for name in names if name.endswith("environment.py-3.11-linux-64.lock")]
    # The lock was resolved for the Python that this environment installs.
    python = re.findall(r"/python-(3\.11\.\d+)-", Path(environment).read_text())
    assert python == [BINDER_PYTHON], f"{environment} installs Python {python}"
    install = re.search(r"apt-get install --yes --no-install-recommends ([^&]+)&&", dockerfile)
    assert install, "no apt-get install of binder/apt.txt in the recipe"
    assert set(_lines(BINDER / "apt.txt")) <= set(install.group(1).replace("\\", " ").split())
    # The lock goes into the environment JupyterLab runs from, so the server is the lock's
    # JupyterLab, not the base environment's own pin.
    assert re.search(r"^ENV KERNEL_PYTHON_PREFIX=\$\{NB_PYTHON_PREFIX\}$", dockerfile, re.M)
    copy_lock = dockerfile.index("COPY --chown=0:0 src/binder/requirements.txt ")
    pip = dockerfile.index(
        'RUN ${KERNEL_PYTHON_PREFIX}/bin/pip install --no-cache-dir -r "binder/requirements.txt"'
    )
    copy_repo = dockerfile.index("COPY --chown=0:0 src/ ${REPO_DIR}/")
    post_build = dockerfile.index("RUN ./binder/postBuild")
    assert copy_lock < pip < copy_repo < post_build
