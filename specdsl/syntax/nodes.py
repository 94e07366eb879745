"""The syntax tree: small immutable nodes that remember where they came from.

Positions are character offsets into the expression (``start`` inclusive,
``end`` exclusive) so later stages can put a caret under the right place.
Model nodes (Component, Table, Product, Sum) hold the expression's structure;
value nodes (Number, Reference, Operation, Function) hold inline parameter
values and links.
"""

from __future__ import annotations

from dataclasses import dataclass, fields


@dataclass(frozen=True)
class Node:
    start: int
    end: int

    @property
    def children(self) -> tuple[Node, ...]:
        """The direct child nodes, in source order."""
        found = []
        for item in fields(self):
            value = getattr(self, item.name)
            if isinstance(value, Node):
                found.append(value)
            elif isinstance(value, tuple):
                found.extend(v for v in value if isinstance(v, Node))
        return tuple(found)


# --- values and links --------------------------------------------------------


@dataclass(frozen=True)
class Number(Node):
    value: float


@dataclass(frozen=True)
class Reference(Node):
    """A parameter named in a link: ``powerlaw_1.PhoIndex`` or XSPEC's ``p2``."""

    name: str


@dataclass(frozen=True)
class Operation(Node):
    """Arithmetic: ``+ - * / **`` on two operands, or ``-`` on one."""

    operator: str
    operands: tuple[Node, ...]


@dataclass(frozen=True)
class Function(Node):
    """One of XSPEC's link functions: ``exp(p2)``, ``max(p1, p3)``."""

    name: str
    arguments: tuple[Node, ...]


@dataclass(frozen=True)
class Argument(Node):
    """An inline parameter value, by name (``nH=0.3``) or by position.

    A value that names other parameters is a link. XSPEC's ``=`` mark
    (``PhoIndex==p2``) is accepted and optional, except for a positional value
    that starts with a name: ``po(=p1)`` (``po(p1)`` is po times a component).
    """

    name: str | None
    value: Node


# --- the model -----------------------------------------------------------------


@dataclass(frozen=True)
class Component(Node):
    """A component name as typed (``po``, ``TBabs``); resolution happens later."""

    name: str
    arguments: tuple[Argument, ...] = ()


@dataclass(frozen=True)
class Table(Node):
    """A table model: ``atable{file}``, ``mtable{file}`` or ``etable{file}``."""

    kind: str
    path: str
    arguments: tuple[Argument, ...] = ()


@dataclass(frozen=True)
class Product(Node):
    """Factors multiplied together, left to right as written."""

    factors: tuple[Node, ...]


@dataclass(frozen=True)
class Sum(Node):
    """Terms added together."""

    terms: tuple[Node, ...]


MODEL_NODES = (Component, Table, Product, Sum)
NODE_TYPES = {
    cls.__name__: cls
    for cls in (Number, Reference, Operation, Function, Argument, *MODEL_NODES)
}


def components(node: Node) -> list[Component | Table]:
    """Every component and table of the tree, left to right (XSPEC's order)."""
    if isinstance(node, (Component, Table)):
        return [node]

    found: list[Component | Table] = []
    for child in node.children:
        if isinstance(child, MODEL_NODES):
            found.extend(components(child))
    return found
