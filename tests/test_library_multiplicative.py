"""Multiplicative components and the abund/xsect settings.

References: XSPEC's own tabulations in shared/data (reference-xsect: phabs/aspl,
wabs, tbabs/wilm on edges geomspace(0.1, 20, 10001); xspec-tables-sherpa's
testpcfabs.mod, an mtable XSPEC wrote with its wabs-based partial coverer),
the parameter table of XSPEC 12.9.1 (shared/reference/xspec-models.tsv), analytic
values and independent quadrature (scipy).
"""

from __future__ import annotations

import csv
import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from astropy.io import fits
from scipy import integrate

from specdsl.errors import ParameterError
from specdsl.library import LIBRARY, settings
from specdsl.library import absorption as ab
from specdsl.library import photoabsorption as pa
from specdsl.model import compile

REFERENCE_EDGES = np.geomspace(0.1, 20.0, 10001)
COLUMNS = (0.1, 1.0, 10.0)
EDGES = np.geomspace(0.05, 20.0, 401)
DEEP = 1e-200  # transmissions below this are compared as absolute zeros

ABSORBERS = (
    "phabs", "zphabs", "vphabs", "zvphabs", "varabs", "zvarabs", "pcfabs",
    "zpcfabs", "wndabs", "zwndabs", "wabs", "zwabs", "cabs", "TBabs", "zTBabs",
    "TBpcf", "TBgas", "TBgrain", "TBfeo", "TBvarabs", "constant",
)  # fmt: skip
OTHERS = (
    "highecut", "zhighect", "expabs", "expfac", "edge", "zedge", "smedge",
    "notch", "gabs", "spexpcut", "spline",
)  # fmt: skip
NOT_IN_TSV = ("zvarabs", "spexpcut")  # in model.dat 12.9.1, missing from the tsv


@pytest.fixture(autouse=True)
def _restore_settings():
    saved = settings.current()
    yield
    settings.set_abundance(saved.abundance)
    settings.set_cross_section(saved.cross_section)


@functools.cache
def _jitted(name):
    return jax.jit(LIBRARY.exact(name).kernel)


def _constants(spec, edges):
    if spec.prepare is None:
        return None
    return jax.tree_util.tree_map(jnp.asarray, spec.prepare(np.asarray(edges)))


def factor(name, edges=EDGES, **values):
    """One component's factor per bin, its other parameters at their defaults."""
    spec = LIBRARY.exact(name)
    params = {p.name: float(p.default) for p in spec.parameters}
    params.update({key: float(value) for key, value in values.items()})
    constants = _constants(spec, edges)
    return np.asarray(_jitted(name)(jnp.asarray(edges), constants, **params))


def assert_same_depth(transmission, depth, rtol):
    """Transmissions agree as optical depths -ln T (exp underflows near 1e-308)."""
    visible = depth < 700.0
    np.testing.assert_allclose(-np.log(transmission[visible]), depth[visible], rtol)
    assert np.all(transmission[~visible] < 1e-300)


def _reference(shared_data, name):
    with fits.open(shared_data / "reference-xsect" / name) as hdul:
        return hdul[1].data["SIGMA"].astype(float)


# ---------------------------------------------------------------------------
# Parameter tables


def _tsv_rows(shared_data):
    path = shared_data.parent / "reference" / "xspec-models.tsv"
    if not path.is_file():
        pytest.skip(f"{path} not found")
    with path.open() as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


@pytest.mark.parametrize("name", [n for n in ABSORBERS + OTHERS if n not in NOT_IN_TSV])
def test_parameters_are_xspecs(shared_data, name):
    rows = [r for r in _tsv_rows(shared_data) if r["model"] == name]
    spec = LIBRARY.exact(name)
    assert spec is not None and spec.name == name and spec.kind == "multiplicative"
    assert [p.name for p in spec.parameters] == [r["param_name"] for r in rows]
    for parameter, row in zip(spec.parameters, rows, strict=True):
        delta = float(row["delta"])
        assert parameter.unit == row["unit"]
        assert parameter.default == float(row["default"])
        assert parameter.delta == abs(delta)
        assert parameter.frozen == (delta < 0), parameter.name
        limits = [row[k] for k in ("hard_min", "soft_min", "soft_max", "hard_max")]
        assert [parameter.hard_min, parameter.soft_min] == [
            float(v) for v in limits[:2]
        ]
        assert [parameter.soft_max, parameter.hard_max] == [
            float(v) for v in limits[2:]
        ]


def test_components_outside_the_tsv_follow_model_dat():
    spexpcut = LIBRARY.exact("spexpcut").parameters
    assert [(p.name, p.default, p.hard_min, p.hard_max) for p in spexpcut] == [
        ("Ecut", 10.0, 0.0, 1e6),
        ("alpha", 1.0, -5.0, 5.0),
    ]
    zvarabs = LIBRARY.exact("zvarabs").parameters
    assert [p.name for p in zvarabs] == [*pa.PHABS_ELEMENTS, "Redshift"]
    assert all(p.frozen for p in zvarabs) and zvarabs[0].unit == "sH22"


# ---------------------------------------------------------------------------
# abund / xsect


def test_default_abundance_is_wilm_and_cross_sections_vern():
    assert settings.current() == settings.Settings("wilm", "vern")
    assert settings.abundance() == "wilm" and settings.cross_section() == "vern"


def test_set_abundance_selects_a_table_and_returns_the_previous_one():
    assert settings.set_abundance("ANGR") == "wilm"
    assert settings.abundance() == "angr"
    assert set(settings.abundance_names()) >= {"angr", "aspl", "wilm", "lodd", "feld"}


def test_unknown_abundance_table_lists_the_valid_ones():
    with pytest.raises(ParameterError, match="valid: wilm, angr, aspl"):
        settings.set_abundance("solar")
    assert settings.abundance() == "wilm"


@pytest.mark.parametrize("name", ["bcmc", "obcm"])
def test_xspecs_other_cross_sections_are_refused_clearly(name):
    with pytest.raises(ParameterError, match="not available.*valid: vern"):
        settings.set_cross_section(name)
    with pytest.raises(ParameterError, match="unknown cross sections"):
        settings.set_cross_section("henke")
    assert settings.set_cross_section("VERN") == "vern"


def test_context_manager_restores_the_settings_even_on_error():
    with settings.using(abundance="aspl") as chosen:
        assert chosen.abundance == "aspl" and settings.abundance() == "aspl"
    assert settings.abundance() == "wilm"
    with pytest.raises(RuntimeError), settings.using(abundance="lodd"):
        raise RuntimeError
    assert settings.abundance() == "wilm"


def test_tbabs_and_phabs_read_the_table_when_bound():
    model = compile("tbabs*phabs*powerlaw")
    values = {"TBabs_1.nH": 0.5, "phabs_1.nH": 0.5}
    edges = np.geomspace(0.3, 10.0, 201)
    wilm = np.asarray(model(edges, values))
    with settings.using(abundance="angr"):
        angr = np.asarray(model(edges, values))
    expected_ratio = np.exp(
        -0.5
        * (
            pa.tbabs_bin_cross_section(edges, "angr")
            - pa.tbabs_bin_cross_section(edges, "wilm")
        )
        - 0.5
        * (
            pa.verner_bin_cross_sections(edges, "angr")
            - pa.verner_bin_cross_sections(edges, "wilm")
        ).sum(0)
    )
    np.testing.assert_allclose(angr / wilm, expected_ratio, rtol=1e-10)
    assert np.max(wilm / angr) > 1.2  # angr has ~1.5x more metals


def test_wabs_ignores_the_abundance_setting():
    with settings.using(abundance="angr"):
        angr = factor("wabs", nH=1.0)
    np.testing.assert_array_equal(angr, factor("wabs", nH=1.0))


# ---------------------------------------------------------------------------
# phabs, wabs and tbabs against XSPEC's tabulations


@pytest.mark.parametrize("n_h", COLUMNS)
def test_phabs_matches_xspec_with_aspl(shared_data, n_h):
    reference = _reference(shared_data, "xsect_phabs_aspl.fits")
    with settings.using(abundance="aspl"):
        got = factor("phabs", REFERENCE_EDGES, nH=n_h)
    error = np.abs(got - np.exp(-n_h * reference)).max()
    assert error < 0.005
    assert error < 3e-5  # measured 1.9e-6 (0.1), 1.3e-6 (1), 1.2e-5 (10)


def _mm_edge_bins(edges):
    lo, hi = edges[:-1], edges[1:]
    holds = np.zeros(lo.shape, dtype=bool)
    for energy in ab._MM_UPPER[:-1]:
        holds |= (lo < energy) & (energy < hi)
    return holds


@pytest.mark.parametrize("n_h", COLUMNS)
def test_wabs_matches_xspec_tabulation_away_from_mm_edges(shared_data, n_h):
    # One sigma per bin cannot hold XSPEC's average of exp(-nH sigma) over a bin
    # that straddles a M&M edge for every nH; those 13 bins are checked below and
    # against XSPEC's own mtable in test_wabs_covering_reproduces_xspecs_mtable.
    reference = _reference(shared_data, "xsect_wabs_angr.fits")
    got = factor("wabs", REFERENCE_EDGES, nH=n_h)
    error = np.abs(got - np.exp(-n_h * reference))
    holds_edge = _mm_edge_bins(REFERENCE_EDGES)
    assert holds_edge.sum() == 13
    assert error[~holds_edge].max() < 3e-5  # measured 1.7e-6, 1.4e-6, 1.3e-5
    if n_h >= 1.0:
        assert error.max() < 0.005  # measured 2.9e-4, 8.5e-4


def _mm_point_transmission(energy, n_h):
    """wabs's transmission at one energy, written out from Morrison & McCammon."""
    if energy < 0.0135984:
        return 1.0
    row = next(k for k, upper in enumerate(ab._MM_UPPER) if energy < upper)
    c0, c1, c2 = ab._MM_C0[row], ab._MM_C1[row], ab._MM_C2[row]
    return math.exp(-n_h * (c0 + c1 * energy + c2 * energy**2) / energy**3)


@pytest.mark.parametrize("n_h", COLUMNS)
def test_wabs_bins_across_an_edge_are_the_mean_transmission(n_h):
    edges = REFERENCE_EDGES
    holds_edge = np.flatnonzero(_mm_edge_bins(edges))
    got = factor("wabs", edges, nH=n_h)
    for i in holds_edge:
        lo, hi = edges[i], edges[i + 1]
        jump = next(e for e in ab._MM_UPPER if lo < e < hi)
        parts = [
            integrate.quad(_mm_point_transmission, a, b, args=(n_h,), epsabs=1e-14)[0]
            for a, b in ((lo, jump), (jump, hi))
        ]
        assert got[i] == pytest.approx(sum(parts) / (hi - lo), abs=1e-6, rel=1e-6)


def test_wabs_covering_reproduces_xspecs_mtable(shared_data):
    # testpcfabs.mod: XSPEC's partial coverer of the time (wabs-based) tabulated
    # on 0.01 keV bins for nH 0 ... 1000 and fractions 0 ... 1 (110 spectra).
    path = shared_data / "xspec-tables-sherpa" / "testpcfabs.mod"
    with fits.open(path) as hdul:
        energies = hdul["ENERGIES"].data
        spectra = hdul["SPECTRA"].data
        edges = np.append(energies["ENERG_LO"], energies["ENERG_HI"][-1]).astype(float)
        parameters = np.array([list(row) for row in spectra["PARAMVAL"]], dtype=float)
        values = np.array(spectra["INTPSPEC"], dtype=float)

    worst = 0.0
    for (n_h, fraction), expected in zip(parameters, values, strict=True):
        got = 1.0 - fraction + fraction * factor("wabs", edges, nH=n_h)
        # The first bin starts at 3e-14 keV, below the Lyman limit, where the
        # table's XSPEC version (before 1990) still absorbed.
        worst = max(worst, np.abs(got - expected)[1:].max())
    assert worst < 5e-6  # measured 1.2e-6 (the table is float32)


@pytest.mark.parametrize("n_h", COLUMNS)
def test_tbvarabs_with_tbabs_depletion_matches_xspec_tbabs(shared_data, n_h):
    reference = _reference(shared_data, "xsect_tbabs_wilm.fits")
    depletion = pa.tbabs_grain_data()["depletion"]
    deplete = {
        f"{el}_dep": d for el, d in zip(pa.TBABS_ELEMENTS, depletion, strict=True)
    }
    got = factor("TBvarabs", REFERENCE_EDGES, nH=n_h, **deplete)
    assert np.abs(got - np.exp(-n_h * reference)).max() < 3e-5  # measured 1.2e-5
    tbabs = factor("TBabs", REFERENCE_EDGES, nH=n_h)
    np.testing.assert_allclose(got, tbabs, rtol=1e-7, atol=1e-300)


# ---------------------------------------------------------------------------
# The phabs family


def test_vphabs_at_solar_is_phabs_and_scales_each_element():
    np.testing.assert_allclose(factor("vphabs", nH=0.7), factor("phabs", nH=0.7))
    rows = pa.verner_bin_cross_sections(EDGES)
    oxygen = pa.PHABS_ELEMENTS.index("O")
    expected = np.exp(-0.7 * (rows.sum(0) + 2.0 * rows[oxygen]))
    got = factor("vphabs", nH=0.7, O=3.0)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=DEEP)


def test_phabs_leaves_bins_below_the_lyman_limit_and_above_100_kev_alone():
    edges = np.array([0.01, 0.0135, 0.0136, 0.02, 99.0, 100.5, 200.0])
    got = factor("phabs", edges, nH=1.0)
    assert got[0] == 1.0 and got[1] == 1.0  # lower edges below 0.0135984 keV
    assert got[2] < 1e-10  # from 0.0136 keV: absorbed
    assert 0.99 < got[4] < 1.0  # 99 - 100.5 keV: absorbed (lower edge < 100)
    assert got[5] == 1.0  # lower edge above 100 keV


def test_varabs_columns_are_solar_columns_of_1e22():
    varabs = factor("varabs")
    np.testing.assert_allclose(varabs, factor("phabs", nH=1.0), rtol=1e-12, atol=DEEP)
    doubled = {el: 2.0 for el in pa.PHABS_ELEMENTS}
    np.testing.assert_allclose(
        factor("varabs", **doubled), factor("phabs", nH=2.0), rtol=1e-12, atol=DEEP
    )


@pytest.mark.parametrize(
    ("shifted", "plain", "extra"),
    [
        ("zphabs", "phabs", {}),
        ("zvphabs", "vphabs", {"Fe": 4.0}),
        ("zpcfabs", "pcfabs", {"CvrFract": 0.7}),
        ("zvarabs", "varabs", {"H": 0.3, "O": 5.0}),
    ],
)
@pytest.mark.parametrize("z", [0.0, 0.37, 2.0])
def test_redshifted_phabs_family_is_the_plain_model_at_rest_frame_energies(
    shifted, plain, extra, z
):
    column = {} if plain == "varabs" else {"nH": 0.8}
    got = factor(shifted, EDGES, Redshift=z, **column, **extra)
    expected = factor(plain, EDGES * (1.0 + z), **column, **extra)
    if z == 0.0:
        np.testing.assert_array_equal(got, expected)  # exact bins at z = 0
    else:
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-12)


def test_pcfabs_covers_a_fraction():
    phabs = factor("phabs", nH=2.0)
    got = factor("pcfabs", nH=2.0, CvrFract=0.3)
    np.testing.assert_allclose(got, 0.7 + 0.3 * phabs, rtol=1e-14)


def test_wndabs_opens_a_window_below_windowe():
    edges = np.array([0.5, 0.8, 1.0, 1.2, 1.5, 3.0])
    phabs = factor("phabs", edges, nH=1.0)
    got = factor("wndabs", edges, nH=1.0, WindowE=1.1)
    np.testing.assert_array_equal(got[:2], 1.0)
    assert got[2] == pytest.approx(0.5 + 0.5 * phabs[2], rel=1e-12)
    np.testing.assert_allclose(got[3:], phabs[3:], rtol=1e-12)
    shifted = factor("zwndabs", edges / 1.5, nH=1.0, WindowE=1.1, Redshift=0.5)
    np.testing.assert_allclose(shifted, got, rtol=1e-5)


# ---------------------------------------------------------------------------
# wabs, cabs


def test_zwabs_is_wabs_at_rest_frame_energies():
    np.testing.assert_allclose(
        factor("zwabs", nH=0.4, Redshift=1.5), factor("wabs", EDGES * 2.5, nH=0.4)
    )


def test_wabs_point_value_from_morrison_mccammon():
    # 1 keV lies in the 0.867-1.303 keV row: sigma = (1.206 + 1.693 - 0.477) x 1e-22.
    edges = np.array([1.0, 1.0 + 1e-9])
    assert factor("wabs", edges, nH=1.0)[0] == pytest.approx(math.exp(-2.422), 1e-8)


def test_cabs_is_thomson_at_low_energy_and_klein_nishina_at_511_kev():
    edges = np.array([0.1, 0.1001])
    w = edges.mean() / 510.999  # Klein-Nishina to first order: 1 - 2w
    low = factor("cabs", edges, nH=10.0)[0]
    assert low == pytest.approx(math.exp(-10.0 * 1.21 * 0.665e-2 * (1 - 2 * w)), 1e-7)
    # sigma_KN / sigma_T at E = m_e c^2: (3/4)[2(4/3 - ln 3) + ln(3)/2 - 4/9] = 0.4307
    ratio = 0.75 * (2 * (4 / 3 - math.log(3)) + math.log(3) / 2 - 4 / 9)
    assert float(ab.klein_nishina_ratio(jnp.array(510.999))) == pytest.approx(ratio)
    assert ratio == pytest.approx(0.4307, abs=1e-4)


def test_klein_nishina_series_joins_the_closed_form():
    w = 0.025 * 510.999
    below, above = ab.klein_nishina_ratio(jnp.array([w * (1 - 1e-12), w * 1.000001]))
    assert float(below) == pytest.approx(float(above), rel=1e-6)


# ---------------------------------------------------------------------------
# The Tuebingen-Boulder family


def test_tbgrain_and_tbfeo_at_defaults_are_tbabs():
    tbabs = factor("TBabs", nH=3.0)
    np.testing.assert_allclose(factor("TBgrain", nH=3.0), tbabs, rtol=1e-7, atol=DEEP)
    np.testing.assert_allclose(factor("TBfeo", nH=3.0), tbabs, rtol=1e-7, atol=DEEP)


def _gas_only(edges, h2):
    """Absorption by gas (+ H2) with no grains, summed directly from the species."""
    species = pa.tbabs_bin_species(edges)
    abundance = pa.abundance_vector("wilm")
    gas = abundance.copy()
    gas[0] *= 1.0 - h2
    return gas @ species[:18] + h2 * 0.5 * species[18]


@pytest.mark.parametrize("z", [0.0, 0.8])
def test_ztbabs_has_no_grains_and_tbgas_no_h2(z):
    shifted = EDGES * (1.0 + z)
    ztbabs = factor("zTBabs", nH=2.0, Redshift=z)
    assert_same_depth(ztbabs, 2.0 * _gas_only(shifted, 0.2), rtol=1e-6)
    tbgas = factor("TBgas", nH=2.0, redshift=z)
    assert_same_depth(tbgas, 2.0 * _gas_only(shifted, 0.0), rtol=1e-6)


def test_tbpcf_is_partial_covering_by_tbabs():
    tbabs = factor("TBabs", nH=5.0)
    covered = factor("TBpcf", nH=5.0, pcf=1.0)
    np.testing.assert_allclose(covered, tbabs, rtol=1e-7, atol=DEEP)
    np.testing.assert_array_equal(factor("TBpcf", nH=5.0, pcf=0.0), 1.0)
    got = factor("TBpcf", nH=5.0, pcf=0.25)
    np.testing.assert_allclose(got, 0.75 + 0.25 * tbabs, rtol=1e-7)


def test_tbfeo_negative_abundance_is_an_absolute_column():
    # tbnew: a negative abundance parameter is the element's column in cm^-2.
    n_h = 2.0
    oxygen_column = pa.abundance_vector("wilm")[4] * n_h * 1e22
    as_column = factor("TBfeo", nH=n_h, O=-oxygen_column)
    np.testing.assert_allclose(as_column, factor("TBfeo", nH=n_h), rtol=1e-9)
    more = factor("TBfeo", nH=n_h, O=3.0)
    edge = (EDGES[:-1] > 0.55) & (EDGES[1:] < 0.7)  # just above the O K edge
    assert np.all(more[edge] < 0.5 * factor("TBfeo", nH=n_h)[edge])


def test_grains_absorb_less_than_the_same_atoms_as_gas():
    # Self-shielding: bigger grains hide more of their atoms (Wilms et al. 2000).
    small = factor("TBgrain", nH=5.0, amin=0.025, amax=0.025)
    large = factor("TBgrain", nH=5.0, amin=1.0, amax=1.0)
    no_grains = factor("TBgrain", nH=5.0, rho=0.0)
    soft = (EDGES[:-1] > 0.3) & (EDGES[1:] < 1.0)
    assert np.all(large[soft] > small[soft])
    assert np.all(no_grains[soft] < large[soft])


@pytest.mark.parametrize(
    ("pl", "amin", "amax"),
    [(1.0, 0.025, 0.25), (3.0, 0.025, 0.25), (3.5, 0.025, 0.25), (4.5, 0.001, 1.0)],
)
@pytest.mark.parametrize("energy", [0.05, 0.3, 2.0])
def test_grain_shielding_matches_direct_integration(pl, amin, amax, energy):
    # Wilms et al. (2000) appendix: sum over sizes a^-pl of pi a^2 (1 - exp(-s a)).
    species = pa.tbabs_bin_species(np.array([energy, energy * 1.0001]))
    grain = pa.tbabs_grain_data()
    dust = pa.abundance_vector("wilm") * (1.0 - grain["depletion"])
    mass = dust @ grain["weight"] * grain["amu"]
    sigma = (dust @ species[:18])[0] / dust.sum() * 1e-22
    rho, lo, hi = 1.0, amin * 1e-4, amax * 1e-4
    s = 4.0 / 3.0 * rho * sigma / (mass / dust.sum())

    volume = integrate.quad(lambda a: a ** (3 - pl), lo, hi, epsrel=1e-13)[0]
    count = mass / (rho * 4.0 / 3.0 * math.pi * volume)
    area = integrate.quad(
        lambda a: a**-pl * math.pi * a**2 * -math.expm1(-s * a), lo, hi, epsrel=1e-13
    )[0]
    got = ab._grain_sigma(
        jnp.asarray(dust), jnp.asarray(species[:18]), rho, amin, amax, pl
    )
    assert float(got[0]) * 1e-22 == pytest.approx(count * area, rel=1e-9)


def test_one_grain_size_is_the_limit_of_a_narrow_distribution():
    # tbnew's single-size branch (amin = amax): n pi a^2 (1 - exp(-s a)).
    species = jnp.asarray(pa.tbabs_bin_species(np.array([0.3, 0.30003]))[:18])
    dust = jnp.asarray(pa.abundance_vector("wilm") * 0.5)
    one = ab._grain_sigma(dust, species, 1.0, 0.1, 0.1, 3.5)
    narrow = ab._grain_sigma(dust, species, 1.0, 0.1, 0.1 * (1 + 1e-7), 3.5)
    assert float(one[0]) == pytest.approx(float(narrow[0]), rel=1e-6)
    grain = pa.tbabs_grain_data()
    mass = float(dust @ grain["weight"]) * grain["amu"]
    s = 4.0 / 3.0 * float(dust @ species[:, 0]) * 1e-22 / mass  # rho = 1
    closed = 0.75 * mass / 1e-5 * -math.expm1(-s * 1e-5) / 1e-22
    assert float(one[0]) == pytest.approx(closed, rel=1e-12)


# ---------------------------------------------------------------------------
# Cut-offs, edges, lines


def test_highecut_has_xspecs_1_ev_floor_and_edge_mean():
    below = factor("highecut", np.array([1.0, 2.0]), cutoffE=10.0, foldE=15.0)[0]
    assert below == pytest.approx(math.exp(-0.001 / 15.0), rel=1e-14)
    edges = np.array([12.0, 20.0])
    got = factor("highecut", edges, cutoffE=10.0, foldE=15.0)[0]
    assert got == pytest.approx(0.5 * (math.exp(-2 / 15) + math.exp(-10 / 15)))
    np.testing.assert_allclose(
        factor("zhighect", edges / 2.0, cutoffE=10.0, foldE=15.0, Redshift=1.0), got
    )


def test_expabs_and_spexpcut_are_edge_means():
    edges = np.array([0.0, 0.5, 2.0])
    got = factor("expabs", edges, LowECut=1.0)
    np.testing.assert_allclose(
        got, [0.5 * math.exp(-2.0), 0.5 * (math.exp(-2.0) + math.exp(-0.5))]
    )
    cut = factor("spexpcut", edges, Ecut=1.0, alpha=2.0)
    np.testing.assert_allclose(
        cut, [0.5 * (1 + math.exp(-0.25)), 0.5 * (math.exp(-0.25) + math.exp(-4))]
    )


@pytest.mark.parametrize("factor_value", [0.0, 0.3, 5.0])
def test_expfac_is_the_exact_bin_average(factor_value):
    edges = np.array([0.1, 0.4, 0.5, 0.7, 3.0])  # StartE 0.6 inside bin 2
    got = factor("expfac", edges, Ampl=2.0, Factor=factor_value, StartE=0.6)
    for i, (lo, hi) in enumerate(zip(edges[:-1], edges[1:], strict=True)):

        def curve(e):
            return 1.0 + 2.0 * math.exp(-factor_value * e) if e > 0.6 else 1.0

        expected = integrate.quad(curve, lo, hi, points=[0.6])[0] / (hi - lo)
        assert got[i] == pytest.approx(expected, rel=1e-10), i


def test_edge_follows_xspecs_threshold_bin_rule():
    edges = np.array([5.0, 6.5, 7.5, 9.0])
    got = factor("edge", edges, edgeE=7.0, MaxTau=1.5)
    x = edges / 7.0

    def m(xx):
        return math.exp(-1.5 / xx**3)

    across = ((1 - x[1]) + 0.5 * (math.exp(-1.5) + m(x[2])) * (x[2] - 1)) / (
        x[2] - x[1]
    )
    np.testing.assert_allclose(got, [1.0, across, 0.5 * (m(x[2]) + m(x[3]))])
    np.testing.assert_array_equal(factor("edge", edges, edgeE=0.0), 1.0)
    np.testing.assert_allclose(
        factor("zedge", edges / 1.2, edgeE=7.0, MaxTau=1.5, Redshift=0.2), got
    )


def test_smedge_is_one_at_its_threshold_and_smeared_above():
    edges = np.array([5.0, 6.5, 7.5, 30.0])
    got = factor("smedge", edges, edgeE=7.0, MaxTau=1.0, index=-2.67, width=2.0)

    def m(e):
        return math.exp(-((e / 7.0) ** -2.67) * (1 - math.exp((7.0 - e) / 2.0)))

    across = ((1 - 6.5 / 7) + 0.5 * (1.0 + m(7.5)) * (7.5 / 7 - 1)) / (1.0 / 7)
    np.testing.assert_allclose(got, [1.0, across, 0.5 * (m(7.5) + m(30.0))])


def test_notch_removes_its_equivalent_width():
    edges = np.linspace(2.0, 5.0, 31)
    got = factor("notch", edges, LineE=3.52, Width=0.5, CvrFract=0.8)
    removed = np.sum((1.0 - got) * np.diff(edges))
    assert removed == pytest.approx(0.8 * 0.5, rel=1e-12)
    assert got[13] == pytest.approx(0.2)  # 3.3-3.4 keV, inside the notch
    assert got[12] == pytest.approx(1.0 - 0.8 * 0.03 / 0.1)  # 3.27-3.3 covered


def _gabs_reference(lo, hi, line, sigma, strength):
    depth = strength / (sigma * math.sqrt(2 * math.pi))

    def transmission(e):
        return math.exp(-depth * math.exp(-0.5 * ((e - line) / sigma) ** 2))

    points = [p for p in (line - 3 * sigma, line, line + 3 * sigma) if lo < p < hi]
    value = integrate.quad(
        transmission, lo, hi, points=points or None, limit=500, epsabs=1e-13
    )[0]
    return value / (hi - lo)


@pytest.mark.parametrize(
    ("sigma", "strength"), [(0.01, 1.0), (0.05, 0.02), (0.2, 5.0), (0.003, 30.0)]
)
def test_gabs_is_the_bin_average_of_the_transmission(sigma, strength):
    # Bins from much narrower to much wider than the line.
    edges = np.concatenate(
        [np.linspace(0.5, 0.99, 8), np.linspace(0.99, 1.01, 41)[1:], [1.03, 1.2, 2.0]]
    )
    got = factor("gabs", edges, LineE=1.0, Sigma=sigma, Strength=strength)
    expected = [
        _gabs_reference(lo, hi, 1.0, sigma, strength)
        for lo, hi in zip(edges[:-1], edges[1:], strict=True)
    ]
    far = (edges[1:] < 1.0 - 6 * sigma) | (edges[:-1] > 1.0 + 6 * sigma)
    np.testing.assert_allclose(
        got[~far], np.array(expected)[~far], rtol=1e-7, atol=1e-12
    )
    np.testing.assert_array_equal(got[far], 1.0)  # XSPEC: exactly 1 beyond 6 sigma


def test_gabs_without_width_absorbs_nothing():
    np.testing.assert_array_equal(factor("gabs", Sigma=0.0), 1.0)


def test_spline_follows_its_cubic_and_is_one_outside():
    edges = np.array([0.5, 1.1, 2.0, 3.0, 3.9, 6.0])  # Estart 1, Eend 4
    flat = factor("spline", edges, Estart=1.0, Ystart=2.0, Yend=2.0, Eend=4.0)
    np.testing.assert_allclose(flat, [0.7 / 0.6, 2.0, 2.0, 2.0, 2.2 / 2.1])
    line = factor(
        "spline",
        edges,
        Estart=1.0,
        Ystart=1.0,
        Yend=4.0,
        YPstart=1.0,
        YPend=1.0,
        Eend=4.0,
    )  # this cubic is y = E: inside, the bin means are the bin centres
    np.testing.assert_allclose(
        line, [(0.5 + 0.105) / 0.6, 1.55, 2.5, 3.45, (2.0 + 0.395) / 2.1]
    )


def test_spline_keeps_xspecs_bin_cases_at_its_end_points():
    # xsspln: a bin starting exactly at Estart or ending exactly at Eend is left at 1.
    edges = np.array([1.0, 2.0, 3.0, 4.0])
    got = factor("spline", edges, Estart=1.0, Ystart=2.0, Yend=2.0, Eend=4.0)
    np.testing.assert_allclose(got, [1.0, 2.0, 1.0])


# ---------------------------------------------------------------------------
# Differentiable and vmappable


_AT_ZERO = ("nH", "Redshift", "redshift", "Factor", "MaxTau", "Strength", "H")


# One kernel of each construction (the others reuse their pieces): table
# interpolation with the exact z = 0 bins, per-element weights, the M&M segments,
# the Klein-Nishina switch, the grain quadrature, and each guarded formula.
GRADIENT_CHECKED = (
    "zphabs", "zvarabs", "zwndabs", "wabs", "cabs", "TBvarabs", "expabs",
    "expfac", "edge", "smedge", "notch", "gabs", "spexpcut", "spline",
)  # fmt: skip


@pytest.mark.parametrize("name", GRADIENT_CHECKED)
def test_gradients_are_finite_at_the_defaults_and_at_zero(name):
    # With respect to the parameters a fit varies by default, and redshifts.
    spec = LIBRARY.exact(name)
    edges = jnp.asarray(np.geomspace(0.05, 30.0, 64))
    constants = _constants(spec, edges)
    fixed = {p.name: p.default for p in spec.parameters}
    free = [p.name for p in spec.parameters if not p.frozen or "edshift" in p.name]
    free = free or list(fixed)  # varabs: every parameter frozen by default

    def total(point):
        return jnp.sum(spec.kernel(edges, constants, **{**fixed, **point}))

    defaults = [fixed[n] for n in free]
    zeroed = [0.0 if n in _AT_ZERO else fixed[n] for n in free]
    points = {
        n: jnp.array([a, b]) for n, a, b in zip(free, defaults, zeroed, strict=True)
    }
    gradients = jax.jit(jax.vmap(jax.grad(total)))(points)
    for value in gradients.values():
        assert np.all(np.isfinite(np.asarray(value))), gradients


def test_redshift_gradient_at_zero_comes_from_the_table():
    # 2.5-2.8 keV holds no threshold, so the factor is smooth in z there.
    edges = np.linspace(2.5, 2.8, 31)
    spec = LIBRARY.exact("zphabs")
    constants = _constants(spec, edges)

    @jax.jit
    def total(z):
        return jnp.sum(spec.kernel(jnp.asarray(edges), constants, nH=30.0, Redshift=z))

    at_zero = float(jax.jit(jax.grad(total))(0.0))
    numeric = (float(total(1e-3)) - float(total(-1e-3))) / 2e-3
    assert at_zero == pytest.approx(numeric, rel=2e-3)
    assert at_zero > 0.0  # edges move up the falling cross section: less absorbed


@pytest.mark.parametrize("name", ["zTBabs", "gabs"])
def test_kernels_vmap_over_parameter_batches(name):
    spec = LIBRARY.exact(name)
    edges = np.geomspace(0.3, 10.0, 101)
    constants = _constants(spec, edges)
    fixed = {p.name: p.default for p in spec.parameters}
    first, second = list(fixed)[:2]
    batch = {first: jnp.array([0.1, 1.0, 3.0]), second: jnp.array([0.0, 0.5, 1.0])}
    kernel = _jitted(name)

    def evaluate(point):
        return kernel(jnp.asarray(edges), constants, **{**fixed, **point})

    together = jax.vmap(evaluate)(batch)
    for i in range(3):
        single = factor(name, edges, **{k: v[i] for k, v in batch.items()})
        np.testing.assert_allclose(np.asarray(together[i]), single, rtol=1e-12)
