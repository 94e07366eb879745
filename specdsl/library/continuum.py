"""Additive continua: power law and black bodies, integrated exactly over each bin."""

from __future__ import annotations

from math import factorial

import jax.numpy as jnp

from specdsl.library._math import exprel
from specdsl.library.registry import ADDITIVE, ComponentSpec, ParameterSpec, register

# Bernoulli numbers B_0..B_20: x^2/(e^x - 1) = sum_n B_n x^(n+1) / n!  (|x| < 2 pi).
_BERNOULLI = {
    0: 1.0,
    1: -0.5,
    2: 1 / 6,
    4: -1 / 30,
    6: 1 / 42,
    8: -1 / 30,
    10: 5 / 66,
    12: -691 / 2730,
    14: 7 / 6,
    16: -3617 / 510,
    18: 43867 / 798,
    20: -174611 / 330,
}
# ... integrated term by term: the integral from 0 to x is sum_n c_n x^(n+2).
_SERIES = tuple(
    (n + 2, b_n / ((n + 2) * factorial(n))) for n, b_n in _BERNOULLI.items()
)
# The same coefficients by power of x, highest first, for Horner's rule.
_HORNER = tuple(
    dict(_SERIES).get(power + 2, 0.0) for power in range(max(_BERNOULLI), -1, -1)
)
_SERIES_LIMIT = 2.0  # below: Bernoulli series; above: the exponential series
_TAIL_TERMS = 17  # exp(-2 * 18) ~ 2e-16 relative truncation at the switch point


def powerlaw_kernel(edges, constants, PhoIndex):
    """Exact integral of E^-PhoIndex over each bin, smooth through PhoIndex = 1."""
    lo, hi = edges[:-1], edges[1:]
    exponent = 1.0 - PhoIndex

    positive = lo > 0
    lo_safe = jnp.where(positive, lo, hi)
    log_ratio = jnp.log(hi / lo_safe)
    inner = lo_safe**exponent * log_ratio * exprel(exponent * log_ratio)

    # A bin starting at 0 keV converges only for PhoIndex < 1.
    rising = exponent > 0
    from_zero = jnp.where(rising, hi ** jnp.where(rising, exponent, 1.0), jnp.inf)
    from_zero = from_zero / jnp.where(rising, exponent, 1.0)
    return jnp.where(positive, inner, from_zero)


def planck_per_bin(x_edges):
    """The integral of t^2 / (e^t - 1) over each bin of x_edges, to ~1e-12 relative.

    Below x = 2 it comes from the Bernoulli series, above from the tail series;
    each part is differenced on its own, so nothing large cancels on any bin.
    (Both ends of each bin are evaluated: XLA on CPU runs a difference of
    neighbouring results of this expression several times slower.)
    """
    cut = _SERIES_LIMIT
    x_lo, x_hi = x_edges[..., :-1], x_edges[..., 1:]
    low = _bernoulli_part(jnp.minimum(x_hi, cut)) - _bernoulli_part(
        jnp.minimum(x_lo, cut)
    )
    high = _tail_part(jnp.maximum(x_lo, cut)) - _tail_part(jnp.maximum(x_hi, cut))
    return low + high


def _bernoulli_part(x):
    """Integral from 0 to x (x <= 2) from the Bernoulli expansion (Horner form)."""
    total = jnp.zeros_like(x)
    for coefficient in _HORNER:
        total = total * x + coefficient
    return total * x * x


def _tail_part(x):
    """Integral from x (x >= 2) to infinity: sum_k e^-kx (x^2/k + 2x/k^2 + 2/k^3).

    Factored as e^-x times a sum in r = e^-x, with r capped at e^-40: beyond
    x = 40 the k >= 2 terms are below 1e-17 of the first anyway, and the cap keeps
    every partial product clear of subnormal numbers, which are slow on CPUs.
    """
    ratio = jnp.exp(-jnp.minimum(x, 40.0))
    power = jnp.ones_like(x)
    total = jnp.zeros_like(x)
    for k in range(1, _TAIL_TERMS + 1):
        total = total + power * (x * x / k + 2 * x / k**2 + 2 / k**3)
        power = power * ratio
    return jnp.exp(-x) * total


def bbodyrad_kernel(edges, constants, kT):
    """Photons in each bin from a black body of (R_km / D_10kpc)^2 = 1."""
    return 1.0344e-3 * kT**3 * planck_per_bin(edges / kT)


def bbody_kernel(edges, constants, kT):
    """Photons in each bin from a black body of L_39 / D_10kpc^2 = 1."""
    return 8.0525 / kT * planck_per_bin(edges / kT)


powerlaw = register(
    ComponentSpec(
        "powerlaw",
        ADDITIVE,
        (ParameterSpec("PhoIndex", 1.0, "", 0.01, -3.0, -2.0, 9.0, 10.0),),
        powerlaw_kernel,
        description="Power law, norm in photons/keV/cm^2/s at 1 keV",
        reference="XSPEC manual, powerlaw",
    )
)

bbody = register(
    ComponentSpec(
        "bbody",
        ADDITIVE,
        (ParameterSpec("kT", 3.0, "keV", 0.01, 1e-4, 0.01, 100.0, 200.0),),
        bbody_kernel,
        description="Black body, norm L_39 / D_10^2 (XSPEC's constant 8.0525)",
        reference="XSPEC manual, bbody",
    )
)

bbodyrad = register(
    ComponentSpec(
        "bbodyrad",
        ADDITIVE,
        (ParameterSpec("kT", 3.0, "keV", 0.01, 1e-4, 1e-3, 100.0, 200.0),),
        bbodyrad_kernel,
        description="Black body, norm R_km^2 / D_10^2 (XSPEC's constant 1.0344e-3)",
        reference="XSPEC manual, bbodyrad",
    )
)
