"""What Kernel -> Interrupt costs compiled loops: the stack tier's kernels with and without
the interrupt-flag poll on loop back-edges (notebook 05).

    python benchmarks/interrupt_poll.py
"""

from jitkit.bench import SIZES, best_of, kernel_source
from jitkit.bytecode.compiler import compile_module
from jitkit.bytecode.opcodes import Op
from jitkit.lang.parse import parse_module
from jitkit.stackjit import stack_tier


def emit_jump_backward_without_poll(site) -> None:
    site.a.jmp(site.target(site.arg))


def main() -> None:
    codes = compile_module(parse_module(kernel_source()))
    polled = stack_tier(codes)
    unpolled = stack_tier(codes, templates={Op.JUMP_BACKWARD: emit_jump_backward_without_poll})
    print(f"{'kernel':<14}{'with poll ms':>14}{'without ms':>12}{'cost':>9}")
    for kernel, size in SIZES.items():
        assert polled.call(kernel, size) == unpolled.call(kernel, size)
        with_poll = best_of(lambda k=kernel, n=size: polled.call(k, n), 7)
        without = best_of(lambda k=kernel, n=size: unpolled.call(k, n), 7)
        cost = with_poll / without - 1
        print(f"{kernel:<14}{with_poll * 1e3:>14.3f}{without * 1e3:>12.3f}{cost:>+9.1%}")


if __name__ == "__main__":
    main()
