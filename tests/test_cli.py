"""`python -m jitkit`: subcommands, usage errors, and an import that needs no keystone."""

from __future__ import annotations

import subprocess
import sys

import pytest

import jitkit
from jitkit.__main__ import parser, program_name


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
    assert run.returncode == 2 and "usage: python -m jitkit" in run.stderr


def test_version(jitkit_cli):
    run = jitkit_cli("--version")
    assert (run.returncode, run.stdout) == (0, f"jitkit {jitkit.__version__}\n")


@pytest.mark.parametrize(
    "argv0, prog",
    [("/venv/lib/python3.11/site-packages/jitkit/__main__.py", "python -m jitkit"),
     ("/venv/bin/jitkit", "jitkit")],
)  # fmt: skip
def test_help_names_the_program_as_it_was_started(argv0, prog):
    assert program_name(argv0) == prog
    assert parser(prog).format_usage().startswith(f"usage: {prog} ")


MISSING = "{prog}: error: argument PROG.py: can't open file '{path}': No such file or directory"
UNSUPPORTED = "{path}:2:12: UnsupportedError: 'list comprehension' is not supported by jitkit ("
USER_ERRORS = [
    # (name, program text or None for a missing file, options, exit status, the line's start)
    ("missing file", None, [], 2, MISSING),
    ("syntax error", "def f(:\n    pass\n", [], 1, "{path}:1:7: SyntaxError: invalid syntax\n"),
    ("unsupported", "def f(n):\n    return [x for x in n]\n", [], 1, UNSUPPORTED),
    ("bad option", "print(1)\n", ["--tier", "fast"], 2,
     "{prog}: error: argument --tier: invalid choice: 'fast' (choose from 'treewalk', "),
]  # fmt: skip
BUILD_BAD_OPTION = ["-O", "9"], "{prog}: error: argument -O: invalid choice: 9 (choose from 0, "


@pytest.mark.parametrize("command", ["run", "build"])
@pytest.mark.parametrize(
    "name, text, options, status, line", USER_ERRORS, ids=[e[0] for e in USER_ERRORS]
)
def test_a_user_error_is_one_line_and_an_exit_status(
    jitkit_cli, tmp_path, command, name, text, options, status, line
):
    path = tmp_path / "prog.py"
    if text is not None:
        path.write_text(text)
    if command == "build":
        options, line = BUILD_BAD_OPTION if options else ([], line)
        options = [*options, "-o", str(tmp_path / "prog")]
    run = jitkit_cli(command, path, *options)
    assert run.returncode == status, run.stderr
    assert run.stdout == "" and run.stderr.count("\n") == 1, run.stderr
    assert run.stderr.startswith(line.format(path=path, prog=f"python -m jitkit {command}"))
    assert "Traceback" not in run.stderr


def test_debug_shows_the_traceback(jitkit_cli, tmp_path):
    path = tmp_path / "prog.py"
    path.write_text("def f(n):\n    return [x for x in n]\n")
    for argv in (["--debug", "run", path], ["run", path, "--debug"]):
        run = jitkit_cli(*argv)
        assert run.returncode == 1 and "Traceback (most recent call last)" in run.stderr


def test_release_outside_a_checkout_names_what_is_missing(tmp_path):
    script = (
        "import sys, jitkit.__main__ as m; m.ROOT = m.Path(sys.argv[1]); "
        "sys.exit(m.main(['release']))"
    )
    run = subprocess.run([sys.executable, "-c", script, str(tmp_path)], capture_output=True,
                         text=True, cwd=tmp_path)  # fmt: skip
    assert run.returncode == 2
    assert run.stderr.count("\n") == 1 and "pass --solutions DIR" in run.stderr, run.stderr


def test_release_of_an_empty_folder_is_an_error(jitkit_cli, tmp_path):
    run = jitkit_cli("release", "--solutions", tmp_path, "--check")
    assert run.returncode == 2
    assert (
        run.stderr
        == f"python -m jitkit release: error: no solution notebooks (*.ipynb) in {tmp_path}\n"
    )


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
