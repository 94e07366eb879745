"""Convolution components against analytic results and loop-by-loop references.

The references below are written from the algorithm descriptions (XSPEC 12.9.1's
integration kernel, smoothing walk and overlap rebinning; Steiner et al. 2009's
Green's function) as plain Python loops, independent of the array forms in
specdsl.library.convolution.
"""

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from astropy import units
from astropy.cosmology import FlatLambdaCDM

import specdsl
from specdsl.library import LIBRARY, convolution

# Few grids, so each kernel compiles a few times only.
LOG_EDGES = np.geomspace(0.1, 50.0, 401)  # 1.6 % bins
LINEAR_EDGES = np.linspace(1.0, 11.0, 401)  # 25 eV bins
SMALL_LINEAR = np.linspace(1.0, 11.0, 201)
SMALL_LOG = np.geomspace(0.3, 12.0, 201)
band_flux = jax.jit(convolution.band_flux)


@functools.cache
def jitted(name):
    return jax.jit(LIBRARY.exact(name).kernel)


def call(name, edges, flux, **params):
    """A registered kernel (jitted) on numpy input, defaults for the rest."""
    values = {p.name: p.default for p in LIBRARY.exact(name).parameters} | params
    out = jitted(name)(jnp.asarray(edges), None, jnp.asarray(flux), **values)
    return np.asarray(out)


def powerlaw(edges, index=2.0):
    lo, hi = edges[:-1], edges[1:]
    return (lo ** (1 - index) - hi ** (1 - index)) / (index - 1)


def line(edges, energy):
    """All of one photon cm^-2 s^-1 in the bin holding ``energy``."""
    flux = np.zeros(len(edges) - 1)
    flux[np.searchsorted(edges, energy) - 1] = 1.0
    return flux


def centres(edges):
    return 0.5 * (edges[:-1] + edges[1:])


# --------------------------------------------------------------------------
# Parameters exactly as in XSPEC 12.9.1's model.dat (xspec-models.tsv)
# --------------------------------------------------------------------------

# name: [(parameter, unit, default, delta, hard min, soft min, soft max, hard max)]
MODEL_DAT = {
    "cflux": [
        ("Emin", "keV", 0.5, -0.1, 0.0, 0.0, 1e6, 1e6),
        ("Emax", "keV", 10.0, -0.1, 0.0, 0.0, 1e6, 1e6),
        ("lg10Flux", "cgs", -12.0, 0.01, -100.0, -100.0, 100.0, 100.0),
    ],
    "cpflux": [
        ("Emin", "keV", 0.5, -0.1, 0.0, 0.0, 1e6, 1e6),
        ("Emax", "keV", 10.0, -0.1, 0.0, 0.0, 1e6, 1e6),
        ("Flux", "", 1.0, 0.01, 0.0, 0.0, 1e10, 1e10),
    ],
    "clumin": [
        ("Emin", "keV", 0.5, -0.1, 0.0, 0.0, 1e6, 1e6),
        ("Emax", "keV", 10.0, -0.1, 0.0, 0.0, 1e6, 1e6),
        ("Redshift", "", 0.0, -0.01, -0.999, -0.999, 10.0, 10.0),
        ("lg10Lum", "cgs", 40.0, 0.01, -100.0, -100.0, 100.0, 100.0),
    ],
    "zashift": [("Redshift", "", 0.0, -0.01, -0.999, -0.999, 10.0, 10.0)],
    "zmshift": [("Redshift", "", 0.0, -0.01, -0.999, -0.999, 10.0, 10.0)],
    "vashift": [("Velocity", "km/s", 0.0, -10.0, -1e4, -1e4, 1e4, 1e4)],
    "vmshift": [("Velocity", "km/s", 0.0, -10.0, -1e4, -1e4, 1e4, 1e4)],
    "partcov": [("CvrFract", "", 0.5, 0.01, 0.0, 0.05, 0.95, 1.0)],
    "gsmooth": [
        ("Sig_6keV", "keV", 1.0, 0.05, 0.0, 0.0, 10.0, 20.0),
        ("Index", "", 0.0, -0.01, -1.0, -1.0, 1.0, 1.0),
    ],
    "lsmooth": [
        ("Sig_6keV", "keV", 1.0, 0.05, 0.0, 0.0, 10.0, 20.0),
        ("Index", "", 0.0, -0.01, -1.0, -1.0, 1.0, 1.0),
    ],
    "simpl": [
        ("Gamma", "", 2.3, 0.05, 1.0, 1.1, 4.0, 5.0),
        ("FracSctr", "", 0.05, 0.005, 0.0, 0.0, 0.4, 1.0),
        ("UpScOnly", "", 1.0, -1.0, 0.0, 0.0, 100.0, 100.0),
    ],
}


@pytest.mark.parametrize("name", sorted(MODEL_DAT))
def test_parameters_are_xspecs(name):
    spec = LIBRARY.exact(name)

    assert spec.kind == "convolution" and spec.name == name
    got = [
        (p.name, p.unit, p.default, -p.delta if p.frozen else p.delta)
        + (p.hard_min, p.soft_min, p.soft_max, p.hard_max)
        for p in spec.all_parameters
    ]
    assert got == MODEL_DAT[name]


# --------------------------------------------------------------------------
# cflux, cpflux: XSPEC's integration kernel
# --------------------------------------------------------------------------


def xspec_band_flux(edges, flux, e_min, e_max):
    """XSPEC's integrationKernel as a walk: (photons, erg) in [e_min, e_max]."""
    if e_max <= edges[0] or e_min >= edges[-1]:
        return 0.0, 0.0
    photons = energy = 0.0
    for i, value in enumerate(flux):
        lo, hi = edges[i], edges[i + 1]
        a, b = max(lo, e_min), min(hi, e_max)
        if b <= a:
            continue
        photons += value * (b - a) / (hi - lo)
        energy += value * (b * b - a * a) / (hi - lo) * 0.801096e-9
    return photons, energy


def test_band_flux_of_one_bin_uses_xspecs_kev_to_erg():
    edges = np.array([1.0, 3.0])

    photons, energy = band_flux(jnp.asarray(edges), jnp.ones(1), 0.0, 5.0)

    assert float(photons) == 1.0
    assert float(energy) == pytest.approx(2.0 * 1.602192e-9, rel=1e-15)


@pytest.mark.parametrize(
    "e_min, e_max",
    [(0.5, 10.0), (2.0003, 2.0007), (0.01, 0.3), (30.0, 200.0), (1e-3, 1e3)],
)
def test_band_flux_matches_xspecs_prorating(e_min, e_max):
    flux = powerlaw(LOG_EDGES, 1.7) * (1 + 0.3 * np.sin(centres(LOG_EDGES)))

    got = band_flux(jnp.asarray(LOG_EDGES), jnp.asarray(flux), e_min, e_max)

    want = xspec_band_flux(LOG_EDGES, flux, e_min, e_max)
    np.testing.assert_allclose(np.asarray(got), want, rtol=1e-12)


@pytest.mark.parametrize("e_min, e_max", [(0.5, 10.0), (2.0, 2.001), (0.3, 45.0)])
def test_cflux_sets_the_energy_flux_in_the_band(e_min, e_max):
    flux = 123.0 * powerlaw(LOG_EDGES, 1.9)

    out = call("cflux", LOG_EDGES, flux, Emin=e_min, Emax=e_max, lg10Flux=-11.3)

    _, energy = xspec_band_flux(LOG_EDGES, out, e_min, e_max)
    assert energy == pytest.approx(10**-11.3, rel=1e-12)
    np.testing.assert_allclose(out / flux, out[0] / flux[0], rtol=1e-12)  # shape kept


def test_cflux_of_a_powerlaw_matches_the_analytic_band_integral():
    # Photon index 2: N(E) = K / E^2, so the energy flux in [a, b] is K ln(b / a).
    out = call("cflux", LOG_EDGES, powerlaw(LOG_EDGES, 2.0), lg10Flux=-12.0)

    norm = out[0] / powerlaw(LOG_EDGES, 2.0)[0]
    analytic = norm * np.log(10.0 / 0.5) * 1.602192e-9
    assert analytic == pytest.approx(1e-12, rel=2e-5)  # mid-energy rule, 1.6 % bins


def test_cpflux_sets_the_photon_flux_in_the_band():
    flux = 0.01 * powerlaw(LOG_EDGES, 2.5)

    out = call("cpflux", LOG_EDGES, flux, Emin=2.0, Emax=8.0, Flux=0.37)

    photons, _ = xspec_band_flux(LOG_EDGES, out, 2.0, 8.0)
    assert photons == pytest.approx(0.37, rel=1e-12)


def test_cflux_outside_the_grid_has_nothing_to_scale():
    out = call("cflux", LOG_EDGES, powerlaw(LOG_EDGES), Emin=60.0, Emax=70.0)

    assert not np.isfinite(out).any()


# --------------------------------------------------------------------------
# clumin: flat Lambda-CDM luminosity distance
# --------------------------------------------------------------------------

XSPEC_COSMOLOGY = FlatLambdaCDM(H0=70.0, Om0=0.27, Tcmb0=0.0)


@pytest.mark.parametrize("z", [1e-3, 0.05, 0.3, 1.0, 2.5, 6.0, 10.0])
def test_luminosity_distance_matches_astropy(z):
    got = float(convolution.luminosity_distance(z))

    want = XSPEC_COSMOLOGY.luminosity_distance(z).to(units.cm).value
    assert got == pytest.approx(want, rel=1e-11)


def test_luminosity_distance_is_smooth_and_batched_in_z():
    z = jnp.array([0.1, 0.5, 2.0])

    values, slope = jax.jit(
        lambda z: (
            convolution.luminosity_distance(z),
            jax.vmap(jax.grad(convolution.luminosity_distance))(z),
        )
    )(z)

    want = XSPEC_COSMOLOGY.luminosity_distance(np.asarray(z)).to(units.cm).value
    np.testing.assert_allclose(values, want, rtol=1e-11)
    # dD_L/dz = D_L / (1 + z) + (1 + z) D_H / E(z)
    hubble = XSPEC_COSMOLOGY.hubble_distance.to(units.cm).value
    e_z = XSPEC_COSMOLOGY.efunc(np.asarray(z))
    exact = want / (1 + np.asarray(z)) + (1 + np.asarray(z)) * hubble / e_z
    np.testing.assert_allclose(slope, exact, rtol=1e-10)


@pytest.mark.parametrize("z", [0.02, 0.7, 3.0])
def test_clumin_sets_the_source_frame_luminosity(z):
    flux = 5.0 * powerlaw(LOG_EDGES, 1.8)

    out = call("clumin", LOG_EDGES, flux, Emin=2.0, Emax=10.0, Redshift=z, lg10Lum=44.5)

    _, energy = xspec_band_flux(LOG_EDGES, out, 2.0 / (1 + z), 10.0 / (1 + z))
    distance = XSPEC_COSMOLOGY.luminosity_distance(z).to(units.cm).value
    assert 4 * np.pi * distance**2 * energy == pytest.approx(10**44.5, rel=1e-10)


def test_clumin_is_within_0p6_percent_of_xspec_6p20():  # documented difference
    # XSPEC 6.20: L = F * 1.07057e61 * fzsq / H0^2, fzsq from Pen 1999, ApJS 120, 49.
    def pen_eta(a, omega):
        s3 = (1 - omega) / omega
        s = s3 ** (1 / 3)
        inner = (1 / a**2 - 0.1540 * s / a + 0.4304 * s * s) / a**2
        return (
            2
            * math.sqrt(s3 + 1)
            * (inner + (0.19097 / a + 0.066941 * s) * s3) ** -0.125
        )

    for z in (0.01, 0.1, 1.0, 2.0, 10.0):
        fz = (1 + z) * (pen_eta(1.0, 0.27) - pen_eta(1 / (1 + z), 0.27))
        xspec = 1.07057e61 * fz**2 / 70.0**2
        ours = 4 * np.pi * float(convolution.luminosity_distance(z)) ** 2
        assert abs(xspec / ours - 1) < 0.006


# --------------------------------------------------------------------------
# zashift, zmshift, vashift, vmshift: fractional-overlap rebinning
# --------------------------------------------------------------------------


def overlap_matrix(source_edges, target_edges):
    """Fraction of each source bin (columns) inside each target bin (rows)."""
    lo = np.maximum(target_edges[:-1, None], source_edges[None, :-1])
    hi = np.minimum(target_edges[1:, None], source_edges[None, 1:])
    return np.clip(hi - lo, 0.0, None) / np.diff(source_edges)[None, :]


@pytest.mark.parametrize("z", [0.0, 0.37, 1.0, 4.2])
def test_zashift_is_overlap_rebinning_with_time_dilation(z):
    flux = powerlaw(LOG_EDGES, 1.5) * (1 + 0.5 * np.cos(3 * centres(LOG_EDGES)))

    out = call("zashift", LOG_EDGES, flux, Redshift=z)

    want = overlap_matrix(LOG_EDGES / (1 + z), LOG_EDGES) @ flux / (1 + z)
    np.testing.assert_allclose(out, want, rtol=1e-11, atol=1e-300)


def test_zashift_conserves_photons_and_moves_a_line_to_e_over_1_plus_z():
    flux = line(LINEAR_EDGES, 6.41)  # the bin [6.400, 6.425]

    out = call("zashift", LINEAR_EDGES, flux, Redshift=0.52)

    assert out.sum() == pytest.approx(1 / 1.52, rel=1e-13)  # photons / (1 + z)
    start, stop = 6.4 / 1.52, 6.425 / 1.52  # the bin at rest, seen redshifted
    lo, hi = LINEAR_EDGES[:-1], LINEAR_EDGES[1:]
    inside = np.clip(np.minimum(hi, stop) - np.maximum(lo, start), 0, None)
    np.testing.assert_allclose(out, inside / (stop - start) / 1.52, atol=1e-15)
    assert np.count_nonzero(out) == 2


def test_zashift_of_a_continuum_keeps_its_total_inside_the_grid():
    inside = (centres(LOG_EDGES) > 0.3) & (centres(LOG_EDGES) < 20.0)
    flux = np.where(inside, powerlaw(LOG_EDGES, 1.2), 0.0)  # stays on the grid

    out = call("zashift", LOG_EDGES, flux, Redshift=1.4)

    assert out.sum() == pytest.approx(flux.sum() / 2.4, rel=1e-12)


def test_zashift_blueshift_drops_output_bins_below_the_shifted_grid():
    edges = np.linspace(1.0, 2.0, 11)
    flux = np.ones(10)

    out = call("zashift", edges, flux, Redshift=-0.05)

    # Shifted grid starts at 1/0.95 = 1.0526: bin [1.0, 1.1] starts below it and
    # is dropped (XSPEC's findFirstBins); the rest is overlap rebinning.
    assert out[0] == 0.0
    want = overlap_matrix(edges / 0.95, edges) @ flux / 0.95
    np.testing.assert_allclose(out[1:], want[1:], rtol=1e-12)


def test_zmshift_moves_an_edge_and_keeps_factors():
    factor = np.where(centres(LINEAR_EDGES) < 7.0, 0.2, 0.9)

    out = call("zmshift", LINEAR_EDGES, factor, Redshift=0.4)

    energies = centres(LINEAR_EDGES)
    np.testing.assert_allclose(out[energies < 4.98], 0.2, rtol=1e-12)
    inside = (energies > 5.02) & (energies < 11.0 / 1.4 - 0.02)
    np.testing.assert_allclose(out[inside], 0.9, rtol=1e-12)
    assert np.all(out[energies > 11.0 / 1.4 + 0.02] == 0.0)  # beyond the grid


def test_zmshift_is_the_overlap_weighted_mean():
    factor = np.exp(-centres(LOG_EDGES) / 7.0)

    out = call("zmshift", LOG_EDGES, factor, Redshift=0.9)

    weights = overlap_matrix(LOG_EDGES / 1.9, LOG_EDGES)
    covered = weights.sum(axis=1)
    want = np.where(covered > 0, weights @ factor / np.where(covered, covered, 1), 0)
    np.testing.assert_allclose(out, want, rtol=1e-11)


@pytest.mark.parametrize("name", ["vashift", "vmshift"])
def test_velocity_shift_zero_is_the_identity(name):
    flux = powerlaw(LOG_EDGES)

    np.testing.assert_array_equal(call(name, LOG_EDGES, flux, Velocity=0.0), flux)


def test_vashift_moves_a_line_by_minus_e_v_over_c():
    edges = LINEAR_EDGES
    flux = line(edges, 6.51)  # the bin [6.500, 6.525]

    out = call("vashift", edges, flux, Velocity=3000.0)

    assert out.sum() == pytest.approx(1.0, rel=1e-13)  # no time dilation
    shift = 1 - 3000.0 / 299792.458
    start, stop = 6.5 * shift, 6.525 * shift
    inside = np.clip(
        np.minimum(edges[1:], stop) - np.maximum(edges[:-1], start), 0, None
    )
    np.testing.assert_allclose(out, inside / (stop - start), rtol=1e-10, atol=1e-15)


def test_vmshift_is_overlap_mean_on_the_shifted_grid():
    factor = 1 - 0.5 * np.exp(-(((centres(LOG_EDGES) - 6.4) / 0.1) ** 2))

    out = call("vmshift", LOG_EDGES, factor, Velocity=-2500.0)

    shifted = LOG_EDGES * (1 + 2500.0 / 299792.458)
    weights = overlap_matrix(shifted, LOG_EDGES)
    # Output bins starting below the shifted grid are dropped, as in XSPEC.
    kept = LOG_EDGES[:-1] >= shifted[0]
    want = weights[kept] @ factor / weights[kept].sum(axis=1)
    np.testing.assert_allclose(out[kept], want, rtol=1e-11)
    assert np.all(out[~kept] == 0.0) and np.count_nonzero(~kept) == 1


def test_partcov_mixes_covered_and_uncovered():
    factor = np.linspace(0.1, 0.9, 5)

    out = call("partcov", np.linspace(1, 6, 6), factor, CvrFract=0.3)

    np.testing.assert_allclose(out, 0.7 + 0.3 * factor, rtol=1e-15)


# --------------------------------------------------------------------------
# gsmooth, lsmooth: XSPEC's walk
# --------------------------------------------------------------------------

_TABLE_X = np.linspace(0.0, 3.2, 201)
_TABLE = np.array([math.erf(x) for x in _TABLE_X])


def table_erf(x):
    return math.copysign(np.interp(abs(x), _TABLE_X, _TABLE, right=1.0), x)


def xspec_smooth(edges, flux, sigma_6kev, index, profile):
    """dogsmt.f / dolsmt.f as loops: walk down from j, up from j + 1."""
    if sigma_6kev <= 0:
        return flux.copy()

    def received(k, centre, width):
        lo, hi = edges[k] - centre, edges[k + 1] - centre
        if profile == "gauss":
            scale = width * math.sqrt(2)
            return 0.5 * (table_erf(hi / scale) - table_erf(lo / scale))
        return (math.atan(2 * hi / width) - math.atan(2 * lo / width)) / math.pi

    out = np.zeros_like(flux)
    n = len(flux)
    for j in range(n):
        centre = 0.5 * (edges[j] + edges[j + 1])
        width = sigma_6kev * (centre / 6.0) ** index
        for direction, k in ((-1, j), (1, j + 1)):
            fraction = 1.0
            while fraction > 1e-5 and 0 <= k < n:
                fraction = received(k, centre, width)
                out[k] += fraction * flux[j]
                k += direction
    return out


@pytest.mark.parametrize("profile", ["gauss", "lorentz"])
@pytest.mark.parametrize(
    "edges, sigma, index",
    [
        (SMALL_LINEAR, 0.15, 0.0),
        (SMALL_LINEAR, 0.6, 1.0),
        (SMALL_LOG, 0.2, 0.5),
        (SMALL_LOG, 2.0, -1.0),
    ],
)
def test_smoothing_matches_xspecs_walk(profile, edges, sigma, index):
    rng = np.random.default_rng(7)
    flux = powerlaw(edges, 1.7) * rng.uniform(0.5, 1.5, len(edges) - 1)
    name = "gsmooth" if profile == "gauss" else "lsmooth"

    out = call(name, edges, flux, Sig_6keV=sigma, Index=index)

    want = xspec_smooth(edges, flux, sigma, index, profile)
    np.testing.assert_allclose(out, want, rtol=1e-11, atol=1e-15 * flux.max())


def test_gsmooth_turns_a_delta_line_into_a_gaussian_of_the_right_width():
    edges = LINEAR_EDGES
    flux = line(edges, 6.01)  # the bin [6.000, 6.025], centre 6.0125

    out = call("gsmooth", edges, flux, Sig_6keV=0.25, Index=1.0)

    sigma = 0.25 * 6.0125 / 6.0
    # XSPEC's walk stops where a bin gets < 1e-5: here beyond ~3.4 sigma.
    assert out.sum() == pytest.approx(1.0, abs=1e-3)
    energies = centres(edges)
    mean = np.sum(out * energies) / out.sum()
    variance = np.sum(out * (energies - mean) ** 2) / out.sum()
    assert mean == pytest.approx(6.0125, abs=1e-6)
    assert math.sqrt(variance - 0.025**2 / 12) == pytest.approx(sigma, rel=5e-3)
    exact = 0.5 * np.diff([math.erf((e - 6.0125) / (sigma * 2**0.5)) for e in edges])
    np.testing.assert_allclose(out, exact, atol=3e-5)  # erf from a 201-point table


def test_gsmooth_width_scales_as_e_over_6kev_to_the_index():
    edges = LINEAR_EDGES

    out = call("gsmooth", edges, line(edges, 1.51), Sig_6keV=0.4, Index=1.0)

    energies = centres(edges)
    variance = np.sum(out * (energies - 1.5125) ** 2) / out.sum()
    sigma = 0.4 * 1.5125 / 6.0
    assert math.sqrt(variance - 0.025**2 / 12) == pytest.approx(sigma, rel=1e-2)


def test_lsmooth_turns_a_delta_line_into_a_lorentzian():
    edges = LINEAR_EDGES

    out = call("lsmooth", edges, line(edges, 6.01), Sig_6keV=0.2, Index=0.0)

    exact = np.diff(np.arctan(2 * (edges - 6.0125) / 0.2)) / np.pi
    kept = out > 0
    np.testing.assert_allclose(out[kept], exact[kept], rtol=1e-9)
    wide = centres(edges)[out > out.max() / 2]  # FWHM = 0.2 keV, to one bin
    assert abs(wide.max() - wide.min() - 0.2) <= 0.025 + 1e-9


@pytest.mark.parametrize("name", ["gsmooth", "lsmooth"])
def test_smoothing_with_no_width_changes_nothing(name):
    flux = powerlaw(LOG_EDGES)

    np.testing.assert_array_equal(call(name, LOG_EDGES, flux, Sig_6keV=0.0), flux)


def test_gsmooth_conserves_the_total_away_from_the_grid_ends():
    edges = LINEAR_EDGES
    flux = np.where(np.abs(centres(edges) - 6.0) < 1.5, 1.0, 0.0)

    out = call("gsmooth", edges, flux, Sig_6keV=0.3, Index=0.5)

    assert out.sum() == pytest.approx(flux.sum(), rel=2e-4)  # to XSPEC's 1e-5 cut


# --------------------------------------------------------------------------
# simpl: Steiner et al. (2009)
# --------------------------------------------------------------------------


def simpl_reference(edges, flux, gamma, fraction, up_only):
    """The SIMPL Green's function integrated over each output bin, seed at centre."""
    lo, hi = edges[:-1, None], edges[1:, None]  # output bins along axis 0
    seed = centres(edges)[None, :]  # seeds along axis 1
    # Above the seed: (Gamma - 1) (E / E0)^-Gamma / E0, integrated over [lo, hi].
    a, b = np.maximum(lo, seed), np.maximum(hi, seed)
    up = (a / seed) ** (1 - gamma) - (b / seed) ** (1 - gamma)
    # Below the seed: (Gamma + 2) (E / E0)^(Gamma + 1) / E0.
    a, b = np.minimum(lo, seed), np.minimum(hi, seed)
    down = (b / seed) ** (gamma + 2) - (a / seed) ** (gamma + 2)
    share = 1.0 if up_only else (gamma + 2) / (1 + 2 * gamma)
    scattered = (share * up + (1 - share) * down) @ flux
    return (1 - fraction) * flux + fraction * scattered


@pytest.mark.parametrize("up_only", [1.0, 0.0])
@pytest.mark.parametrize("gamma", [1.0, 1.7, 2.3, 4.5])
def test_simpl_matches_the_greens_function(gamma, up_only):
    edges = LOG_EDGES
    flux = powerlaw(edges, 3.0) * np.exp(-centres(edges) / 2.0)

    out = call("simpl", edges, flux, Gamma=gamma, FracSctr=0.3, UpScOnly=up_only)

    gamma_used = 1.001 if gamma == 1.0 else gamma
    want = simpl_reference(edges, flux, gamma_used, 0.3, up_only > 0)
    np.testing.assert_allclose(out, want, rtol=1e-10)


def test_simpl_conserves_photons_up_to_those_scattered_off_the_grid():
    edges = LOG_EDGES
    flux = line(edges, 1.0)
    seed = centres(edges)[np.argmax(flux)]

    out = call("simpl", edges, flux, Gamma=2.0, FracSctr=0.25, UpScOnly=1.0)

    lost = 0.25 * (50.0 / seed) ** -1.0  # (E_max / E0)^(1 - Gamma) of the scattered
    assert out.sum() == pytest.approx(1.0 - lost, rel=1e-12)
    above = centres(edges) > 2 * seed  # a power law of photon index Gamma
    lo, hi = edges[:-1][above], edges[1:][above]
    np.testing.assert_allclose(out[above], 0.25 * seed * (1 / lo - 1 / hi), rtol=1e-12)


def test_simpl_without_scattering_is_the_identity():
    flux = powerlaw(LOG_EDGES)

    out = call("simpl", LOG_EDGES, flux, FracSctr=0.0)

    np.testing.assert_allclose(out, flux, rtol=1e-15)


# --------------------------------------------------------------------------
# Every kernel: jit, vmap and grad
# --------------------------------------------------------------------------

NON_DEFAULTS = {
    "clumin": {"Redshift": 0.3},
    "zashift": {"Redshift": 0.3},
    "zmshift": {"Redshift": 0.3},
    "vashift": {"Velocity": 500.0},
    "vmshift": {"Velocity": 500.0},
    "gsmooth": {"Sig_6keV": 0.2, "Index": 0.3},
    "lsmooth": {"Sig_6keV": 0.2, "Index": 0.3},
    "simpl": {"UpScOnly": 0.0},
}


@pytest.mark.parametrize("name", sorted(MODEL_DAT))
def test_kernels_jit_vmap_and_differentiate(name):
    spec = LIBRARY.exact(name)
    values = {p.name: p.default for p in spec.parameters} | NON_DEFAULTS.get(name, {})
    flux = jnp.asarray(powerlaw(LOG_EDGES, 1.8) * np.exp(-centres(LOG_EDGES) / 20))
    varied = spec.parameters[-1].name
    weights = jnp.arange(flux.shape[0], dtype=float)

    def evaluate(value):
        arguments = values | {varied: value}
        return spec.kernel(jnp.asarray(LOG_EDGES), None, flux, **arguments)

    def weighted(value):
        return jnp.sum(evaluate(value) * weights)

    @jax.jit
    def everything(one, other, step):
        batch = jax.vmap(evaluate)(jnp.stack([one, other]))
        numeric = (weighted(other + step) - weighted(other - step)) / (2 * step)
        return evaluate(one), evaluate(other), batch, jax.grad(weighted)(other), numeric

    one = values[varied]
    other = 0.9 * one + 0.01
    single, second, batch, slope, numeric = everything(one, other, 1e-5 * abs(other))

    np.testing.assert_allclose(
        single, call(name, LOG_EDGES, flux, **values), rtol=1e-12
    )
    np.testing.assert_allclose(batch[0], single, rtol=1e-12)
    np.testing.assert_allclose(batch[1], second, rtol=1e-12)
    assert single.shape == flux.shape
    # The smoothing kernels are piecewise (tabulated erf, XSPEC's walk cut-off).
    tolerance = 1e-3 if name in ("gsmooth", "lsmooth") else 1e-5
    assert float(slope) == pytest.approx(float(numeric), rel=tolerance, abs=1e-9)


# --------------------------------------------------------------------------
# Through the compiler
# --------------------------------------------------------------------------


def test_cflux_through_the_compiler_fixes_the_flux_whatever_the_norm():
    model = specdsl.compile("cflux*powerlaw")

    for norm in (1e-3, 7.0):
        out = np.asarray(model(LOG_EDGES, {"powerlaw_1.norm": norm}))
        _, energy = xspec_band_flux(LOG_EDGES, out, 0.5, 10.0)
        assert energy == pytest.approx(1e-12, rel=1e-12)


def test_cflux_measures_what_is_to_its_right():
    parameters = {"tbabs_1.nH": 2.0, "cflux_1.lg10Flux": -11.0}
    absorbed = specdsl.compile("cflux*tbabs*(po+ga)")(LOG_EDGES, parameters)
    intrinsic = specdsl.compile("tbabs*cflux*(po+ga)")(LOG_EDGES, parameters)
    tbabs = LIBRARY.exact("TBabs")
    transmission = np.asarray(tbabs.kernel(None, tbabs.prepare(LOG_EDGES), nH=2.0))

    def energy_flux(flux):
        return xspec_band_flux(LOG_EDGES, np.asarray(flux), 0.5, 10.0)[1]

    assert energy_flux(absorbed) == pytest.approx(1e-11, rel=1e-12)
    unabsorbed = np.asarray(intrinsic) / np.maximum(transmission, 1e-300)
    assert energy_flux(unabsorbed) == pytest.approx(1e-11, rel=1e-12)
    assert energy_flux(intrinsic) < 0.95e-11


def test_zashift_of_a_gaussian_through_the_compiler():
    parameters = {"zashift_1.Redshift": 0.5, "gaussian_1.Sigma": 0.05}
    out = np.asarray(specdsl.compile("zashift(gaussian)")(LINEAR_EDGES, parameters))

    assert out.sum() == pytest.approx(1 / 1.5, rel=1e-9)
    assert np.sum(out * centres(LINEAR_EDGES)) / out.sum() == pytest.approx(6.5 / 1.5)
