"""Variables to SSA values, on the fly, as a function is being built (notebook 07).

Takes writes and reads of variables (anything hashable: a local slot, a stack depth) in the
blocks of a `Function` under construction, the CFG edges as they appear, and "sealed"
blocks (all predecessors known); gives the SSA value each read sees, placing phis where
definitions meet. This is Braun, Buchwald, Hack, Leissa, Mallon and Zwinkau, "Simple and
Efficient Construction of Static Single Assignment Form" (CC 2013), with its Algorithms 1-3:

    read(var, block)   the block's last write, else (sealed, one predecessor) the
                       predecessor's value, else a phi whose operands are the predecessors'
                       values; in an unsealed block an operandless phi waits for `seal`
    seal(block)        give the waiting phis their operands
    remove_trivial     a phi of one value (and itself) is that value; phis using it may
                       become trivial in turn, so the result is minimal for reducible CFGs

Removed phis are remembered in `replaced`; `finish` drops them and rewrites every use.
A subclass says what type a phi of a variable has and how an operand reaches that type.
"""

from __future__ import annotations

from collections.abc import Hashable

from jitkit.ssa.ir import Block, Const, Function, Instr, Temp, Value

Var = Hashable


class Variables:
    """Braun et al.'s construction over `fn`; `types` gets the type of every new phi."""

    def __init__(self, fn: Function, types: dict[Temp, str]) -> None:
        self.fn, self.types = fn, types
        self.taken = {p.name for _, p in fn.params}
        self.counters: dict[str, int] = {}
        self.preds: dict[str, list[str]] = {}
        self.defs: dict[Var, dict[str, Value]] = {}
        self.sealed: set[str] = set()
        self.incomplete: dict[str, dict[Var, Instr]] = {}
        self.replaced: dict[Temp, Value] = {}
        self.phi_users: dict[Temp, list[Instr]] = {}
        self.complete: set[int] = set()  # phis with all their operands
        self.dead: set[int] = set()  # phis found trivial
        self.blocks: dict[str, Block] = {}

    # --- what a subclass decides ----------------------------------------------------------------

    def phi_type(self, var: Var, label: str) -> str:
        raise NotImplementedError

    def phi_hint(self, var: Var) -> str:
        return "v"

    def operand(self, value: Value, type_: str, pred: str) -> Value:
        """`value`, arriving from `pred`, as an operand of a phi of type `type_`."""
        return value

    # --- names and edges ------------------------------------------------------------------------

    def fresh(self, hint: str) -> Temp:
        """`%hint.1`, `%hint.2`, ...: the first name not taken."""
        n = self.counters.get(hint, 0) + 1
        while f"{hint}.{n}" in self.taken:
            n += 1
        self.counters[hint] = n
        self.taken.add(f"{hint}.{n}")
        return Temp(f"{hint}.{n}")

    def resolve(self, v: Value) -> Value:
        """What a removed phi stands for now."""
        while isinstance(v, Temp) and v in self.replaced:
            v = self.replaced[v]
        return v

    def block(self, label: str) -> Block:
        if label not in self.blocks:
            self.blocks = self.fn.blockmap()
        return self.blocks[label]

    def edge(self, src: str, dst: str) -> None:
        preds = self.preds.setdefault(dst, [])
        if src not in preds:
            preds.append(src)

    # --- Algorithm 1: local and global value numbering of variables -----------------------------

    def write(self, var: Var, label: str, value: Value) -> None:
        self.defs.setdefault(var, {})[label] = value

    def read(self, var: Var, label: str) -> Value:
        known = self.defs.get(var, {})
        if label in known:
            return self.resolve(known[label])
        preds = self.preds.get(label, [])
        if label not in self.sealed:
            phi = self.new_phi(var, label)
            self.incomplete.setdefault(label, {})[var] = phi
            value: Value = phi.result  # type: ignore[assignment]
        elif len(preds) == 1:
            value = self.read(var, preds[0])
        elif not preds:
            value = Const(0)  # written on no path into here
        else:
            phi = self.new_phi(var, label)
            self.write(var, label, phi.result)  # type: ignore[arg-type]  # breaks cycles
            value = self.add_operands(var, phi, label)
        self.write(var, label, value)
        return value

    def new_phi(self, var: Var, label: str) -> Instr:
        type_ = self.phi_type(var, label)
        phi = Instr("phi", [], self.fresh(self.phi_hint(var)), type_)
        self.types[phi.result] = type_  # type: ignore[index]
        self.block(label).phis.append(phi)
        return phi

    def add_operands(self, var: Var, phi: Instr, label: str) -> Value:
        for p in self.preds[label]:
            value = self.operand(self.read(var, p), phi.type, p)  # type: ignore[arg-type]
            phi.labels.append(p)
            phi.args.append(value)
            if isinstance(value, Temp):
                self.phi_users.setdefault(value, []).append(phi)
        self.complete.add(id(phi))
        return self.remove_trivial(phi)

    # --- Algorithm 3: trivial phis --------------------------------------------------------------

    def remove_trivial(self, phi: Instr) -> Value:
        same: Value | None = None
        for a in map(self.resolve, phi.args):
            if a == same or a == phi.result:
                continue
            if same is not None:
                return phi.result  # type: ignore[return-value]  # it merges two values
            same = a
        same = Const(0) if same is None else same  # unreachable, or only itself
        self.replaced[phi.result] = same  # type: ignore[index]
        self.dead.add(id(phi))
        users = self.phi_users.pop(phi.result, [])  # type: ignore[arg-type]
        if isinstance(same, Temp):
            self.phi_users.setdefault(same, []).extend(users)
        for user in users:
            if user is not phi and id(user) in self.complete and id(user) not in self.dead:
                self.remove_trivial(user)
        return same

    # --- Algorithm 2: sealing -------------------------------------------------------------------

    def seal(self, label: str) -> None:
        for var, phi in self.incomplete.pop(label, {}).items():
            self.add_operands(var, phi, label)
        self.sealed.add(label)

    def finish(self) -> Function:
        """Drop the trivial phis and make every use read what they stood for."""
        for b in self.fn.blocks:
            b.phis = [p for p in b.phis if id(p) not in self.dead]
        self.fn.replace_uses(self.replaced)
        return self.fn
