"""Self-recursion made cheaper: `sum_recursion` and `inline_leaves` (notebook 07).

`sum_recursion` takes a `Function`; where a block ends in `%c = call $self(args)`,
`%s = add_ovf %x, %c`, `ret %s` (the frame only adds and returns once the call is back),
the call becomes a jump back to the top with the arguments as the new parameters, and the
`x`s of the frames it stands for are kept as one running sum: `fib(n - 1) + fib(n - 2)`
makes one real call per trip and loops for the other, as gcc -O2 does. Every other `ret v`
returns the sum plus v. Exact for Python's unbounded ints because `+` on them is
associative and commutative: any frame may owe any part of the sum. What stays exact, and
how (`enter` and `leave`, in `ops`; their code in `jitkit.ssa.deopt`):
- each trip is one frame more: `enter` counts it against the recursion limit where the
  call would have, and past the limit deopts at that CALL, so the interpreter makes it and
  raises RecursionError at the same depth;
- a deopt anywhere in the loop (an overflow, a callee's deopt, the running sum itself
  leaving int64) writes its own frame's record and then one record per pending frame,
  each resuming after its CALL with its share of the sum on its stack (the innermost the
  whole sum, the others 0) and its locals, dead there, as 0: the interpreter finishes the
  additions with big ints and returns what every frame would have;
- effects keep their order (no instruction moves), so a print, a global store or another
  call in the body may stay; only int `add_ovf` qualifies (not `-`, not a double).

`inline_leaves` takes a `Function`; at each call to itself it tests first whether the
callee would return at once (the entry's pure code, one branch, then pure code to a `ret`:
`if n < 2: return n`) and, when it would and one more frame `fits` under the recursion
limit, takes that value without the call. Pure code cannot fail, so computing it for a
call that then happens changes nothing; where the frame would not fit, the call is made
and fails as before. Half of fib's calls are such leaves.
"""

from __future__ import annotations

from jitkit.ssa.edit import rename_phi_inputs
from jitkit.ssa.ir import Block, Const, Deopt, Function, Instr, Temp, Value
from jitkit.ssa.ops import OPS

LEAF_INSTRUCTIONS = 16  # a leaf with more pure instructions is not copied to each call


def sum_recursion(fn: Function) -> bool:
    """Turn the first self-recursive `return x + f(args)` into a loop with a running sum;
    returns whether the IR changed. requires nothing; invalidates: dominators, loops,
    liveness (a new entry block and a back edge to the old one)."""
    site = _find_site(fn)
    if site is None:
        return False
    block, call, add = site
    names = _Names(fn)
    entry = fn.blocks[0]
    start = Block(names.fresh("recursion"), term=Instr("jmp", labels=[entry.label]))
    # 1. the parameters and the running sum become phis of the old entry
    others = [b.label for b in fn.blocks if entry.label in b.successors()]
    phis: dict[Temp, Instr] = {}
    for t, p in fn.params:
        q = Temp(names.fresh(p.name))
        phis[p] = Instr("phi", [p, *[q] * len(others)], q, t, [start.label, *others])
    total = Temp(names.fresh("sum"))
    sum_phi = Instr("phi", [Const(0), *[total] * len(others)], total, "i64", [start.label, *others])
    fn.replace_uses({p: phi.result for p, phi in phis.items()})  # type: ignore[misc]
    for p, phi in phis.items():
        phi.args[0] = p  # from the new entry: the arguments themselves
    entry.phis = [*phis.values(), sum_phi, *entry.phis]
    fn.blocks.insert(0, start)
    # 2. the call and the add become: the sum grows by x, one frame more, back to the top
    x, args = add.args[0], call.args[1:]
    assert call.deopt is not None and add.deopt is not None
    at_call = Deopt(call.deopt.offset - 1, list(call.deopt.locals),
                    [*call.deopt.stack, Const(0), *args])  # fmt: skip
    grown = Temp(names.fresh("sum"))
    block.body[-2:] = [
        Instr("add_ovf", [total, x], grown, "i64", deopt=at_call),
        Instr("enter", [grown], deopt=Deopt(at_call.offset, at_call.locals[:], at_call.stack[:])),
    ]
    block.term = Instr("jmp", labels=[entry.label])
    for phi, v in zip([*phis.values(), sum_phi], [*args, grown], strict=True):
        phi.args.append(v)
        phi.labels.append(block.label)
    # 3. every other return hands back the sum plus its value
    zeros: list[Value] = [Const(0)] * len(add.deopt.locals)
    for b in fn.blocks:
        if b.term is not None and b.term.op == "ret":
            v, returned = b.term.args[0], Temp(names.fresh("ret"))
            state = Deopt(add.deopt.offset, zeros[:], [total, v])
            b.body.append(Instr("leave", [total, v], returned, "i64", deopt=state))
            b.term = Instr("ret", [returned])
    return True


def _find_site(fn: Function) -> tuple[Block, Instr, Instr] | None:
    """The first block ending `%c = call $fn(args)`, `%s = add_ovf %x, %c`, `ret %s`, where
    the call's deopt state resumes at that add with only x on the stack (so the frame does
    nothing but add once the call is back)."""
    if fn.ret != "i64" or any(i.op in ("enter", "leave") for _, i in fn.instrs()):
        return None
    for b in fn.blocks:
        if len(b.body) < 2 or b.term is None or b.term.op != "ret":
            continue
        call, add = b.body[-2:]
        if call.op != "call" or add.op != "add_ovf" or call.result is None:
            continue
        if b.term.args != [add.result] or add.args[1] != call.result or add.args[0] == call.result:
            continue
        if not _self_call(fn, call) or call.type != "i64":
            continue
        c, d = call.deopt, add.deopt
        if c.offset == d.offset and c.stack == [add.args[0]] and d.stack == add.args:  # type: ignore[union-attr]
            return b, call, add
    return None


def _self_call(fn: Function, i: Instr) -> bool:
    """A call of `fn` itself, with all its arguments and a deopt state."""
    callee = i.args[0] if i.op == "call" else None
    return (
        getattr(callee, "name", None) == fn.name
        and len(i.args) - 1 == len(fn.params)
        and i.deopt is not None
    )


def inline_leaves(fn: Function) -> bool:
    """Give each call of `fn` to itself a path that skips the call when the callee would
    return at once (see the module docstring); returns whether the IR changed.
    requires nothing; invalidates: dominators, loops, liveness (four blocks per call)."""
    sites = [(b, i) for b in fn.blocks for i in b.body if i.op == "call" and _self_call(fn, i)]
    if not sites or any(i.op == "fits" for _, i in fn.instrs()):
        return False
    names, blocks = _Names(fn), fn.blockmap()
    leaves = [(call, _leaf(fn, blocks, call.args[1:], names)) for _, call in sites]
    for call, leaf in leaves:  # each leaf copied before any call's block is split
        if leaf is not None:
            b = next(b for b in fn.blocks if any(i is call for i in b.body))
            _split_at_call(fn, b, call, leaf, names)
    return any(leaf is not None for _, leaf in leaves)


Leaf = tuple[list[Instr], Value, bool, list[Instr], Value]


def _leaf(fn: Function, blocks: dict[str, Block], args: list[Value], names: _Names) -> Leaf | None:
    """The callee's quick return, copied for these arguments: the code before its first
    branch, the branch's condition, whether the quick side is the true one, the code on
    that side and the value it returns. None unless all of it is pure and short."""
    env: dict[Value, Value] = {p: a for (_, p), a in zip(fn.params, args, strict=True)}
    before: list[Instr] = []
    first = _straight(blocks, fn.blocks[0].label, None, env, before, names)
    if first is None or first[0] != "br":
        return None
    branch = blocks[first[1]].term
    assert branch is not None
    for side in (0, 1):
        inner, after = dict(env), []
        end = _straight(blocks, branch.labels[side], first[1], inner, after, names)
        if end is not None and end[0] == "ret" and len(before) + len(after) <= LEAF_INSTRUCTIONS:
            return before, env.get(branch.args[0], branch.args[0]), side == 0, after, end[1]
    return None


def _straight(
    blocks: dict[str, Block],
    label: str,
    prev: str | None,
    env: dict[Value, Value],
    out: list[Instr],
    names: _Names,
) -> tuple[str, Value] | tuple[str, str] | None:
    """Copy the pure code from `label` on, following jumps, into `out` (`env` renames);
    stop at a branch (`("br", its block)`) or a return (`("ret", value)`); None at
    anything impure. A `leave` of a zero sum is its value (nothing was pending)."""
    for _ in range(len(blocks)):
        b = blocks[label]
        if b.phis and prev is None:
            return None
        for phi in b.phis:
            v = phi.phi_value(prev)  # type: ignore[arg-type]
            env[phi.result] = env.get(v, v)  # type: ignore[index]
        for i in b.body:
            args = [env.get(a, a) for a in i.args]
            if i.op == "leave" and args[0] == Const(0):
                env[i.result] = args[1]  # type: ignore[index]
                continue
            if not OPS[i.op].pure or i.op == "phi" or i.result is None:
                return None
            copy = Instr(i.op, args, Temp(names.fresh(i.result.name)), i.type)
            env[i.result] = copy.result  # type: ignore[index]
            out.append(copy)
        t = b.term
        if t is None:
            return None
        if t.op == "ret":
            return "ret", env.get(t.args[0], t.args[0])
        if t.op == "br":
            return "br", label
        prev, label = label, t.labels[0]
    return None


def _split_at_call(fn: Function, b: Block, call: Instr, leaf: Leaf, names: _Names) -> None:
    """`b: ... call ... rest` becomes `b: ... before; br quick?` -> (`fits`? -> the leaf's
    code | the call) -> a join whose phi is the call's old result, then the rest."""
    before, cond, quick_if_true, after, value = leaf
    at = next(k for k, i in enumerate(b.body) if i is call)
    rest, b.body = b.body[at + 1 :], b.body[:at] + before
    fits, leaf, slow, join = (
        names.fresh(f"{b.label}.{k}") for k in ("fits", "leaf", "call", "join")
    )
    room = Temp(names.fresh("fits"))
    result = call.result
    assert result is not None
    call.result = Temp(names.fresh(result.name))
    new = [
        Block(fits, body=[Instr("fits", [], room, "bool")],
              term=Instr("br", [room], labels=[leaf, slow])),
        Block(leaf, body=after, term=Instr("jmp", labels=[join])),
        Block(slow, body=[call], term=Instr("jmp", labels=[join])),
        Block(join, [Instr("phi", [value, call.result], result, call.type, [leaf, slow])],
              rest, b.term),
    ]  # fmt: skip
    for s in set(b.successors()):
        rename_phi_inputs(fn.block(s), b.label, join)
    b.term = Instr("br", [cond], labels=[fits, slow] if quick_if_true else [slow, fits])
    k = fn.blocks.index(b)
    fn.blocks[k + 1 : k + 1] = new


class _Names:
    """Fresh temporary names and labels for one pass over `fn` (one scan, not one each)."""

    def __init__(self, fn: Function) -> None:
        self.taken = {p.name for _, p in fn.params} | {b.label for b in fn.blocks}
        self.taken |= {i.result.name for _, i in fn.instrs() if i.result is not None}

    def fresh(self, hint: str) -> str:
        k, name = 0, hint
        while name in self.taken:
            k, name = k + 1, f"{hint}.{k + 1}"
        self.taken.add(name)
        return name
