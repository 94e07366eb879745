"""The component library. Import order is registration order: additive modules
first, then multiplicative ones, as in XSPEC's model.dat, so abbreviations
resolve as XSPEC resolves them (``bb`` is ``bbody``, ``po`` is ``powerlaw``)."""

# isort: off
from specdsl.library import continuum, lines, disk, comptonization, plasma  # noqa: F401
from specdsl.library import redshifted  # noqa: F401
from specdsl.library import absorption, multiplicative  # noqa: F401
from specdsl.library import convolution  # noqa: F401

# isort: on
from specdsl.library.registry import (
    ADDITIVE,
    CONVOLUTION,
    LIBRARY,
    MULTIPLICATIVE,
    ComponentSpec,
    ParameterSpec,
    load_plugins,
    register,
)

load_plugins()

__all__ = [
    "ADDITIVE",
    "CONVOLUTION",
    "LIBRARY",
    "MULTIPLICATIVE",
    "ComponentSpec",
    "ParameterSpec",
    "register",
]
