"""LLVM layer: helpers and the Python-subset mini compiler (notebook 08 LLVM mini compiler)."""
