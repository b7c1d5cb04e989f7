"""The door from Python into a compiled module: `int64 entry(Context *, int64 *args)`
(notebooks 05 and 07)."""

from __future__ import annotations

from jitkit.jitrt.layout import (
    CTX_ARENA_BASE,
    CTX_ARENA_MAPPED,
    CTX_ARENA_PTR,
    CTX_FLAG,
    CTX_MAX_DEPTH,
    CTX_RESULT,
    CTX_STACK_FLOOR,
    CTX_STACK_LIMIT,
    FINISH,
    SMALL_FRAME_SHIFT,
    STACK_BUDGET,
)
from jitkit.x86 import (
    Assembler,
    eax,
    ecx,
    qword,
    r12,
    r13,
    r13d,
    r14,
    r15,
    rax,
    rbp,
    rbx,
    rcx,
    rdi,
    rdx,
    rsi,
    rsp,
)


def emit_python_entry(
    a: Assembler, name: str, depth_register: bool = False, returns_list: bool = False
) -> None:
    """`int64 entry(Context *ctx, int64 *args)`: the System V door from ctypes. Saves the
    callee-saved registers compiled code uses, sets r15/r14 and the native stack limit (the
    budget below here, but never under the thread's stack floor), calls the function, leaves
    its value in ctx->result and returns the status. With `depth_register` r13 starts at 0:
    the SSA tier counts its frames there. Lists (`lists.py`): a clean return frees the call's
    lists by resetting the arena, unless the runtime must finish (status FINISH): the result
    is a list (`returns_list`: converted first) or the call mapped chunks (to unmap)."""
    a.label(f"{name}.python")
    for reg in (rbp, rbx, r12, r13, r14, r15):
        a.push(reg)
    a.sub(rsp, 8)  # 6 pushes + return address: keep rsp 16-byte aligned at calls
    a.mov(r15, rdi).mov(r14, qword(r15, CTX_FLAG))
    a.lea(rax, qword(rsp, -STACK_BUDGET)).cmp(rax, qword(r15, CTX_STACK_FLOOR))
    a.jae(f"{name}.python.budget")
    # the thread's stack ends first: stop there, and allow only as many small frames as fit
    a.mov(rax, qword(r15, CTX_STACK_FLOOR)).mov(rdx, rsp).sub(rdx, rax)
    a.sar(rdx, SMALL_FRAME_SHIFT).xor(ecx, ecx).test(rdx, rdx).cmovs(rdx, rcx)  # >= 0 frames
    a.mov(rcx, qword(r15, CTX_MAX_DEPTH)).cmp(rdx, rcx).cmovl(rcx, rdx)
    a.mov(qword(r15, CTX_MAX_DEPTH), rcx)
    a.label(f"{name}.python.budget").mov(qword(r15, CTX_STACK_LIMIT), rax)
    if depth_register:
        a.xor(r13d, r13d)
    a.mov(rdi, rsi).call(f"{name}.entry")
    a.mov(qword(r15, CTX_RESULT), rax).mov(rax, rdx)
    a.test(eax, eax).jnz(f"{name}.python.out")  # deopt, interrupt: the runtime finishes
    if not returns_list:
        a.cmp(qword(r15, CTX_ARENA_MAPPED), 0).jne(f"{name}.python.finish")
        a.mov(rcx, qword(r15, CTX_ARENA_BASE)).mov(qword(r15, CTX_ARENA_PTR), rcx)
        a.jmp(f"{name}.python.out")
    a.label(f"{name}.python.finish").mov(eax, FINISH)
    a.label(f"{name}.python.out").add(rsp, 8)
    for reg in (r15, r14, r13, r12, rbx, rbp):
        a.pop(reg)
    a.ret()
