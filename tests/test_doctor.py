"""`python -m jitkit doctor`: the probe really calls machine code, and failures are reported."""

from __future__ import annotations

import json
import os
import platform
import sys

import pytest

from jitkit import doctor

X86_64 = platform.machine().lower() in ("x86_64", "amd64") and sys.platform == "linux"


@pytest.mark.skipif(not X86_64, reason="the probe is x86-64 Linux code")
def test_probe_calls_generated_code():
    assert doctor.probe_exec_memory() == (True, "mapped RW, flipped to RX, called: returned 42")


def test_probe_failure_cannot_kill_the_caller(monkeypatch):
    crash = "import ctypes; ctypes.string_at(0)"  # a segfault in the child
    monkeypatch.setattr(doctor, "PROBE", crash)
    ok, detail = doctor.probe_exec_memory()
    assert not ok and "signal" in detail


def test_probe_reports_a_wrong_answer(monkeypatch):
    monkeypatch.setattr(doctor, "PROBE", "print(41)")
    ok, detail = doctor.probe_exec_memory()
    assert not ok and "41" in detail


@pytest.mark.skipif(not X86_64, reason="the JIT notebooks need x86-64")
def test_json_report_and_exit_code(jitkit_cli):
    run = jitkit_cli("doctor", "--json")
    assert run.returncode == 0, run.stdout
    report = json.loads(run.stdout)
    assert report["ok"] and report["exec_memory"]["ok"]
    assert report["packages"]["capstone"] and report["packages"]["llvmlite"]
    assert report["llvm"].count(".") == 2
    assert set(report["toolchain"]) == {"cc", "ld", "as", "readelf"}
    assert report["platform"]["executable"] == sys.executable


def test_text_report(jitkit_cli):
    run = jitkit_cli("doctor")
    for word in ("platform", "exec memory", "capstone", "keystone", "llvmlite", "LLVM", "readelf"):
        assert word in run.stdout
    assert run.stdout.splitlines()[-1].startswith("ready" if run.returncode == 0 else "NOT ready")


def test_missing_toolchain_is_optional(jitkit_cli):
    run = jitkit_cli("doctor", "--json", env={**os.environ, "PATH": ""})
    report = json.loads(run.stdout)
    assert report["toolchain"] == {"cc": None, "ld": None, "as": None, "readelf": None}
    assert not report["checks"]["cc"]["ok"]
    assert run.returncode == (0 if X86_64 else 1)


def test_missing_exec_memory_means_not_ready(monkeypatch, capsys):
    monkeypatch.setattr(doctor, "probe_exec_memory", lambda: (False, "forbidden here"))
    assert doctor.main() == 1
    out = capsys.readouterr().out
    assert "exec memory  FAILED: forbidden here" in out
    assert "required: exec_memory" in out and out.rstrip().endswith("cannot run here")


def test_missing_keystone_is_reported_not_fatal(monkeypatch):
    monkeypatch.setitem(sys.modules, "keystone", None)  # makes `import keystone` fail
    assert doctor.package_version("keystone") is None
    monkeypatch.setattr(doctor, "probe_exec_memory", lambda: (True, "ok"))
    report = doctor.diagnose()
    assert report["packages"]["keystone"] is None and not report["checks"]["keystone"]["ok"]
    assert report["ok"] == (platform.machine().lower() in ("x86_64", "amd64"))
