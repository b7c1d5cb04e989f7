"""Kit bytecode: opcode table, code objects, compiler, verifier, disassembler and the assembler
that reads listings back (notebook 03)."""
