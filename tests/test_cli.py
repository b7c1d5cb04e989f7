"""`python -m jitkit`: subcommands, usage errors, and an import that needs no keystone."""

from __future__ import annotations

import subprocess
import sys

from jitkit.__main__ import parser


def test_subcommands():
    commands = parser()._subparsers._group_actions[0].choices
    assert {"release", "grade", "doctor"} <= set(commands)


def test_help_lists_the_commands(jitkit_cli):
    run = jitkit_cli("--help")
    assert run.returncode == 0
    for command in ("release", "grade", "doctor"):
        assert command in run.stdout


def test_no_command_is_a_usage_error(jitkit_cli):
    run = jitkit_cli()
    assert run.returncode == 2 and "usage:" in run.stderr


def test_unknown_command_is_a_usage_error(jitkit_cli):
    assert jitkit_cli("fly").returncode == 2


def test_every_module_imports_without_keystone():
    """keystone-engine has wheels only for Linux x86-64 and Windows: it must load lazily."""
    script = """
import importlib, pkgutil, sys
sys.modules["keystone"] = None  # `import keystone` now raises ImportError
import jitkit
failed = []
for info in pkgutil.walk_packages(jitkit.__path__, "jitkit."):
    if info.name == "jitkit.__main__":
        continue
    try:
        importlib.import_module(info.name)
    except Exception as exc:
        failed.append(f"{info.name}: {exc!r}")
print("\\n".join(failed))
raise SystemExit(1 if failed else 0)
"""
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr


def test_import_prints_nothing():
    run = subprocess.run([sys.executable, "-c", "import jitkit"], capture_output=True, text=True)
    assert (run.returncode, run.stdout, run.stderr) == (0, "", "")
