"""Rich renderings of a model for people: parameter table and component tree."""

from __future__ import annotations

from rich.table import Table
from rich.tree import Tree

from specdsl.syntax import nodes
from specdsl.syntax.printer import to_string


def parameter_table(model) -> Table:
    """The parameters, numbered as XSPEC numbers them, with units, defaults, limits."""
    table = Table(title=f"Model {model.expression}", title_justify="left")
    for column in (
        "#",
        "component",
        "parameter",
        "unit",
        "value",
        "hard min",
        "soft min",
        "soft max",
        "hard max",
    ):
        table.add_column(
            column,
            justify="right" if column == "#" else "left",
            no_wrap=column in ("#", "component", "parameter"),
        )

    for p in model.parameters:
        s = p.spec
        value = _link_text(p) if p.link is not None else f"{p.default:g}"
        if s.frozen and p.link is None:
            value += " (frozen)"
        table.add_row(
            str(p.index),
            p.component,
            s.name,
            s.unit,
            value,
            f"{s.hard_min:g}",
            f"{s.soft_min:g}",
            f"{s.soft_max:g}",
            f"{s.hard_max:g}",
        )
    return table


def _link_text(parameter) -> str:
    if isinstance(parameter.link, nodes.Node):
        return "= " + to_string(parameter.link)
    return f"= {getattr(parameter.link, '__name__', 'function')}(...)"


def component_tree(model) -> Tree:
    """The resolved expression as a tree: sums, products and numbered components."""
    resolved = model.resolved
    root = Tree(f"[bold]{to_string(resolved.tree)}[/]")
    _add(root, resolved.tree, resolved)
    return root


def _add(parent: Tree, node, resolved) -> None:
    if isinstance(node, (nodes.Component, nodes.Table)):
        use = resolved.use_of(node)
        parent.add(f"[{use.index}] {use.label} ({use.spec.name}, {use.spec.kind})")
        return

    label = "sum" if isinstance(node, nodes.Sum) else "product"
    branch = parent.add(label)
    for child in node.children:
        _add(branch, child, resolved)
