"""`python3 dev.py lab` starts a JupyterLab that serves /lab and lists the notebooks."""

from __future__ import annotations

import importlib.util
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

from tests.conftest import ROOT

DEADLINE = 90  # seconds for JupyterLab to come up, even on a slow CI machine


def _dev():
    spec = importlib.util.spec_from_file_location("dev", ROOT / "dev.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, b""


def test_lab_serves_the_notebooks(tmp_path):
    dev = _dev()
    assert dev.lab_command()[:4] == [str(dev.PYTHON), "-m", "jupyter", "lab"]
    port, token = _free_port(), secrets.token_hex(16)
    command = dev.lab_command(
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        f"--IdentityProvider.token={token}",
    )
    command[0] = sys.executable  # the same venv python as dev.PYTHON, whatever its path
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(tmp_path), "JUPYTER_CONFIG_DIR": str(tmp_path)}
    log = (tmp_path / "lab.log").open("w")
    lab = subprocess.Popen(
        command, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + DEADLINE
        status = None
        while time.monotonic() < deadline and lab.poll() is None:
            try:
                status, page = _get(f"{base}/lab?token={token}")
                break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.5)
        assert status == 200, (tmp_path / "lab.log").read_text()[-3000:]
        assert b"jupyter" in page.lower()
        status, body = _get(f"{base}/api/contents?token={token}")
        assert status == 200
        names = {item["name"] for item in json.loads(body)["content"]}
        assert {"00_tour.ipynb", "Template.ipynb"} <= names, names
        assert _get(f"{base}/api/contents")[0] == 403, "the API must want the token"
    finally:
        _stop(lab)
        log.close()


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
