"""Shared helpers for the native tests: read the kernel's view of our mappings."""

from __future__ import annotations


def mapping_of(address: int) -> str | None:
    """The /proc/self/maps line whose range holds `address`, or None once it is unmapped."""
    with open("/proc/self/maps") as maps:
        for line in maps:
            low, high = (int(x, 16) for x in line.split()[0].split("-"))
            if low <= address < high:
                return line.strip()
    return None


def permissions(address: int) -> str | None:
    """ "rw-p", "r-xp", ... for the mapping holding `address`."""
    line = mapping_of(address)
    return None if line is None else line.split()[1]
