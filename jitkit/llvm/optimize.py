"""Optimization with LLVM's new pass manager (notebook 08 LLVM mini compiler).

In: a parsed `ModuleRef` and either an `opt_level` 0-3 (LLVM's own O0-O3 pipelines) or a
hand-picked `passes=` list ("mem2reg,instcombine,simplifycfg,gvn"). Out: the same module,
optimized in place. Learners compare both: the standard pipeline and the few passes that
make most of the difference.

Memory: llvmlite 0.50 never frees a pass manager. `ModulePassManager` inherits `_dispose`
from `ffi.ObjectRef` (a no-op) before `NewPassManager`'s real one, so every pipeline built
stayed allocated: ~29 KB per module for O1's pipeline unrun, ~62 KB run (O2 ~125 KB). We
free it ourselves once it ran (`release`); what is left is the pass builder's instrumentation
callbacks (`LLVMPY_CreatePassBuilder` news them, nothing deletes them), ~1 KB per module
(measured with compile-and-drop, as tests/llvm/test_leak.py does). One pass builder shared
by every module would keep even that, but each run registers one more callback into it that
every later pass calls (compiling got slower with each module: 25 -> 47 ms on average over
1,000), so each module gets its own.
"""

from __future__ import annotations

from collections.abc import Iterable

import llvmlite.binding as llvm
from llvmlite.binding.newpassmanagers import NewPassManager

from jitkit.errors import JitkitError
from jitkit.llvm.target import target_machine

# Short pass names (as LLVM's `opt -passes=` spells them) -> ModulePassManager method.
PASSES = {
    # llvmlite 0.50 has no bare mem2reg; SROA promotes allocas to registers and more.
    "mem2reg": "add_sroa_pass",
    "reg2mem": "add_register_to_memory_pass",  # the inverse: registers back to allocas
    "sroa": "add_sroa_pass",
    "instcombine": "add_instruction_combine_pass",
    "aggressive-instcombine": "add_aggressive_instcombine_pass",
    "simplifycfg": "add_simplify_cfg_pass",
    "gvn": "add_new_gvn_pass",
    "newgvn": "add_new_gvn_pass",
    "sccp": "add_sccp_pass",
    "ipsccp": "add_ipsccp_pass",
    "dce": "add_dead_code_elimination_pass",
    "adce": "add_aggressive_dce_pass",
    "dse": "add_dead_store_elimination_pass",
    "globaldce": "add_global_dead_code_eliminate_pass",
    "globalopt": "add_global_opt_pass",
    "inline": "add_always_inliner_pass",
    "always-inline": "add_always_inliner_pass",
    "jump-threading": "add_jump_threading_pass",
    "reassociate": "add_reassociate_pass",
    "loop-rotate": "add_loop_rotate_pass",
    "loop-simplify": "add_loop_simplify_pass",
    "loop-unroll": "add_loop_unroll_pass",
    "loop-deletion": "add_loop_deletion_pass",
    "lcssa": "add_lcssa_pass",
    "licm-free-sink": "add_sinking_pass",
    "tailcallelim": "add_tail_call_elimination_pass",
    "memcpyopt": "add_mem_copy_opt_pass",
    "constmerge": "add_constant_merge_pass",
    "deadargelim": "add_dead_arg_elimination_pass",
    "verify": "add_verifier",
}


class PassError(JitkitError):
    """A pass name this kit does not know (the message lists the known ones)."""


def pass_names(passes: str | Iterable[str]) -> list[str]:
    """'mem2reg, gvn' or ['mem2reg', 'gvn'] -> ['mem2reg', 'gvn'], each checked."""
    names = passes.split(",") if isinstance(passes, str) else list(passes)
    names = [p.strip() for p in names if p.strip()]
    unknown = [p for p in names if p not in PASSES]
    if unknown:
        raise PassError(f"unknown pass(es) {unknown}; known: {', '.join(sorted(PASSES))}")
    return names


def optimize(
    ref: llvm.ModuleRef, opt_level: int = 2, passes: str | Iterable[str] | None = None
) -> llvm.ModuleRef:
    """Run O0-O3 (new pass manager's default pipeline) or exactly the passes given."""
    if not 0 <= opt_level <= 3:
        raise PassError(f"opt_level must be 0..3, not {opt_level}")
    tuning = llvm.PipelineTuningOptions(speed_level=opt_level)
    builder = llvm.create_pass_builder(target_machine(opt_level), tuning)
    if passes is None:
        manager = builder.getModulePassManager()
    else:
        manager = llvm.create_new_module_pass_manager()
        for name in pass_names(passes):
            getattr(manager, PASSES[name])()
    try:
        manager.run(ref, builder)
    finally:
        release(manager)
    return ref


def release(manager: llvm.ModulePassManager) -> None:
    """Why: llvmlite's `ModulePassManager.close()` frees nothing (its `_dispose` resolves to
    `ObjectRef`'s no-op), so call the pass manager's own disposer, then detach the wrapper so
    nothing frees it twice."""
    if not manager.closed:
        NewPassManager._dispose(manager)
        manager.detach()
