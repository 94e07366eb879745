"""Model tree to Python source: one function of named parameters and an energy grid.

The generated function is plain JAX code: each component becomes one line that
calls its kernel, and the last line combines them as the expression does. It is
readable when printed and traced by ``jax.jit`` as a single computation.
"""

from __future__ import annotations

import keyword
import re

from specdsl.library.registry import ADDITIVE
from specdsl.resolve import Resolved
from specdsl.syntax import nodes

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def generate_source(resolved: Resolved, function_name: str = "model") -> str:
    """The Python source of the model function."""
    lines = [
        f"def {function_name}(params, edges, constants):",
        f"    {_docstring(resolved.expression)}",
    ]
    for use in resolved.components:
        lines.append(f"    {use.label} = {_component_call(use)}")
    lines.append(f"    return {_combine(resolved.tree, resolved)}")
    return "\n".join(lines) + "\n"


def kernel_namespace(resolved: Resolved) -> dict:
    """The names the generated source refers to: one kernel per component spec."""
    return {_kernel_name(use.spec.name): use.spec.kernel for use in resolved.components}


def build_function(resolved: Resolved, function_name: str = "model"):
    """Generate, compile and return ``(function, source)``."""
    source = generate_source(resolved, function_name)
    namespace = kernel_namespace(resolved)
    code = compile(source, f"<specdsl model {resolved.expression!r}>", "exec")
    exec(code, namespace)  # the source is ours: names are checked identifiers
    return namespace[function_name], source


def _component_call(use) -> str:
    arguments = ", ".join(
        f"{_identifier(spec.name)}=params[{use.label + '.' + spec.name!r}]"
        for spec in use.spec.parameters
    )
    constants = f"constants[{use.spec.name!r}]" if use.spec.prepare else "None"
    call = f"{_kernel_name(use.spec.name)}(edges, {constants}"
    call += f", {arguments})" if arguments else ")"
    if use.spec.kind == ADDITIVE:
        return f"params[{use.label + '.norm'!r}] * {call}"
    return call


def _combine(node, resolved) -> str:
    if isinstance(node, nodes.Component):
        return resolved.use_of(node).label

    if isinstance(node, nodes.Sum):
        return " + ".join(
            _parenthesised(term, resolved, nodes.Sum) for term in node.terms
        )

    return " * ".join(_parenthesised(f, resolved, nodes.Sum) for f in node.factors)


def _parenthesised(node, resolved, kind) -> str:
    text = _combine(node, resolved)
    return f"({text})" if isinstance(node, kind) else text


def _kernel_name(spec_name: str) -> str:
    return "kernel_" + _identifier(spec_name)


def _identifier(name: str) -> str:
    if not _IDENTIFIER.match(name) or keyword.iskeyword(name):
        raise ValueError(f"{name!r} cannot be used as a name in generated code")
    return name


def _docstring(expression: str) -> str:
    return repr(expression)
