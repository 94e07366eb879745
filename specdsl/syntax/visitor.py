"""Walking and rewriting syntax trees, and their JSON form.

``NodeVisitor.visit(node)`` calls ``visit_<ClassName>`` when defined, else visits
the children; ``NodeTransformer`` returns a new tree built from what each
``visit_*`` returns (nodes are immutable, so rewriting means rebuilding).
"""

from __future__ import annotations

import json
from dataclasses import fields, replace

from specdsl.errors import SpecdslError
from specdsl.syntax import nodes


class NodeVisitor:
    """Dispatches on node class name: override ``visit_Component`` and friends."""

    def visit(self, node: nodes.Node):
        method = getattr(self, f"visit_{type(node).__name__}", self.generic_visit)
        return method(node)

    def generic_visit(self, node: nodes.Node):
        for child in node.children:
            self.visit(child)
        return node


class NodeTransformer(NodeVisitor):
    """Rebuilds the tree from the transformed children."""

    def generic_visit(self, node: nodes.Node) -> nodes.Node:
        changes = {}
        for item in fields(node):
            value = getattr(node, item.name)
            if isinstance(value, nodes.Node):
                changes[item.name] = self.visit(value)
            elif isinstance(value, tuple) and any(
                isinstance(v, nodes.Node) for v in value
            ):
                changes[item.name] = tuple(self.visit(v) for v in value)
        return replace(node, **changes) if changes else node


def to_dict(node: nodes.Node) -> dict:
    """A plain dict (JSON-ready): ``{"type": "Component", "start": 0, ...}``."""
    data = {"type": type(node).__name__}
    for item in fields(node):
        data[item.name] = _plain(getattr(node, item.name))
    return data


def _plain(value):
    if isinstance(value, nodes.Node):
        return to_dict(value)
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    return value


def from_dict(data: dict) -> nodes.Node:
    """The node a ``to_dict`` result describes."""
    try:
        cls = nodes.NODE_TYPES[data["type"]]
        values = {item.name: _node_value(data[item.name]) for item in fields(cls)}
    except (KeyError, TypeError) as error:
        raise SpecdslError(
            f"not a specdsl syntax tree: missing or bad {error}"
        ) from None
    return cls(**values)


def _node_value(value):
    if isinstance(value, dict):
        return from_dict(value)
    if isinstance(value, list):
        return tuple(_node_value(v) for v in value)
    return value


def to_json(node: nodes.Node, **options) -> str:
    return json.dumps(to_dict(node), **options)


def from_json(text: str) -> nodes.Node:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise SpecdslError(f"not a specdsl syntax tree: {error}") from None
    return from_dict(data)
