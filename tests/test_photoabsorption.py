"""tbabs and Verner cross sections against XSPEC's own tabulations and basic physics.

The reference tables (shared/data/reference-xsect) hold XSPEC's cross section on
10,000 bins with edges geomspace(0.1, 20, 10001) keV, tabulated at the bin centres:
each SIGMA is XSPEC's bin value, the mean over the two edges. So the tables are
compared with ``tbabs_bin_cross_section`` on those edges; point values are compared
too, away from the bins that contain an edge or a resonance.
"""

from __future__ import annotations

import json
import math
from importlib import resources

import numpy as np
import pytest
from astropy.io import fits

from specdsl.errors import ParameterError
from specdsl.library import photoabsorption as pa

REFERENCE_EDGES = np.geomspace(0.1, 20.0, 10001)
COLUMNS = (0.1, 1.0, 10.0)  # nH in 1e22 cm^-2
TRANSMISSION_TOL = 0.005


def _reference(shared_data, name):
    """ENERGY and SIGMA columns of one reference table, as float64."""
    path = shared_data / "reference-xsect" / name
    with fits.open(path) as hdul:
        data = hdul[1].data
        return data["ENERGY"].astype(float), data["SIGMA"].astype(float)


@pytest.fixture(scope="module")
def tbabs_reference(shared_data):
    return _reference(shared_data, "xsect_tbabs_wilm.fits")


@pytest.fixture(scope="module")
def tbabs_bins():
    return pa.tbabs_bin_cross_section(REFERENCE_EDGES)


def _max_transmission_error(sigma, reference, n_h):
    return float(np.max(np.abs(np.exp(-n_h * sigma) - np.exp(-n_h * reference))))


# ---------------------------------------------------------------------------
# Against XSPEC's tabulation


def test_reference_energies_are_the_centres_of_the_reference_bins(tbabs_reference):
    energy, _ = tbabs_reference
    centres = np.sqrt(REFERENCE_EDGES[:-1] * REFERENCE_EDGES[1:])
    np.testing.assert_allclose(energy, centres, rtol=1e-6)


@pytest.mark.parametrize("n_h", COLUMNS)
def test_tbabs_transmission_matches_xspec_at_every_energy(
    tbabs_reference, tbabs_bins, n_h
):
    _, reference = tbabs_reference
    error = _max_transmission_error(tbabs_bins, reference, n_h)
    assert error < TRANSMISSION_TOL
    assert error < 1e-4  # measured 4.5e-5 (nH 0.1), 3.8e-6 (1), 1.3e-5 (10)


def test_tbabs_sigma_matches_xspec_to_float32_noise(tbabs_reference, tbabs_bins):
    _, reference = tbabs_reference
    relative = np.abs(tbabs_bins / reference - 1.0)
    assert relative.max() < 2e-3  # measured 7.1e-4, scatter of XSPEC's float32 fits
    assert np.median(relative) < 1e-5


def _bins_with_structure(lower, upper):
    """Bins holding a Verner threshold or lying in an O/Ne/Fe edge-table range."""
    verner = pa._load("verner1996_neutral.json")["elements"]
    thresholds = [
        shell["E_th"] / 1e3
        for element in pa.TBABS_ELEMENTS
        for shell in verner[element]["shells"].values()
    ]
    mask = np.zeros(lower.shape, dtype=bool)
    for threshold in thresholds:
        mask |= (lower <= threshold) & (threshold <= upper)
    for start, stop in [(0.490, 0.5845), (0.865, 0.8702), (0.700, 0.795)]:
        mask |= (upper >= start) & (lower <= stop)
    return mask


@pytest.mark.parametrize("n_h", COLUMNS)
def test_point_values_match_xspec_away_from_edges(tbabs_reference, n_h):
    energy, reference = tbabs_reference
    structured = _bins_with_structure(REFERENCE_EDGES[:-1], REFERENCE_EDGES[1:])
    assert structured.sum() < 700  # the comparison still covers > 93% of the table

    sigma = pa.tbabs_cross_section(energy)
    smooth = ~structured
    error = _max_transmission_error(sigma[smooth], reference[smooth], n_h)
    assert error < TRANSMISSION_TOL
    assert np.abs(sigma[smooth] / reference[smooth] - 1.0).max() < 2e-3


def test_without_edge_tables_the_o_resonance_is_missed(tbabs_reference, monkeypatch):
    # Guards the O/Ne/Fe tables: the Verner fits alone miss them by far more than 0.005.
    energy, reference = tbabs_reference
    monkeypatch.setattr(pa, "_edge_table_mb", pa._verner_mb)
    sigma = pa.tbabs_bin_cross_section(REFERENCE_EDGES)
    assert _max_transmission_error(sigma, reference, 0.1) > 0.1


def test_verner_sum_matches_xspec_phabs_with_aspl(shared_data):
    # phabs = sum_Z A_Z sigma_Z with the same Verner fits: checks every element's fit.
    _, reference = _reference(shared_data, "xsect_phabs_aspl.fits")
    abundances = pa.abundance_table("aspl")
    at_edges = sum(
        abundances[el] * pa.verner_cross_section(el, REFERENCE_EDGES)
        for el in pa.verner_elements()
    )
    sigma = 0.5 * (at_edges[:-1] + at_edges[1:])
    assert np.abs(sigma / reference - 1.0).max() < 2e-3
    for n_h in COLUMNS:
        assert _max_transmission_error(sigma, reference, n_h) < 1e-4


# ---------------------------------------------------------------------------
# Outside the tabulated band


def test_finite_and_non_negative_down_to_1ev():
    energy = np.geomspace(1e-3, 0.1, 2000)
    sigma = pa.tbabs_cross_section(energy)
    assert np.all(np.isfinite(sigma))
    assert np.all(sigma >= 0.0)


def test_positive_from_the_lyman_limit_and_zero_below_every_threshold():
    above_lyman = pa.tbabs_cross_section(np.geomspace(0.0136, 0.1, 500))
    assert np.all(above_lyman > 0.0)

    # The lowest threshold of any tbabs element is Na 3s at 5.139 eV.
    below = pa.tbabs_cross_section(np.array([1e-3, 3e-3, 5.1e-3]))
    np.testing.assert_array_equal(below, 0.0)
    assert pa.tbabs_cross_section(np.array([5.2e-3]))[0] > 0.0


def test_far_uv_value_is_close_to_morrison_mccammon():
    # M&M (1983) below 0.1 keV: sigma = 0.336 / E^3 x 1e-22 cm^2 at 0.03 keV.
    sigma = pa.tbabs_cross_section(np.array([0.03]))[0]
    assert sigma == pytest.approx(0.336 / 0.03**3, rel=0.2)


def test_non_physical_energies_give_zero():
    sigma = pa.tbabs_cross_section(np.array([-1.0, 0.0, np.nan, np.inf]))
    np.testing.assert_array_equal(sigma, 0.0)


def test_zero_at_and_above_100_kev():
    sigma = pa.tbabs_cross_section(np.array([99.9, 100.0, 150.0, 1e4]))
    assert sigma[0] > 0.0
    np.testing.assert_array_equal(sigma[1:], 0.0)


# ---------------------------------------------------------------------------
# The bin rule


def test_bin_cross_section_has_one_value_per_bin():
    edges = np.linspace(0.2, 12.0, 301)
    assert pa.tbabs_bin_cross_section(edges).shape == (300,)


def test_bin_value_is_the_mean_of_the_edge_values():
    # XSPEC averages each species over the edges, then adds grains (non-linear in
    # the species), so the mean of edge totals holds exactly for gas and H2 and to
    # ~5e-5 for bins across an edge (here Fe K).
    edges = np.geomspace(1.0, 10.0, 2001)
    points = pa.tbabs_cross_section(edges)
    expected = 0.5 * (points[:-1] + points[1:])
    relative = np.abs(pa.tbabs_bin_cross_section(edges) / expected - 1.0)
    assert relative.max() < 1e-4
    assert np.median(relative) < 1e-7


def test_bin_across_an_edge_averages_both_sides():
    below, above = 7.10, 7.15  # Fe K edge at 7.124 keV
    points = pa.tbabs_cross_section(np.array([below, above]))
    value = pa.tbabs_bin_cross_section(np.array([below, above]))[0]
    assert value == pytest.approx(points.mean(), rel=1e-4)
    assert points[0] < value < points[1]


@pytest.mark.parametrize("edges", [[1.0], [[0.5, 1.0], [1.0, 2.0]], []])
def test_bin_cross_section_rejects_a_malformed_grid(edges):
    with pytest.raises(ParameterError):
        pa.tbabs_bin_cross_section(np.array(edges))


# ---------------------------------------------------------------------------
# Textbook physics


@pytest.mark.parametrize(
    ("name", "below", "above", "min_ratio"),
    [
        ("O K (0.54 keV)", 0.530, 0.545, 1.15),
        ("Fe L3 (0.707 keV)", 0.700, 0.712, 1.05),
        ("Ne K (0.87 keV)", 0.860, 0.872, 1.04),
        ("Fe K (7.12 keV)", 7.10, 7.13, 1.8),
    ],
)
def test_absorption_edges_are_jumps(name, below, above, min_ratio):
    # Between edges sigma falls roughly as E^-2.6 (a 3-10% drop over these spans);
    # across an edge it rises.
    sigma = pa.tbabs_cross_section(np.array([below, above]))
    assert sigma[1] / sigma[0] > min_ratio, name


def test_sigma_falls_between_edges():
    energy = np.linspace(1.09, 1.30, 500)  # between Na K (1.079) and Mg K (1.311)
    assert np.all(np.diff(pa.tbabs_cross_section(energy)) < 0.0)


def test_sigma_at_1_kev_has_the_known_magnitude():
    # tbabs/wilm: about 1.7e-22 cm^2 per H at 1 keV, tau = 1 at nH ~ 6e21 cm^-2.
    assert pa.tbabs_cross_section(np.array([1.0]))[0] == pytest.approx(1.74, rel=0.02)


def test_oxygen_k_shell_opens_at_its_threshold():
    sigma = pa.verner_cross_section("O", np.array([0.5379, 0.5381]))
    assert sigma[1] / sigma[0] > 10.0


def test_verner_hydrogen_agrees_with_the_hydrogenic_formula():
    energy = np.geomspace(0.014, 10.0, 400)
    verner = pa.verner_cross_section("H", energy)
    hydrogenic = pa._hydrogen_mb(energy * 1e3) * pa.MB_TO_1E22
    np.testing.assert_allclose(verner, hydrogenic, rtol=0.02)


def test_verner_rejects_an_element_not_shipped():
    with pytest.raises(ParameterError, match="Ti"):
        pa.verner_cross_section("Ti", np.array([1.0]))


# ---------------------------------------------------------------------------
# Grains and helpers


def test_lower_incomplete_gamma_matches_scipy():
    special = pytest.importorskip("scipy.special")
    x = np.concatenate([[0.0], np.geomspace(1e-6, 1e4, 300)])
    for a in (0.5, 1.0, 2.5):
        expected = special.gammainc(a, x) * special.gamma(a)
        np.testing.assert_allclose(pa._lower_gamma(a, x), expected, rtol=1e-10)


def test_grain_cross_section_matches_direct_integration():
    # Wilms et al. (2000) appendix: sum over the size distribution of
    # pi a^2 (1 - exp(-s a)), s = (4/3) rho sigma_mean / m_mean.
    integrate = pytest.importorskip("scipy.integrate")
    abundances = pa.abundance_table("wilm")
    dust, mass = pa._grain_mixture(abundances)
    atoms = sum(dust.values())
    p, rho = pa.TBABS_GRAIN_INDEX, pa.TBABS_GRAIN_DENSITY
    amin, amax = pa.TBABS_GRAIN_AMIN_CM, pa.TBABS_GRAIN_AMAX_CM

    def grain_area(a, s):
        return a**-p * math.pi * a**2 * -math.expm1(-s * a)

    volume = integrate.quad(lambda a: a**-p * a**3, amin, amax)[0]
    grains_per_weight = mass / (rho * 4.0 / 3.0 * math.pi * volume)
    for sigma_mean in (1e-21, 1e-19, 1e-18, 3e-17):
        s = 4.0 / 3.0 * rho * sigma_mean / (mass / atoms)
        area = integrate.quad(grain_area, amin, amax, args=(s,), limit=200)[0]
        closed = pa._grain_cm2(np.array([sigma_mean * atoms]), atoms, mass)[0]
        assert closed == pytest.approx(grains_per_weight * area, rel=1e-8)


def test_grains_shield_at_low_energy():
    # Optically thick grains absorb less than their atoms would as gas.
    abundances = pa.abundance_table("wilm")
    dust, mass = pa._grain_mixture(abundances)
    atoms = sum(dust.values())
    thick = np.array([1e-17 * atoms])
    assert pa._grain_cm2(thick, atoms, mass)[0] < 0.9 * thick[0]
    thin = np.array([1e-23 * atoms])
    assert pa._grain_cm2(thin, atoms, mass)[0] == pytest.approx(thin[0], rel=1e-3)


# ---------------------------------------------------------------------------
# Data files


def test_abundance_tables_hold_the_published_values():
    assert set(pa.abundance_tables()) >= {"wilm", "angr", "aspl"}
    wilm = pa.abundance_table("wilm")
    assert wilm["O"] == 4.90e-4 and wilm["Fe"] == 2.69e-5 and wilm["Li"] == 0.0
    assert pa.abundance_table("ANGR")["Fe"] == 4.68e-5
    assert pa.abundance_table("aspl")["He"] == 8.51e-2
    assert len(wilm) == 30


def test_unknown_abundance_table_is_a_parameter_error():
    with pytest.raises(ParameterError, match="wilm"):
        pa.abundance_table("solar")


def test_every_data_file_ships_in_the_package_and_cites_its_source():
    folder = resources.files("specdsl.library").joinpath("data")
    names = {entry.name for entry in folder.iterdir()}
    assert "README.md" in names
    for name in names - {"README.md"}:
        if name.endswith(".tsv"):  # XSPEC's component names: cites model.dat
            assert "model.dat" in folder.joinpath(name).read_text("utf-8")
            continue
        data = json.loads(folder.joinpath(name).read_text("utf-8"))
        cited = json.dumps(data.get("references", "")) + json.dumps(
            data.get("tables", "")
        )
        assert any(year in cited for year in ("1989", "1995", "1996", "1998", "2000"))


def test_verner_data_cover_the_tbabs_elements():
    assert set(pa.verner_elements()) == set(pa.TBABS_ELEMENTS)
