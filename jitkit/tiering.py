"""Tiered execution: start in the VM, promote hot functions to compiled code (notebook 05).

Takes a module's code objects; gives `AutoTier.call(name, *args)`. Every function starts in
the profiling VM. When a function's call count or the back-edge count of one of its loops
crosses a threshold, it is promoted: from then on every call to it (from Python, or from
VM code at a CALL instruction) runs the stack tier's machine code. Functions the tier
cannot compile stay in the VM, with the reason kept in `fallbacks`. Compiled code is made
once per module and cached; `events` records each promotion, for looking at.
"""

from __future__ import annotations

import sys
from collections import Counter
from dataclasses import dataclass

from jitkit.bytecode.code import Code
from jitkit.stackjit import StackTier, compile_module
from jitkit.vm.machine import VM, Frame


@dataclass
class Thresholds:
    """Promote after this many calls of a function, or trips around one of its loops."""

    calls: int = 50
    loops: int = 1000


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
        return sys.getrecursionlimit() - self.limit + len(self.frames)

    def call_function(self, stack: list, argc: int) -> Frame:
        code = stack[len(stack) - argc - 1]
        args = tuple(stack[len(stack) - argc :])
        native = code.name in self.auto.promoted and self.auto.native.accepts(code.name, args)
        if native and self.depth() < sys.getrecursionlimit():  # else push_frame raises
            if argc == code.argcount:
                del stack[len(stack) - argc - 1 :]
                stack.append(self.auto.native.call(code.name, *args, depth=self.depth()))
                return self.frames[-1]  # the caller goes on after its CALL, result on top
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
    """A module under tiered execution: VM first, stack tier when hot."""

    def __init__(
        self, codes: dict[str, Code], thresholds: Thresholds | None = None, policy=None
    ) -> None:
        self.codes = codes
        self.thresholds = thresholds or Thresholds()
        # policy(calls, hottest_loop, thresholds) -> bool decides promotion (an exercise)
        self.policy = policy or default_policy
        self.vm = TieredVM(codes, self)
        self.promoted: set[str] = set()
        self.fallbacks: dict[str, str] = {}
        self.events: list[str] = []
        self._native: StackTier | None = None

    @property
    def native(self) -> StackTier:
        """The module's machine code, compiled on the first promotion (the code cache)."""
        if self._native is None:
            self._native = StackTier(compile_module(self.codes), self.vm)
        return self._native

    def tier_of(self, name: str) -> str:
        return "stack" if name in self.promoted else "interp"

    def call(self, name: str, *args: object) -> object:
        if name in self.promoted:
            return self.native.call(name, *args)
        self.consider(name, entering=True)
        if name in self.promoted:
            return self.native.call(name, *args)
        return self.vm.call(name, *args)

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
