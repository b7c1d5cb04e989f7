"""Kit bytecode: opcode table, code objects, compiler, verifier, disassembler (notebook 03)."""
