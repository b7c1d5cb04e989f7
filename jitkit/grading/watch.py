"""The grader's side of one grading process: start it, read its report pipe, keep its clock.

Takes a plan (see `sandbox.py`), a working folder, an environment and the time limits; gives
how each step ended and each test's verdict. Only a verdict carrying the random token the
grader sent for that test counts. A step over its time is interrupted (SIGINT) and, if it
has not ended `GRACE` seconds later, the process group is killed, as it is when the
notebook's budget runs out.
"""

from __future__ import annotations

import json
import os
import secrets
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

GRACE = 3  # seconds an interrupted cell gets to stop before the process is killed


class Run:
    """One grading process, watched: its report pipe read, its clock kept, killed if need be."""

    def __init__(self, plan: dict, cwd: Path, env: dict, timeout: float, budget: float):
        self.plan, self.cwd, self.env = plan, cwd, env
        self.timeout, self.budget = timeout, budget
        self.ended: dict[int, tuple[str, str]] = {}
        self.tokens: dict[int, str] = {}
        self.verdicts: dict[int, tuple[bool, str]] = {}
        self.notes: list[str] = []
        self.tampered: dict[str, None] = {}  # an ordered set
        self.current: int | None = None
        self.interrupted: set[int] = set()
        self.killed: tuple[int | None, str] | None = None
        self.exit_status: int | None = None

    def run(self) -> Run:
        read_end, write_end = os.pipe()
        command = [sys.executable, "-m", "jitkit.grading.sandbox", str(write_end)]
        self.process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,  # what the submission prints is never read
            stderr=subprocess.DEVNULL,
            cwd=self.cwd,
            env=self.env,
            pass_fds=(write_end,),
            start_new_session=True,  # its own process group: killed with all it started
        )
        os.close(write_end)
        try:
            self._send(json.dumps(self.plan))
            self._watch(read_end)
        finally:
            os.close(read_end)
            self._kill()
        return self

    def _send(self, line: str) -> None:
        try:
            assert self.process.stdin is not None
            self.process.stdin.write((line + "\n").encode())
            self.process.stdin.flush()
        except (BrokenPipeError, OSError):
            pass  # the process is gone; its steps will show as not run

    def _watch(self, read_end: int) -> None:
        deadline = time.monotonic() + self.budget
        buffer = b""
        started_at = interrupted_at = 0.0
        while True:
            now = time.monotonic()
            if now >= deadline:
                self.killed = (
                    self.current,
                    f"the notebook ran out of its {self.budget:g} s budget",
                )
                return
            wait = min(deadline - now, 1.0)
            running = self.current is not None and self.current not in self.ended
            if running and self.current in self.interrupted:
                if now >= interrupted_at + GRACE:
                    why = f"timed out after {self.timeout:g}s and did not stop when interrupted"
                    self.killed = (self.current, why)
                    return
            elif running and now >= started_at + self.timeout:
                self.interrupted.add(self.current)
                interrupted_at = now
                _signal(self.process.pid, signal.SIGINT)
            ready, _, _ = select.select([read_end], [], [], max(wait, 0.01))
            if not ready:
                if self.process.poll() is not None:
                    return
                continue
            chunk = os.read(read_end, 1 << 16)
            if not chunk:
                return
            buffer += chunk
            *lines, buffer = buffer.split(b"\n")
            for line in lines:
                before = self.current
                self._event(line)
                if self.current != before:
                    started_at = time.monotonic()

    def _event(self, line: bytes) -> None:
        """One report line; only a verdict carrying its step's token counts for points."""
        try:
            event = json.loads(line)
            kind, step = event.get("event"), event.get("step")
        except (ValueError, AttributeError):
            self._tamper("unreadable lines on the grader's report channel")
            return
        steps = self.plan["steps"]
        valid = isinstance(step, int) and 0 <= step < len(steps)
        if kind == "start" and valid:
            self.current = step
        elif kind == "end" and valid:
            self.ended[step] = (str(event.get("status")), str(event.get("message", "")))
        elif kind == "ready" and valid and steps[step]["kind"] == "test":
            if step in self.tokens:
                self._tamper(f"the token of test {steps[step]['grade_id']} was asked twice")
                return
            self.tokens[step] = secrets.token_hex(16)
            self._send(self.tokens[step])
        elif kind == "test" and valid:
            token = self.tokens.get(step)
            if token is None or event.get("token") != token or step in self.verdicts:
                label = steps[step].get("grade_id") or f"cell {step}"
                self._tamper(f"a verdict for {label} without its token")
                return
            self.verdicts[step] = (event.get("passed") is True, str(event.get("message", "")))
        elif kind == "note":
            self.notes.append(str(event.get("message", ""))[:300])
        elif kind == "prelude":
            self.notes.append(f"the instructor's setup failed: {event.get('message')}")
        elif kind != "done":
            self._tamper("unexpected lines on the grader's report channel")

    def _tamper(self, what: str) -> None:
        self.tampered[what] = None

    def _kill(self) -> None:
        """Stop the process and everything it started; record how it ended."""
        _signal(-self.process.pid, signal.SIGKILL)
        try:
            self.exit_status = self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.exit_status = None
        if self.process.stdin is not None:
            try:
                self.process.stdin.close()
            except OSError:
                pass
        if self.killed:
            self.notes.append(f"killed: {self.killed[1]}")
        if self.tampered:
            self.notes.append("tampering with the grader detected: " + "; ".join(self.tampered))

    def status(self, step: int, kind: str) -> tuple[str, str]:
        """How step `step` ended, as a CellResult's (status, message)."""
        if step in self.ended:
            status, message = self.ended[step]
            if status == "timeout" or step in self.interrupted:
                return "timeout", f"timed out after {self.timeout:g}s (interrupted)"
            return (status if status in ("ok", "error") else "error"), message
        if self.killed and self.killed[0] == step:
            timed_out = step in self.interrupted
            return ("timeout" if timed_out else "not run"), self.killed[1]
        if self.current == step:
            return "not run", f"the kernel died in this cell ({self.death()})"
        if self.killed:
            return "not run", f"not run: {self.killed[1]} in an earlier cell"
        return "not run", f"the kernel died in an earlier cell ({self.death()})"

    def death(self) -> str:
        """How the process ended: `exit status 3` or `killed by SIGSEGV`."""
        status = self.exit_status
        if status is not None and status < 0:
            try:
                return f"killed by {signal.Signals(-status).name}"
            except ValueError:
                pass
        return f"exit status {status}"

    def verdict(self, step: int) -> tuple[bool, str]:
        """A test's (passed, message): only a verdict with its token counts."""
        if self.tampered:
            return False, "score withheld: tampering with the grader detected"
        if step in self.verdicts:
            passed, message = self.verdicts[step]
            if step in self.interrupted:
                return False, f"timed out after {self.timeout:g}s (interrupted)"
            return passed, message
        return False, self.status(step, "test")[1]


def _signal(target: int, sig: int) -> None:
    try:
        if target < 0:
            os.killpg(-target, sig)
        else:
            os.kill(target, sig)
    except (ProcessLookupError, PermissionError):
        pass
