"""What the kit source proves before LLVM sees the checks (notebook 08 LLVM mini compiler).

In: one kit function's AST. Out: facts `codegen` uses to emit fewer or cheaper checks, each
one exact for every program: which `return x + f(args)` make a self-recursive sum (run as a
loop with a running sum), which locals only ever hold lists of one element kind known when
compiling (constant kind and element width), and which `v += k` cannot leave int64 (a
counter the rounds of a `for x in xs` bound). Where a fact does not hold the check stays.
"""

from __future__ import annotations

from jitkit.lang import nodes as n
from jitkit.lang.runtime import INT64_MAX, INT64_MIN
from jitkit.llvm.values import BOOL, FLOAT, INT

MAX_ELEMENTS = 1 << 48  # more list elements than x86-64's 47-bit user address space holds
MAX_START, MAX_STEP = 1 << 32, 1 << 14  # so start + MAX_ELEMENTS * step < 2**63


def bounded_counts(body: list[n.Node]) -> set[int]:
    """The `v += k` statements (by id) that cannot leave int64: `v = c` right before a
    `for x in xs` whose body adds a constant 0 <= k <= MAX_STEP to v once per round at most
    (not in a loop of its own) and binds v nowhere else. The loop makes at most as many
    rounds as the list has elements, so v stays under c + MAX_ELEMENTS * k < 2**63."""
    found: set[int] = set()
    for stmts in statement_lists(body):
        for before, loop in zip(stmts, stmts[1:], strict=False):
            if not (isinstance(loop, n.ForEach) and isinstance(before, n.Assign)):
                continue
            start, slot = before.value, before.target.slot
            if not (isinstance(start, n.Const) and type(start.value) is int):
                continue
            if not 0 <= start.value <= MAX_START or loop.target.slot == slot:
                continue
            adds = bindings(loop.body, slot)
            if len(adds) == 1 and counted_once(adds[0], slot):
                found.add(id(adds[0]))
    return found


def statement_lists(body: list[n.Node]) -> list[list[n.Node]]:
    """This block and every block nested in it."""
    lists, todo = [], [body]
    while todo:
        stmts = todo.pop()
        lists.append(stmts)
        for s in stmts:
            todo.extend(v for v in vars(s).values() if isinstance(v, list) and v
                        and isinstance(v[0], n.Node) and not isinstance(s, n.Print))  # fmt: skip
    return lists


def bindings(body: list[n.Node], slot: int, in_loop: bool = False) -> list[n.Node]:
    """Every statement in `body` that binds `slot`; one inside a nested loop counts as a
    statement that is not a simple count (the loop may run it many times per round)."""
    found: list[n.Node] = []
    for s in body:
        if isinstance(s, (n.Assign, n.AugAssign, n.ForRange, n.ForEach)) and s.target.slot == slot:
            found.append(s if not in_loop else n.Pass(s.line, s.col))
        if isinstance(s, n.TupleAssign) and any(t.slot == slot for t in s.targets):
            found.append(s)
        nested = in_loop or isinstance(s, (n.While, n.ForRange, n.ForEach))
        for v in vars(s).values():
            if isinstance(v, list) and v and isinstance(v[0], n.Node):
                found += bindings(v, slot, nested)
    return found


def counted_once(s: n.Node, slot: int) -> bool:
    """Is this `v += k` with a constant 0 <= k <= MAX_STEP?"""
    return (
        isinstance(s, n.AugAssign)
        and s.op == "+"
        and isinstance(s.value, n.Const)
        and type(s.value.value) is int
        and 0 <= s.value.value <= MAX_STEP
    )


def list_kinds(kit_fn: n.Function) -> dict[int, int]:
    """The locals that only ever hold a list made in this function whose element kind is
    known when compiling (`[True] * n`, `[1, 2]`): slot -> kind. A list's kind, once it has
    one, never changes, so every read of such a local has a known element width and tag."""
    bound: dict[int, set[int | None]] = {i: {None} for i in range(len(kit_fn.params))}
    todo: list[object] = list(kit_fn.body)
    while todo:
        node = todo.pop()
        if isinstance(node, list):
            todo.extend(node)
            continue
        if not isinstance(node, n.Node):
            continue
        if isinstance(node, n.Assign):
            bound.setdefault(node.target.slot, set()).add(static_kind(node.value))
        elif isinstance(node, n.TupleAssign):
            for target in node.targets:
                bound.setdefault(target.slot, set()).add(None)
        elif isinstance(node, (n.AugAssign, n.ForRange, n.ForEach)):
            bound.setdefault(node.target.slot, set()).add(None)
        todo.extend(v for v in vars(node).values() if isinstance(v, (list, n.Node)))
    return {
        slot: kind
        for slot, kinds in bound.items()
        if len(kinds) == 1 and (kind := next(iter(kinds))) is not None
    }


def static_kind(e: n.Node) -> int | None:
    """The element kind of the list this expression makes, when the source says it: a
    display of constants of one kind, or such a display repeated (`[True] * n` keeps its
    source's kind even when n <= 0: `lists.list_binary`)."""
    if isinstance(e, n.BinOp) and e.op == "*":
        left, right = isinstance(e.left, n.ListDisplay), isinstance(e.right, n.ListDisplay)
        if left != right:
            return static_kind(e.left if left else e.right)
        return None
    if not isinstance(e, n.ListDisplay) or not e.items:
        return None
    kinds = set()
    for item in e.items:
        value = item.value if isinstance(item, n.Const) else None
        if type(value) is bool:
            kinds.add(BOOL)
        elif type(value) is int and INT64_MIN <= value <= INT64_MAX:
            kinds.add(INT)
        elif type(value) is float:
            kinds.add(FLOAT)
        else:
            return None
    return kinds.pop() if len(kinds) == 1 else None


def tail_sum(node: n.Node, kit_fn: n.Function) -> bool:
    """Is this `return x + f(args)` inside f itself (with as many arguments as f takes,
    evaluated in parameter order)?"""
    if not isinstance(node, n.Return) or not isinstance(node.value, n.BinOp):
        return False
    value = node.value
    return (
        value.op == "+"
        and isinstance(value.right, n.Call)
        and value.right.func == kit_fn.name
        and len(value.right.args) == len(kit_fn.params)
        and value.right.order is None
    )


def returns(body: list[n.Node]) -> list[n.Return]:
    """Every return statement in this code."""
    found, todo = [], list(body)
    while todo:
        node = todo.pop()
        if isinstance(node, n.Return):
            found.append(node)
        if isinstance(node, list):
            todo.extend(node)
        elif isinstance(node, n.Node):
            todo.extend(v for v in vars(node).values() if isinstance(v, (list, n.Node)))
    return found


INT_OPS = ("+", "-", "*", "//", "%")  # int op int is an int or an error (`**`, `/`: maybe not)


def int_functions(functions: dict[str, n.Function]) -> set[str]:
    """The functions that, given ints, return an int on every path that returns (or fail):
    each ends in a return, and every returned value is built from int literals, parameters
    never assigned, int operators, `abs`/`min`/`max` and calls of such functions with such
    arguments. Their callers with int arguments get an untagged version (`codegen`), which
    still checks each returned tag: a wrong fact here costs a re-run, never an answer."""
    found = {name for name, f in functions.items() if f.params and ends_in_return(f.body)}
    changed = True
    while changed:  # drop functions that return something else until nothing changes
        changed = False
        for name in sorted(found):
            f = functions[name]
            params = set(range(len(f.params))) - assigned_slots(f.body)
            if not all(int_valued(r.value, params, found) for r in returns(f.body)):
                found.discard(name)
                changed = True
    return found


def ends_in_return(body: list[n.Node]) -> bool:
    """Does this code end in a return on every path (so it never falls off: no `None`)?"""
    if not body:
        return False
    last = body[-1]
    if isinstance(last, n.Return):
        return True
    return isinstance(last, n.If) and ends_in_return(last.body) and ends_in_return(last.orelse)


def assigned_slots(body: list[n.Node]) -> set[int]:
    """The local slots some statement in this code binds (assignment or loop target)."""
    slots, todo = set(), list(body)
    while todo:
        node = todo.pop()
        if isinstance(node, list):
            todo.extend(node)
        elif isinstance(node, n.Node):
            for field, v in vars(node).items():
                if field in ("target", "targets"):
                    slots.update(t.slot for t in (v if isinstance(v, list) else [v]))
                if isinstance(v, (list, n.Node)):
                    todo.append(v)
    return slots


def int_valued(e: n.Node, params: set[int], functions: set[str]) -> bool:
    """Is this expression an int (or an error) whenever the `params` slots hold ints?"""
    if isinstance(e, n.Const):
        return type(e.value) is int
    if isinstance(e, n.Local):
        return e.slot in params
    if isinstance(e, n.BinOp):
        return e.op in INT_OPS and all(int_valued(x, params, functions) for x in (e.left, e.right))
    if isinstance(e, n.UnaryOp):
        return e.op == "-" and int_valued(e.operand, params, functions)
    if isinstance(e, n.IfExp):
        return all(int_valued(x, params, functions) for x in (e.body, e.orelse))
    if isinstance(e, n.Builtin):
        return e.func in ("abs", "min", "max") and all(
            int_valued(a, params, functions) for a in e.args
        )
    if isinstance(e, n.Call):
        return e.func in functions and all(int_valued(a, params, functions) for a in e.args)
    return False
