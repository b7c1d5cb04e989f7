"""The cost of crossing between Python and machine code, in one run (notebook 06).

python benchmarks/calls.py
"""

from jitkit.native.ladder import measure, table

if __name__ == "__main__":
    print(table(measure()))
