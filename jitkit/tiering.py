"""Tiered execution: start in the VM, promote hot functions to compiled code (notebooks 05, 07).

Takes a module's code objects; gives `AutoTier.call(name, *args)`. Every function starts in
the profiling VM. When a function's call count or the back-edge count of one of its loops
crosses a threshold, it is promoted: from then on every call to it (from Python, or from
VM code at a CALL instruction) runs the stack tier's machine code. Template code counts its own
entries (recursive and other native calls included) and loop trips; a function whose count
reaches `Thresholds.ssa` is hot still, and its next entry from Python or the VM runs the SSA
tier's optimized code instead (there is no on-stack replacement of a running call). Functions
a tier cannot compile stay where they are, with the reason kept in `fallbacks`. Each tier's
code is made once per module and cached; `events` records each promotion, for looking at.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from jitkit.bytecode.code import Code
from jitkit.jitrt.runtime import StackTier
from jitkit.lang import runtime as rt
from jitkit.stackjit import compile_module
from jitkit.vm.machine import VM, Frame


@dataclass
class Thresholds:
    """Promote after this many calls of a function, or trips around one of its loops."""

    calls: int = 50
    loops: int = 1000
    ssa: int = 100  # entries + loop trips in a function's stack-tier code, then the SSA tier


def default_policy(calls: int, hottest_loop: int, thresholds: Thresholds) -> bool:
    """Hot means: called often enough, or one loop went round often enough."""
    return calls >= thresholds.calls or hottest_loop >= thresholds.loops


class TieredVM(VM):
    """The VM, except that a CALL to a promoted function runs its machine code."""

    def __init__(self, codes: dict[str, Code], auto: AutoTier) -> None:
        super().__init__(codes)
        self.auto = auto
        self.hottest_loop: Counter = Counter()  # per function: its busiest loop's count

    def depth(self) -> int:
        """Kit frames active now: this run's, plus those below it (the limit counts them)."""
        return rt.recursion_limit() - self.limit + len(self.frames)

    def call_function(self, stack: list, argc: int) -> Frame:
        code = stack[len(stack) - argc - 1]
        args = tuple(stack[len(stack) - argc :])
        native = code.name in self.auto.promoted and self.auto.native.accepts(code.name, args)
        if native and self.depth() < rt.recursion_limit():  # else push_frame raises
            del stack[len(stack) - argc - 1 :]
            finished, outcome = self.auto.enter(code.name, args, self.depth())
            if finished:
                stack.append(outcome)  # the caller goes on after its CALL, result on top
            else:
                self.frames.extend(outcome)  # deopted: this loop finishes them, no nesting
            return self.frames[-1]
        frame = super().call_function(stack, argc)
        self.auto.consider(code.name)
        return frame

    def count_back_edge(self, code: Code, header: int) -> None:
        super().count_back_edge(code, header)
        trips = self.profile.loops[(code.name, header, code.lines[header])]
        if trips > self.hottest_loop[code.name]:
            self.hottest_loop[code.name] = trips
        if trips == self.auto.thresholds.loops:
            self.auto.consider(code.name)


class AutoTier:
    """A module under tiered execution: VM first, stack tier when hot, SSA tier when hotter."""

    def __init__(
        self, codes: dict[str, Code], thresholds: Thresholds | None = None, policy=None
    ) -> None:
        self.codes = codes
        self.thresholds = thresholds or Thresholds()
        # policy(calls, hottest_loop, thresholds) -> bool decides promotion (an exercise)
        self.policy = policy or default_policy
        self.vm = TieredVM(codes, self)
        self.promoted: set[str] = set()  # running compiled code (either tier)
        self.optimized: set[str] = set()  # of those, running the SSA tier's code
        self.fallbacks: dict[str, str] = {}  # stays in the VM, and why
        self.ssa_fallbacks: dict[str, str] = {}  # stays in the stack tier, and why
        self.events: list[str] = []
        self._native: StackTier | None = None
        self._ssa = None

    @property
    def native(self) -> StackTier:
        """The module's machine code, compiled on the first promotion (the code cache)."""
        if self._native is None:
            self._native = StackTier(compile_module(self.codes), self.vm)
        return self._native

    @property
    def ssa(self):
        """The module on the SSA tier, compiled on the first promotion to it."""
        if self._ssa is None:
            from jitkit.ssa.tier import SSATier
            from jitkit.ssa.tier import compile_module as compile_ssa

            self._ssa = SSATier(compile_ssa(self.codes), self.vm)
        return self._ssa

    def set_globals(self, values: list[object]) -> None:
        """The module's globals live in the VM, which runs every code that reads or stores
        them (neither native tier compiles those this session)."""
        self.vm.set_globals(values)

    def tier_of(self, name: str) -> str:
        if name in self.optimized:
            return "ssa"
        return "stack" if name in self.promoted else "interp"

    def call(self, name: str, *args: object) -> object:
        if name not in self.promoted:
            self.consider(name, entering=True)
        if name in self.promoted:
            return self.engine(name).call(name, *args)
        return self.vm.call(name, *args)

    def engine(self, name: str) -> StackTier:
        """The tier promoted `name` runs on; stack-tier entries count towards the SSA tier."""
        if name not in self.optimized:
            if self.native.calls_of(name) >= self.thresholds.ssa:
                self.optimize(name)
        return self.ssa if name in self.optimized else self.native

    def enter(self, name: str, args: tuple, depth: int) -> tuple[bool, object]:
        """Run promoted `name` from a VM frame (`StackTier.enter`: a result, or the frames
        the VM finishes after a deopt)."""
        return self.engine(name).enter(name, args, depth)

    def optimize(self, name: str) -> None:
        """Move `name` from the stack tier to the SSA tier, if the SSA tier compiled it."""
        if name in self.optimized or name in self.ssa_fallbacks:
            return
        tier = self.ssa.tier_of(name)
        if tier != "ssa":
            why = self.ssa.compiled.fallbacks.get(name, tier)
            self.ssa_fallbacks[name] = why
            self.events.append(f"{name}: stays in the stack tier ({why})")
            return
        self.optimized.add(name)
        self.events.append(
            f"{name}: promoted to the SSA tier after {self.native.calls_of(name)} stack-tier "
            "calls and loop trips"
        )

    def consider(self, name: str, entering: bool = False) -> None:
        """Promote `name` if its counters say it is hot and the stack tier can compile it."""
        if name in self.promoted or name in self.fallbacks:
            return
        calls = self.vm.profile.calls[name] + entering
        if not self.policy(calls, self.vm.hottest_loop[name], self.thresholds):
            return
        skipped = self.native.compiled.skipped
        if name in skipped:
            self.fallbacks[name] = skipped[name]
            self.events.append(f"{name}: stays in the VM ({skipped[name]})")
            return
        self.promoted.add(name)
        why = f"{calls} calls" if calls >= self.thresholds.calls else "a hot loop"
        self.events.append(f"{name}: promoted to the stack tier after {why}")
