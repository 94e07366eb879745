"""Component declarations: XSPEC names, kinds, parameters and the JAX kernel.

A component is declared once, as a :class:`ComponentSpec`, and registered in the
library under its XSPEC name. The resolver looks names up here; the code
generator calls ``spec.kernel``; the binder calls ``spec.prepare`` once per
energy grid so that grid-only quantities (cross sections) are not recomputed.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any

_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")

ADDITIVE = "additive"
MULTIPLICATIVE = "multiplicative"
CONVOLUTION = "convolution"
KINDS = (ADDITIVE, MULTIPLICATIVE, CONVOLUTION)


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
    ``norm``) or a factor (multiplicative). A convolution kernel takes the array it
    acts on as well, ``kernel(edges, constants, flux, **params)``, and returns the
    new array. ``edges`` holds the n + 1 bin edges in keV; ``constants`` is what
    ``prepare(edges)`` returned for this grid (or None). ``parameters`` excludes
    ``norm``: additive components get it appended.
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
        if not _NAME.fullmatch(self.name):
            raise ValueError(
                f"component name {self.name!r} must start with a letter and hold only "
                "letters, digits and '_' (so that expressions can name it)"
            )
        names = [p.name.lower() for p in self.all_parameters]
        if len(set(names)) != len(names):
            raise ValueError(
                f"component {self.name!r}: parameter names repeat: {names}"
            )

    @property
    def all_parameters(self) -> tuple[ParameterSpec, ...]:
        """The parameters in XSPEC order, ``norm`` last for additive components."""
        if self.kind == ADDITIVE:
            return self.parameters + (norm_parameter(),)
        return self.parameters


class Library:
    """Components by name, and XSPEC's rule for resolving what a user typed.

    Abbreviations follow XSPEC: the first name, in model.dat order, that starts
    with the typed text (at least two letters). Names are looked up among all of
    XSPEC's components, so an abbreviation means what it means in XSPEC even when
    that component is not available here; components registered here that XSPEC
    does not have (user components) come after XSPEC's.
    """

    def __init__(self):
        self._specs: dict[str, ComponentSpec] = {}
        self.generation = 0  # changes with every registration (for caches)

    def register(self, spec: ComponentSpec) -> ComponentSpec:
        self._specs[spec.name.lower()] = spec
        self.generation += 1
        return spec

    def unregister(self, name: str) -> None:
        """Remove a component registered earlier (a notebook's or a test's own)."""
        self._specs.pop(name.lower(), None)
        self.generation += 1

    def __contains__(self, name: str) -> bool:
        return name.lower() in self._specs

    def __iter__(self):
        return iter(self._specs.values())

    def names(self) -> list[str]:
        return [spec.name for spec in self._specs.values()]

    def exact(self, name: str) -> ComponentSpec | None:
        return self._specs.get(name.lower())

    def lookup(self, typed: str) -> ComponentSpec | None:
        """The component the typed name means, or None (unknown or not provided)."""
        return self.find(typed)[0]

    def find(self, typed: str) -> tuple[ComponentSpec | None, str | None]:
        """``(spec, name)``: the resolved name, and its spec when we provide it."""
        lowered = typed.lower()
        if lowered in self._specs:
            return self._specs[lowered], self._specs[lowered].name
        if len(typed) < 2:
            return None, None

        for name in self._search_order():
            if name.lower().startswith(lowered):
                return self._specs.get(name.lower()), name
        for name, _ in other_xspec_components():
            if name.lower() == lowered:
                return None, name
        return None, None

    def _search_order(self) -> list[str]:
        xspec = [name for name, _ in xspec_components()]
        known = {name.lower() for name in xspec}
        return xspec + [spec.name for spec in self if spec.name.lower() not in known]


@lru_cache(maxsize=1)
def xspec_components() -> tuple[tuple[str, str], ...]:
    """XSPEC 12.9.1's component names and kinds, in model.dat order."""
    return _name_table("xspec_model_names.tsv")


@lru_cache(maxsize=1)
def other_xspec_components() -> tuple[tuple[str, str], ...]:
    """Later XSPEC built-ins and common local models (matched only in full)."""
    return _name_table("xspec_other_names.tsv")


def _name_table(filename: str) -> tuple[tuple[str, str], ...]:
    text = (resources.files("specdsl.library") / "data" / filename).read_text()
    rows = [line.split("\t") for line in text.splitlines() if not line.startswith("#")]
    return tuple((name, kind) for name, kind in rows)


LIBRARY = Library()


def register(spec: ComponentSpec) -> ComponentSpec:
    """Add a component to the default library (users call this for their own)."""
    return LIBRARY.register(spec)


def component(
    name: str,
    kind: str,
    parameters=(),
    *,
    prepare=None,
    description="",
    reference="",
    library: Library = LIBRARY,
):
    """Decorator form of :func:`register` for a kernel function.

    ``parameters`` holds ParameterSpecs or ``(name, default)`` pairs::

        @specdsl.component("mypow", "additive", [("Gamma", 2.0)])
        def mypow(edges, constants, Gamma):
            ...
    """
    specs = tuple(
        p if isinstance(p, ParameterSpec) else ParameterSpec(*p) for p in parameters
    )

    def decorate(kernel):
        spec = ComponentSpec(name, kind, specs, kernel, prepare, description, reference)
        library.register(spec)
        kernel.spec = spec
        return kernel

    return decorate


PLUGIN_GROUP = "specdsl.components"


def load_plugins(library: Library = LIBRARY, group: str = PLUGIN_GROUP) -> list[str]:
    """Register components that installed packages declare under ``group``.

    An entry point may name a ComponentSpec, an iterable of them, or a module or
    function that registers its components when imported or called. A plugin that
    fails to load is reported as a warning and skipped; the others still load.
    """
    import warnings
    from importlib.metadata import entry_points

    loaded = []
    for entry in entry_points(group=group):
        try:
            _register_plugin(entry.load(), library)
        except Exception as error:  # noqa: BLE001  (a broken plugin must not stop us)
            warnings.warn(
                f"specdsl plugin {entry.name!r} failed to load: {error}", stacklevel=2
            )
            continue
        loaded.append(entry.name)
    return loaded


def _register_plugin(target, library: Library) -> None:
    if isinstance(target, ComponentSpec):
        library.register(target)
    elif isinstance(target, (list, tuple)):
        for spec in target:
            library.register(spec)
    elif callable(target):
        result = target()
        if result is not None:
            _register_plugin(result, library)
