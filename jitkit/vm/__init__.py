"""The kit bytecode VM with profiling (notebook 03 interpreters)."""

from jitkit.vm.machine import VM, Profile

__all__ = ["VM", "Profile"]
