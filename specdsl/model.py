"""The compiled model: parameter table, generated source and a pure JAX function."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

import specdsl._jax  # noqa: F401  (float64 before any array)
from specdsl import parameters as _parameters
from specdsl.library.registry import LIBRARY, Library
from specdsl.lower import build_function
from specdsl.resolve import Resolved, resolve
from specdsl.syntax.nodes import Node, to_string
from specdsl.syntax.parser import parse


class Model:
    """An XSPEC model expression compiled to one JAX function.

    ``model.function(params, edges, constants)`` is pure: ``params`` maps dotted
    names to values, ``edges`` holds n + 1 energy bin edges in keV and
    ``constants`` is ``model.prepare(edges)``. It returns photons cm^-2 s^-1 in
    each of the n bins.
    """

    def __init__(self, resolved: Resolved):
        self.resolved = resolved
        self.function, self.source = build_function(resolved)

    @property
    def expression(self) -> str:
        return self.resolved.expression

    @property
    def tree(self) -> Node:
        return self.resolved.tree

    @property
    def parameters(self):
        return self.resolved.parameters

    @property
    def parameter_names(self) -> list[str]:
        return [parameter.name for parameter in self.parameters]

    def defaults(self) -> dict[str, float]:
        return {p.name: p.spec.default for p in self.parameters}

    def prepare(self, edges) -> dict:
        """Grid-only constants of the components that have them (once per grid)."""
        edges = np.asarray(edges, dtype=np.float64)
        specs = {use.spec.name: use.spec for use in self.resolved.components}
        return {
            name: jnp.asarray(spec.prepare(edges))
            for name, spec in specs.items()
            if spec.prepare is not None
        }

    def __call__(self, energies, parameters=None):
        """Photon flux per bin on ``energies`` (n + 1 edges, keV); batches vmapped."""
        edges = jnp.asarray(np.asarray(energies, dtype=np.float64))
        values, batch_shape = _parameters.normalize(self.parameters, parameters)
        constants = self.prepare(edges)

        flat = {name: jnp.ravel(value) for name, value in values.items()}
        if not batch_shape:
            return self.function(values, edges, constants)
        flux = jax.vmap(self.function, in_axes=(0, None, None))(flat, edges, constants)
        return flux.reshape(*batch_shape, -1)

    def __repr__(self) -> str:
        return f"Model({to_string(self.tree)!r}, {len(self.parameters)} parameters)"


def compile(expression: str, library: Library = LIBRARY) -> Model:  # noqa: A001
    """Parse, resolve and lower an XSPEC model expression."""
    import specdsl.library  # noqa: F401  (registers the built-in components)

    tree = parse(expression)
    return Model(resolve(tree, expression, library))
