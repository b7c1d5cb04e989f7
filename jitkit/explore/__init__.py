"""Interactive views on ipywidgets, for chapters and for tinkering (notebooks 03 onwards).

`explore(fn_or_source)`: the compiler explorer. `step(fn, *args)`: the VM stepper.
`playground(source)`: the tiering playground. Each also renders as static HTML of its
current state where no widget manager runs (nbconvert, exported HTML).
"""

from jitkit.explore.compiler import Explorer, explore
from jitkit.explore.playground import Playground, playground
from jitkit.explore.stepper import Stepper, step

__all__ = ["Explorer", "Playground", "Stepper", "explore", "playground", "step"]
