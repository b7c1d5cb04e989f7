"""`python3 dev.py lab` starts a JupyterLab that serves the repository root, opens the tour, and
every relative link in a notebook or the README opens its target (through the contents API)."""

from __future__ import annotations

import importlib.util
import json
import os
import posixpath
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import ROOT

DEADLINE = 90  # seconds for JupyterLab to come up, even on a slow CI machine
NOTEBOOKS = sorted(
    p.relative_to(ROOT).as_posix()
    for folder in ("notebooks", "solutions", "exercises")
    for p in (ROOT / folder).glob("*.ipynb")
)
LINK = re.compile(r"\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)|(?:href|src)=[\"']([^\"']+)[\"']")


def _dev():
    spec = importlib.util.spec_from_file_location("dev", ROOT / "dev.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def relative_links(path: Path) -> list[str]:
    """The relative link targets in a notebook's markdown cells (or a markdown file), as paths
    from the repository root: what clicking them in the lab asks the server for."""
    if path.suffix == ".ipynb":
        cells = json.loads(path.read_text())["cells"]
        texts = ["".join(c["source"]) for c in cells if c["cell_type"] == "markdown"]
    else:
        texts = [path.read_text()]
    here = path.parent.relative_to(ROOT).as_posix()
    targets = []
    for text in texts:
        for match in LINK.finditer(text):
            url = urllib.parse.urlsplit(match.group(1) or match.group(2))
            if url.scheme or url.netloc or not url.path:  # web links and in-page anchors
                continue
            target = posixpath.normpath(posixpath.join(here, urllib.parse.unquote(url.path)))
            targets.append(target)
    return targets


LINKS = sorted(
    {(source, target) for source in [*NOTEBOOKS, "README.md"]
     for target in relative_links(ROOT / source)}
)  # fmt: skip


def test_the_notebooks_link_to_each_other():
    """Not vacuous: chapters link to exercises/ (outside notebooks/, which the lab used to
    serve alone), and exercises and solutions link back to their chapter."""
    targets = {target for _, target in LINKS}
    assert any(t.startswith("exercises/") for t in targets), LINKS
    assert any(s.startswith("exercises/") and t.startswith("notebooks/") for s, t in LINKS)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(url: str) -> tuple[int, bytes, str]:
    """Status, body and the final URL (after redirects)."""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read(), response.url
    except urllib.error.HTTPError as exc:
        return exc.code, b"", url


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A JupyterLab started exactly as `dev.py lab` starts it (its lab_command), with a token;
    yields (base URL, token)."""
    tmp_path = tmp_path_factory.mktemp("lab")
    dev = _dev()
    port, token = _free_port(), secrets.token_hex(16)
    command = dev.lab_command(
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        f"--IdentityProvider.token={token}",
    )
    assert command[:4] == [str(dev.PYTHON), "-m", "jupyter", "lab"]
    command[0] = sys.executable  # the same venv python as dev.PYTHON, whatever its path
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(tmp_path), "JUPYTER_CONFIG_DIR": str(tmp_path)}
    log_path = tmp_path / "lab.log"
    log = log_path.open("w")
    server = subprocess.Popen(
        command, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True, cwd=ROOT
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + DEADLINE
        status = None
        while time.monotonic() < deadline and server.poll() is None:
            try:
                status, page, _ = _get(f"{base}/lab?token={token}")
                break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.5)
        assert status == 200, log_path.read_text()[-3000:]
        assert b"jupyter" in page.lower()
        yield base, token
    finally:
        _stop(server)
        log.close()


def _contents(lab, path: str) -> tuple[int, dict]:
    base, token = lab
    status, body, _ = _get(f"{base}/api/contents/{urllib.parse.quote(path)}?token={token}")
    return status, json.loads(body) if status == 200 else {}


def test_lab_serves_the_repository_root(lab):
    status, listing = _contents(lab, "")
    assert status == 200
    names = {item["name"] for item in listing["content"]}
    assert {"notebooks", "exercises", "solutions", "README.md"} <= names, names
    assert _get(f"{lab[0]}/api/contents")[0] == 403, "the API must want the token"


def test_lab_opens_the_tour(lab):
    base, token = lab
    status, _, url = _get(f"{base}/?token={token}")
    assert status == 200
    assert urllib.parse.urlsplit(url).path == "/lab/tree/notebooks/00_tour.ipynb", url


@pytest.mark.parametrize("path", NOTEBOOKS)
def test_every_notebook_opens(lab, path):
    status, model = _contents(lab, path)
    assert status == 200 and model["type"] == "notebook", (path, status)


@pytest.mark.parametrize("source, target", LINKS, ids=[f"{s}->{t}" for s, t in LINKS])
def test_every_relative_link_opens_its_target(lab, source, target):
    status, _ = _contents(lab, target)
    assert status == 200, f"{source} links to {target}, which the lab cannot open ({status})"


def test_the_users_own_root_and_url_win():
    """Arguments after `lab` reach JupyterLab; a root folder or default URL of the user's
    replaces the kit's instead of clashing with it ("root_dir only accepts one value")."""
    dev = _dev()
    mine = dev.lab_command("--ServerApp.root_dir=/srv/mine", "--port=9999")
    assert [a for a in mine if "root_dir" in a] == ["--ServerApp.root_dir=/srv/mine"]
    assert not any("default_url" in a for a in mine) and mine[-1] == "--port=9999"
    alias = dev.lab_command("--notebook-dir=/srv/mine")
    assert not any("root_dir" in a for a in alias)
    url = dev.lab_command("--LabApp.default_url=/lab/tree/README.md")
    assert [a for a in url if "default_url" in a] == ["--LabApp.default_url=/lab/tree/README.md"]
    assert f"--ServerApp.root_dir={ROOT}" in url


def _stop(process: subprocess.Popen) -> None:
    """Stop the server and everything it started (its whole process group)."""
    for sig, wait in ((signal.SIGTERM, 15), (signal.SIGKILL, None)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            break
        try:
            process.wait(timeout=wait)
            break
        except subprocess.TimeoutExpired:
            continue
