"""The native tiers' runtime: what the stack tier and the SSA tier share below both of them
(notebooks 05 and 07).

`layout`: the context struct compiled code reads through r15 and the deopt record it writes,
each defined once; `types`: the type analysis both tiers compile from; `module`: what a
compiled module hands the runtime; `entry`: the door from Python into compiled code;
`runtime`: entering it (ctypes or a builtin), print callbacks, interrupts and deopt into
the VM.
"""
