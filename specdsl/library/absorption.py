"""Multiplicative components: constants and interstellar absorption."""

from __future__ import annotations

import jax.numpy as jnp

from specdsl.library.registry import (
    MULTIPLICATIVE,
    ComponentSpec,
    ParameterSpec,
    register,
)


def constant_kernel(edges, constants, factor):
    """An energy-independent factor."""
    return jnp.full(edges.shape[0] - 1, 1.0) * factor


def tbabs_prepare(edges):
    """The Wilms et al. (2000) cross section per H atom in each bin (1e-22 cm^2)."""
    from specdsl.library.photoabsorption import tbabs_bin_cross_section

    return tbabs_bin_cross_section(edges)


def tbabs_kernel(edges, sigma, nH):
    """Transmission exp(-nH sigma) with the bin-averaged cross section."""
    return jnp.exp(-nH * sigma)


constant = register(
    ComponentSpec(
        "constant",
        MULTIPLICATIVE,
        (ParameterSpec("factor", 1.0, "", 0.01, 0.0, 0.0, 1e10, 1e10),),
        constant_kernel,
        description="Energy-independent factor",
        reference="XSPEC manual, constant",
    )
)

tbabs = register(
    ComponentSpec(
        "TBabs",
        MULTIPLICATIVE,
        (ParameterSpec("nH", 1.0, "10^22", 0.001, 0.0, 0.0, 1e5, 1e6),),
        tbabs_kernel,
        prepare=tbabs_prepare,
        description="Tuebingen-Boulder ISM absorption (wilm abundances, Verner "
        "cross sections)",
        reference="Wilms, Allen & McCray 2000, ApJ 542, 914; "
        "Verner et al. 1996, ApJ 465, 487",
    )
)
