"""The Python subset: front end to the kit AST and a tree-walk interpreter (notebook 03)."""
