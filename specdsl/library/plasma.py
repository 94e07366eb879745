"""Thermal plasma continua: bremsstrahlung with XSPEC's Gaunt factor, and redge.

The Gaunt factor is the one XSPEC's bremss uses (``gaunt.f``): the Born
approximation with the Kellogg, Baldwin & Koch (1975) polynomial corrections to
Karzas & Latter (1961), and Kurucz's table at low temperature. The bin value is
XSPEC's two-point trapezoid (no closed form exists).
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from specdsl.library.registry import ADDITIVE, ComponentSpec, ParameterSpec, register

# Kellogg, Baldwin & Koch 1975 (ApJ 199, 299) fits to Karzas & Latter (1961), with
# the corrections by L. Molnar and J. Hughes that XSPEC carries: the Gaunt factor
# over the Born value is a_nm + b_nm u + c_nm u^2 in the cell of u = E/kT (rows,
# n = 1..6) and gamma^2 * 1000 = 1000 Z^2 Ry / kT (columns, m = 1..7).
_KBK_A = np.array(
    [1.001, 1.004, 1.017, 1.036, 1.056, 1.121, 1.001, 1.005, 1.017, 1.046, 1.073,
     1.115, .9991, 1.005, 1.03, 1.055, 1.102, 1.176, .997, 1.005, 1.035, 1.069,
     1.134, 1.186, .9962, 1.004, 1.042, 1.1, 1.193, 1.306, .9874, .9962, 1.047,
     1.156, 1.327, 1.485, .9681, .9755, 1.020, 1.208, 1.525, 1.965]
).reshape(7, 6).T  # fmt: skip
_KBK_B = np.array(
    [.3029, .1616, .04757, .013, .0049, -.0032, .4905, .2155, .08357, .02041,
     .00739, .00029, .654, .2833, .08057, .03257, .00759, -.00151, 1.029, .391,
     .1266, .05149, .01274, .00324, .9569, .4891, .1764, .05914, .01407, -.00024,
     1.236, .7579, .326, .1077, .028, .00548, 1.327, 1.017, .6017, .205, .0605,
     .00187]
).reshape(7, 6).T  # fmt: skip
_KBK_C = np.array(
    [-1.323, -.254, -.01571, -.001, -.000184, .00008, -4.762, -.3386, -.03571,
     -.001786, -.0003, .00001, -6.349, -.4206, -.02571, -.003429, -.000234, .00005,
     -13.231, -.59, -.04571, -.005714, -.000445, -.00004, -7.672, -.6852, -.0643,
     -.005857, -.00042, .00004, -7.143, -.9947, -.12, -.01007, -.000851, -.00004,
     -3.175, -1.116, -.2270, -.01821, -.001729, .00023]
).reshape(7, 6).T  # fmt: skip
_U_EDGES = np.array([0.03, 0.30, 1.0, 5.0, 15.0])  # u cells 1..6 (upper bounds)
_GAMMA_EDGES = np.array([1.773, 3.0, 5.6234, 10.0, 30.0])  # gamma cells 1..6
_GAMMA_START = np.array([1.0, 1.7783, 3.0, 5.6234, 10.0, 30.0])
_GAMMA_SPAN = np.array([0.7783, 1.2217, 2.6234, 4.3766, 20.0, 70.0])

# Kurucz's low-temperature Gaunt factors (via L. Molnar), on log10(gamma^2) =
# -1, -0.5, ..., 2 (rows j = 1..7) and log10(u) = -4, -3.5, ..., 1.5 (columns k).
_KURUCZ = np.array(
    [5.40, 5.25, 5.00, 4.69, 4.48, 4.16, 3.85, 4.77, 4.63, 4.40, 4.13, 3.87, 3.52,
     3.27, 4.15, 4.02, 3.80, 3.57, 3.27, 2.98, 2.70, 3.54, 3.41, 3.22, 2.97, 2.70,
     2.45, 2.20, 2.94, 2.81, 2.65, 2.44, 2.21, 2.01, 1.81, 2.41, 2.32, 2.19, 2.02,
     1.84, 1.67, 1.50, 1.95, 1.90, 1.80, 1.68, 1.52, 1.41, 1.30, 1.55, 1.56, 1.51,
     1.42, 1.33, 1.25, 1.17, 1.17, 1.30, 1.32, 1.30, 1.20, 1.15, 1.11, 0.86, 1.00,
     1.15, 1.18, 1.15, 1.11, 1.08, 0.59, 0.76, 0.97, 1.09, 1.13, 1.10, 1.08, 0.38,
     0.53, 0.76, 0.96, 1.08, 1.09, 1.09]
).reshape(12, 7).T  # fmt: skip

_RYDBERG_KEV = 0.01358  # XSPEC's Z^2 Ry / kT scale (keV)
_HE_OVER_H = 0.085  # bremss's fixed He/H number ratio
_MAX_U = 50.0  # E >= 50 kT gives 0, as in XSPEC


def gaunt_factor(energy, kT, charge):
    """XSPEC's free-free Gaunt factor at photon energy and temperature (keV), ion Z."""
    u = energy / kT
    gamma2 = charge**2 * _RYDBERG_KEV / kT

    cold = gamma2 > 0.1
    u_safe = jnp.where(u > 0, u, 1.0)
    born = _born(u_safe)
    corrected = _kbk_correction(u_safe, gamma2) * born
    warm = jnp.where(jnp.minimum(gamma2 * 1000.0, 100.0) < 1.0, born, corrected)
    value = jnp.where(cold, _kurucz(u_safe, gamma2), warm)
    return jnp.where((u > 0) & (u <= _MAX_U), value, 0.0)


def _born(u):
    """The Born approximation (sqrt 3 / pi) e^(u/2) K_0(u/2), with the polynomial
    forms of I_0 and K_0 in Abramowitz & Stegun 9.8.1, 9.8.5 and 9.8.6."""
    x = 0.5 * u
    quarter = 0.5 * x  # x/2
    small = quarter <= 1.0

    xs = jnp.where(small, x, 1.0)
    t2 = (xs / 3.75) ** 2
    bessel_i0 = 1.0 + t2 * (
        3.5156229
        + t2
        * (
            3.089942
            + t2 * (1.2067492 + t2 * (0.2659732 + t2 * (0.0360768 + t2 * 0.0045813)))
        )
    )
    q = (0.5 * xs) ** 2
    k0_small = (
        -jnp.log(0.5 * xs) * bessel_i0
        - 0.57721566
        + q
        * (
            0.4227842
            + q
            * (
                0.23069756
                + q * (0.0348859 + q * (0.00262698 + q * (0.0001075 + q * 0.0000074)))
            )
        )
    )
    born_small = 0.5513 * jnp.exp(xs) * k0_small

    xl = jnp.where(small, 4.0, x)
    w = -2.0 / xl
    k0_scaled = 1.25331414 + w * (
        0.07832358
        + w
        * (
            0.02189568
            + w * (0.01062446 + w * (0.00587872 + w * (0.0025154 + w * 0.00053208)))
        )
    )
    born_large = 0.5513 * k0_scaled / jnp.sqrt(xl)
    return jnp.where(small, born_small, born_large)


def _kbk_correction(u, gamma2):
    """The Kellogg et al. polynomial in u, linearly interpolated in gamma^2."""
    u = jnp.maximum(u, 0.003)
    g = jnp.minimum(gamma2 * 1000.0, 100.0)
    row = sum((u > edge).astype(jnp.int32) for edge in _U_EDGES)
    column = sum((g > edge).astype(jnp.int32) for edge in _GAMMA_EDGES)

    def fit(col):
        a = jnp.asarray(_KBK_A)[row, col]
        b = jnp.asarray(_KBK_B)[row, col]
        c = jnp.asarray(_KBK_C)[row, col]
        return a + b * u + c * u * u

    p = (g - jnp.asarray(_GAMMA_START)[column]) / jnp.asarray(_GAMMA_SPAN)[column]
    return (1.0 - p) * fit(column) + p * fit(column + 1)


def _kurucz(u, gamma2):
    """Kurucz's table, bilinear in log10(gamma^2) and log10(u), 0 off its top ends."""
    log_gamma = jnp.log10(jnp.maximum(gamma2, 1e-300))
    log_u = jnp.log10(u)
    j = jnp.floor(2.0 * log_gamma + 3.0).astype(jnp.int32)
    k = jnp.maximum(jnp.floor(2.0 * log_u + 9.0).astype(jnp.int32), 1)
    outside = (j >= 7) | (j < 1) | (k >= 12)
    j = jnp.clip(j, 1, 6)
    k = jnp.clip(k, 1, 11)

    t = (log_gamma - (j - 3) / 2.0) / 0.5
    s = (log_u - (k - 9) / 2.0) / 0.5
    table = jnp.asarray(_KURUCZ)
    value = (
        (1 - t) * (1 - s) * table[j - 1, k - 1]
        + t * (1 - s) * table[j, k - 1]
        + t * s * table[j, k]
        + (1 - t) * s * table[j - 1, k]
    )
    return jnp.where(outside, 0.0, value)


def bremsstrahlung_density(energy, kT, he_over_h):
    """Photons/keV for norm 1: (G_H + 4 He/H G_He) e^(-E/kT) / (E sqrt kT)."""
    inside = (energy > 0) & (energy < _MAX_U * kT) & (kT > 0)
    e_safe = jnp.where(inside, energy, kT)
    t_safe = jnp.where(kT > 0, kT, 1.0)
    charges = jnp.array([1.0, 2.0]).reshape((2,) + (1,) * jnp.ndim(energy))
    gaunt = gaunt_factor(e_safe, t_safe, charges)
    total = gaunt[0] + 4.0 * he_over_h * gaunt[1]
    value = total * jnp.exp(-e_safe / t_safe) / (e_safe * jnp.sqrt(t_safe))
    return jnp.where(inside, value, 0.0)


def vbremss_kernel(edges, constants, kT, HeovrH):
    """XSPEC's trapezoid of the bremsstrahlung density on each bin, He/H free."""
    lo, hi = edges[:-1], edges[1:]
    ends = bremsstrahlung_density(jnp.stack([lo, hi]), kT, HeovrH)
    return 0.5 * (ends[0] + ends[1]) * (hi - lo)


def bremss_kernel(edges, constants, kT):
    """Thermal bremsstrahlung with He/H = 0.085, XSPEC's trapezoid per bin."""
    return vbremss_kernel(edges, constants, kT, _HE_OVER_H)


def redge_kernel(edges, constants, edge, kT):
    """Recombination edge: exp(-(E - edge)/kT)/kT above the edge, exact per bin."""
    lo, hi = edges[:-1], edges[1:]
    x_lo = jnp.maximum(0.0, (lo - edge) / kT)
    x_hi = jnp.maximum(0.0, (hi - edge) / kT)
    visible = x_lo < 700.0
    front = jnp.exp(-jnp.where(visible, x_lo, 0.0))
    return jnp.where(visible, -front * jnp.expm1(-(x_hi - x_lo)), 0.0)


_HEASOFT = "XSPEC 12.9.1 (HEASoft 6.20) model.dat and Xspec/src/XSFunctions"

bremss = register(
    ComponentSpec(
        "bremss",
        ADDITIVE,
        (ParameterSpec("kT", 7.0, "keV", 0.05, 1e-4, 1e-4, 100.0, 200.0),),
        bremss_kernel,
        description="Thermal bremsstrahlung (He/H = 0.085), norm "
        "3.02e-15/(4 pi D^2) Int n_e n_I dV",
        reference="Kellogg, Baldwin & Koch 1975, ApJ 199, 299; Karzas & Latter "
        f"1961; {_HEASOFT}/xsbrmv.f, gaunt.f",
    )
)

vbremss = register(
    ComponentSpec(
        "vbremss",
        ADDITIVE,
        (
            ParameterSpec("kT", 3.0, "keV", 0.01, 1e-4, 1e-2, 100.0, 200.0),
            ParameterSpec("HeovrH", 1.0, "", 0.01, 0.0, 0.0, 100.0, 100.0),
        ),
        vbremss_kernel,
        description="Thermal bremsstrahlung with variable He/H, norm as bremss",
        reference=f"Kellogg, Baldwin & Koch 1975; {_HEASOFT}/xsbrmv.f, gaunt.f",
    )
)

redge = register(
    ComponentSpec(
        "redge",
        ADDITIVE,
        (
            ParameterSpec("edge", 1.4, "keV", 0.001, 0.001, 0.001, 100.0, 100.0),
            ParameterSpec("kT", 1.0, "keV", 0.001, 0.001, 0.001, 100.0, 100.0),
        ),
        redge_kernel,
        description="Recombination edge continuum, norm in total photons/cm^2/s",
        reference=f"XSPEC manual, redge; {_HEASOFT}/xredge.f",
    )
)
