"""Brainfuck: interpreters and a template JIT, to measure the cost of calling out (notebook 06)."""

from jitkit.bf.interp import run_naive, run_optimized
from jitkit.bf.jit import BrainfuckJIT
from jitkit.bf.program import BrainfuckError, Op, listing, parse

__all__ = ["BrainfuckError", "BrainfuckJIT", "Op", "listing", "parse", "run_naive", "run_optimized"]
