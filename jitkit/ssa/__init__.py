"""The SSA layer of the optimizing JIT (notebook 07).

Takes kit bytecode (`build`), IR text or a `Function` built in code; gives optimized IR
(`compile`), an interpreter that is the reference for its meaning (`run`) and x86-64 machine
code (`compile_native`).
`ops.OPS` defines every opcode; `passes/` holds one pass per module.
"""

from jitkit.ssa.build import build, build_function, build_module, traffic
from jitkit.ssa.interp import Outcome, run
from jitkit.ssa.ir import Block, Const, Deopt, Function, Global, Instr, Temp
from jitkit.ssa.ops import OPS
from jitkit.ssa.pipeline import DEFAULT, compile, compile_native
from jitkit.ssa.text import format, parse
from jitkit.ssa.verify import verify

__all__ = [
    "DEFAULT",
    "OPS",
    "Block",
    "Const",
    "Deopt",
    "Function",
    "Global",
    "Instr",
    "Outcome",
    "Temp",
    "build",
    "build_function",
    "build_module",
    "compile",
    "compile_native",
    "format",
    "parse",
    "run",
    "traffic",
    "verify",
]
