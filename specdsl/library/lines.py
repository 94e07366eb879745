"""Additive lines: the Gaussian, as exact probability differences per bin."""

from __future__ import annotations

import jax.numpy as jnp
from jax.scipy.special import ndtr

from specdsl.library.registry import ADDITIVE, ComponentSpec, ParameterSpec, register


def gaussian_kernel(edges, constants, LineE, Sigma):
    """Fraction of a unit-area Gaussian line in each bin; Sigma = 0 is a delta line."""
    lo, hi = edges[:-1], edges[1:]
    width = jnp.where(Sigma > 0, Sigma, 1.0)
    z_lo = (lo - LineE) / width
    z_hi = (hi - LineE) / width

    # Subtract the tails on the far side of the centre, where they are small.
    above = z_lo > 0
    spread = jnp.where(above, ndtr(-z_lo) - ndtr(-z_hi), ndtr(z_hi) - ndtr(z_lo))
    delta = ((lo < LineE) & (LineE <= hi)).astype(spread.dtype)
    return jnp.where(Sigma > 0, spread, delta)


gaussian = register(
    ComponentSpec(
        "gaussian",
        ADDITIVE,
        (
            ParameterSpec("LineE", 6.5, "keV", 0.05, 0.0, 0.0, 1e6, 1e6),
            ParameterSpec("Sigma", 0.1, "keV", 0.05, 0.0, 0.0, 10.0, 20.0),
        ),
        gaussian_kernel,
        description="Gaussian line, norm in total photons/cm^2/s in the line",
        reference="XSPEC manual, gaussian",
    )
)
