"""A component package as a third party would write one (for test_plugins.py)."""

import jax.numpy as jnp

from specdsl.library.registry import ADDITIVE, ComponentSpec, ParameterSpec


def _flat(edges, constants, level):
    """A flat spectrum: ``level`` photons/cm^2/s/keV."""
    return level * jnp.diff(edges)


flatspec = ComponentSpec(
    "flatspec",
    ADDITIVE,
    (ParameterSpec("level", 2.0, "", 0.01, 0.0, 0.0, 10.0, 100.0),),
    _flat,
    description="Flat photon spectrum (test plugin)",
)
