"""The x86 layer's share of a JIT compile (issue 18): every assembler call the stack and SSA
tiers make for fib and a 200-line function, recorded once and replayed on the assembler alone.

    python benchmarks/encoder.py [--repeat N] [--root DIR ...]

For each tier and program: the instructions emitted, then CPU milliseconds (medians of N fresh
children) to replay the calls with the encoder's caches empty (a process's first compile) and
warm (a later compile of similar code), and microseconds per memory operand the tier built.
`--root` (repeatable) measures other checkouts' jitkit (an old commit) in interleaved children.
"""

from __future__ import annotations

import argparse
import gc
import json
import keyword
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUILDERS = ("emit", "label", "data", "quad", "align")
TIERS = ("stack", "ssa")


def programs_source() -> dict[str, str]:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from compile_scale import fib_program, lines_program

    return {"fib": fib_program(), "200-line": lines_program(200)}


# --- in the child -------------------------------------------------------------------------------


def record(source: str, tier: str) -> list[tuple[list, int, bool]]:
    """(calls, base, externals) of every Assembler the tier assembles while loading `source`;
    calls made inside the assembler (a.mov -> emit) are recorded once."""
    from jitkit.tiers import load
    from jitkit.x86 import Assembler
    from jitkit.x86.assembler import _spellings

    spellings = _spellings()
    programs: list = []
    original = {name: getattr(Assembler, name) for name in (*BUILDERS, "assemble")}

    def recording(name, method, mnemonic=None):
        def record_call(self, *args):
            if not getattr(self, "_inside", False):
                call = (name, args if mnemonic is None else (mnemonic, *args))
                self.__dict__.setdefault("_calls", []).append(call)
            self._inside = True
            try:
                return method(self, *args)
            finally:
                self._inside = False

        return record_call

    def record_assemble(self, base=0, externals=False):
        programs.append((self.__dict__.get("_calls", []), base, externals))
        return original["assemble"](self, base, externals)

    for name in BUILDERS:
        setattr(Assembler, name, recording(name, original[name]))
    for name, mnemonic in spellings.items():  # a.mov(...) need not go through emit
        original[name] = getattr(Assembler, name)
        setattr(Assembler, name, recording("emit", original[name], mnemonic))
    Assembler.assemble = record_assemble
    try:
        load(source, tier, "prog.py")
    finally:
        for name, method in original.items():
            setattr(Assembler, name, method)
    return programs


def spelled(mnemonic: str) -> str:
    return mnemonic + "_" if keyword.iskeyword(mnemonic) else mnemonic


def replay(programs: list) -> None:
    from jitkit.x86 import Assembler

    for calls, base, externals in programs:
        a = Assembler()
        for name, args in calls:
            if name == "emit":  # as the tiers call it: a.mov(...), a.and_(...)
                name, args = spelled(args[0]), args[1:]
            getattr(a, name)(*args)
        a.assemble(base, externals)


def clear_caches() -> None:
    """Empty every encoding cache the x86 layer keeps (whichever this checkout has)."""
    import jitkit.x86.assembler
    import jitkit.x86.layout

    if hasattr(jitkit.x86.assembler, "clear_caches"):
        jitkit.x86.assembler.clear_caches()
        return
    jitkit.x86.assembler._ENCODED.clear()  # the checkout before issue 18's second step
    jitkit.x86.layout._TEMPLATES.clear()


def memory_operands(programs: list) -> list[tuple]:
    from jitkit.x86 import Mem

    return [
        (op.bits, op.base, op.index, op.scale, op.disp, op.label)
        for calls, _, _ in programs
        for name, args in calls
        if name == "emit"
        for op in args[1:]
        if isinstance(op, Mem)
    ]


def child(path: str, tier: str) -> None:
    from jitkit.x86 import Mem

    programs = record(Path(path).read_text(), tier)
    clear_caches()
    gc.collect()  # each timing starts with no garbage of the recording's to collect
    start = time.process_time()
    replay(programs)
    cold = time.process_time() - start
    warm = []
    for _ in range(5):
        gc.collect()
        start = time.process_time()
        replay(programs)
        warm.append(time.process_time() - start)
    mems = memory_operands(programs)
    start = time.process_time()
    for fields in mems:
        Mem(*fields)
    mem = time.process_time() - start
    count = sum(name == "emit" for calls, _, _ in programs for name, _ in calls)
    result = {"instructions": count, "mems": len(mems), "cold": cold}
    result |= {"warm": statistics.median(warm), "mem": mem}
    print(json.dumps(result))


# --- in the parent ------------------------------------------------------------------------------


def measure(source: str, tier: str, root: Path) -> dict:
    path = ROOT / f".encoder-bench-{os.getpid()}.py"
    path.write_text(source)
    try:
        env = dict(os.environ, PYTHONPATH=str(root))
        argv = [sys.executable, __file__, "--child", str(path), tier]
        done = subprocess.run(argv, capture_output=True, text=True, env=env, check=True)
    finally:
        path.unlink()
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument(
        "--root", type=Path, action="append", help="checkout whose jitkit runs (repeatable)"
    )
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    roots = args.root or [ROOT]
    print(f"CPU ms, medians of {args.repeat} children; checkouts measured in turn")
    print(
        f"{'tier':<6} {'program':<9} {'root':<12} {'instrs':>6} {'cold ms':>8} {'µs/ins':>7} "
        f"{'warm ms':>8} {'µs/ins':>7} {'µs/Mem':>7}"
    )
    for tier in TIERS:
        for name, source in programs_source().items():
            runs: dict[Path, list] = {root: [] for root in roots}
            for _ in range(args.repeat):
                for root in roots:
                    runs[root].append(measure(source, tier, root))
            for root, rs in runs.items():
                med = {k: statistics.median(r[k] for r in rs) for k in ("cold", "warm", "mem")}
                n, m = rs[0]["instructions"], rs[0]["mems"]
                print(
                    f"{tier:<6} {name:<9} {root.name[:12]:<12} {n:>6} {med['cold'] * 1e3:>8.2f} "
                    f"{med['cold'] * 1e6 / n:>7.2f} {med['warm'] * 1e3:>8.2f} "
                    f"{med['warm'] * 1e6 / n:>7.2f} {med['mem'] * 1e6 / max(m, 1):>7.2f}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
