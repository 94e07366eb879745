"""The canonical printer: any tree back to a string that parses to the same tree."""

from __future__ import annotations

from specdsl.syntax import nodes

# Binding strength of value operators, loosest first.
_PRECEDENCE = {"+": 1, "-": 1, "*": 2, "/": 2, "neg": 3, "**": 4}


def to_string(node: nodes.Node) -> str:
    """The canonical expression text of a model or value tree."""
    return _PRINTERS[type(node)](node)


def _component(node: nodes.Component) -> str:
    return node.name + _arguments(node.arguments)


def _table(node: nodes.Table) -> str:
    return f"{node.kind}{{{node.path}}}" + _arguments(node.arguments)


def _arguments(arguments) -> str:
    return f"({', '.join(_argument(a) for a in arguments)})" if arguments else ""


def _argument(node: nodes.Argument) -> str:
    value = to_string(node.value)
    if node.name:
        return f"{node.name}={value}"
    # A positional value must not start with a name or "(": po(p1) is a product.
    return value if value[0] in "0123456789.-+" else "=" + value


def _sum(node: nodes.Sum) -> str:
    return "+".join(_wrapped(term, nodes.Sum) for term in node.terms)


def _product(node: nodes.Product) -> str:
    return "*".join(
        _wrapped(factor, (nodes.Sum, nodes.Product)) for factor in node.factors
    )


def _wrapped(node, needs_parentheses) -> str:
    text = to_string(node)
    return f"({text})" if isinstance(node, needs_parentheses) else text


def _number(node: nodes.Number) -> str:
    return repr(float(node.value))


def _reference(node: nodes.Reference) -> str:
    return node.name


def _function(node: nodes.Function) -> str:
    return f"{node.name}({', '.join(to_string(a) for a in node.arguments)})"


def _operation(node: nodes.Operation) -> str:
    if len(node.operands) == 1:
        return "-" + _operand(node.operands[0], _PRECEDENCE["neg"], right=True)

    level = _PRECEDENCE[node.operator]
    left, right = node.operands
    # ** groups to the right; the others to the left.
    left_text = _operand(left, level, right=node.operator == "**")
    right_text = _operand(right, level, right=node.operator != "**")
    return f"{left_text}{node.operator}{right_text}"


def _operand(node, level: int, right: bool) -> str:
    text = to_string(node)
    if isinstance(node, nodes.Operation):
        inner = (
            _PRECEDENCE["neg"]
            if len(node.operands) == 1
            else _PRECEDENCE[node.operator]
        )
        if inner < level or (inner == level and right):
            return f"({text})"
    if isinstance(node, nodes.Number) and node.value < 0:
        return f"({text})"  # "(-1.0)" reads back as the number -1.0
    return text


_PRINTERS = {
    nodes.Component: _component,
    nodes.Table: _table,
    nodes.Sum: _sum,
    nodes.Product: _product,
    nodes.Argument: _argument,
    nodes.Number: _number,
    nodes.Reference: _reference,
    nodes.Function: _function,
    nodes.Operation: _operation,
}
