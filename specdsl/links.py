"""Parameter links: value trees evaluated with jax.numpy, and printed as source.

A link is a value tree (numbers, references to other parameters, arithmetic and
XSPEC's link functions) written inline (``powerlaw(PhoIndex==powerlaw_1.PhoIndex)``)
or given in Python. Nothing here calls ``eval``.
"""

from __future__ import annotations

import jax.numpy as jnp

from specdsl.syntax import nodes

FUNCTIONS = {
    "exp": jnp.exp,
    "sin": jnp.sin,
    "sind": lambda x: jnp.sin(jnp.deg2rad(x)),
    "cos": jnp.cos,
    "cosd": lambda x: jnp.cos(jnp.deg2rad(x)),
    "tan": jnp.tan,
    "tand": lambda x: jnp.tan(jnp.deg2rad(x)),
    "log": jnp.log10,  # XSPEC's LOG is base 10
    "ln": jnp.log,
    "sqrt": jnp.sqrt,
    "abs": jnp.abs,
    "int": jnp.trunc,
    "asin": jnp.arcsin,
    "acos": jnp.arccos,
    "mean": lambda *xs: sum(xs) / len(xs),
    "max": jnp.maximum,
    "min": jnp.minimum,
}

OPERATORS = {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "/": lambda a, b: a / b,
    "**": lambda a, b: a**b,
}


def evaluate(value: nodes.Node, values: dict):
    """The value of a link tree, given the values of the parameters it names."""
    if isinstance(value, nodes.Number):
        return value.value
    if isinstance(value, nodes.Reference):
        return values[value.name]
    if isinstance(value, nodes.Function):
        return FUNCTIONS[value.name](*(evaluate(a, values) for a in value.arguments))
    if len(value.operands) == 1:
        return -evaluate(value.operands[0], values)
    left, right = (evaluate(operand, values) for operand in value.operands)
    return OPERATORS[value.operator](left, right)


def to_source(value: nodes.Node) -> str:
    """Python source computing the link from ``params``; functions as ``link_<name>``."""
    if isinstance(value, nodes.Number):
        return repr(value.value)
    if isinstance(value, nodes.Reference):
        return f"params[{value.name!r}]"
    if isinstance(value, nodes.Function):
        arguments = ", ".join(to_source(a) for a in value.arguments)
        return f"link_{value.name}({arguments})"
    if len(value.operands) == 1:
        return f"-({to_source(value.operands[0])})"
    left, right = (to_source(operand) for operand in value.operands)
    return f"({left} {value.operator} {right})"


def namespace() -> dict:
    """The names generated link code refers to."""
    return {f"link_{name}": function for name, function in FUNCTIONS.items()}
