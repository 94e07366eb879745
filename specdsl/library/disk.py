"""Accretion-disc continua: multicolour disc black bodies (diskbb, diskpbb).

Both integrate each bin with XSPEC's 5-point Gauss-Legendre rule (its node and
weight digits); the nodes depend on the grid only and are made once in
``prepare``. diskbb's photon density is Mitsuda's fitted interpolation formula,
as XSPEC computes it; diskpbb's is exact: the integral over disc temperature is
a sum of incomplete gamma functions (see :func:`disk_integral`).
"""

from __future__ import annotations

from math import factorial

import jax.numpy as jnp
import numpy as np
from jax.scipy.special import gamma as gamma_function

from specdsl.library.continuum import _BERNOULLI
from specdsl.library.registry import ADDITIVE, ComponentSpec, ParameterSpec, register

# XSPEC's 5-point Gauss-Legendre nodes and weights on [-1, 1] (xsdskb.f, diskpbb.f).
GL_NODES = np.array([-0.906179846, -0.538469310, 0.0, 0.538469310, 0.906179846])
GL_WEIGHTS = np.array([0.236926885, 0.478628670, 0.568888888, 0.478628670, 0.236926885])


def gauss_legendre_nodes(edges):
    """(2, n, 5): the node energies of each bin and their weights times half-width."""
    edges = np.asarray(edges, dtype=np.float64)
    half = 0.5 * (edges[1:] - edges[:-1])
    centre = edges[:-1] + half
    nodes = centre[:, None] + half[:, None] * GL_NODES
    weights = half[:, None] * GL_WEIGHTS
    return np.stack([nodes, weights])


# Mitsuda's interpolation of the diskbb photon density V(E/Tin) (xsdskb.f, mcdint):
# a power law with exponential cut-off, three log-normal bumps and a residual
# table on log10(x) = -3, -2.94, ... (98 entries, linear in between, flat outside).
_MCD_VALUE0 = 193.21556
_MCD_X0 = 1e-3
_MCD_STEP = 0.06
_MCD_A = 0.52876731
_MCD_B = 1.6637530
_MCD_CENTRES = (0.078196667, -1.0662020, 1.1924180)
_MCD_WIDTHS = (0.52078740, 0.51345700, 0.40779830)
_MCD_HEIGHTS = (0.37286910, 0.039775528, 0.037766505)
_MCD_RESIDUALS = np.array(
    [9.61983820e-04, 1.09011810e-03, 1.23100120e-03, 1.38413520e-03, 1.54815830e-03,
     1.72100360e-03, 1.89889430e-03, 2.07693900e-03, 2.24842810e-03, 2.40494830e-03,
     2.53662020e-03, 2.63162550e-03, 2.67749850e-03, 2.66130590e-03, 2.57087840e-03,
     2.39629650e-03, 2.13065500e-03, 1.77251740e-03, 1.32686560e-03, 8.06576720e-04,
     2.33375840e-04, -3.62917780e-04, -9.44435690e-04, -1.46788750e-03,
     -1.88737410e-03, -2.15884930e-03, -2.24483710e-03, -2.11981790e-03,
     -1.77546020e-03, -1.22460340e-03, -5.04141670e-04, 3.25070780e-04,
     1.18110650e-03, 1.96734020e-03, 2.58270940e-03, 2.93425260e-03, 2.95170830e-03,
     2.60121660e-03, 1.89590620e-03, 9.01286490e-04, -2.67571440e-04,
     -1.45678850e-03, -2.49285500e-03, -3.20797760e-03, -3.46786370e-03,
     -3.19882170e-03, -2.40809690e-03, -1.19362400e-03, 2.61341450e-04,
     1.71177580e-03, 2.89068980e-03, 3.56144350e-03, 3.57117780e-03, 2.89213740e-03,
     1.63858980e-03, 4.98574640e-05, -1.55726710e-03, -2.85781510e-03,
     -3.59242120e-03, -3.62530440e-03, -2.97508600e-03, -1.80444360e-03,
     -3.77966640e-04, 1.00762150e-03, 2.09373270e-03, 2.70908540e-03, 2.80316670e-03,
     2.42765760e-03, 1.71755970e-03, 8.10307950e-04, -1.25923040e-04,
     -9.48884910e-04, -1.55448160e-03, -1.88319720e-03, -1.92031420e-03,
     -1.69058490e-03, -1.24877370e-03, -6.67899110e-04, -2.70794610e-05,
     5.99319350e-04, 1.14997480e-03, 1.58165210e-03, 1.87092240e-03, 2.01299660e-03,
     2.01847020e-03, 1.90891810e-03, 1.71222890e-03, 1.45837700e-03, 1.17607170e-03,
     8.90467680e-04, 6.21908220e-04, 3.85537620e-04, 1.91550220e-04, 4.58371090e-05,
     -4.91778340e-05, -9.36707620e-05, -8.96229680e-05, -4.01538532e-05]
)  # fmt: skip
_MCD_NORM = 361.0
_LOWEST_EXPONENT = -700.0


def diskbb_density(energy, Tin):
    """diskbb photons/keV/cm^2/s for norm 1 at each energy: Tin^2 V(E/Tin) / 361."""
    hot = Tin > 0
    t_safe = jnp.where(hot, Tin, 1.0)
    x = jnp.maximum(energy / t_safe, 1e-300)
    visible = x < -_LOWEST_EXPONENT
    x_safe = jnp.where(visible, x, 1.0)

    log_x = jnp.log(x_safe)
    log10_x = log_x / np.log(10.0)
    bumps = 1.0
    for centre, width, height in zip(
        _MCD_CENTRES, _MCD_WIDTHS, _MCD_HEIGHTS, strict=True
    ):
        bumps = bumps + height * jnp.exp(-0.5 * ((log10_x - centre) / width) ** 2)

    # Linear in the residual table at 1-based position (log10 x + 3)/0.06 + 1,
    # flat beyond its ends.
    position = jnp.clip((log10_x - np.log10(_MCD_X0)) / _MCD_STEP, 0.0, 97.0)
    below = jnp.minimum(jnp.floor(position), 96.0)
    fraction = position - below
    index = below.astype(jnp.int32)
    table = jnp.asarray(_MCD_RESIDUALS)
    residual = (1.0 - fraction) * table[index] + fraction * table[index + 1]

    shape = jnp.exp(
        -2.0 / 3.0 * (log_x - np.log(_MCD_X0))
        + jnp.log1p(_MCD_A * jnp.exp(_MCD_B * log_x))
        - x_safe
    )
    value = _MCD_VALUE0 * shape * bumps * (1.0 + residual)
    return jnp.where(hot & visible, value * t_safe**2 / _MCD_NORM, 0.0)


def diskbb_kernel(edges, nodes, Tin):
    """Multicolour disc (Mitsuda et al. 1984), norm (R_in/km / D/10 kpc)^2 cos i."""
    energies, weights = nodes[0], nodes[1]
    return jnp.sum(weights * diskbb_density(energies, Tin), axis=-1)


# diskpbb: E^2 (0.75/p) 2.78e-3 times the integral over the disc, which with
# q = 2/p and eps = E/Tin is D = eps^-q Int_eps^inf u^(q-1)/(e^u - 1) du.
_DISKPBB_CONSTANT = 2.78e-3
# The even Bernoulli numbers B_2..B_20, shared with the black-body series.
_BERNOULLI_EVEN = {n: b for n, b in _BERNOULLI.items() if n >= 2}
_DISK_SWITCH = 2.0  # eps below: Bernoulli series; above: Gauss-Laguerre
# 12-point Gauss-Laguerre: the tail integral to ~2e-10 for eps >= 2, q in [2, 4].
_LAGUERRE_NODES, _LAGUERRE_WEIGHTS = np.polynomial.laguerre.laggauss(12)


def disk_integral(eps, q):
    """eps^-q times the integral of u^(q-1)/(e^u - 1) from eps to infinity (q > 1).

    For eps < 2: Gamma(q) zeta(q) eps^-q less the Bernoulli series of the integral
    from 0 to eps. For eps >= 2, with u = eps + t, it is e^-eps times the
    Gauss-Laguerre sum of (eps + t)^(q-1) / (1 - e^-(eps + t)), times eps^-q.
    """
    small = eps < _DISK_SWITCH
    e_small = jnp.where(small, eps, 1.0)
    series = jnp.zeros_like(e_small)
    for n in sorted(_BERNOULLI_EVEN, reverse=True):  # Horner in eps^2
        series = series * e_small**2 + _BERNOULLI_EVEN[n] / (
            factorial(n) * (n + q - 1.0)
        )
    series = 1.0 / ((q - 1.0) * e_small) - 0.5 / q + series * e_small
    near = gamma_function(q) * _zeta(q) * e_small**-q - series

    visible = eps < -_LOWEST_EXPONENT
    e_large = jnp.where(small | ~visible, _DISK_SWITCH, eps)
    u = e_large[..., None] + _LAGUERRE_NODES
    integrand = jnp.exp((q - 1.0) * jnp.log(u)) / -jnp.expm1(-u)
    tail = jnp.sum(_LAGUERRE_WEIGHTS * integrand, axis=-1)
    far = jnp.exp(-e_large) * tail * e_large**-q

    return jnp.where(small, near, jnp.where(visible, far, 0.0))


def _zeta(s):
    """Riemann zeta(s) for s > 1: 9 terms plus the Euler-Maclaurin tail at N = 10."""
    n = 10.0
    total = sum(k**-s for k in range(1, 10))
    tail = n ** (1.0 - s) / (s - 1.0) + 0.5 * n**-s
    tail = tail + s * n ** (-s - 1.0) / 12.0
    tail = tail - s * (s + 1) * (s + 2) * n ** (-s - 3.0) / 720.0
    tail = tail + s * (s + 1) * (s + 2) * (s + 3) * (s + 4) * n ** (-s - 5.0) / 30240.0
    return total + tail


def diskpbb_density(energy, Tin, p):
    """diskpbb photons/keV/cm^2/s for norm 1, T(r) ~ r^-p (p = 0.75 is diskbb)."""
    positive = energy > 0
    e_safe = jnp.where(positive, energy, Tin)
    value = (
        _DISKPBB_CONSTANT
        * e_safe**2
        * (0.75 / p)
        * disk_integral(e_safe / Tin, 2.0 / p)
    )
    return jnp.where(positive, value, 0.0)


def diskpbb_kernel(edges, nodes, Tin, p):
    """Multicolour disc with T ~ r^-p (Mineshige et al. 1994), norm as diskbb."""
    energies, weights = nodes[0], nodes[1]
    return jnp.sum(weights * diskpbb_density(energies, Tin, p), axis=-1)


_HEASOFT = "XSPEC 12.9.1 (HEASoft 6.20) model.dat and Xspec/src/XSFunctions"

diskbb = register(
    ComponentSpec(
        "diskbb",
        ADDITIVE,
        (ParameterSpec("Tin", 1.0, "keV", 0.01, 0.0, 0.0, 1000.0, 1000.0),),
        diskbb_kernel,
        prepare=gauss_legendre_nodes,
        description="Multicolour disc black body, norm (R_in/km / D/10kpc)^2 cos i",
        reference="Mitsuda et al. 1984, PASJ 36, 741; Makishima et al. 1986, ApJ 308, "
        f"635; {_HEASOFT}/xsdskb.f",
    )
)

diskpbb = register(
    ComponentSpec(
        "diskpbb",
        ADDITIVE,
        (
            ParameterSpec("Tin", 1.0, "keV", 0.02, 0.1, 0.1, 10.0, 10.0),
            ParameterSpec("p", 0.75, "", 0.05, 0.5, 0.5, 1.0, 1.0),
        ),
        diskpbb_kernel,
        prepare=gauss_legendre_nodes,
        description="Multicolour disc with T(r) ~ r^-p, norm as diskbb",
        reference=f"Mineshige et al. 1994, ApJ 426, 308; {_HEASOFT}/diskpbb.f",
    )
)
