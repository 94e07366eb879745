"""Comptonisation continua: nthComp and compTT, computed as XSPEC computes them.

nthComp (Zdziarski, Johnson & Magdziarz 1996; Zycki, Done & Smith 1999) solves
the Kompaneets equation with Lightman & Zdziarski's (1987) relativistic
corrections on a logarithmic photon grid: a tridiagonal system, here of a fixed
size with the rows beyond the parameter-dependent grid end held at zero, so the
shape is static for ``jit`` and ``vmap``. compTT is Titarchuk's (1994) analytic
approximation with Hua & Titarchuk's (1995) optical-depth fits, as in XSPEC's
``xstitg.f``. Both use XSPEC's trapezoid over each bin.
"""

from __future__ import annotations

from math import log

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.lax.linalg import tridiagonal_solve
from jax.scipy.special import gammaln

from specdsl.library.disk import GL_NODES, GL_WEIGHTS, diskbb_density
from specdsl.library.redshifted import redshift_parameter
from specdsl.library.registry import ADDITIVE, ComponentSpec, ParameterSpec, register

_ELECTRON_KEV = 511.0  # m_e c^2 as nthComp and compTT use it

# nthComp's photon grid: x = h nu / m_e c^2 from 1e-4 kT_bb in steps of 0.02 dex,
# at most 899 points up to 40 kT_e; the seed spectrum is kept up to 50 kT_bb.
_STEP_DEX = 0.02
_STEP_LN = _STEP_DEX * log(10.0)
_GRID = 900
_GRID_INDEX = np.arange(1, _GRID + 1)  # XSPEC's 1-based j
_GRID_STEPS = (_GRID_INDEX - 1) * _STEP_DEX
_SEED_POINTS = int(np.log10(50.0 / 1e-4) / _STEP_DEX)  # 284
_NTHCOMP_PI = 3.14159  # the value nthComp's black-body constant uses


def nthcomp_spectrum(Gamma, kT_e, kT_bb, inp_type):
    """(x, E F_E) on nthComp's fixed 900-point grid; zero beyond the grid's end."""
    t_seed = kT_bb / _ELECTRON_KEV
    theta = kT_e / _ELECTRON_KEV
    tau = jnp.sqrt(2.25 + 3.0 / (theta * ((Gamma + 0.5) ** 2 - 2.25))) - 1.5

    x_min = 1e-4 * t_seed
    x = x_min * 10.0 ** jnp.asarray(_GRID_STEPS)
    count = jnp.minimum(
        899, jnp.floor(jnp.log10(40.0 * theta / x_min) / _STEP_DEX).astype(int) + 1
    )
    active = _GRID_INDEX <= count

    seed_end = jnp.minimum(_SEED_POINTS, count)
    black_body = jnp.where(_GRID_INDEX <= seed_end, _black_body_seed(x, t_seed), 0.0)
    disk = jnp.where(_GRID_INDEX < seed_end, _disk_seed(x, t_seed), 0.0)
    seed = jnp.where(inp_type < 0.5, black_body, disk)
    escape = _escape_probability(x, tau, x_min, count)

    occupation = _kompaneets(x, seed, escape, tau, theta, count)
    flux = x**4 * occupation * escape * tau
    return x, jnp.where(active & (_GRID_INDEX < count), flux, 0.0)


def _black_body_seed(x, t_seed):
    """Photon production rate of a black body of temperature t_seed (units m_e c^2)."""
    planck = 15.0 / (_NTHCOMP_PI * t_seed) ** 4
    ratio = jnp.minimum(x / t_seed, 60.0)
    return planck * x**2 / jnp.expm1(ratio)


def _disk_seed(x, t_seed):
    """diskbb photons per unit x averaged over bins centred (geometrically) on x."""
    edges = _ELECTRON_KEV * jnp.sqrt(x[:-1] * x[1:])
    half = 0.5 * (edges[1:] - edges[:-1])
    nodes = (edges[:-1] + half)[:, None] + half[:, None] * GL_NODES
    weights = half[:, None] * GL_WEIGHTS
    flux = jnp.sum(weights * diskbb_density(nodes, t_seed * _ELECTRON_KEV), axis=-1)
    average = _ELECTRON_KEV * flux / (edges[1:] - edges[:-1])
    return jnp.concatenate([average[:1], average, jnp.zeros(1)])


def _klein_nishina_ratio(x):
    """The Klein-Nishina total cross section over Thomson's at photon energy x."""
    small = x <= 0.05
    w = jnp.where(small, 1.0, x)
    z2 = 1.0 + 2.0 * w
    log_z2 = jnp.log(z2)
    exact = 0.75 * (
        (1.0 + w) / w**3 * (2.0 * w * (1.0 + w) / z2 - log_z2)
        + log_z2 / (2.0 * w)
        - (1.0 + 3.0 * w) / z2**2
    )
    return jnp.where(small, 1.0 - 2.0 * x + 26.0 * x * x / 5.0, exact)


def _escape_probability(x, tau, x_min, count):
    """Escape probability per Thomson time (sphere), diffusion fading out to x = 1."""
    j_nr = jnp.minimum(
        jnp.floor(jnp.log10(0.1 / x_min) / _STEP_DEX + 1.0).astype(int), count - 1
    )
    j_rel = jnp.minimum(
        jnp.floor(jnp.log10(1.0 / x_min) / _STEP_DEX + 1.0).astype(int), count
    )
    x_nr = x[j_nr - 1]
    x_rel = x[j_rel - 1]

    tau_kn = tau * _klein_nishina_ratio(x)
    fade = jnp.where(
        _GRID_INDEX < j_nr,
        1.0,
        1.0 - (x - x_nr) / jnp.where(x_rel != x_nr, x_rel - x_nr, 1.0),
    )
    diffusive = 1.0 / tau / (1.0 + tau_kn / 3.0 * fade)
    return jnp.where(_GRID_INDEX <= j_rel, diffusive, 1.0 / tau)


def _kompaneets(x, seed, escape, tau, theta, count):
    """Photon occupation u(x): the discretised Kompaneets equation with escape.

    Zero flux at the bottom (u_1 = aa u_2) and u = 0 from the grid end on; rows
    past the end are identity rows, so the system has a fixed size.
    """
    x_next = jnp.concatenate([x[1:], x[-1:] * 10.0**_STEP_DEX])
    x_prev = jnp.concatenate([x[:1] / 10.0**_STEP_DEX, x[:-1]])
    w_up = jnp.sqrt(x * x_next)
    w_down = jnp.sqrt(x_prev * x)
    cooper = w_up**4 / (1.0 + 4.6 * w_up + 1.1 * w_up * w_up)  # at x_(j+1/2)
    cooper_down = jnp.concatenate([cooper[:1], cooper[:-1]])  # at x_(j-1/2)

    c20 = tau / _STEP_LN
    drift_up = theta / _STEP_LN / w_up
    drift_down = theta / _STEP_LN / w_down
    upper = -c20 * cooper * (drift_up + 0.5)
    diagonal = (
        -c20 * cooper * (0.5 - drift_up)
        + c20 * cooper_down * (drift_down + 0.5)
        + x**3 * tau * escape
    )
    lower = c20 * cooper_down * (0.5 - drift_down)
    source = x * seed

    x32 = jnp.sqrt(x[0] * x[1])
    bottom = (theta / _STEP_LN / x32 + 0.5) / (theta / _STEP_LN / x32 - 0.5)
    diagonal = diagonal.at[1].add(lower[1] * bottom)

    interior = (_GRID_INDEX >= 2) & (_GRID_INDEX <= count - 1)
    lower = jnp.where(interior & (_GRID_INDEX >= 3), lower, 0.0)
    upper = jnp.where(interior & (_GRID_INDEX <= count - 2), upper, 0.0)
    diagonal = jnp.where(interior, diagonal, 1.0)
    source = jnp.where(interior, source, 0.0)

    occupation = tridiagonal_solve(lower, diagonal, upper, source[:, None])[:, 0]
    return occupation.at[0].set(bottom * occupation[1])


def nthcomp_kernel(edges, constants, Gamma, kT_e, kT_bb, inp_type, Redshift):
    """Photons per bin, norm = photons/keV/cm^2/s at 1 keV (observed frame)."""
    x, flux = nthcomp_spectrum(Gamma, kT_e, kT_bb, inp_type)
    factor = 1.0 + Redshift

    def photon_density(energy):
        e_f_e = jnp.interp(energy * factor / _ELECTRON_KEV, x, flux, right=0.0)
        positive = energy > 0
        e_safe = jnp.where(positive, energy, 1.0)
        return jnp.where(positive, e_f_e / e_safe**2, 0.0)

    norm = 1.0 / jnp.interp(factor / _ELECTRON_KEV, x, flux)
    lo, hi = edges[:-1], edges[1:]
    return 0.5 * (photon_density(lo) + photon_density(hi)) * (hi - lo) * norm


# compTT: Titarchuk (1994), as XSPEC's xstitg.f implements it.
_TITARCHUK_PI = 3.1415927
# Sunyaev & Titarchuk (1985) beta(tau), interpolated in log10 beta (approx < 0).
_BETA_TAU = np.array(
    [0.1, 0.2, 0.3, 0.5, 0.7, 1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 7.0, 10.0]
)
_BETA_SPHERE = np.array(
    [2.97, 1.97, 1.60, 1.18, 0.925, 0.688, 0.462, 0.334, 0.252, 0.197, 0.130, 0.092,
     0.0522, 0.0278]
)  # fmt: skip
_BETA_DISK = np.array(
    [1.23, 0.84, 0.655, 0.45, 0.335, 0.234, 0.147, 0.101, 0.0735, 0.0559, 0.0355,
     0.0245, 0.013393, 0.00706]
)  # fmt: skip
# 10-point Gauss-Laguerre nodes and weights (xstitg.f's digits).
_LAGUERRE_NODES = np.array(
    [0.1377934705, 0.7294545495, 1.8083429017, 3.4014336978, 5.55249614,
     8.3301527467, 11.8437858379, 16.2792578313, 21.9965858119, 29.9206970122]
)  # fmt: skip
_LAGUERRE_WEIGHTS = np.array(
    [3.0844111576e-01, 4.0111992915e-01, 2.180682876e-01, 6.208745609e-02,
     9.501516975e-03, 7.530083885e-04, 2.825923349e-05, 4.249313984e-07,
     1.839564823e-09, 9.911827219e-13]
)  # fmt: skip
_ITERATIONS = 50


def _titarchuk_beta(taup, approx):
    """beta(tau) for the sphere (|approx| > 1) or the disc, and the escape factor."""
    sphere = jnp.abs(approx) > 1.0
    tau = jnp.maximum(taup, 1e-300)
    t23 = tau + 2.0 / 3.0
    pi2 = _TITARCHUK_PI**2
    thin_sphere = jnp.log(1.0 / (0.75 * tau))
    thin_disk = jnp.log(1.0 / (tau * jnp.log(1.53 / tau)))
    fit_sphere = pi2 * (1.0 - jnp.exp(-0.7 * tau)) / (3.0 * t23**2) + jnp.exp(
        -1.4 * tau
    ) * jnp.log(4.0 / (3.0 * tau))
    fit_disk = pi2 * (1.0 - jnp.exp(-1.35 * tau)) / (12.0 * t23**2) + 0.45 * jnp.exp(
        -3.7 * tau
    ) * jnp.log(10.0 / (3.0 * tau))
    table = 10.0 ** jnp.interp(
        tau,
        _BETA_TAU,
        jnp.where(sphere, np.log10(_BETA_SPHERE), np.log10(_BETA_DISK)),
    )

    fitted = jnp.where(sphere, fit_sphere, fit_disk)
    tabulated = jnp.where((tau >= 10.0) | (approx >= 0.0), fitted, table)
    return jnp.where(tau <= 0.1, jnp.where(sphere, thin_sphere, thin_disk), tabulated)


def _titarchuk_escape(taup, kT, approx):
    """XSPEC's rdel: the escape correction for the Wien hump's position."""
    sphere = jnp.abs(approx) > 1.0
    tau_e = taup / (1.0 + (kT / 39.2) ** 0.86)
    t_safe = jnp.maximum(tau_e, 0.01)
    sphere_value = 1.0 - 3.0 / t_safe * (
        1.0 - 2.0 / t_safe + 2.0 / t_safe**2 * (1.0 - jnp.exp(-t_safe))
    )
    disk_value = 1.0 - (1.0 - jnp.exp(-t_safe)) / t_safe
    return jnp.where(
        tau_e < 0.01, 0.5 * tau_e, jnp.where(sphere, sphere_value, disk_value)
    )


def _titarchuk_index(beta, t5):
    """The spectral index alpha: the fixed point of alpha = beta / ln(bola(alpha))."""

    def step(_, carry):
        previous, done = carry
        d0 = _compd0(previous) ** (1.0 / previous)
        bola = 1.0 + (previous + 3.0) * t5 / (1.0 + t5) + 4.0 * d0 * t5 * t5
        new = beta / jnp.log(bola)
        converged = jnp.abs(new - previous) <= 1e-4
        return jnp.where(done, previous, new), done | converged

    start = jnp.minimum(jnp.sqrt(2.25 + beta / t5) - 1.5, 10.0)
    alpha, _ = jax.lax.fori_loop(0, _ITERATIONS, step, (start, jnp.asarray(False)))
    return jnp.minimum(alpha, 10.0)


def _compd0(a):
    """3 (a(a + 3) + 4) Gamma(2a + 2) / ((a + 3)(a + 2)^2), clipped as XSPEC does."""
    log_gamma = gammaln(2.0 * a + 2.0)
    value = (
        3.0
        * (a * (a + 3.0) + 4.0)
        * jnp.exp(jnp.clip(log_gamma, -70.0, 70.0))
        / ((a + 3.0) * (a + 2.0) ** 2)
    )
    return jnp.where(log_gamma < -70.0, 0.0, jnp.where(log_gamma > 70.0, 1e34, value))


def comptt_density(energy, T0, kT, taup, approx):
    """compTT photons/keV at source-frame energies for norm 1 (Titarchuk 1994)."""
    t5 = kT / _ELECTRON_KEV
    scale = kT / T0
    beta = _titarchuk_beta(taup, approx)
    alpha = _titarchuk_index(beta, t5)
    shift = _titarchuk_escape(taup, kT, approx) ** (1.0 / (3.0 + alpha))
    al3x0 = alpha * (alpha + 3.0) / (2.0 * (2.0 * alpha + 3.0))

    positive = energy > 0
    e_safe = jnp.where(positive, energy, T0)
    x = e_safe / kT
    seed_x = e_safe / T0

    log_fx = (-alpha - 1.0) * jnp.log(seed_x) - x + jnp.log(2.0 * alpha + 3.0)
    kept = jnp.abs(log_fx / jnp.log(10.0)) < 27.0
    fx = jnp.where(kept, jnp.exp(jnp.where(kept, log_fx, 0.0)), 0.0)
    lower = lower_gamma(3.0 + alpha, seed_x)
    comptonised = _laguerre_integral(x * shift, alpha) * fx * lower

    log_wien = 2.0 * jnp.log(seed_x) - seed_x
    wien = jnp.where(log_wien > -700.0, jnp.exp(jnp.maximum(log_wien, -700.0)), 0.0)
    wien = wien / (alpha + 3.0)
    return jnp.where(positive, al3x0 * (comptonised + wien) * scale, 0.0)


_SERIES_TERMS = 45  # gamma(a, x) series below x = a + 1: ~1e-14 for a in [3, 13]
_FRACTION_DEPTH = 20  # continued fraction above x = a + 1: ~1e-14


def lower_gamma(a, x):
    """The lower incomplete gamma function gamma(a, x) for a >= 3, x > 0.

    The series e^-x x^a sum_n x^n / (a (a+1) ... (a+n)) below x = a + 1, and
    Gamma(a) less the continued fraction of Gamma(a, x) above.
    """
    below = x < a + 1.0
    xs = jnp.where(below, x, a + 1.0)

    def add_term(n, carry):
        term, total = carry
        term = term * xs / (a + n)
        return term, total + term

    first = jnp.full_like(xs, 1.0) / a
    _, total = lax.fori_loop(1, _SERIES_TERMS, add_term, (first, first))
    series = jnp.exp(a * jnp.log(xs) - xs) * total

    xl = jnp.where(below, a + 1.0, x)

    def deepen(i, tail):
        n = _FRACTION_DEPTH - i
        return n * (n - a) / (xl + (2 * n + 1) - a - tail)

    tail = lax.fori_loop(0, _FRACTION_DEPTH, deepen, jnp.zeros_like(xl))
    log_front = a * jnp.log(xl) - xl
    upper = jnp.exp(jnp.maximum(log_front, -700.0)) / (xl + 1.0 - a - tail)
    upper = jnp.where(log_front > -700.0, upper, 0.0)
    return jnp.where(below, series, jnp.exp(gammaln(a)) - upper)


def _laguerre_integral(xr, alpha):
    """XSPEC's YYIT2: a 10-point Gauss-Laguerre integral over the electron cloud."""
    shifted = xr[..., None] + _LAGUERRE_NODES
    log_terms = (
        (alpha + 2.0) * jnp.log(shifted)
        + alpha * np.log(_LAGUERRE_NODES)
        - gammaln(4.0 + 2.0 * alpha)
    )
    terms = _LAGUERRE_WEIGHTS * jnp.exp(log_terms) * (shifted - (alpha + 3.0)) / alpha
    return jnp.sum(terms, axis=-1)


def comptt_kernel(edges, constants, Redshift, T0, kT, taup, approx):
    """compTT photons per bin: XSPEC's trapezoid of the density at E (1 + z)."""
    factor = 1.0 + Redshift
    lo, hi = edges[:-1], edges[1:]
    ends = comptt_density(jnp.stack([lo, hi]) * factor, T0, kT, taup, approx)
    return 0.5 * (ends[0] + ends[1]) * (hi - lo)


_HEASOFT = "XSPEC 12.9.1 (HEASoft 6.20) model.dat and Xspec/src/XSFunctions"

nthcomp = register(
    ComponentSpec(
        "nthComp",
        ADDITIVE,
        (
            ParameterSpec("Gamma", 1.7, "", 0.01, 1.001, 1.001, 5.0, 10.0),
            ParameterSpec("kT_e", 100.0, "keV", 0.1, 1.0, 5.0, 1000.0, 1000.0),
            ParameterSpec("kT_bb", 0.1, "keV", 1.0, 1e-3, 1e-3, 10.0, 10.0, True),
            ParameterSpec("inp_type", 0.0, "0/1", 1.0, 0.0, 0.0, 1.0, 1.0, True),
            redshift_parameter(),
        ),
        nthcomp_kernel,
        description="Thermally Comptonised continuum (black-body or diskbb seed); "
        "norm = photons/keV/cm^2/s at 1 keV",
        reference="Zdziarski, Johnson & Magdziarz 1996, MNRAS 283, 193; Zycki, Done "
        f"& Smith 1999, MNRAS 309, 561; {_HEASOFT}/donthcomp.f",
    )
)

comptt = register(
    ComponentSpec(
        "compTT",
        ADDITIVE,
        (
            redshift_parameter(),
            ParameterSpec("T0", 0.1, "keV", 0.01, 1e-3, 0.01, 100.0, 100.0),
            ParameterSpec("kT", 50.0, "keV", 0.1, 2.0, 2.0, 500.0, 500.0),
            ParameterSpec("taup", 1.0, "", 0.1, 0.01, 0.01, 100.0, 200.0),
            ParameterSpec("approx", 1.0, "", 0.1, 0.0, 0.0, 5.0, 200.0, True),
        ),
        comptt_kernel,
        description="Titarchuk (1994) Comptonisation of Wien photons; approx <= 1 "
        "disc, > 1 sphere, < 0 tabulated beta(tau)",
        reference="Titarchuk 1994, ApJ 434, 570; Hua & Titarchuk 1995, ApJ 449, 188; "
        f"{_HEASOFT}/xstitg.f",
    )
)
