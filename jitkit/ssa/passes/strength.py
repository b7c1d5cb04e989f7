"""`reduce_strength`: division and modulo by a constant become multiplies and shifts
(notebook 07).

Takes a `Function`; rewrites `div`/`mod` (and their `_ovf` forms, which cannot deopt with
such a divisor) by a positive constant `c` with Python's floor semantics:

- `c == 1`: the dividend itself, or 0;
- `c == 2**k`: `sar x, k` floors already; `and x, c - 1` is the floor modulo;
- otherwise Granlund and Montgomery's multiply by a magic number. With `s = x >> 63`
  (all ones when `x < 0`), `y = x ^ s` is `x` or `-x - 1`, in [0, 2**63); its quotient is
  `umulh(y, m) >> (l - 1)` with `l = ceil(log2 c)`, `m = ceil(2**(63 + l) / c)`; and
  `floor(x / c) == ~((-x - 1) // c)` for negative `x`, so `q = that ^ s`. Then
  `x % c == x - q * c`. Where value ranges prove `x >= 0`, `s` is 0 and the flips go.

Negative divisors are left alone (Hacker's Delight, chapter 10, covers them). A division
left over whose operands value ranges prove in [0, 2**32) (divisor not 0) becomes
`udiv32`/`umod32`, a 32-bit divide, several times faster than a 64-bit `idiv`.
"""

from __future__ import annotations

from jitkit.ssa.ir import Const, Function, Instr, Temp, Value
from jitkit.ssa.ops import wrap
from jitkit.ssa.ranges import ranges


def magic(c: int) -> tuple[int, int]:
    """(m, shift) such that y // c == (y * m) >> (64 + shift) for 0 <= y < 2**63, c > 1."""
    ell = (c - 1).bit_length()  # ceil(log2 c)
    m = -(-(2 ** (63 + ell)) // c)
    assert m < 2**64
    return m, ell - 1


def reduce_strength(fn: Function) -> bool:
    """Replace divisions by positive constants, and narrow the rest to 32 bits where both
    operands provably fit; returns whether anything was replaced.

    requires: ranges; invalidates: uses, liveness (new temporaries)."""
    changed = False
    taken: set[str] | None = None  # temporary names in use (found once, on the first divisor)
    known = None  # ranges of the IR as it was: block indexes hold while the bodies are rebuilt
    for b in fn.blocks:
        body: list[Instr] = []
        for n, i in enumerate(b.body):
            d = i.args[1] if i.op in ("div", "mod", "div_ovf", "mod_ovf") else None
            if isinstance(d, Const) and d.value >= 1:
                # 1. constant divisors: multiply and shift
                if taken is None:
                    taken = {t.name for _, t in fn.params}
                    taken |= {j.result.name for _, j in fn.instrs() if j.result is not None}
                known = known or ranges(fn)
                natural = known.at(i.args[0], b.label, n)[0] >= 0
                body += _expand(i, d.value, taken, natural)
                changed = True
                continue
            if i.op in ("div", "mod"):
                # 2. the rest: a 32-bit unsigned divide when 0 <= x < 2**32 and 1 <= d < 2**32,
                #    as clang does (there a run-time test; here ranges prove it at compile time)
                known = known or ranges(fn)
                (lo, hi), (c, d) = (known.at(v, b.label, n) for v in i.args)
                if 0 <= lo and hi < 2**32 and 1 <= c and d < 2**32:
                    i.op, changed = "udiv32" if i.op == "div" else "umod32", True
            body.append(i)
        b.body = body
    return changed


def _expand(i: Instr, c: int, taken: set[str], natural: bool = False) -> list[Instr]:
    """The instructions computing `i` (a floor div or mod of `x` by `c`) without dividing;
    `taken` holds the temporary names in use (new ones are added); `natural`: x >= 0 is
    proven, so the flips for negatives go."""
    x, result, is_div = i.args[0], i.result, i.op.startswith("div")
    assert result is not None
    out: list[Instr] = []

    def emit(op: str, *args: Value, last: bool = False) -> Temp:
        """Append `op`; its result is `result` when `last`, else a fresh %result.N."""
        t = result
        if not last:
            n = 0
            while f"{result.name}.{n}" in taken:
                n += 1
            t = Temp(f"{result.name}.{n}")
            taken.add(t.name)
        out.append(Instr(op, list(args), t, "i64"))
        return t

    # 1. the easy divisors
    k = c.bit_length() - 1
    if c == 1:
        emit("copy", x if is_div else Const(0), last=True)
    elif c == 1 << k:
        emit("sar" if is_div else "and", x, Const(k if is_div else c - 1), last=True)
    # 2. flip negatives to -x - 1, multiply by the magic number, flip back
    else:
        m, shift = magic(c)
        if natural:
            q = emit("shr", emit("umulh", x, Const(wrap(m))), Const(shift), last=is_div)
            if not is_div:
                emit("sub", x, emit("mul", q, Const(c)), last=True)
            return out
        s = emit("sar", x, Const(63))
        y = emit("xor", x, s)
        q = emit("xor", emit("shr", emit("umulh", y, Const(wrap(m))), Const(shift)), s, last=is_div)
        if not is_div:
            emit("sub", x, emit("mul", q, Const(c)), last=True)
    return out
