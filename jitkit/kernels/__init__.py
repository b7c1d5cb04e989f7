"""The benchmark kernels as package data: `kernels.py` (the kit's subset, run by CPython and
every tier) and `kernels.c` (the same functions in C for gcc -O2). They ship in the wheel so
`jitkit bench` and the chapters that time tiers work outside a checkout; `jitkit.bench` reads
them as text, nothing imports them."""

from pathlib import Path

FOLDER = Path(__file__).resolve().parent
