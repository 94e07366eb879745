"""The compiled model: parameter table, generated source and a pure JAX function."""

from __future__ import annotations

import functools
from dataclasses import replace

import jax
import jax.numpy as jnp
import numpy as np

import specdsl._jax  # noqa: F401  (float64 before any array)
from specdsl import parameters as _parameters
from specdsl.errors import ParameterError
from specdsl.library.registry import LIBRARY, Library
from specdsl.lower import lower
from specdsl.resolve import Resolved, resolve
from specdsl.syntax.nodes import Node
from specdsl.syntax.parser import parse, too_deep
from specdsl.syntax.printer import to_string


class Model:
    """An XSPEC model expression compiled to one JAX function.

    ``model.function(params, edges, constants)`` is pure: ``params`` maps dotted
    names to values, ``edges`` holds n + 1 energy bin edges in keV and
    ``constants`` is ``model.prepare(edges)``. It returns photons cm^-2 s^-1 in
    each of the n bins.
    """

    def __init__(self, resolved: Resolved):
        self.resolved = resolved
        self._lowered = lower(resolved)
        self.function = self._lowered.function
        self.source = self._lowered.source

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
        return {p.name: p.default for p in self.parameters}

    def prepare(self, edges) -> dict:
        """Grid-only constants of the components that have them (once per grid)."""
        edges = np.asarray(edges, dtype=np.float64)
        return {
            key: jax.tree_util.tree_map(_on_device, spec.prepare(edges))
            for key, spec in self._lowered.constants.items()
        }

    def __call__(self, energies, parameters=None):
        """Photon flux per bin on ``energies`` (n + 1 edges, keV); batches vmapped."""
        edges = jnp.asarray(checked_edges(energies))
        values, batch_shape = _parameters.normalize(self.parameters, parameters)
        constants = self.prepare(edges)

        flat = {name: jnp.ravel(value) for name, value in values.items()}
        if not batch_shape:
            return self.function(values, edges, constants)
        flux = jax.vmap(self.function, in_axes=(0, None, None))(flat, edges, constants)
        return flux.reshape(*batch_shape, -1)

    @property
    def free_parameters(self):
        """Parameters not linked to others, in XSPEC's order (a sampler's vector)."""
        return tuple(p for p in self.parameters if p.link is None)

    def to_vector(self, parameters=None) -> np.ndarray:
        """Free parameter values as a flat vector (defaults for those not given)."""
        values, _ = _parameters.normalize(self.parameters, parameters)
        return np.array([values[p.name] for p in self.free_parameters])

    def vector_function(self):
        """``f(vector, edges, constants)``: the model of a flat parameter vector."""
        names = [p.name for p in self.free_parameters]
        defaults = self.defaults()

        def evaluate(vector, edges, constants):
            params = dict(defaults)
            params.update({name: vector[i] for i, name in enumerate(names)})
            return self.function(params, edges, constants)

        return evaluate

    def component_fluxes(self, energies, parameters=None) -> dict:
        """Each additive component's contribution per bin, after what multiplies it.

        Computed by switching the other additive components off (norm = 0), so
        a convolution that is not linear (cflux) sees only that component. Links
        are evaluated first, so a linked norm switches off like any other.
        """
        values, _ = _parameters.normalize(self.parameters, parameters)
        values = self.linked_values(values)
        norms = [
            u.label + ".norm"
            for u in self.resolved.components
            if u.spec.kind == "additive"
        ]
        fluxes = {}
        for norm in norms:
            off = {other: 0.0 * values[other] for other in norms if other != norm}
            alone = {**values, **off}
            fluxes[norm.removesuffix(".norm")] = self._unlinked(energies, alone)
        return fluxes

    def linked_values(self, values: dict) -> dict:
        """``values`` with every linked parameter computed from its link: the
        values a spectrum was made with, as files record them."""
        from specdsl import links

        full = dict(values)
        by_name = {p.name: p for p in self.parameters}
        for name in self.resolved.link_order:
            link = by_name[name].link
            full[name] = link(full) if callable(link) else links.evaluate(link, full)
        return full

    @functools.cached_property
    def _unlinked(self) -> Model:
        """This model with its links removed: every parameter is an input."""
        parameters = tuple(replace(p, link=None) for p in self.parameters)
        return Model(replace(self.resolved, parameters=parameters, link_order=()))

    def __repr__(self) -> str:
        return f"Model({to_string(self.tree)!r}, {len(self.parameters)} parameters)"


def compile(expression, library: Library = LIBRARY, links=None) -> Model:  # noqa: A001
    """Parse, resolve and lower an XSPEC model expression (text or syntax tree).

    ``links`` maps parameter names to link expressions (``"powerlaw_1.PhoIndex"``,
    ``"p2 * 2"``) or to callables of the dict of parameter values.
    """
    import specdsl.library  # noqa: F401  (registers the built-in components)

    if isinstance(expression, Node):
        text = to_string(expression)
        tree = parse(text)  # positions that match the printed text
    else:
        tree, text = parse(expression), expression
    try:
        return Model(resolve(tree, text, library, links))
    except RecursionError:
        raise too_deep(text) from None


def _on_device(value):
    """A grid constant as a JAX array (device_put: jnp.asarray compiles a copy)."""
    return jax.device_put(np.asarray(value))


def checked_edges(energies) -> np.ndarray:
    """Energy bin edges as float64, refused unless 1-D, finite, >= 0 and rising:
    a bad grid would otherwise give wrong fluxes without a word."""
    try:
        edges = np.asarray(energies, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise ParameterError(f"energies must be numbers (keV edges): {error}") from None
    if edges.ndim != 1 or edges.size < 2:
        raise ParameterError(
            f"energies must be a 1-D array of at least 2 bin edges, got shape "
            f"{edges.shape}"
        )
    bad = ~np.isfinite(edges) | (edges < 0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ParameterError(
            f"energies[{i}] = {edges[i]:g}: edges must be finite keV >= 0"
        )
    falling = np.flatnonzero(np.diff(edges) <= 0)
    if falling.size:
        i = int(falling[0])
        raise ParameterError(
            f"energies must rise: energies[{i}] = {edges[i]:g} and "
            f"energies[{i + 1}] = {edges[i + 1]:g}"
        )
    return edges
