"""Lists on the SSA tier against CPython (issue #17): IndexError where CPython raises it, negative
indices, appends that grow a list, `for x in xs` over a list that grows, aliasing, deopt in
the middle of a loop with aliased lists live, recursion passing lists, on tier="ssa" and on
"auto" (VM, then stack, then SSA mid-run). Each program's list functions must really run as
SSA code (`tier_of`), so a silent fallback to the VM fails here. The bounds checks that
`eliminate_bounds_checks` removes from sieve are counted in its IR."""

from __future__ import annotations

import random
import re
import textwrap

import pytest

from jitkit.bytecode.compiler import compile_module
from jitkit.lang.parse import parse_module
from jitkit.ssa.tier import ssa_tier
from tests.programs import kernel_function
from tests.programs.engines import run as run_engine
from tests.ssa.test_ssa_tier import run_ssa
from tests.stackjit.test_stack_tier import same_run

PROGRAMS = {
    "index_error_read": """
        def get(xs, i):
            return xs[i]
        def main():
            xs = [1, 2, 3]
            print(get(xs, 2), get(xs, -3))
            print(get(xs, 3))
        main()
    """,
    "index_error_write": """
        def put(xs, i, v):
            xs[i] = v
            return xs[0]
        def main():
            xs = [1.5, 2.5]
            print(put(xs, -1, 9.0), xs[1], put(xs, 0, -0.5))
            print(put(xs, -3, 1.0))
        main()
    """,
    "negative_indices": """
        def f(n):
            xs = [0] * n
            for i in range(n):
                xs[-1 - i] = i * i
            s = 0
            for i in range(1, n + 1):
                s = s * 3 + xs[-i]
            return s
        def main():
            print(f(5), f(1), f(0))
        main()
    """,
    "append_in_a_loop": """
        def squares(n):
            xs = []
            for i in range(n):
                xs.append(i * i)
            return xs[n - 1] + len(xs)
        def flags(n):
            bs = []
            for i in range(n):
                bs.append(i % 3 == 0)
            c = 0
            for b in bs:
                if b:
                    c += 1
            return c
        def halves(n):
            fs = []
            for i in range(n):
                fs.append(i / 2)
            return fs[-1] + fs[0]
        def main():
            print(squares(1000), flags(1000), halves(999))
        main()
    """,
    "for_each_growing": """
        def grow(n):
            xs = [1]
            total = 0
            for x in xs:
                total += x
                if x < n:
                    xs.append(x + 1)
                    xs.append(x + 2)
            return total + len(xs)
        def main():
            print(grow(12), grow(0))
        main()
    """,
    "aliasing": """
        def poke(xs, ys):
            xs[0] = 7
            ys.append(8)
            return xs[0] + ys[0] + len(xs)
        def main():
            xs = [1, 2]
            ys = xs
            print(poke(xs, ys), xs[2], len(ys))
            zs = [1, 2]
            print(poke(xs, zs), zs[0], len(zs), len(xs))
        main()
    """,
    "deopt_mid_loop_with_aliases": """
        def run(n):
            xs = [1] * 4
            ys = xs
            p = 1
            for i in range(n):
                xs[i % 4] = i
                ys.append(i)
                p = p * 1000
            return p + xs[0] + ys[-1] + len(xs)
        def main():
            print(run(3), run(10))
        main()
    """,
    "recursion": """
        def fill(xs, k):
            if k == 0:
                return 0
            xs.append(k)
            return fill(xs, k - 1) + xs[-1]
        def main():
            xs = []
            print(fill(xs, 50), len(xs), xs[0], xs[-1])
        main()
    """,
    "literals_and_repeats": """
        def f(n):
            a = [n, n + 1, n + 2]
            b = [False] * n
            c = n * [0.25]
            d = [1, 2, 3] * n
            e = [7] * -n
            t = 0
            for x in d:
                t += x
            return a[2] + len(b) + len(c) + len(d) + t + len(e) + c[n - 1] * 4
        def main():
            print(f(3), f(1))
        main()
    """,
    "many_lists_kinds_and_spills": """
        def h(n, b, g):
            f = g / 2
            a1 = [b > 0] * n
            a2 = [f] * n
            a3 = [n] * n
            a4 = [n + 1, n + 2] * n
            a5 = []
            a6 = [f, f + 1.0]
            a7 = []
            s = 0
            for i in range(n):
                a5.append(i * 2.5)
                a7.append(a1[i])
                a3[i] = a3[i] + a4[2 * i + 1] + len(a5)
                a2[i] = a2[i] * a6[i % 2] + a5[i]
                a1[-i - 1] = not a1[i]
                s = s + a3[i] + len(a7)
            t = 0.0
            for x in a2:
                t = t + x
            c = 0
            for z in a7:
                if z:
                    c = c + 1
            for z in a1:
                if z:
                    c = c + 100
            return s * 1000000 + c + int(t)
        def main():
            print(h(7, 1, 3), h(1, 0, -4), h(0, 1, 0), h(33, 0, 1))
        main()
    """,
    "truth_of_a_list": """
        def f(n):
            xs = []
            if xs:
                return -1
            xs.append(n)
            if xs:
                return len(xs) + xs[0]
            return -2
        def main():
            print(f(4))
        main()
    """,
}


@pytest.mark.parametrize("tier", ["ssa", "auto"])
@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_lists_match_cpython(name, tier):
    source = textwrap.dedent(PROGRAMS[name])
    out, error, engine = run_ssa(source, tier)
    assert same_run((out, error), run_engine("cpython", source)), f"{tier}: {out!r} {error}"
    if tier == "ssa":
        native = {n for n in engine.compiled.functions if engine.tier_of(n) == "ssa"}
        assert native >= set(engine.compiled.functions) - {"<module>"}, engine.compiled.fallbacks


def test_sieve_runs_as_ssa_without_its_inner_bounds_checks():
    """Of sieve's five subscripts, the two in loops are proven in bounds; the constant ones
    (`flags[0]`, `flags[1]`: n may be negative) and `flags[i]` (bounded by `i * i <= n`,
    which ranges do not relate to the length) keep their checks."""
    codes = compile_module(parse_module(kernel_function("sieve")))
    tier = ssa_tier(codes, verify=True)
    assert tier.tier_of("sieve") == "ssa"
    for n in (0, 1, 2, 30, 1000):
        try:
            expected = kernel_sieve(n)
        except IndexError:
            with pytest.raises(IndexError):
                tier.call("sieve", n)
            continue
        assert tier.call("sieve", n) == expected
    checks = [line for line in tier.ir("sieve").splitlines() if "check_index" in line]
    assert len(checks) == 3, checks
    indices = [re.search(r"check_index %[\w.]+, ([-\w.%]+)", line)[1] for line in checks]
    assert indices == ["0", "1", "%i.1"], checks


def kernel_sieve(n: int) -> int:
    namespace: dict = {}
    exec(kernel_function("sieve"), namespace)
    return namespace["sieve"](n)


def random_list_program(r: random.Random) -> str:
    """A function over lists of each kind (repeats, appends, stores at indices that may be
    out of range or negative, for-each loops), called three times from `main`."""

    def index(depth: int = 0) -> str:
        k = r.random()
        if depth > 1 or k < 0.3:
            return r.choice(["n", "m", "s", str(r.randint(-4, 6)), "len(a)", "len(d)", "i"])
        if k < 0.55:
            inner = index(depth + 1)
            return f"a[{inner} % len(a)]" if r.random() < 0.7 else f"a[{inner}]"
        if k < 0.7:
            return f"({index(depth + 1)} {r.choice('+-*')} {index(depth + 1)})"
        return f"len(c) + {index(depth + 1)}"

    statements = [
        lambda: f"a[{index()}] = {index()}",
        lambda: f"d.append({index()})",
        lambda: f"s = s + {index()}",
        lambda: f"c[i % 3] = not c[{index()} % 3]",
        lambda: f"if len(b) > 0:\n            b[i % len(b)] = b[-1] + {index()}",
        lambda: f"s = s + d[{index()}] if len(d) > 0 else s",
    ]
    body = [r.choice(statements)() for _ in range(r.randint(2, 6))]
    calls = ", ".join(f"f({r.randint(-3, 9)}, {r.randint(-3, 9)})" for _ in range(3))
    return "\n".join(
        ["def f(n, m):", "    a = [n, m, 3] * (n % 5 + 1)", "    b = [0.5] * (m % 7)",
         "    c = [n > m] * 3", "    d = []", "    s = 0",
         f"    for i in range({r.randint(0, 12)}):"]
        + ["        " + line for line in body]
        + ["    for x in d:", "        s = s + x", "    t = 0.0", "    for y in b:",
           "        t = t + y", "    for z in c:", "        if z:", "            s = s + 1",
           "    return s + int(t) + len(a) * 1000", "def main():", f"    print({calls})",
           "main()", ""]
    )  # fmt: skip


@pytest.mark.parametrize("seed", range(40))
def test_random_list_programs_match_cpython(seed):
    source = random_list_program(random.Random(seed))
    out, error, engine = run_ssa(source)
    assert same_run((out, error), run_engine("cpython", source)), source
    assert engine.tier_of("f") == "ssa", engine.compiled.fallbacks
