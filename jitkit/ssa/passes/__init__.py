"""The optimization passes, one verb per module (notebook 07).

Each takes a `Function`, changes it in place and returns whether anything changed; its
docstring says which analyses it requires and which it invalidates. `jitkit.ssa.pipeline`
runs them in order.
"""
