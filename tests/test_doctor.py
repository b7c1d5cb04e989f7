"""`python -m jitkit doctor`: the probes really call machine code and run every tier, and
failures are reported."""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys

import pytest

from jitkit import doctor
from jitkit.tiers import TIERS
from tests.conftest import ROOT

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
    assert set(report["tiers"]) == set(TIERS)
    for tier, result in report["tiers"].items():
        assert result == {"ok": True, "detail": "CPython's results"}, tier
        assert report["checks"][tier]["ok"]


def test_tier_probe_expects_cpythons_results():
    namespace = {}
    exec(doctor.TIER_PROGRAM, namespace)
    answers = [namespace[name](*args) for name, *args in doctor.TIER_CALLS]
    assert answers == [159, 221555889, 717897987691852588770249]
    assert answers[-1] > 2**63, "one answer must leave int64, which every tier must keep exact"


def test_a_tier_that_fails_to_import_means_not_ready(tmp_path):
    """Python 3.13 rejected a docstring of jitkit/llvm/printing.py at import: the llvm tier
    broke while llvmlite itself imported fine. The same failure, planted in a copy of the kit,
    must fail that tier and the verdict."""
    shutil.copytree(
        ROOT / "jitkit", tmp_path / "jitkit", ignore=shutil.ignore_patterns("__pycache__")
    )
    printing = tmp_path / "jitkit" / "llvm" / "printing.py"
    planted = 'raise UnicodeEncodeError("utf-8", "\\ud800", 0, 1, "surrogates not allowed")\n'
    future = "from __future__ import annotations\n"
    printing.write_text(printing.read_text().replace(future, future + planted, 1))
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    run = subprocess.run(
        [sys.executable, "-m", "jitkit", "doctor", "--json"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=300,
    )
    report = json.loads(run.stdout)
    assert run.returncode == 1 and not report["ok"]
    assert report["packages"]["llvmlite"], "llvmlite itself is fine"
    assert report["tiers"]["llvm"] == {
        "ok": False,
        "detail": "UnicodeEncodeError: 'utf-8' codec can't encode character '\\ud800' in "
        "position 0: surrogates not allowed",
    }
    assert report["checks"]["llvm"]["required"]
    others = {tier for tier, result in report["tiers"].items() if result["ok"]}
    assert others == set(TIERS) - {"llvm"}


def test_a_tier_with_a_wrong_answer_fails(monkeypatch):
    monkeypatch.setattr(doctor, "TIER_PROBE", "print('[159, 221555889, 0]')")
    results = doctor.probe_tiers()
    assert set(results) == set(TIERS)
    wrong = "gave [159, 221555889, 0], CPython gives [159, 221555889, 717897987691852588770249]"
    assert all(result == {"ok": False, "detail": wrong} for result in results.values())


def test_a_tier_that_crashes_cannot_kill_the_caller(monkeypatch):
    monkeypatch.setattr(doctor, "TIER_PROBE", "import ctypes; ctypes.string_at(0)")
    results = doctor.probe_tiers()
    assert all(not r["ok"] and r["detail"].startswith("killed by signal") for r in results.values())


def test_text_report(jitkit_cli):
    run = jitkit_cli("doctor")
    for word in ("platform", "exec memory", "capstone", "keystone", "llvmlite", "LLVM", "readelf"):
        assert word in run.stdout
    for tier in TIERS:
        assert f"\n  {tier:<10} ok: CPython's results\n" in run.stdout
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
