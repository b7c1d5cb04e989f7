"""`@jitkit.jit`: the cpython-first default, functions without source, and inspection that
shows the code that runs (jitkit/jit.py, jitkit/cpython_first.py, jitkit/machine_code.py)."""

from __future__ import annotations

import ctypes
import json
import os
import subprocess
import sys

import pytest

import jitkit
from jitkit.bench import SIZES, kernel_source
from jitkit.bytecode.from_cpython import translate_module
from jitkit.cpython_first import Policy
from jitkit.jit import BYTECODE_TIERS, SOURCE_TIERS, InspectionError, jit
from jitkit.tiers import TIERS
from tests.conftest import ROOT
from tests.programs.engines import capture, run

HOT = Policy(budget=0.0, long_call=0.0, min_call=0.0, trial=4)  # compile at the first call
PROGRAM_TOOLS = {"__init__", "engines", "test_programs"}
SMALL = {"fib": 18, "sum_loop": 20_000, "gcd_sum": 2_000, "collatz": 1_000, "count_primes": 3_000,
         "mandel": 12, "sieve": 2_000}  # fmt: skip
VM_ONLY_ON_SSA = {"mandel", "sieve"}  # floats, lists: the decorator leaves them to CPython


def defined_without_source(source: str, **decorator: str) -> dict:
    """`exec` the source with every def under `@jitkit.jit(**decorator)`: no file to read."""
    options = ", ".join(f"{k}={v!r}" for k, v in decorator.items())
    namespace = {"jitkit": jitkit}
    exec(source.replace("\ndef ", f"\n@jitkit.jit({options})\ndef "), namespace)
    return namespace


def cpython(source: str) -> dict:
    namespace: dict = {}
    exec(source, namespace)
    return namespace


def made_hot(f, policy: Policy = HOT):
    """A default-tier function that compiles at its next call (the policy, not the clock)."""
    f.jit.cpython_first.policy = policy
    return f


# --- the default: CPython first -----------------------------------------------------------


def test_default_on_every_bench_kernel_defined_in_python_c_gives_cpythons_answer():
    assert set(SMALL) == set(SIZES)
    program = (
        "import inspect, json, jitkit\n"
        + kernel_source().replace("\ndef ", "\n@jitkit.jit\ndef ")
        + "\nout = {}\n"
        + f"for name, n in {SMALL!r}.items():\n"
        + "    f = globals()[name]\n"
        + "    results = [f(n) for _ in range(40)]\n"
        + "    try:\n"
        + "        readable = bool(inspect.getsource(f))\n"
        + "    except (OSError, TypeError):\n"
        + "        readable = False\n"
        + "    out[name] = [results, f.running_tier(), f.jit.frontend, f.events, readable]\n"
        + "print(json.dumps(out))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    child = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=300, env=env
    )
    assert child.returncode == 0, child.stderr
    expected = cpython(kernel_source())
    fronts = set()
    for name, (results, tier, frontend, events, readable) in json.loads(child.stdout).items():
        assert results == [expected[name](SMALL[name])] * 40, name
        if tier == "cpython" and name in VM_ONLY_ON_SSA:  # SSA hands floats and lists to the VM
            assert any("stays interpreted" in e for e in events), (name, events)
            continue
        # it did go native, through dis where the source cannot be read (3.11, 3.12); 3.13
        # keeps `python -c` source in linecache, so there the ast front end reads it
        assert (tier, frontend) == ("ssa", "ast" if readable else "dis"), (name, events)
        fronts.add(frontend)
    assert fronts == ({"ast"} if sys.version_info >= (3, 13) else {"dis"})


def test_default_returns_a_function_that_starts_in_cpython():
    @jit
    def total(n):
        s = 0
        for i in range(n):
            s += i
        return s

    assert type(total).__name__ == "function" and total.tier == "cpython-first"
    assert total(10) == 45 and total.running_tier() == "cpython"
    with pytest.raises(InspectionError, match="still runs in CPython"):
        total.asm()
    made_hot(total)
    assert [total(k) for k in (10, 100)] == [45, 4950]
    assert total.running_tier() == "ssa" and "total: compiled to the ssa tier" in total.events[0]
    assert "$total" in total.ir() and "total.entry" in total.listing()


def test_default_settles_in_cpython_with_its_own_code_when_refused_or_too_quick():
    @jit
    def squares(n):
        return [i * i for i in range(n)]  # lists: outside the kit's subset

    plain_code = squares.__wrapped__.__code__
    made_hot(squares)
    assert squares(4) == [0, 1, 4, 9]
    assert squares.__code__ is plain_code and squares.running_tier() == "cpython"
    with pytest.raises(InspectionError, match="refuse"):
        squares.asm()

    @jit
    def add(a, b):
        return a + b

    made_hot(add, Policy(budget=0.0, min_call=1.0))  # no call takes a second: too quick
    assert add(2, 3) == 5 and add.__code__ is add.__wrapped__.__code__
    assert "a native entry costs more" in add.events[-1]


def test_default_keeps_cpythons_results_and_exceptions_once_native():
    @jit
    def power(b, n):
        r = 1
        for _ in range(n):
            r = r * b
        return r

    @jit
    def div(a, b):
        return a // b

    made_hot(power), made_hot(div)
    assert power(3, 2) == 9 and power.running_tier() == "ssa"
    assert power(3, 100) == 3**100  # overflows int64: the VM finishes the call exactly
    assert power(-2, 63) == -(2**63) and power(True, 3) == 1  # a bool runs in CPython
    assert div(-7, 2) == -4 and div.running_tier() == "ssa"
    assert div(2**70, 3) == 2**70 // 3  # beyond int64: CPython runs it
    with pytest.raises(ZeroDivisionError):
        div(1, 0)
    with pytest.raises(TypeError, match=r"div\(\) takes 2 positional arguments but 3"):
        div(1, 2, 3)


def fact(n):
    return 1 if n <= 1 else n * fact(n - 1)


def depth(n):
    return 0 if n == 0 else 1 + depth(n - 1)


def test_default_drops_native_code_that_keeps_deoptimizing():
    f = made_hot(jit(fact))
    results = [f(30) for _ in range(8)]  # every native call overflows into the VM
    assert results == [265252859812191058636308480000000] * 8
    assert f.running_tier() == "cpython" and "deoptimized" in f.events[-1]
    assert f.__code__ is fact.__code__


def test_default_recursion_goes_as_deep_as_cpythons(monkeypatch):
    deep = sys.getrecursionlimit() - 120  # what this test's own frames leave
    plain = depth(deep)
    monkeypatch.setitem(globals(), "depth", jit(depth))  # recursive calls reach the jit too
    decorated = globals()["depth"]
    assert decorated(deep) == plain and decorated.running_tier() == "cpython"  # warming
    assert decorated.jit.cpython_first.calls == 1  # the nested calls ran CPython's own code
    with pytest.raises(RecursionError):
        decorated(sys.getrecursionlimit() + 10)


# --- functions without source ---------------------------------------------------------------


LOOP = "\ndef total(n):\n    s = 0\n    for i in range(n):\n        s += i * i\n    return s\n"


@pytest.mark.parametrize("tier", BYTECODE_TIERS)
def test_bytecode_tiers_run_functions_without_source_through_dis(tier):
    total = defined_without_source(LOOP, tier=tier)["total"]
    assert [total(n) for n in (0, 10, 3000)] == [0, 285, sum(i * i for i in range(3000))]
    jf = getattr(total, "jit", total)
    assert jf.frontend == "dis" and "BINARY_MUL" in total.bytecode()


@pytest.mark.parametrize("tier", ["stack", "ssa"])
def test_an_explicit_dis_front_end_needs_no_source(tier):
    total = defined_without_source(LOOP, tier=tier, frontend="dis")["total"]
    assert total(100) == 328350 and total.running_tier() == tier


@pytest.mark.parametrize("tier", SOURCE_TIERS)
def test_source_tiers_say_they_need_source_and_which_tiers_do_not(tier):
    with pytest.raises(jitkit.UnsupportedError, match="no source") as refused:
        defined_without_source(LOOP, tier=tier)
    assert "cpython-first" in str(refused.value) and "ssa" in str(refused.value)


def test_functions_with_source_use_the_ast_front_end():
    assert jit(test_functions_with_source_use_the_ast_front_end, tier="interp").frontend == "ast"


# --- inspection shows what runs -------------------------------------------------------------


def gcd(a, b):
    while b:
        a, b = b, a % b
    return a


def address_of(cfunction) -> int:
    return ctypes.cast(cfunction, ctypes.c_void_p).value


def stack_module(f):
    """The StackTier (or SSATier) whose code a stack, ssa, auto or default call enters."""
    jf = getattr(f, "jit", f)
    engine = jf.engine
    if jf.tier == "auto":
        return engine.ssa if f.running_tier() == "ssa" else engine.native
    return engine


@pytest.mark.parametrize("tier", ["stack", "ssa", "auto", "cpython-first"])
def test_asm_is_the_memory_a_stack_or_ssa_call_enters(tier):
    f = jit(gcd, tier=tier)
    if tier == "cpython-first":
        made_hot(f)
    for _ in range(400 if tier == "auto" else 1):  # auto: hot enough for its SSA tier
        assert f(1071, 462) == 21
    module = stack_module(f)
    body, entry = f.asm().regions
    assert (body.name, entry.name) == ("gcd", "gcd.python")
    assert entry.address == address_of(module.entries["gcd"])  # what ctypes calls
    assembled = module.compiled.machine.bytes
    for region in (body, entry):
        offset = region.address - module.memory.address
        assert region.data == ctypes.string_at(region.address, len(region.data))
        assert region.data == assembled[offset : offset + len(region.data)]
    assert "gcd.entry:" in str(f.asm()) and " ret" in str(f.asm())


def test_asm_of_llvm_is_the_memory_mcjit_loaded_from_its_object():
    elftools = pytest.importorskip("elftools.elf.elffile")
    from io import BytesIO

    from elftools.elf.relocation import RelocationSection

    f = jit(gcd, tier="llvm")
    assert f(1071, 462) == 21
    regions = {r.name: r for r in f.asm().regions}
    assert "jk_call.gcd" in regions  # py.gcd too, unless LLVM inlined it into its entry
    assert regions["jk_call.gcd"].address == address_of(f.engine.entries["gcd"])
    elf = elftools.ELFFile(BytesIO(f.engine.engine.objects[-1]))
    symbols = {s.name: s for s in elf.get_section_by_name(".symtab").iter_symbols()}
    for name, region in regions.items():
        symbol = symbols[name]
        section = elf.get_section(symbol["st_shndx"])
        start = symbol["st_value"]
        assert len(region.data) == symbol["st_size"]
        patched = set()  # bytes MCJIT relocated when it loaded the object
        for rela in elf.iter_sections():
            if isinstance(rela, RelocationSection) and rela["sh_info"] == symbol["st_shndx"]:
                for r in rela.iter_relocations():
                    width = 8 if r["r_info_type"] == 1 else 4  # R_X86_64_64, else 32-bit kinds
                    patched |= set(range(r["r_offset"], r["r_offset"] + width))
        code = section.data()
        same = [region.data[i] == code[start + i] for i in range(len(region.data))]
        assert all(ok for i, ok in enumerate(same) if start + i not in patched), name
        assert sum(same) > len(same) // 2
    assert "define" in f.llvm_ir() and "jk_call.gcd" in f.llvm_ir()


def test_asm_of_hostc_is_the_memory_dlopen_mapped_from_the_shared_object():
    elftools = pytest.importorskip("elftools.elf.elffile")

    f = jit(gcd, tier="hostc")
    assert f(1071, 462) == 21
    regions = f.asm().regions
    assert "py_gcd" in [r.name for r in regions]
    with open(f.engine.build.path, "rb") as so:
        elf = elftools.ELFFile(so)
        symbols = {s.name: s for s in elf.get_section_by_name(".symtab").iter_symbols()}
        run = address_of(f.engine.build.library["jk_run"])
        base = run - symbols["jk_run"]["st_value"]
        for region in regions:
            symbol = symbols[region.name]
            section = elf.get_section(symbol["st_shndx"])
            offset = symbol["st_value"] - section["sh_addr"]
            assert region.address == base + symbol["st_value"]
            assert region.data == section.data()[offset : offset + symbol["st_size"]]
    assert "py_gcd" in f.c_source()


@pytest.mark.parametrize("tier", ["interp", "treewalk"])
def test_interpreters_have_no_machine_code_to_show(tier):
    f = jit(gcd, tier=tier)
    assert f(12, 18) == 6
    with pytest.raises(InspectionError, match="no machine code"):
        f.asm()


def test_no_tier_shows_another_tiers_code():
    llvm, hostc, stack = (jit(gcd, tier=t) for t in ("llvm", "hostc", "stack"))
    with pytest.raises(InspectionError, match="llvm_ir"):
        llvm.ir()
    with pytest.raises(InspectionError, match="c_source"):
        hostc.ir()
    with pytest.raises(InspectionError, match="no SSA IR"):
        stack.ir()
    with pytest.raises(InspectionError, match="LLVM IR"):
        stack.llvm_ir()
    with pytest.raises(InspectionError, match="makes no C"):
        llvm.c_source()
    with pytest.raises(InspectionError, match="kit AST"):
        llvm.bytecode()
    assert "jk_call.gcd" in llvm.listing() and "py_gcd" in hostc.listing()
    assert "gcd.entry" in stack.listing()


def test_unknown_names_are_refused_with_the_known_ones():
    with pytest.raises(ValueError, match="unknown dump 'nonsense'.*ast, bytecode"):
        jit(gcd, dump={"nonsense"})
    with pytest.raises(ValueError, match="takes a set of names, not 'ast'"):
        jit(gcd, dump="ast")  # a string is not a set of names
    with pytest.raises(ValueError, match="unknown frontend 'bytes'; supported: ast, dis"):
        jit(gcd, frontend="bytes")
    with pytest.raises(ValueError, match="supported tiers: .*hostc, cpython-first"):
        jit(tier="warp")


# --- CPython's bytecode on the compiled tiers, program by program ---------------------------

PROGRAMS = sorted(
    p for p in (ROOT / "tests" / "programs").glob("*.py") if p.stem not in PROGRAM_TOOLS
)


@pytest.mark.parametrize("tier", ["stack", "ssa"])
@pytest.mark.parametrize("path", PROGRAMS, ids=lambda p: p.stem)
def test_compiled_tiers_run_cpythons_bytecode_as_cpython_does(tier, path):
    source = path.read_text()
    engine = TIERS[tier](None, translate_module(source, str(path))).engine  # type: ignore[arg-type]
    assert capture(lambda: engine.call("<module>")) == run("cpython", source, str(path))


def mixed_min(a):
    return min(a > 0, a)  # a bool or an int: one static type is needed, so the VM runs it


def test_a_function_left_to_the_vm_says_so_and_why():
    f = jit(mixed_min, tier="ssa")
    assert f(5) is True and f.running_tier() == "interp"
    for show in (f.asm, f.ir):
        with pytest.raises(InspectionError, match=r"runs in the kit's interp tier: the ssa tier"):
            show()


def test_dumps_print_each_stage_once_the_tier_compiled_it(capsys):
    f = jit(gcd, tier="ssa", dump={"bytecode", "ir", "asm"})
    assert capsys.readouterr().out == ""  # nothing compiled yet
    assert f(12, 18) == 6
    out = capsys.readouterr().out
    assert "== bytecode of gcd ==" in out and "BINARY_MOD" in out
    assert "== ir of gcd ==\n" + f.ir() in out and "== asm of gcd ==\n" + f.listing() in out
    g = made_hot(jit(gcd, dump={"asm"}))  # the default prints when native code starts to run
    assert g(12, 18) == 6 and "gcd.entry:" in capsys.readouterr().out
    with pytest.raises(ValueError, match="dump 'llvm_ir' shows what tiers llvm compile"):
        jit(gcd, tier="ssa", dump={"llvm_ir"})
    with pytest.raises(ValueError, match="dump 'asm' shows what tiers stack, ssa, llvm"):
        jit(gcd, tier="interp", dump=iter(["asm"]))


def test_default_compiles_later_when_hot_deep_in_a_recursion():
    def spin(n):
        s = 0
        for i in range(n):
            s += i
        return s

    f = made_hot(jit(spin))

    def down(k):  # CPython's own frames, deep enough that compiling would overflow
        return f(10) if k == 0 else down(k - 1)

    frames, at = 0, sys._getframe()
    while at is not None:
        frames, at = frames + 1, at.f_back
    room = 15  # frames left when f runs: its own few, not a compile's
    assert down(sys.getrecursionlimit() - frames - room) == 45 and f.running_tier() == "cpython"
    assert f.jit.cpython_first.state == "warming"  # not settled: it tries again
    assert f(10) == 45 and f.running_tier() == "ssa"
