"""`python -m jitkit COMMAND`: the kit's command line (release, grade, doctor, run, bench, build).

Each subcommand is one small function that parses nothing itself and returns the exit code.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def cmd_release(args: argparse.Namespace) -> int:
    """Regenerate exercises/ from solutions/ (or, with --check, report what is out of sync)."""
    from jitkit.grading import release

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
    """Grade notebooks against solutions/; 0 only on full marks."""
    from jitkit.grading import grade_notebooks

    missing = [p for p in args.notebooks if not p.exists()]
    if missing:
        print(f"no such notebook: {', '.join(map(str, missing))}", file=sys.stderr)
        return 2
    try:
        report = grade_notebooks(args.notebooks, args.solutions, args.timeout)
    except FileNotFoundError as exc:
        print(exc, file=sys.stderr)
        return 2
    print(report.to_json() if args.json else report.table())
    return 0 if report.full_marks else 1


def cmd_doctor(args: argparse.Namespace) -> int:
    """Check that this machine can run the JIT notebooks."""
    from jitkit import doctor

    return doctor.main(as_json=args.json)


def cmd_run(args: argparse.Namespace) -> int:
    """Run a program (functions plus top-level statements) on one tier, like `python PROG.py`."""
    from jitkit.tiers import load

    load(args.program.read_text(), args.tier, str(args.program)).run_main()
    return 0


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

    build(args.source, args.output, opt_level=args.opt_level, libc=args.libc,
          emit_llvm=args.emit_llvm, partial_eval=args.partial_eval)  # fmt: skip
    return 0


def parser() -> argparse.ArgumentParser:
    """The argument parser, one subparser per command."""
    top = argparse.ArgumentParser(prog="python -m jitkit", description=__doc__.splitlines()[0])
    sub = top.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("release", help="generate exercises/ from solutions/")
    p.add_argument("--check", action="store_true", help="only list what is out of sync")
    p.add_argument("--solutions", type=Path, default=ROOT / "solutions", help="source folder")
    p.add_argument("--exercises", type=Path, default=ROOT / "exercises", help="target folder")
    p.set_defaults(run=cmd_release)

    p = sub.add_parser("grade", help="grade notebooks against the hidden tests in solutions/")
    p.add_argument("notebooks", type=Path, nargs="+", metavar="NOTEBOOK.ipynb")
    p.add_argument("--json", action="store_true", help="print the scores as JSON")
    p.add_argument("--solutions", type=Path, default=ROOT / "solutions", help="where the tests are")
    p.add_argument("--timeout", type=int, default=120, help="seconds per cell (default 120)")
    p.set_defaults(run=cmd_grade)

    p = sub.add_parser("doctor", help="check this machine can run the JIT notebooks")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(run=cmd_doctor)

    from jitkit.tiers import TIERS

    p = sub.add_parser("run", help="run a program on one tier; stdout equals `python PROG.py`")
    p.add_argument("program", type=Path, metavar="PROG.py")
    p.add_argument("--tier", choices=list(TIERS), default="auto", help="default: auto")
    p.set_defaults(run=cmd_run)

    p = sub.add_parser("bench", help="time every tier against gcc -O2 and CPython")
    p.add_argument("--tier", action="append", choices=list(TIERS), help="repeatable; default all")
    p.add_argument("--repeat", type=int, default=3, help="best of N runs (default 3)")
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    p.set_defaults(run=cmd_bench)

    p = sub.add_parser("build", help="compile a program to an x86-64 executable (LLVM)")
    p.add_argument("source", type=Path, metavar="PROG.py")
    p.add_argument("-o", "--output", type=Path, required=True)
    p.add_argument("-O", dest="opt_level", type=int, choices=range(4), default=2, metavar="0-3")
    p.add_argument("--no-libc", dest="libc", action="store_false", help="runtime-free binary")
    p.add_argument("--emit-llvm", action="store_true", help="write LLVM IR instead")
    p.add_argument("--no-partial-eval", dest="partial_eval", action="store_false",
                   help="leave the top-level code to run at start-up (notebook 09)")  # fmt: skip
    p.set_defaults(run=cmd_build)
    return top


def main(argv: list[str] | None = None) -> int:
    """Entry point of `python -m jitkit` and the `jitkit` script."""
    args = parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
