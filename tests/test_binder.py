"""binder/ builds the same kit pyproject.toml describes, on a pinned Python, with binutils.

The recipe test renders repo2docker's Dockerfile offline (`--no-build --debug`: no Docker).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from tests.conftest import ROOT

BINDER = ROOT / "binder"
LOCAL = {".", "-e ."}


def _lines(path: Path) -> list[str]:
    text = path.read_text().splitlines()
    return [line.strip() for line in text if line.strip() and not line.startswith("#")]


def _normal(spec: str) -> str:
    return str(Requirement(spec))


def test_runtime_pins_python_311():
    assert _lines(BINDER / "runtime.txt") == ["python-3.11"]


def test_requirements_install_the_kit_and_its_runtime_deps():
    lines = _lines(BINDER / "requirements.txt")
    assert LOCAL & set(lines), "binder/requirements.txt must install the kit itself (-e .)"
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = sorted(map(_normal, pyproject["dependencies"]))
    assert sorted(_normal(line) for line in lines if line not in LOCAL) == wanted


def test_apt_packages():
    assert {"binutils", "graphviz"} <= set(_lines(BINDER / "apt.txt"))


def test_repo2docker_recipe(tmp_path):
    """The image recipe repo2docker would build: Python 3.11, apt packages, the kit installed."""
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
    assert any(name.endswith("environment.py-3.11-linux-64.lock") for name in names), names
    install = re.search(r"apt-get install --yes --no-install-recommends ([^&]+)&&", dockerfile)
    assert install, "no apt-get install of binder/apt.txt in the recipe"
    assert set(_lines(BINDER / "apt.txt")) <= set(install.group(1).replace("\\", " ").split())
    pip = dockerfile.index('pip install --no-cache-dir -r "binder/requirements.txt"')
    assert dockerfile.index("COPY --chown=0:0 src/ ${REPO_DIR}/") < pip, "-e . needs the source"
