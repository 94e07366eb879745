"""Multiplicative components other than absorbers: cut-offs, edges, line absorption.

Each kernel follows the per-bin rule of the XSPEC 12.9.1 routine named in its
``reference``: the mean of the factor at the two bin edges (highecut, expabs, edge,
smedge, spexpcut), the exact average over the bin (expfac, spline, notch) or a
quadrature of the transmission (gabs).
"""

from __future__ import annotations

import math

import jax.numpy as jnp
import numpy as np

import specdsl._jax  # noqa: F401  (float64 before any array)
from specdsl.library._math import exprel
from specdsl.library.absorption import xspec_parameter as _xp
from specdsl.library.registry import MULTIPLICATIVE, ComponentSpec, register


def _register(name, parameters, kernel, description, reference):
    return register(
        ComponentSpec(
            name,
            MULTIPLICATIVE,
            tuple(parameters),
            kernel,
            description=description,
            reference=reference,
        )
    )


def _edge_mean(values):
    """XSPEC's most common bin rule: the mean of the factor at the two bin edges."""
    return 0.5 * (values[:-1] + values[1:])


def _redshift():
    return _xp("Redshift", "", 0.0, -0.01, -0.999, -0.999, 10.0, 10.0)


# ---------------------------------------------------------------------------
# Exponential cut-offs


def _high_cut(energy, cutoffE, foldE):
    """exp(-max(E - Ec, 0.001) / Ef): XSPEC's 1 eV floor, so not exactly 1 below Ec."""
    return jnp.exp(-jnp.maximum(energy - cutoffE, 0.001) / foldE)


def highecut_kernel(edges, constants, cutoffE, foldE):
    """High-energy exponential roll-off above cutoffE (xshecu)."""
    return _edge_mean(_high_cut(edges, cutoffE, foldE))


def zhighect_kernel(edges, constants, cutoffE, foldE, Redshift):
    """highecut at the rest-frame energies E (1 + z) (xszhcu)."""
    return _edge_mean(_high_cut(edges * (1.0 + Redshift), cutoffE, foldE))


def expabs_kernel(edges, constants, LowECut):
    """Low-energy exponential roll-off exp(-LowECut / E) (xsabsc)."""
    positive = edges > 0.0
    energy = jnp.where(positive, edges, 1.0)
    at_zero = jnp.where(LowECut > 0.0, 0.0, 1.0)
    return _edge_mean(jnp.where(positive, jnp.exp(-LowECut / energy), at_zero))


def expfac_kernel(edges, constants, Ampl, Factor, StartE):
    """1 + Ampl exp(-Factor E) above StartE, averaged exactly over each bin (xsexp).

    As in XSPEC, a bin whose lower edge equals StartE is left at 1.
    """
    lo, hi = edges[:-1], edges[1:]
    width = hi - lo
    safe_width = jnp.where(width > 0.0, width, 1.0)

    above = lo > StartE
    tail = Ampl * jnp.exp(-Factor * lo) * exprel(-Factor * width)
    part = jnp.where(hi > StartE, hi - StartE, 0.0)
    straddle = Ampl * part * jnp.exp(-Factor * StartE) * exprel(-Factor * part)
    straddles = (lo < StartE) & (hi >= StartE)

    factor = jnp.where(
        above, 1.0 + tail, jnp.where(straddles, 1.0 + straddle / safe_width, 1.0)
    )
    return jnp.where(width > 0.0, factor, 1.0)


def spexpcut_kernel(edges, constants, Ecut, alpha):
    """Super-exponential cut-off exp(-(E / Ecut)^alpha) (superExpCutoff)."""
    positive = edges > 0.0
    ratio = jnp.where(positive, edges, 1.0) / Ecut
    at_zero = jnp.where(alpha > 0.0, 0.0, jnp.where(alpha < 0.0, jnp.inf, 1.0))
    power = jnp.where(positive, ratio**alpha, at_zero)
    return _edge_mean(jnp.exp(-power))


# ---------------------------------------------------------------------------
# Absorption edges


def _edge_bins(x, value, value_at_threshold):
    """XSPEC's edge rule on x = E / E_edge: trapezoids above, 1 below, and the bin
    holding the threshold averaged as 1 below it plus a trapezoid from x = 1."""
    lo, hi = x[:-1], x[1:]
    span = jnp.where(hi > lo, hi - lo, 1.0)
    above = _edge_mean(value)
    across = ((1.0 - lo) + 0.5 * (value_at_threshold + value[1:]) * (hi - 1.0)) / span
    return jnp.where(lo >= 1.0, above, jnp.where(hi >= 1.0, across, 1.0))


def _edge_factor(energies, edgeE, MaxTau):
    """edge's factor per bin; edgeE <= 0 means no edge at all."""
    present = edgeE > 0.0
    x = energies / jnp.where(present, edgeE, 1.0)
    x_safe = jnp.where(x >= 1.0, x, 1.0)
    value = jnp.where(x >= 1.0, jnp.exp(-MaxTau / x_safe**3), 1.0)
    bins = _edge_bins(x, value, jnp.exp(-MaxTau))
    return jnp.where(present, bins, 1.0)


def edge_kernel(edges, constants, edgeE, MaxTau):
    """exp(-MaxTau (E / edgeE)^-3) above the threshold, 1 below (xsedge)."""
    return _edge_factor(edges, edgeE, MaxTau)


def zedge_kernel(edges, constants, edgeE, MaxTau, Redshift):
    """edge at the rest-frame energies E (1 + z) (xszedg)."""
    return _edge_factor(edges * (1.0 + Redshift), edgeE, MaxTau)


def smedge_kernel(edges, constants, edgeE, MaxTau, index, width):
    """Smeared edge exp(-MaxTau x^index (1 - exp((edgeE - E) / width))) (xssmdg).

    The factor is 1 at the threshold itself, which the bin holding it uses.
    """
    present = edgeE > 0.0
    x = edges / jnp.where(present, edgeE, 1.0)
    x_safe = jnp.where(x >= 1.0, x, 1.0)
    smear = -jnp.expm1((edgeE - edges) / width)
    value = jnp.where(x >= 1.0, jnp.exp(-MaxTau * x_safe**index * smear), 1.0)
    return jnp.where(present, _edge_bins(x, value, 1.0), 1.0)


# ---------------------------------------------------------------------------
# Line absorption


def notch_kernel(edges, constants, LineE, Width, CvrFract):
    """A saturated line: 1 - CvrFract over LineE +- Width / 2, by overlap (xsntch)."""
    half = 0.5 * jnp.maximum(Width, 0.0)
    lo, hi = edges[:-1], edges[1:]
    overlap = jnp.clip(
        jnp.minimum(hi, LineE + half) - jnp.maximum(lo, LineE - half), 0.0
    )
    width = jnp.where(hi > lo, hi - lo, 1.0)
    return 1.0 - CvrFract * overlap / width


_GL_NODES, _GL_WEIGHTS = np.polynomial.legendre.leggauss(8)
_GABS_PANELS = 64  # panels over the line's window for the cumulative integral
_GABS_WINDOW = 6.0  # XSPEC: bins beyond LineE +- 6 Sigma are exactly 1
_GABS_NEGLIGIBLE = 1e-9  # the integration window ends where tau < 1e-9


def _gauss_legendre(function, start, stop):
    """8-point Gauss-Legendre integral of ``function`` over [start, stop] (arrays)."""
    middle, half = 0.5 * (start + stop), 0.5 * (stop - start)
    nodes = middle[..., None] + half[..., None] * _GL_NODES
    return half * (function(nodes) * _GL_WEIGHTS).sum(axis=-1)


def gabs_kernel(edges, constants, LineE, Sigma, Strength):
    """Gaussian absorption line exp(-tau(E)), tau = Strength / (Sigma sqrt(2 pi)) at
    the centre, averaged over each bin (C_gaussianAbsorptionLine).

    Works in u = (E - LineE) / Sigma. Bins narrower than one panel: the
    transmission integrated directly (8 Gauss-Legendre nodes), to ~1e-8 relative;
    wider ones: differences of the absorbed area accumulated over 64 panels that
    span the line out to tau = 1e-9, to ~1e-8 of the bin mean (absolute) for
    central depths up to ~1e6. XSPEC integrates adaptively to 1e-6 relative.
    """
    sigma = jnp.where(Sigma > 0.0, Sigma, 1.0)
    depth = Strength / (sigma * math.sqrt(2.0 * math.pi))
    reach = jnp.sqrt(2.0 * jnp.log(jnp.maximum(depth, 1.0) / _GABS_NEGLIGIBLE))

    def absorbed(u):
        return -jnp.expm1(-depth * jnp.exp(-0.5 * u * u))

    def transmitted(u):
        return jnp.exp(-depth * jnp.exp(-0.5 * u * u))

    u = (edges - LineE) / sigma
    lo, hi = u[:-1], u[1:]
    span = hi - lo
    panel = 2.0 * reach / _GABS_PANELS

    direct = _gauss_legendre(transmitted, lo, hi) / jnp.where(span > 0, span, 1.0)
    area = _absorbed_area(absorbed, u, reach, panel)
    wide_span = jnp.where(span > panel, span, 1.0)
    cumulative = 1.0 - (area[1:] - area[:-1]) / wide_span
    mean = jnp.clip(jnp.where(span > panel, cumulative, direct), 0.0, 1.0)

    near = (hi >= -_GABS_WINDOW) & (lo <= _GABS_WINDOW) & (span > 0)
    return jnp.where(near & (Sigma > 0.0), mean, 1.0)


def _absorbed_area(absorbed, u, reach, panel):
    """Integral of the absorbed fraction from -reach to each u (clipped to +-reach)."""
    starts = -reach + panel * jnp.arange(_GABS_PANELS)
    panels = _gauss_legendre(absorbed, starts, starts + panel)
    before = jnp.concatenate([jnp.zeros(1), jnp.cumsum(panels)[:-1]])

    clipped = jnp.clip(u, -reach, reach)
    index = jnp.clip(jnp.floor((clipped + reach) / panel), 0, _GABS_PANELS - 1)
    index = index.astype(int)
    start = starts[index]
    return before[index] + _gauss_legendre(absorbed, start, clipped)


# ---------------------------------------------------------------------------
# A cubic spline factor


def _hermite_integral(t, h, Ystart, Yend, YPstart, YPend):
    """Integral from Estart (t = 0) to t = (E - Estart) / h of the cubic with the
    given values and slopes at t = 0 and t = 1 (h = Eend - Estart)."""
    basis_start = t - t**3 + 0.5 * t**4
    basis_slope_start = 0.5 * t**2 - (2.0 / 3.0) * t**3 + 0.25 * t**4
    basis_end = t**3 - 0.5 * t**4
    basis_slope_end = -(t**3) / 3.0 + 0.25 * t**4
    return h * (
        Ystart * basis_start
        + h * YPstart * basis_slope_start
        + Yend * basis_end
        + h * YPend * basis_slope_end
    )


def spline_kernel(edges, constants, Estart, Ystart, Yend, YPstart, YPend, Eend):
    """A cubic from (Estart, Ystart, slope YPstart) to (Eend, Yend, slope YPend), 1
    outside, averaged exactly over each bin with XSPEC's bin cases (xsspln).

    XSPEC's cases leave a bin at 1 when its lower edge is exactly Estart or its
    upper edge exactly Eend (and it does not reach past the other end); so does this.
    """
    p, q = Estart, Eend
    valid = q > p
    span = jnp.where(valid, q - p, 1.0)

    def integral(energy):
        t = (energy - p) / span
        return _hermite_integral(t, span, Ystart, Yend, YPstart, YPend)

    lo, hi = edges[:-1], edges[1:]
    width = jnp.where(hi > lo, hi - lo, 1.0)
    starts = ((p - lo) + integral(hi)) / width
    inside = (integral(hi) - integral(lo)) / width
    ends = ((hi - q) + integral(q) - integral(lo)) / width
    value = jnp.where(
        (lo < p) & (hi >= p),
        starts,
        jnp.where(
            (lo > p) & (hi < q), inside, jnp.where((hi > q) & (lo <= q), ends, 1.0)
        ),
    )
    return jnp.where(valid & (hi > lo), value, 1.0)


# ---------------------------------------------------------------------------
# Registration (parameters as in XSPEC 12.9.1's model.dat)

highecut = _register(
    "highecut",
    [
        _xp("cutoffE", "keV", 10.0, 0.01, 0.0001, 0.01, 1e6, 1e6),
        _xp("foldE", "keV", 15.0, 0.01, 0.0001, 0.01, 1e6, 1e6),
    ],
    highecut_kernel,
    "High-energy exponential cut-off exp((cutoffE - E) / foldE) above cutoffE",
    "XSPEC xshecu (mean of the edge values)",
)
zhighect = _register(
    "zhighect",
    [
        _xp("cutoffE", "keV", 10.0, 0.01, 0.0001, 0.01, 100.0, 200.0),
        _xp("foldE", "keV", 15.0, 0.01, 0.0001, 0.01, 100.0, 200.0),
        _redshift(),
    ],
    zhighect_kernel,
    "Redshifted high-energy cut-off",
    "XSPEC xszhcu (mean of the edge values)",
)
expabs = _register(
    "expabs",
    [_xp("LowECut", "keV", 2.0, 0.01, 0.0, 0.0, 100.0, 200.0)],
    expabs_kernel,
    "Low-energy exponential roll-off exp(-LowECut / E)",
    "XSPEC xsabsc (mean of the edge values)",
)
expfac = _register(
    "expfac",
    [
        _xp("Ampl", "", 1.0, 0.01, 0.0, 0.0, 1e5, 1e6),
        _xp("Factor", "", 1.0, 0.01, 0.0, 0.0, 1e5, 1e6),
        _xp("StartE", "keV", 0.5, -0.01, 0.0, 0.0, 1e5, 1e6),
    ],
    expfac_kernel,
    "Exponential modification 1 + Ampl exp(-Factor E) above StartE",
    "XSPEC xsexp (exact bin average)",
)
edge = _register(
    "edge",
    [
        _xp("edgeE", "keV", 7.0, 0.05, 0.0, 0.0, 100.0, 100.0),
        _xp("MaxTau", "", 1.0, 0.01, 0.0, 0.0, 5.0, 10.0),
    ],
    edge_kernel,
    "Absorption edge exp(-MaxTau (E / edgeE)^-3) above edgeE",
    "XSPEC xsedge",
)
zedge = _register(
    "zedge",
    [
        _xp("edgeE", "keV", 7.0, 0.05, 0.0, 0.0, 100.0, 100.0),
        _xp("MaxTau", "", 1.0, 0.01, 0.0, 0.0, 5.0, 10.0),
        _redshift(),
    ],
    zedge_kernel,
    "Redshifted absorption edge",
    "XSPEC xszedg",
)
smedge = _register(
    "smedge",
    [
        _xp("edgeE", "keV", 7.0, 0.05, 0.1, 0.1, 100.0, 100.0),
        _xp("MaxTau", "", 1.0, 0.01, 0.0, 0.0, 5.0, 10.0),
        _xp("index", "", -2.67, -0.01, -10.0, -10.0, 10.0, 10.0),
        _xp("width", "", 10.0, 0.01, 0.01, 0.01, 100.0, 100.0),
    ],
    smedge_kernel,
    "Smeared absorption edge (Ebisawa 1991)",
    "XSPEC xssmdg; Ebisawa 1991, PhD thesis, appendix C",
)
notch = _register(
    "notch",
    [
        _xp("LineE", "keV", 3.5, 0.05, 0.0, 0.0, 20.0, 20.0),
        _xp("Width", "keV", 1.0, 0.02, 0.0, 0.0, 20.0, 20.0),
        _xp("CvrFract", "", 1.0, -0.005, 0.0, 0.0, 1.0, 1.0),
    ],
    notch_kernel,
    "Notch (saturated) absorption line of full width Width",
    "XSPEC xsntch (exact bin overlap)",
)
gabs = _register(
    "gabs",
    [
        _xp("LineE", "keV", 1.0, 0.05, 0.0, 0.0, 1e6, 1e6),
        _xp("Sigma", "keV", 0.01, 0.05, 0.0, 0.0, 10.0, 20.0),
        _xp("Strength", "", 1.0, 0.05, 0.0, 0.0, 1e6, 1e6),
    ],
    gabs_kernel,
    "Gaussian absorption line, central optical depth Strength / (Sigma sqrt(2 pi))",
    "XSPEC C_gaussianAbsorptionLine (bin average of exp(-tau))",
)
spexpcut = _register(
    "spexpcut",
    [
        _xp("Ecut", "keV", 10.0, 0.1, 0.0, 0.0, 1e6, 1e6),
        _xp("alpha", "", 1.0, 0.01, -5.0, -5.0, 5.0, 5.0),
    ],
    spexpcut_kernel,
    "Super-exponential cut-off exp(-(E / Ecut)^alpha)",
    "XSPEC superExpCutoff (model.dat 12.9.1; mean of the edge values)",
)
spline = _register(
    "spline",
    [
        _xp("Estart", "keV", 0.1, 0.05, 0.0, 0.0, 100.0, 100.0),
        _xp("Ystart", "", 1.0, 0.05, -1e6, -1e6, 1e6, 1e6),
        _xp("Yend", "", 1.0, 0.05, -1e6, -1e6, 1e6, 1e6),
        _xp("YPstart", "", 0.0, 0.05, -1e6, -1e6, 1e6, 1e6),
        _xp("YPend", "", 0.0, 0.05, -1e6, -1e6, 1e6, 1e6),
        _xp("Eend", "keV", 15.0, 0.05, 0.0, 0.0, 100.0, 100.0),
    ],
    spline_kernel,
    "Cubic spline factor between Estart and Eend, 1 outside",
    "XSPEC xsspln (exact bin average)",
)
