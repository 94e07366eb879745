"""Component declarations: XSPEC names, kinds, parameters and the JAX kernel.

A component is declared once, as a :class:`ComponentSpec`, and registered in the
library under its XSPEC name. The resolver looks names up here; the code
generator calls ``spec.kernel``; the binder calls ``spec.prepare`` once per
energy grid so that grid-only quantities (cross sections) are not recomputed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

ADDITIVE = "additive"
MULTIPLICATIVE = "multiplicative"
KINDS = (ADDITIVE, MULTIPLICATIVE)


@dataclass(frozen=True)
class ParameterSpec:
    """One parameter as XSPEC's model.dat declares it."""

    name: str
    default: float
    unit: str = ""
    delta: float = 0.01
    hard_min: float = float("-inf")
    soft_min: float = float("-inf")
    soft_max: float = float("inf")
    hard_max: float = float("inf")
    frozen: bool = False
    aliases: tuple[str, ...] = ()


def norm_parameter() -> ParameterSpec:
    """The ``norm`` XSPEC appends to every additive component (6.20 defaults)."""
    return ParameterSpec("norm", 1.0, "", 0.01, 0.0, 0.0, 1e20, 1e24)


@dataclass(frozen=True)
class ComponentSpec:
    """A model component: what the resolver, the code generator and the binder need.

    ``kernel(edges, constants, **params)`` returns one value per energy bin: the
    photon flux in the bin for ``norm = 1`` (additive; the generated code applies
    ``norm``) or a factor (multiplicative). ``edges`` holds the n + 1 bin edges in
    keV; ``constants`` is what ``prepare(edges)`` returned for this grid (or None).
    ``parameters`` excludes ``norm``: additive components get it appended.
    """

    name: str
    kind: str
    parameters: tuple[ParameterSpec, ...]
    kernel: Callable[..., Any]
    prepare: Callable[[Any], Any] | None = None
    description: str = ""
    reference: str = ""
    aliases: tuple[str, ...] = field(default=())

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"component {self.name!r}: kind must be one of {KINDS}")

    @property
    def all_parameters(self) -> tuple[ParameterSpec, ...]:
        """The parameters in XSPEC order, ``norm`` last for additive components."""
        if self.kind == ADDITIVE:
            return self.parameters + (norm_parameter(),)
        return self.parameters


class Library:
    """Components by name, in registration order (the order abbreviations follow)."""

    def __init__(self):
        self._specs: dict[str, ComponentSpec] = {}

    def register(self, spec: ComponentSpec) -> ComponentSpec:
        self._specs[spec.name.lower()] = spec
        return spec

    def __contains__(self, name: str) -> bool:
        return name.lower() in self._specs

    def __iter__(self):
        return iter(self._specs.values())

    def names(self) -> list[str]:
        return [spec.name for spec in self._specs.values()]

    def exact(self, name: str) -> ComponentSpec | None:
        return self._specs.get(name.lower())

    def lookup(self, typed: str) -> ComponentSpec | None:
        """XSPEC's rule: an exact name, else the first name that starts with it."""
        exact = self.exact(typed)
        if exact is not None:
            return exact
        if len(typed) < 2:
            return None
        prefix = typed.lower()
        for key, spec in self._specs.items():
            if key.startswith(prefix):
                return spec
        return None


LIBRARY = Library()


def register(spec: ComponentSpec) -> ComponentSpec:
    """Add a component to the default library (users call this for their own)."""
    return LIBRARY.register(spec)
