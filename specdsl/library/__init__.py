"""The component library. Import order is abbreviation order: additive first, as
in XSPEC's model.dat, so ``bb`` means ``bbody`` and ``po`` means ``powerlaw``."""

from specdsl.library import continuum, lines  # noqa: F401, I001  (registers)
from specdsl.library import absorption  # noqa: F401, I001  (multiplicative last)
from specdsl.library.registry import (
    ADDITIVE,
    LIBRARY,
    MULTIPLICATIVE,
    ComponentSpec,
    ParameterSpec,
    register,
)

__all__ = [
    "ADDITIVE",
    "LIBRARY",
    "MULTIPLICATIVE",
    "ComponentSpec",
    "ParameterSpec",
    "register",
]
