"""The grading process: runs one submission, then each hidden test where it cannot reach.

`python -m jitkit.grading.sandbox FD` is started by the grader (`grade.py`), one per notebook.
It reads a plan (JSON, one line on stdin) and reports on file descriptor FD, JSON lines.

Two namespaces. The submission's cells run in an IPython shell's namespace (magics, display
and input transformers work for them). The instructor's cells (setup, locked cells, tests)
are compiled here before any submitted code runs and execute by `exec` in a *trusted*
namespace, never through the shell, so an input transformer never sees them. A test sees
the trusted names first; from the submission it gets only names no instructor cell binds
(the answers). Before each test, `guard.Snapshot.restore()` undoes monkeypatching of modules,
builtins and the chapter's code. A test's verdict carries a token the grader sends only
when that test starts, after every submitted cell before it has finished: output, or lines
written to the report descriptor earlier, cannot pass for a verdict.
"""

from __future__ import annotations

import ast
import builtins
import importlib
import json
import os
import signal
import sys
import threading
import traceback
from typing import Any

from jitkit.grading.guard import Snapshot

_write = os.write
_MISSING = object()
_SKIP = frozenset({"__builtins__", "__name__", "__doc__", "__package__", "__loader__", "__spec__"})


def bound_names(source: str) -> set[str]:
    """Names a cell binds at its top level (assignments, defs, classes, imports, loops)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    names: set[str] = set()
    todo: list[ast.AST] = list(tree.body)
    while todo:
        node = todo.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                names.add(alias.asname or alias.name.split(".")[0])
            continue
        if isinstance(node, (ast.Lambda, ast.GeneratorExp, ast.ListComp, ast.SetComp)):
            continue
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            names.add(node.id)
        todo.extend(ast.iter_child_nodes(node))
    return names


def imported_modules(source: str) -> list[str]:
    """Modules a cell imports, so they are loaded (and snapshotted) before submitted code."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.append(node.module)
    return found


def one_line(error: BaseException, limit: int = 300) -> str:
    """`Type: message` on one line, cut to `limit` characters."""
    text = " ".join(str(error).split())
    text = text if len(text) <= limit else text[: limit - 1] + "…"
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def describe(error: BaseException, filename: str, source: str) -> str:
    """`Type: message (at: line)`, the line being the last one of `filename` that raised."""
    text = one_line(error)
    lines = source.splitlines()
    frames = [f for f in traceback.extract_tb(error.__traceback__) if f.filename == filename]
    if frames and frames[-1].lineno and 0 < frames[-1].lineno <= len(lines):
        text += f" (at: {lines[frames[-1].lineno - 1].strip()})"
    return text


class Sandbox:
    """One submission's run: the shell for its cells, the trusted namespace for the tests."""

    def __init__(self, plan: dict, report_fd: int) -> None:
        from IPython.core.inputtransformer2 import TransformerManager
        from IPython.core.interactiveshell import InteractiveShell

        self.fd = report_fd
        os.set_inheritable(report_fd, False)  # programs the submission starts do not get it
        self.stdin = sys.stdin  # the grader's tokens come here, whatever sys.stdin becomes
        self.steps = plan["steps"]
        self.shell = InteractiveShell.instance(colors="nocolor")
        self.student = self.shell.user_ns
        self.trusted: dict[str, Any] = {
            "__name__": "__main__",
            "get_ipython": self.shell.get_ipython,
        }
        self.protected: set[str] = set(self.trusted)
        to_python = TransformerManager().transform_cell  # the kit's own, not the shell's
        self.code: dict[str, tuple[Any, str]] = {}
        trusted_steps = [s for s in [*plan["prelude"], *self.steps] if s["kind"] != "student"]
        for step in trusted_steps:
            source = to_python(step["source"])
            self.code[step["filename"]] = (compile(source, step["filename"], "exec"), source)
        for step in trusted_steps:
            for module in imported_modules(step["source"]):
                try:
                    importlib.import_module(module)
                except Exception:  # noqa: BLE001 - the cell itself will report it
                    pass
        for step in plan["prelude"]:
            status, message = self._exec(step["filename"], self.trusted)
            self.protected |= bound_names(step["source"]) | set(self.trusted)
            if status != "ok":
                self.send(event="prelude", filename=step["filename"], message=message)
        self.snapshot = Snapshot()
        self.threads = set(threading.enumerate())
        self.noted_threads = False

    def send(self, **event: Any) -> None:
        _write(self.fd, (json.dumps(event) + "\n").encode())

    def run(self) -> None:
        for number, step in enumerate(self.steps):
            signal.signal(signal.SIGINT, signal.default_int_handler)
            self.send(event="start", step=number)
            if step["kind"] == "student":
                status, message = self._student(step["source"])
            elif step["kind"] == "setup":  # in the trusted namespace already: now the shell's
                status, message = self._exec(step["filename"], self.student)
            else:
                status, message = self._trusted(number, step)
            self.send(event="end", step=number, status=status, message=message)
        self.send(event="done")

    def _student(self, source: str) -> tuple[str, str]:
        result = self.shell.run_cell(source, store_history=True)
        error = result.error_before_exec or result.error_in_exec
        if error is None:
            return "ok", ""
        status = "timeout" if isinstance(error, KeyboardInterrupt) else "error"
        return status, one_line(error)

    def _exec(self, filename: str, namespace: dict) -> tuple[str, str]:
        """Run an instructor's cell (compiled before any submitted code ran) in `namespace`."""
        code, source = self.code[filename]
        namespace.setdefault("__builtins__", builtins)
        try:
            exec(code, namespace)
        except KeyboardInterrupt:
            return "timeout", "interrupted: the cell ran out of time"
        except BaseException as error:  # noqa: BLE001 - a failing cell is a result
            return "error", describe(error, filename, source)
        return "ok", ""

    def _trusted(self, number: int, step: dict) -> tuple[str, str]:
        """A test (or locked cell) after restoring the kit; a verdict goes out with a token."""
        self.snapshot.restore()
        extra = [t for t in threading.enumerate() if t not in self.threads and t.is_alive()]
        if extra and not self.noted_threads:
            self.noted_threads = True
            self.send(
                event="note",
                message=f"{len(extra)} thread(s) the submission started "
                "were still running during the tests",
            )
        token = ""
        if step["kind"] == "test":
            self.send(event="ready", step=number)
            token = self.stdin.readline().strip()
        self.protected |= bound_names(step["source"])
        namespace = {
            k: v for k, v in self.student.items() if k not in self.protected and k not in _SKIP
        }
        namespace.update(self.trusted)
        before = dict(namespace)
        namespace["__builtins__"] = builtins
        status, message = self._exec(step["filename"], namespace)
        self.snapshot.restore()
        bound = {
            k: v
            for k, v in namespace.items()
            if k not in _SKIP and before.get(k, _MISSING) is not v
        }
        self.trusted.update(bound)
        self.protected |= set(bound)
        self.student.update(bound)  # later submitted cells see what the tests defined
        if step["kind"] == "test":
            self.send(
                event="test", step=number, token=token, passed=status == "ok", message=message
            )
        return status, message


def main() -> None:
    report_fd = int(sys.argv[1])
    plan = json.loads(sys.stdin.readline())
    sandbox = Sandbox(plan, report_fd)
    sandbox.run()
    sys.stdout.flush()
    os._exit(0)  # no atexit handler or finalizer of the submission runs after the report


if __name__ == "__main__":
    main()
