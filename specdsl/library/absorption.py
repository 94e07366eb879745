"""Multiplicative components: constants and photoelectric absorbers.

Every absorber follows the XSPEC 12.9.1 routine named in its ``reference``: the
same cross sections, abundance rules and per-bin rule (mean of the cross section
at the two bin edges for the Verner-based models; trapezoids of the transmission
with the Morrison & McCammon edges as extra nodes for wabs). Abundance-dependent
absorbers read the table in force (``specdsl.library.settings``) when a model is
bound to a grid.

Redshifted absorbers evaluate cross sections at E (1 + z). Because z is a
parameter, they interpolate a fine point table (``photoabsorption`` documents its
accuracy, < 1e-6 above 0.1 keV) at the rest-frame edges, except at z = 0, where
the exact bin values are used (with the table's gradient with respect to z).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

import specdsl._jax  # noqa: F401  (float64 before any array)
from specdsl.library import photoabsorption as pa
from specdsl.library.registry import (
    MULTIPLICATIVE,
    ComponentSpec,
    ParameterSpec,
    register,
)


def xspec_parameter(
    name, unit, default, delta, hard_min, soft_min, soft_max, hard_max
) -> ParameterSpec:
    """A parameter from a model.dat line (same column order); a negative delta
    means frozen by default, as in model.dat."""
    return ParameterSpec(
        name,
        float(default),
        unit,
        abs(float(delta)),
        float(hard_min),
        float(soft_min),
        float(soft_max),
        float(hard_max),
        frozen=delta < 0,
    )


def _nh(name="nH"):
    return xspec_parameter(name, "10^22", 1.0, 0.001, 0.0, 0.0, 1e5, 1e6)


def _redshift(name="Redshift"):
    return xspec_parameter(name, "", 0.0, -0.01, -0.999, -0.999, 10.0, 10.0)


def _tb_redshift():
    """The redshift of TBpcf, TBgas and TBfeo (model.dat limits -1 / 0 / 10 / 10)."""
    return xspec_parameter("redshift", "", 0.0, -0.01, -1.0, 0.0, 10.0, 10.0)


def _register(name, parameters, kernel, prepare=None, description="", reference=""):
    return register(
        ComponentSpec(
            name,
            MULTIPLICATIVE,
            tuple(parameters),
            kernel,
            prepare=prepare,
            description=description,
            reference=reference,
        )
    )


VERNER = "Verner et al. 1996, ApJ 465, 487"
WILMS = "Wilms, Allen & McCray 2000, ApJ 542, 914"
METALS = pa.PHABS_ELEMENTS[1:]  # He ... Ni, the vphabs / TBvarabs order

# ---------------------------------------------------------------------------
# constant


def constant_kernel(edges, constants, factor):
    """An energy-independent factor."""
    return jnp.full(edges.shape[0] - 1, 1.0) * factor


constant = _register(
    "constant",
    [xspec_parameter("factor", "", 1.0, 0.01, 0.0, 0.0, 1e10, 1e10)],
    constant_kernel,
    description="Energy-independent factor",
    reference="XSPEC manual, constant (xscnst)",
)

# ---------------------------------------------------------------------------
# Redshift: interpolating point tables at the rest-frame edges


def _interpolate_rows(x, nodes, table):
    """Linear interpolation of every row of ``table`` (S, N) at ``x``; flat beyond."""
    last = nodes.shape[0] - 2
    index = jnp.clip(jnp.searchsorted(nodes, x, side="right") - 1, 0, last)
    left, right = nodes[index], nodes[index + 1]
    weight = jnp.clip((x - left) / (right - left), 0.0, 1.0)
    return table[:, index] * (1.0 - weight) + table[:, index + 1] * weight


def _shifted_bin_means(edges, constants, redshift):
    """Rows of the point table averaged over each bin's rest-frame edges E (1 + z).

    At z = 0 the value is exactly ``constants["bins"]`` (computed from the formulas,
    not the table), while the gradient with respect to z still comes from the table.
    """
    rest = edges * (1.0 + redshift)
    points = _interpolate_rows(rest, constants["energies"], constants["table"])
    means = 0.5 * (points[:, :-1] + points[:, 1:])
    correction = jax.lax.stop_gradient(constants["bins"] - means)
    return means + jnp.where(redshift == 0.0, correction, 0.0)


def _shifted_constants(table, bins):
    """What a redshifted absorber's kernel needs: point table, exact z = 0 bins."""
    return {"energies": pa.absorption_table_energies(), "table": table, "bins": bins}


# ---------------------------------------------------------------------------
# phabs family (XSPEC xszvab): Verner cross sections, abundances of ``abund``


def phabs_prepare(edges):
    """phabs's cross section per H atom in each bin [1e-22 cm^2]; 0 if unabsorbed."""
    return pa.verner_bin_cross_sections(edges).sum(axis=0)


def phabs_kernel(edges, sigma, nH):
    """Transmission exp(-nH sigma) with the bin-averaged cross section."""
    return jnp.exp(-nH * sigma)


def vphabs_prepare(edges):
    """A_Z sigma_Z per element and bin (18, n) [1e-22 cm^2]."""
    return pa.verner_bin_cross_sections(edges)


def _element_weights(first, params):
    """(18,) multipliers: ``first`` for H, then the He ... Ni parameters."""
    return jnp.stack([jnp.asarray(first, dtype=float)] + [params[e] for e in METALS])


def vphabs_kernel(edges, rows, nH, **abundances):
    """phabs with each metal's abundance scaled by its parameter."""
    sigma = _element_weights(1.0, abundances) @ rows
    return jnp.exp(-nH * sigma)


def zphabs_prepare(edges):
    """The summed phabs point table and the exact bins at z = 0."""
    table = pa.verner_point_table().sum(axis=0, keepdims=True)
    bins = pa.verner_bin_cross_sections(edges).sum(axis=0, keepdims=True)
    return _shifted_constants(table, bins)


def zvphabs_prepare(edges):
    """Per-element phabs point tables and the exact bins at z = 0."""
    table = pa.verner_point_table()
    return _shifted_constants(table, pa.verner_bin_cross_sections(edges))


def _shifted_phabs_sigma(edges, constants, weights, redshift):
    """Sum of weighted rows at E (1 + z), 0 where phabs leaves the bin unabsorbed."""
    sigma = weights @ _shifted_bin_means(edges, constants, redshift)
    absorbs = pa.phabs_absorbs(edges[:-1] * (1.0 + redshift))
    return jnp.where(absorbs, sigma, 0.0)


def zphabs_kernel(edges, constants, nH, Redshift):
    """phabs at the rest-frame energies E (1 + z)."""
    sigma = _shifted_phabs_sigma(edges, constants, jnp.ones(1), Redshift)
    return jnp.exp(-nH * sigma)


def zvphabs_kernel(edges, constants, nH, Redshift, **abundances):
    """vphabs at the rest-frame energies E (1 + z)."""
    weights = _element_weights(1.0, abundances)
    return jnp.exp(-nH * _shifted_phabs_sigma(edges, constants, weights, Redshift))


def varabs_kernel(edges, rows, **columns):
    """Each element's column in units of its solar column at nH = 1e22 (xsabsv)."""
    sigma = _element_weights(columns["H"], columns) @ rows
    return jnp.exp(-sigma)


def zvarabs_kernel(edges, constants, Redshift, **columns):
    """varabs at the rest-frame energies E (1 + z) (xszvab)."""
    weights = _element_weights(columns["H"], columns)
    return jnp.exp(-_shifted_phabs_sigma(edges, constants, weights, Redshift))


def pcfabs_kernel(edges, sigma, nH, CvrFract):
    """Partial covering: 1 - f + f exp(-nH sigma) (xsabsp)."""
    return 1.0 - CvrFract + CvrFract * jnp.exp(-nH * sigma)


def zpcfabs_kernel(edges, constants, nH, CvrFract, Redshift):
    """Partial covering by phabs at the rest-frame energies (xszabp)."""
    transmission = zphabs_kernel(edges, constants, nH, Redshift)
    return 1.0 - CvrFract + CvrFract * transmission


def _window(edges, transmission, window):
    """No absorption below WindowE; the bin holding it is averaged piecewise."""
    lo, hi = edges[:-1], edges[1:]
    width = jnp.where(hi > lo, hi - lo, 1.0)
    straddles = (hi > window) & (lo < window)
    mixed = ((window - lo) + (hi - window) * transmission) / width
    return jnp.where(hi <= window, 1.0, jnp.where(straddles, mixed, transmission))


def wndabs_kernel(edges, sigma, nH, WindowE):
    """phabs with no absorption below WindowE (xswnab)."""
    return _window(edges, jnp.exp(-nH * sigma), WindowE)


def zwndabs_kernel(edges, constants, nH, WindowE, Redshift):
    """wndabs in the absorber's frame: the window edge is a rest-frame energy."""
    transmission = zphabs_kernel(edges, constants, nH, Redshift)
    return _window(edges * (1.0 + Redshift), transmission, WindowE)


_PHABS_NOTE = "Verner cross sections averaged over the bin edges, abund table"
_metal_abundances = [
    xspec_parameter(el, "", 1.0, -0.01, 0.0, 0.0, 1000.0, 1000.0) for el in METALS
]
_element_columns = [
    xspec_parameter(el, f"s{el}22", 1.0, -0.01, 0.0, 0.0, 1000.0, 10000.0)
    for el in pa.PHABS_ELEMENTS
]

phabs = _register(
    "phabs",
    [_nh()],
    phabs_kernel,
    phabs_prepare,
    description=f"Photoelectric absorption ({_PHABS_NOTE})",
    reference=f"XSPEC xsphab/xszvab; {VERNER}",
)
zphabs = _register(
    "zphabs",
    [_nh(), _redshift()],
    zphabs_kernel,
    zphabs_prepare,
    description="Redshifted photoelectric absorption",
    reference=f"XSPEC xszphb/xszvab; {VERNER}",
)
vphabs = _register(
    "vphabs",
    [_nh(), *_metal_abundances],
    vphabs_kernel,
    vphabs_prepare,
    description="Photoelectric absorption with variable abundances",
    reference=f"XSPEC xsvphb/xszvab; {VERNER}",
)
zvphabs = _register(
    "zvphabs",
    [_nh(), *_metal_abundances, _redshift()],
    zvphabs_kernel,
    zvphabs_prepare,
    description="Redshifted photoelectric absorption with variable abundances",
    reference=f"XSPEC xszvph/xszvab; {VERNER}",
)
varabs = _register(
    "varabs",
    _element_columns,
    varabs_kernel,
    vphabs_prepare,
    description="Photoelectric absorption by each element's column (solar units)",
    reference=f"XSPEC xsabsv/xszvab; {VERNER}",
)
zvarabs = _register(
    "zvarabs",
    [*_element_columns, _redshift()],
    zvarabs_kernel,
    zvphabs_prepare,
    description="Redshifted varabs",
    reference=f"XSPEC xszvab (model.dat 12.9.1); {VERNER}",
)
pcfabs = _register(
    "pcfabs",
    [_nh(), xspec_parameter("CvrFract", "", 0.5, 0.01, 0.0, 0.05, 0.95, 1.0)],
    pcfabs_kernel,
    phabs_prepare,
    description="Partial covering photoelectric absorption (phabs)",
    reference=f"XSPEC xsabsp; {VERNER}",
)
zpcfabs = _register(
    "zpcfabs",
    [
        _nh(),
        xspec_parameter("CvrFract", "", 0.5, 0.01, 0.0, 0.05, 0.95, 1.0),
        _redshift(),
    ],
    zpcfabs_kernel,
    zphabs_prepare,
    description="Redshifted partial covering photoelectric absorption",
    reference=f"XSPEC xszabp; {VERNER}",
)
_window_parameters = [
    xspec_parameter("nH", "10^22", 1.0, 0.05, 0.0, 0.0, 10.0, 20.0),
    xspec_parameter("WindowE", "keV", 1.0, 0.05, 0.03, 0.05, 20.0, 20.0),
]
wndabs = _register(
    "wndabs",
    _window_parameters,
    wndabs_kernel,
    phabs_prepare,
    description="phabs with no absorption below a window energy",
    reference=f"XSPEC xswnab; {VERNER}",
)
zwndabs = _register(
    "zwndabs",
    [*_window_parameters, _redshift()],
    zwndabs_kernel,
    zphabs_prepare,
    description="Redshifted wndabs",
    reference=f"XSPEC xszwnb; {VERNER}",
)

# ---------------------------------------------------------------------------
# wabs (Morrison & McCammon 1983): a piecewise fit with fixed abundances

# Row k applies from _MM_LOWER[k] to _MM_UPPER[k]: sigma = (c0 + c1 E + c2 E^2) / E^3
# in 1e-22 cm^2 per H (M&M's coefficients / 100); XSPEC continues rows 1 and 15 as
# pure E^-3 below 0.03 keV and above 10 keV.
_MM_UPPER = (0.03, 0.1, 0.284, 0.4, 0.532, 0.707, 0.867, 1.303, 1.84, 2.471, 3.21,
             4.038, 7.111, 8.331, 10.0, 1e10)  # fmt: skip
_MM_LOWER = (0.0, *_MM_UPPER[:-1])
_MM_C0 = (0.336, 0.173, 0.346, 0.781, 0.714, 0.955, 3.089, 1.206, 1.413, 2.027, 3.427,
          3.522, 4.339, 6.29, 7.012, 9.532)  # fmt: skip
_MM_C1 = (0.0, 6.081, 2.679, 0.188, 0.668, 1.458, -3.806, 1.693, 1.468, 1.047, 0.187,
          0.187, -0.024, 0.309, 0.252, 0.0)  # fmt: skip
_MM_C2 = (0.0, -21.5, -4.761, 0.043, -0.514, -0.611, 2.94, -0.477, -0.315, -0.17, 0.0,
          0.0, 0.0075, 0.0, 0.0, 0.0)  # fmt: skip
_MM_OPAQUE = 50.0  # XSPEC sets the transmission to 0 beyond this optical depth


def _mm_transmission(energy, nH, used):
    """exp(-nH sigma) with each M&M row's coefficients (energy: (..., 16) keV).

    Rows not ``used`` (no part of the bin in their range) are set to 1 before the
    exponential, so no other row's polynomial is ever evaluated out of its range.
    """
    live = used & (energy >= pa.LYMAN_LIMIT_KEV)
    e = jnp.where(live, energy, 1.0)
    c0, c1, c2 = (np.array(c) for c in (_MM_C0, _MM_C1, _MM_C2))
    tau = jnp.where(live, nH * (c0 + e * (c1 + e * c2)) / e**3, 0.0)
    opaque = tau > _MM_OPAQUE
    return jnp.where(opaque, 0.0, jnp.exp(-jnp.where(opaque, 0.0, tau)))


def _wabs_bins(edges_rest, nH):
    """Mean transmission per bin by trapezoids with the M&M edges as extra nodes."""
    lo, hi = edges_rest[:-1, None], edges_rest[1:, None]
    start = jnp.clip(np.array(_MM_LOWER), lo, hi)
    stop = jnp.clip(np.array(_MM_UPPER), lo, hi)
    used = stop > start
    ends = _mm_transmission(start, nH, used) + _mm_transmission(stop, nH, used)
    pieces = jnp.where(used, (stop - start) * ends, 0.0)
    width = (hi - lo)[:, 0]
    mean = 0.5 * pieces.sum(axis=1) / jnp.where(width > 0, width, 1.0)
    return jnp.where(width > 0, mean, 1.0)


def wabs_kernel(edges, constants, nH):
    """Morrison & McCammon absorption, transmission averaged over each bin."""
    return _wabs_bins(edges, nH)


def zwabs_kernel(edges, constants, nH, Redshift):
    """wabs at the rest-frame energies E (1 + z) (xszabs; its Lyman cut at 0.0136
    keV and missing tau > 50 clamp differ from wabs's by < 1e-20, not kept)."""
    return _wabs_bins(edges * (1.0 + Redshift), nH)


wabs = _register(
    "wabs",
    [_nh()],
    wabs_kernel,
    description="Morrison & McCammon photoelectric absorption (own abundances)",
    reference="Morrison & McCammon 1983, ApJ 270, 119; XSPEC xsabsw",
)
zwabs = _register(
    "zwabs",
    [_nh(), _redshift()],
    zwabs_kernel,
    description="Redshifted Morrison & McCammon absorption",
    reference="Morrison & McCammon 1983, ApJ 270, 119; XSPEC xszabs",
)

# ---------------------------------------------------------------------------
# cabs: Compton scattering out of the line of sight (Klein-Nishina, no recoil)

ELECTRON_REST_KEV = 510.999
ELECTRONS_PER_H = 1.21
THOMSON_1E22 = 0.665e-2  # sigma_T = 0.665e-24 cm^2 in units of 1e-22 cm^2 ... x 1e22

# sigma_KN / sigma_T = sum_k a_k w^k for small w = E / m_e c^2 (Taylor series)
_KN_SERIES = (1.0, -2.0, 26.0 / 5.0, -133.0 / 10.0, 1144.0 / 35.0, -544.0 / 7.0)
_KN_SERIES_BELOW = 0.025  # relative truncation error < 5e-8 there


def klein_nishina_ratio(energy_kev):
    """Total Klein-Nishina cross section over the Thomson one at photon energy E."""
    w = energy_kev / ELECTRON_REST_KEV
    small = w <= _KN_SERIES_BELOW
    series = jnp.zeros_like(w)
    for coefficient in reversed(_KN_SERIES):
        series = series * w + coefficient

    ws = jnp.where(small, 1.0, w)
    two = 1.0 + 2.0 * ws
    log_two = jnp.log(two)
    exact = 0.75 * (
        (1.0 + ws) / ws**3 * (2.0 * ws * (1.0 + ws) / two - log_two)
        + log_two / (2.0 * ws)
        - (1.0 + 3.0 * ws) / two**2
    )
    return jnp.where(small, series, exact)


def cabs_kernel(edges, constants, nH):
    """exp(-1.21 nH sigma_KN(E)) at the bin centre (xscabs)."""
    centre = 0.5 * (edges[:-1] + edges[1:])
    tau = nH * ELECTRONS_PER_H * THOMSON_1E22 * klein_nishina_ratio(centre)
    return jnp.exp(-tau)


cabs = _register(
    "cabs",
    [_nh()],
    cabs_kernel,
    description="Optically thin Compton scattering (Klein-Nishina, 1.21 e per H)",
    reference="XSPEC xscabs; Klein & Nishina 1929",
)

# ---------------------------------------------------------------------------
# The Tuebingen-Boulder family (tbnew 2.3): gas, H2 and grains per bin

_GRAIN = pa.tbabs_grain_data()
_TB_DEPLETION = np.asarray(_GRAIN["depletion"], dtype=float)
_TB_WEIGHT = np.asarray(_GRAIN["weight"], dtype=float)
_H2_ROW = len(pa.TBABS_ELEMENTS)
_CM2_PER_UNIT = 1e-22  # cross sections are carried in 1e-22 cm^2


def tb_species_prepare(edges):
    """Species bin means (19, n) and the abundance table in force (z-less models)."""
    return {
        "bins": pa.tbabs_bin_species(edges),
        "abundances": pa.abundance_vector(),
    }


def tb_shifted_prepare(edges):
    """Species point tables, exact bins at z = 0 and the abundance table in force."""
    constants = _shifted_constants(
        pa.tbabs_species_table(), pa.tbabs_bin_species(edges)
    )
    constants["abundances"] = pa.abundance_vector()
    return constants


def _tb_species(edges, constants, redshift):
    if redshift is None:
        return constants["bins"]
    return _shifted_bin_means(edges, constants, redshift)


def tb_transmission(
    species,
    table,
    nH,
    relative=None,
    h2=0.2,
    rho=1.0,
    amin=0.025,
    amax=0.25,
    pl=3.5,
    depletion=None,
):
    """tbnew's transmission from per-bin species cross sections (19, n).

    ``table``: the 18 abundances of ``abund``; ``relative``: He ... Ni multipliers
    (a negative value is that element's column in cm^-2); ``h2``: molecular H
    fraction; ``rho`` [g cm^-3], ``amin``/``amax`` [micron], ``pl``: grains
    (``rho`` = 0: none, all atoms in the gas); ``depletion``: gas / total per element.
    """
    depletion = _TB_DEPLETION if depletion is None else depletion
    column_22 = jnp.maximum(nH, 1e-22)  # tbnew's floor, used for element columns
    abundance = _tb_abundances(table, relative, column_22)
    h2 = jnp.clip(h2, 0.0, 1.0)
    beta = jnp.where(rho > 0.0, jnp.clip(1.0 - depletion, 0.0, 1.0), 0.0)

    gas = abundance * (1.0 - beta)
    gas = gas.at[0].multiply(1.0 - h2)
    dust = abundance * beta
    sigma_gas = gas @ species[:_H2_ROW]
    sigma_mol = abundance[0] * (1.0 - beta[0]) * h2 * 0.5 * species[_H2_ROW]
    if isinstance(rho, float) and rho == 0.0:  # no grains by construction
        return jnp.exp(-nH * (sigma_gas + sigma_mol))
    grains = _grain_sigma(dust, species[:_H2_ROW], rho, amin, amax, pl)
    return jnp.exp(-nH * (sigma_gas + sigma_mol + grains))


def _tb_abundances(table, relative, column_22):
    """Abundance per H of the 18 elements: H 1, the others multiplier x table."""
    if relative is None:
        return jnp.asarray(table)
    relative = jnp.asarray(relative)
    as_column = jnp.abs(relative) / (column_22 * 1e22)
    metals = jnp.where(relative > 0.0, relative * table[1:], as_column)
    return jnp.concatenate([jnp.ones(1), metals])


# Grain sizes: Gauss-Legendre nodes in log(a) between amin and amax.
_SIZE_NODES, _SIZE_WEIGHTS = np.polynomial.legendre.leggauss(24)
_SIZE_NODES = 0.5 * (_SIZE_NODES + 1.0)
_SMALLEST_GRAIN_UM = 1e-6  # amin = 0 (allowed by model.dat) read as atom-sized


def _grain_sigma(dust, element_sigma, rho, amin_um, amax_um, pl):
    """Grain cross section per H atom [1e-22 cm^2] (Wilms et al. 2000 appendix).

    Grains of sizes dN/da ~ a^-pl from amin to amax [micron] and density rho, made
    of the ``dust`` atoms, shield their inner atoms: per H atom,
    sigma = (3 M / 4 rho) int a^(2-pl) (1 - exp(-s a)) da / int a^(3-pl) da with M
    the grain mass and s = (4/3) rho sigma_atom / m_atom. The two integrals are
    done by 24-point Gauss-Legendre in log a: within 3e-15 of tbnew's closed form
    with the incomplete gamma function, smooth in every parameter, and also right
    at amin = amax (one size) and pl = 1, 3, 4, which the closed form treats
    separately or not at all. Zero without grains (rho = 0 or nothing depleted).
    Sizes below 1e-6 micron are raised to it (tbnew gives NaN for amin = 0).
    """
    atoms = dust.sum()
    present = (rho > 0.0) & (atoms > 0.0)
    rho = jnp.where(present, rho, 1.0)
    atoms = jnp.where(present, atoms, 1.0)
    mass = jnp.where(present, dust @ _TB_WEIGHT, 1.0) * _GRAIN["amu"]
    sigma_atom = (dust @ element_sigma) / atoms * _CM2_PER_UNIT
    shielding = (4.0 / 3.0) * rho * sigma_atom / (mass / atoms)  # s [cm^-1]

    amin = jnp.maximum(amin_um, _SMALLEST_GRAIN_UM) * 1e-4
    amax = jnp.maximum(amax_um, _SMALLEST_GRAIN_UM) * 1e-4
    sizes = amin * (amax / amin) ** _SIZE_NODES  # (24,) radii [cm]
    area = _SIZE_WEIGHTS * sizes ** (3.0 - pl)
    volume = jnp.sum(area * sizes)
    covered = -jnp.expm1(-shielding[:, None] * sizes) @ area
    grains = 0.75 * mass / rho * covered / volume / _CM2_PER_UNIT
    return jnp.where(present, grains, 0.0)


def tbabs_prepare(edges):
    """The tbabs cross section per H atom in each bin (1e-22 cm^2), abund table."""
    return pa.tbabs_bin_cross_section(edges)


def tbabs_kernel(edges, sigma, nH):
    """Transmission exp(-nH sigma) with the bin-averaged cross section."""
    return jnp.exp(-nH * sigma)


def ztbabs_kernel(edges, constants, nH, Redshift):
    """tbabs at E (1 + z) without grains (XSPEC's ztbabs sets rho = 0)."""
    species = _tb_species(edges, constants, Redshift)
    return tb_transmission(species, constants["abundances"], nH, rho=0.0)


def tbpcf_kernel(edges, constants, nH, pcf, redshift):
    """Partial covering by tbabs at E (1 + z): 1 - pcf + pcf T."""
    species = _tb_species(edges, constants, redshift)
    transmission = tb_transmission(species, constants["abundances"], nH)
    return 1.0 - pcf + pcf * transmission


def tbgas_kernel(edges, constants, nH, redshift):
    """tbabs gas only: no H2, no grains (tbgas)."""
    species = _tb_species(edges, constants, redshift)
    return tb_transmission(species, constants["abundances"], nH, h2=0.0, rho=0.0)


def tbgrain_kernel(edges, constants, nH, h2, rho, amin, amax, PL):
    """tbabs with free H2 fraction and grain parameters (tbgrain)."""
    species = _tb_species(edges, constants, None)
    return tb_transmission(
        species,
        constants["abundances"],
        nH,
        h2=h2,
        rho=rho,
        amin=amin,
        amax=amax,
        pl=PL,
    )


def tbfeo_kernel(edges, constants, nH, O, Fe, redshift):  # noqa: E741 (XSPEC's name)
    """tbabs with free O and Fe abundances at E (1 + z) (tbfeo)."""
    relative = jnp.ones(len(METALS))
    relative = relative.at[METALS.index("O")].set(O).at[METALS.index("Fe")].set(Fe)
    species = _tb_species(edges, constants, redshift)
    return tb_transmission(species, constants["abundances"], nH, relative=relative)


def tbvarabs_kernel(edges, constants, **p):
    """tbnew with every parameter free (TBvarabs)."""
    relative = jnp.stack([p[el] for el in METALS])
    depletion = jnp.stack([p[f"{el}_dep"] for el in pa.TBABS_ELEMENTS])
    species = _tb_species(edges, constants, p["Redshift"])
    return tb_transmission(
        species,
        constants["abundances"],
        p["nH"],
        relative=relative,
        h2=p["H2"],
        rho=p["rho"],
        amin=p["amin"],
        amax=p["amax"],
        pl=p["PL"],
        depletion=depletion,
    )


def _grain_parameters(h2_name):
    return [
        xspec_parameter(h2_name, "", 0.2, -0.01, 0.0, 0.0, 1.0, 1.0),
        xspec_parameter("rho", "g/cm^3", 1.0, -0.01, 0.0, 0.0, 5.0, 5.0),
        xspec_parameter("amin", "mum", 0.025, -0.01, 0.0, 0.0, 0.25, 0.25),
        xspec_parameter("amax", "mum", 0.25, -0.01, 0.0, 0.0, 1.0, 1.0),
        xspec_parameter("PL", "", 3.5, -0.01, 0.0, 0.0, 5.0, 5.0),
    ]


_TB_NOTE = "Verner/Yan cross sections, abund table"
tbabs = _register(
    "TBabs",
    [_nh()],
    tbabs_kernel,
    tbabs_prepare,
    description=f"Tuebingen-Boulder ISM absorption: gas, H2, grains ({_TB_NOTE})",
    reference=f"{WILMS}; {VERNER}; XSPEC tbabs (tbnew 2.3)",
)
ztbabs = _register(
    "zTBabs",
    [_nh(), _redshift()],
    ztbabs_kernel,
    tb_shifted_prepare,
    description="Redshifted Tuebingen-Boulder absorption (no grains)",
    reference=f"{WILMS}; XSPEC ztbabs (tbnew 2.3, rho = 0)",
)
tbpcf = _register(
    "TBpcf",
    [_nh(), xspec_parameter("pcf", "", 0.5, 0.01, 0.0, 0.0, 1.0, 1.0), _tb_redshift()],
    tbpcf_kernel,
    tb_shifted_prepare,
    description="Partial covering Tuebingen-Boulder absorption",
    reference=f"{WILMS}; XSPEC tbpcf (tbnew 2.3)",
)
tbgas = _register(
    "TBgas",
    [_nh(), _tb_redshift()],
    tbgas_kernel,
    tb_shifted_prepare,
    description="Tuebingen-Boulder absorption by atomic gas only",
    reference=f"{WILMS}; XSPEC tbgas (tbnew 2.3, h2 = rho = 0)",
)
tbgrain = _register(
    "TBgrain",
    [_nh(), *_grain_parameters("h2")],
    tbgrain_kernel,
    tb_species_prepare,
    description="Tuebingen-Boulder absorption with free H2 and grain parameters",
    reference=f"{WILMS}; XSPEC tbgrain (tbnew 2.3)",
)
tbfeo = _register(
    "TBfeo",
    [
        _nh(),
        xspec_parameter("O", "", 1.0, -0.01, -1e38, 0.0, 5.0, 1e38),
        xspec_parameter("Fe", "", 1.0, -0.01, -1e38, 0.0, 5.0, 1e38),
        _tb_redshift(),
    ],
    tbfeo_kernel,
    tb_shifted_prepare,
    description="Tuebingen-Boulder absorption with free O and Fe abundances",
    reference=f"{WILMS}; XSPEC tbfeo (tbnew 2.3)",
)
tbvarabs = _register(
    "TBvarabs",
    [
        _nh(),
        *[xspec_parameter(el, "", 1.0, -0.01, 0.0, 0.0, 1.0, 1.0) for el in METALS],
        *_grain_parameters("H2"),
        *[
            xspec_parameter(f"{el}_dep", "", 1.0, -0.01, 0.0, 0.0, 1.0, 1.0)
            for el in pa.TBABS_ELEMENTS
        ],
        _redshift(),
    ],
    tbvarabs_kernel,
    tb_shifted_prepare,
    description="Tuebingen-Boulder absorption with every parameter free",
    reference=f"{WILMS}; XSPEC tbvabs (tbnew 2.3)",
)
