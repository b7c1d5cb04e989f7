"""`python -m jitkit COMMAND`: the kit's command line (release, grade, doctor, run, bench, build).

Each subcommand is one small function that parses nothing itself and returns the exit code.
A user's mistake (a missing file, a syntax error, a construct outside the subset, a bad option)
is one line on stderr, `file:line:col: message` where there is a place to point at, and exit
status 2 (usage) or 1; `--debug` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import io
import sys
import tokenize
from pathlib import Path

from jitkit.errors import JitkitError

ROOT = Path(__file__).resolve().parent.parent


def checkout_folder(name: str) -> Path | None:
    """`name` (solutions, exercises) in the source checkout this package runs from; None in a
    wheel install, where there is no such folder to default to."""
    folder = ROOT / name
    return folder if (ROOT / "pyproject.toml").is_file() and folder.is_dir() else None


class UsageError(Exception):
    """A command given paths it cannot use: one line, exit status 2."""


def cmd_release(args: argparse.Namespace) -> int:
    """Regenerate exercises/ from solutions/ (or, with --check, report what is out of sync)."""
    from jitkit.grading import release

    if args.solutions is None:
        raise UsageError("no solutions/ folder here (not a source checkout): pass --solutions DIR")
    if not any(args.solutions.glob("*.ipynb")):
        raise UsageError(f"no solution notebooks (*.ipynb) in {args.solutions}")
    args.exercises = args.exercises or args.solutions.parent / "exercises"
    changes = release(args.solutions, args.exercises, check=args.check)
    for line in changes:
        print(line)
    if args.check and changes:
        print(f"{len(changes)} notebook(s) out of sync: run `python -m jitkit release`")
        return 1
    if not args.check:
        print(f"{len(changes)} notebook(s) written to {args.exercises}")
    return 0


def cmd_grade(args: argparse.Namespace) -> int:
    """Grade submissions (notebooks or folders of them) against solutions/.

    Exit 0: every test of every notebook passed; 1: some points were lost; 2: something
    could not be graded (no such path, not a notebook of any chapter); the rest is graded.
    """
    from jitkit.grading import grade_notebooks
    from jitkit.grading.feedback import write_csv, write_feedback
    from jitkit.grading.submissions import NotGradable

    if args.solutions is None:
        raise UsageError("no solutions/ folder here (not a source checkout): pass --solutions DIR")
    try:
        report = grade_notebooks(
            args.submissions, args.solutions, args.timeout, args.jobs, args.notebook_timeout
        )
    except NotGradable as exc:
        print(exc, file=sys.stderr)
        return 2
    if args.csv:
        write_csv(report, args.csv)
    if args.feedback:
        write_feedback(report, args.feedback)
    print(report.to_json() if args.json else report.table())
    for problem in report.problems:
        print(problem, file=sys.stderr)
    if report.problems or not report.notebooks:
        return 2
    return 0 if report.full_marks else 1


def cmd_doctor(args: argparse.Namespace) -> int:
    """Check that this machine can run the JIT notebooks."""
    from jitkit import doctor

    return doctor.main(as_json=args.json)


def cmd_run(args: argparse.Namespace) -> int:
    """Run a program (functions plus top-level statements) on one tier, like `python PROG.py`."""
    from jitkit.tiers import load

    load(read_program(args.program), args.tier, str(args.program)).run_main()
    return 0


def read_program(path: Path) -> str:
    """The program's text, decoded as CPython decodes a source file (UTF-8 unless a PEP 263
    coding line says otherwise); bytes it cannot decode are a SyntaxError at their line, as
    `python PROG.py` reports them, not a traceback from inside the kit."""
    data = path.read_bytes()
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
        return data.decode(encoding)
    except SyntaxError as exc:  # a bad coding line, or undecodable bytes in the first two lines
        raise SyntaxError(exc.msg, (str(path), exc.lineno or 1, 1, None)) from None
    except (UnicodeDecodeError, LookupError) as exc:
        start = getattr(exc, "start", 0)
        line = data[:start].count(b"\n") + 1
        why = f"the bytes are not {encoding} ({exc})"
        raise SyntaxError(why, (str(path), line, 1, None)) from None


def cmd_bench(args: argparse.Namespace) -> int:
    """Every kernel on the chosen tiers, as ratios to gcc -O2 and CPython, in one run."""
    import json

    from jitkit import bench

    rows = bench.run(args.tier or bench.available_tiers(), repeat=args.repeat)
    print(json.dumps(bench.as_json(rows), indent=1) if args.json else bench.table(rows))
    return 0


def cmd_build(args: argparse.Namespace) -> int:
    """Compile a program to an x86-64 Linux executable through LLVM."""
    from jitkit.llvm.compiler import build

    read_program(args.source)  # undecodable source: one line, as `run` says it
    build(args.source, args.output, opt_level=args.opt_level, libc=args.libc,
          emit_llvm=args.emit_llvm, partial_eval=args.partial_eval)  # fmt: skip
    return 0


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors: `PROG: error: MESSAGE (see PROG --help)`, exit 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def existing_file(text: str) -> Path:
    """An argument that must name a file that is there (else a usage error, exit 2)."""
    path = Path(text)
    if not path.is_file():
        why = "is a directory" if path.is_dir() else "No such file or directory"
        raise argparse.ArgumentTypeError(f"can't open file '{text}': {why}")
    return path


def program_name(argv0: str) -> str:
    """`python -m jitkit` when run as a module, else the script's own name (`jitkit`)."""
    name = Path(argv0).name
    return "python -m jitkit" if name in ("__main__.py", "-m", "") else name


def parser(prog: str = "python -m jitkit") -> argparse.ArgumentParser:
    """The argument parser, one subparser per command."""
    from jitkit import __version__

    top = Parser(prog=prog, description=__doc__.splitlines()[0])
    top.add_argument("--version", action="version", version=f"jitkit {__version__}")
    top.add_argument("--debug", action="store_true", help="show tracebacks of errors")
    sub = top.add_subparsers(dest="command", required=True, metavar="COMMAND")
    debug = Parser(add_help=False)  # `--debug` after the command too, without resetting it
    debug.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                       help="show tracebacks of errors")  # fmt: skip

    def command(name: str, **kwargs) -> argparse.ArgumentParser:
        return sub.add_parser(name, parents=[debug], **kwargs)

    p = command("release", help="generate exercises/ from solutions/")
    p.add_argument("--check", action="store_true", help="only list what is out of sync")
    p.add_argument("--solutions", type=Path, default=checkout_folder("solutions"),
                   help="source folder (default: the checkout's solutions/)")  # fmt: skip
    p.add_argument("--exercises", type=Path,
                   help="target folder (default: exercises/ beside the solutions)")  # fmt: skip
    p.set_defaults(run=cmd_release)

    p = command(
        "grade",
        help="grade submissions against the hidden tests in solutions/",
        description="Grade notebooks (or folders of them, nbgrader's submitted/STUDENT/"
        "ASSIGNMENT/ too) in parallel, each in a grading process of its own. Exit status: "
        "0 full marks, 1 points lost, 2 something could not be graded.",
    )
    p.add_argument(
        "submissions",
        type=Path,
        nargs="+",
        metavar="SUBMISSION",
        help="a notebook, or a folder of notebooks or of student folders",
    )
    p.add_argument("--json", action="store_true", help="print the scores as JSON")
    p.add_argument("--solutions", type=Path, default=checkout_folder("solutions"),
                   help="where the tests are (default: the checkout's solutions/)")  # fmt: skip
    p.add_argument(
        "--jobs",
        type=int,
        default=None,
        metavar="N",
        help="notebooks graded at once (default: one per CPU)",
    )
    p.add_argument("--csv", type=Path, metavar="FILE", help="write one row per student and test")
    p.add_argument(
        "--feedback",
        type=Path,
        metavar="DIR",
        help="write DIR/STUDENT/NOTEBOOK.html for each notebook",
    )
    p.add_argument(
        "--timeout",
        type=float,
        default=120,
        metavar="S",
        help="seconds per cell before it is interrupted, then killed (default 120)",
    )
    p.add_argument(
        "--notebook-timeout",
        type=float,
        default=600,
        metavar="S",
        help="seconds per notebook, whatever its cells do (default 600)",
    )
    p.set_defaults(run=cmd_grade)

    p = command("doctor", help="check this machine can run the JIT notebooks")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(run=cmd_doctor)

    from jitkit.tiers import TIERS

    p = command("run", help="run a program on one tier; stdout equals `python PROG.py`")
    p.add_argument("program", type=existing_file, metavar="PROG.py")
    p.add_argument("--tier", choices=list(TIERS), default="auto", help="default: auto")
    p.set_defaults(run=cmd_run)

    p = command("bench", help="time every tier against gcc -O2 and CPython")
    p.add_argument("--tier", action="append", choices=list(TIERS), help="repeatable; default all")
    p.add_argument("--repeat", type=int, default=3, help="best of N runs (default 3)")
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    p.set_defaults(run=cmd_bench)

    p = command("build", help="compile a program to an x86-64 executable (LLVM)")
    p.add_argument("source", type=existing_file, metavar="PROG.py")
    p.add_argument("-o", "--output", type=Path, required=True)
    p.add_argument("-O", dest="opt_level", type=int, choices=range(4), default=None,
                   metavar="0-3", help="default: 2, or 0 for a huge function")  # fmt: skip
    p.add_argument("--no-libc", dest="libc", action="store_false", help="runtime-free binary")
    p.add_argument("--emit-llvm", action="store_true", help="write LLVM IR instead")
    p.add_argument("--no-partial-eval", dest="partial_eval", action="store_false",
                   help="leave the top-level code to run at start-up (notebook 09)")  # fmt: skip
    p.set_defaults(run=cmd_build)
    return top


def main(argv: list[str] | None = None) -> int:
    """Entry point of `python -m jitkit` and the `jitkit` script."""
    top = parser(program_name(sys.argv[0]))
    argv = sys.argv[1:] if argv is None else argv
    if not argv:
        top.print_usage(sys.stderr)
        top.exit(2, f"{top.prog}: error: name a command (see {top.prog} --help)\n")
    args = top.parse_args(argv)
    try:
        return args.run(args)
    except Exception as exc:
        if args.debug or not isinstance(exc, (UsageError, SyntaxError, JitkitError)):
            raise
        print(one_line(exc, f"{top.prog} {args.command}"), file=sys.stderr)
        return 2 if isinstance(exc, UsageError) else 1


def one_line(exc: Exception, command: str) -> str:
    """A user's error as compilers print it: `file:line:col: Kind: message` where the error
    knows its place (SyntaxError, an unsupported construct), else `command: message`."""
    if getattr(exc, "lineno", None) is not None and getattr(exc, "filename", None):
        reason = exc.msg if isinstance(exc, SyntaxError) else getattr(exc, "reason", str(exc))
        offset = getattr(exc, "offset", None) or 1
        return f"{exc.filename}:{exc.lineno}:{offset}: {type(exc).__name__}: {reason}"
    if isinstance(exc, UsageError):
        return f"{command}: error: {exc}"
    return f"{command}: {type(exc).__name__}: {exc}"


if __name__ == "__main__":
    sys.exit(main())
