"""Model tree to Python source: one function of named parameters and an energy grid.

The generated function is plain JAX code: linked parameters first, then one line
per component calling its kernel, then the combination the expression asks for,
with each convolution applied to everything to its right in its product. It is
readable when printed and traced by ``jax.jit`` as a single computation.
"""

from __future__ import annotations

import keyword
import re
from dataclasses import dataclass, field

from specdsl import links
from specdsl.errors import SpecdslError
from specdsl.library.registry import ADDITIVE, CONVOLUTION, ComponentSpec
from specdsl.resolve import Resolved
from specdsl.syntax import nodes

_NOT_IDENTIFIER = re.compile(r"[^A-Za-z0-9_]")


@dataclass
class Lowered:
    """The generated function with what it needs: source, names and grid constants."""

    function: object
    source: str
    namespace: dict
    constants: dict[str, ComponentSpec] = field(default_factory=dict)


def lower(resolved: Resolved, function_name: str = "model") -> Lowered:
    """Generate, compile and return the model function."""
    writer = _Writer(resolved)
    source = writer.source(function_name)
    code = compile(source, f"<specdsl model {resolved.expression!r}>", "exec")
    namespace = dict(writer.namespace)
    exec(code, namespace)  # the source is generated here from checked identifiers
    return Lowered(namespace[function_name], source, writer.namespace, writer.constants)


class _Writer:
    """Writes the source of one model function."""

    def __init__(self, resolved: Resolved):
        self.resolved = resolved
        self.namespace: dict = links.namespace()
        self.constants: dict[str, ComponentSpec] = {}
        self.kernels: dict[int, str] = {}
        self.lines: list[str] = []

    def source(self, function_name: str) -> str:
        self.lines = []
        self._links()
        for use in self.resolved.components:
            if use.spec.kind != CONVOLUTION:
                self.lines.append(f"{use.label} = {self._call(use)}")
        result = self._combine(self.resolved.tree)

        header = [
            f"def {function_name}(params, edges, constants):",
            f"    {self.resolved.expression!r}",
        ]
        body = [f"    {line}" for line in self.lines + [f"return {result}"]]
        return "\n".join(header + body) + "\n"

    def _links(self) -> None:
        if not self.resolved.link_order:
            return
        by_name = {p.name: p for p in self.resolved.parameters}
        self.lines.append("params = dict(params)")
        for name in self.resolved.link_order:
            self.lines.append(f"params[{name!r}] = {self._link_source(by_name[name])}")

    def _link_source(self, parameter) -> str:
        if isinstance(parameter.link, nodes.Node):
            return links.to_source(parameter.link)
        helper = f"link_{len(self.namespace)}"
        self.namespace[helper] = parameter.link
        return f"{helper}(params)"

    def _call(self, use, flux: str | None = None) -> str:
        arguments = ["edges", self._constants(use.spec)]
        if flux is not None:
            arguments.append(flux)
        arguments.extend(_parameter_arguments(use))
        call = f"{self._kernel(use.spec)}({', '.join(arguments)})"
        if use.spec.kind == ADDITIVE:
            return f"params[{use.label + '.norm'!r}] * {call}"
        return call

    def _kernel(self, spec: ComponentSpec) -> str:
        if id(spec) not in self.kernels:
            name = "kernel_" + _NOT_IDENTIFIER.sub("_", spec.name)
            while name in self.namespace:
                name += "_"
            self.kernels[id(spec)] = name
            self.namespace[name] = _checked_kernel(spec)
        return self.kernels[id(spec)]

    def _constants(self, spec: ComponentSpec) -> str:
        if spec.prepare is None:
            return "None"
        key = self._kernel(spec).removeprefix("kernel_")
        self.constants[key] = spec
        return f"constants[{key!r}]"

    def _combine(self, node) -> str:
        if isinstance(node, (nodes.Component, nodes.Table)):
            return self.resolved.use_of(node).label
        if isinstance(node, nodes.Sum):
            return " + ".join(self._factor(term) for term in node.terms)
        return self._product(node)

    def _product(self, node: nodes.Product) -> str:
        """XSPEC evaluates a product right to left: a convolution acts on its right."""
        result = self._factor(node.factors[-1])
        for factor in reversed(node.factors[:-1]):
            use = self._use(factor)
            if use is not None and use.spec.kind == CONVOLUTION:
                self.lines.append(f"{use.label} = {self._call(use, result)}")
                result = use.label
            else:
                result = f"{self._factor(factor)} * {result}"
        return result

    def _factor(self, node) -> str:
        text = self._combine(node)
        return f"({text})" if isinstance(node, nodes.Sum) else text

    def _use(self, node):
        if isinstance(node, (nodes.Component, nodes.Table)):
            return self.resolved.use_of(node)
        return None


def _parameter_arguments(use) -> list[str]:
    """``name=params[...]``; names that are not identifiers go in a ``**{}``."""
    plain, other = [], []
    for spec in use.spec.parameters:
        value = f"params[{use.label + '.' + spec.name!r}]"
        if spec.name.isidentifier() and not keyword.iskeyword(spec.name):
            plain.append(f"{spec.name}={value}")
        else:
            other.append(f"{spec.name!r}: {value}")
    return plain + ([f"**{{{', '.join(other)}}}"] if other else [])


def _checked_kernel(spec: ComponentSpec):
    """A user's kernel, checked to return one value per energy bin (or, for a
    convolution, the shape it was given): a wrong shape would otherwise shift or
    broadcast the spectrum silently. The check runs while JAX traces (shapes are
    static), so it costs nothing in compiled code."""
    kernel = spec.kernel
    if getattr(kernel, "__module__", "").startswith("specdsl.library"):
        return kernel  # ours, tested against published values

    def checked(edges, constants, *args, **kwargs):
        result = kernel(edges, constants, *args, **kwargs)
        wanted = args[0].shape if spec.kind == CONVOLUTION else (edges.shape[0] - 1,)
        if getattr(result, "shape", ()) != wanted:
            raise SpecdslError(
                f"component {spec.name}: its kernel returned shape "
                f"{getattr(result, 'shape', ())} for {edges.shape[0] - 1} energy "
                f"bins; {spec.kind} kernels must return shape {wanted}"
            )
        return result

    return checked
