"""Adversarial review (#16/#17): bad input to `python -m jitkit run/build` is one line and an
exit status, as the other user errors are, never a traceback from inside the kit."""

from __future__ import annotations

import pytest

UNDECODABLE = {
    "first line": (b"\xff\xfe = 1\n", 1, "invalid or missing encoding declaration"),
    "later line": (b"x = 1\nprint(x)  # caf\xe9\n", 2, "not utf-8"),
    "unknown coding": (b"# -*- coding: nosuch -*-\nprint(1)\n", 1, "unknown encoding: nosuch"),
}


@pytest.mark.parametrize("command", ["run", "build"])
@pytest.mark.parametrize("name", UNDECODABLE)
def test_undecodable_source_is_a_one_line_syntax_error(jitkit_cli, tmp_path, command, name):
    data, line, why = UNDECODABLE[name]
    path = tmp_path / "prog.py"
    path.write_bytes(data)
    options = ["-o", str(tmp_path / "prog")] if command == "build" else []
    run = jitkit_cli(command, path, *options)
    assert run.returncode == 1 and "Traceback" not in run.stderr, run.stderr
    assert run.stderr.count("\n") == 1 and run.stderr.startswith(f"{path}:{line}:1: SyntaxError:")
    assert why in run.stderr


def test_a_coding_line_is_honoured(jitkit_cli, tmp_path):
    path = tmp_path / "prog.py"
    path.write_bytes(b"# -*- coding: latin-1 -*-\nprint(7)  # caf\xe9\n")
    run = jitkit_cli("run", path)
    assert (run.returncode, run.stdout, run.stderr) == (0, "7\n", "")
