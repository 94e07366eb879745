"""The syntax tree: small immutable nodes that remember where they came from.

Positions are character offsets into the expression (``start`` inclusive,
``end`` exclusive) so later stages can put a caret under the right place.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Node:
    start: int
    end: int


@dataclass(frozen=True)
class Component(Node):
    """A component name as typed (``po``, ``TBabs``); resolution happens later."""

    name: str


@dataclass(frozen=True)
class Product(Node):
    """Factors multiplied together, left to right as written."""

    factors: tuple[Node, ...]


@dataclass(frozen=True)
class Sum(Node):
    """Terms added together."""

    terms: tuple[Node, ...]


def components(node: Node) -> list[Component]:
    """Every component of the tree, left to right (XSPEC's component order)."""
    if isinstance(node, Component):
        return [node]

    children = node.factors if isinstance(node, Product) else node.terms
    found: list[Component] = []
    for child in children:
        found.extend(components(child))
    return found


def to_string(node: Node) -> str:
    """The canonical expression: parses back to the same tree."""
    if isinstance(node, Component):
        return node.name

    if isinstance(node, Sum):
        return "+".join(_wrap(term, Sum) for term in node.terms)

    return "*".join(_wrap(factor, (Sum, Product)) for factor in node.factors)


def _wrap(node: Node, needs_parens) -> str:
    text = to_string(node)
    return f"({text})" if isinstance(node, needs_parens) else text
