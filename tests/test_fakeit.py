"""Fakeit end to end on the real XMM-Newton PN observation and the default response."""

import numpy as np
import pytest
from astropy.io import fits
from conftest import tutorial_parameters
from scipy import integrate

import specdsl
from specdsl.errors import ParameterError
from specdsl.runtime import fakeit as fakeit_module

MODEL = "tbabs*(powerlaw+bbodyrad)"
ONE_SET = {
    "tbabs_1.nH": 0.2,
    "powerlaw_1.PhoIndex": 1.8,
    "powerlaw_1.norm": 1e-2,
    "bbodyrad_1.kT": 0.4,
    "bbodyrad_1.norm": 5.0,
}


@pytest.fixture(scope="module")
def pn(pn_dir):
    return specdsl.Observation.from_pha(pn_dir / "PN_spectrum_grp20.fits")


@pytest.fixture(scope="module")
def model():
    return specdsl.compile(MODEL)


def test_tutorial_job_shape_and_type(pn, model):
    spectra = specdsl.fakeit(pn, model, tutorial_parameters(10_000), seed=42)

    assert spectra.shape == (10_000, 4096)
    assert spectra.dtype == np.int32
    assert spectra.min() >= 0 and spectra.sum() > 0


def test_fakeit_binds_an_observation_and_model_once(pn, model, monkeypatch):
    built = []
    bind = fakeit_module.FoldedModel
    monkeypatch.setattr(fakeit_module, "_last_fold", [])
    monkeypatch.setattr(
        fakeit_module, "FoldedModel", lambda *a, **k: built.append(a) or bind(*a, **k)
    )

    first = specdsl.fakeit(pn, model, ONE_SET, seed=3)
    again = specdsl.fakeit(pn, model, ONE_SET, seed=3)
    assert len(built) == 1
    np.testing.assert_array_equal(first, again)

    specdsl.fakeit(pn, model, ONE_SET, seed=3, grouped=True)
    specdsl.fakeit(pn, model, ONE_SET, seed=3, exposure=100.0)
    other = specdsl.Observation.from_pha(pn.spectrum_path)
    specdsl.fakeit(other, model, ONE_SET, seed=3)
    assert len(built) == 4 and built[-1][1] is other

    # The absorbers' constants depend on the abundance table: bound anew.
    wilm = specdsl.fakeit(other, model, ONE_SET, counting_statistics=False)
    with specdsl.library.settings.using(abundance="angr"):
        angr = specdsl.fakeit(other, model, ONE_SET, counting_statistics=False)
    assert len(built) == 5  # the wilm call reused the binding above
    assert abs(angr.sum() / wilm.sum() - 1) > 0.01


def test_same_seed_same_counts_whatever_the_batch_size(pn, model):
    parameters = tutorial_parameters(50)

    first = specdsl.fakeit(pn, model, parameters, seed=7)
    again = specdsl.fakeit(pn, model, parameters, seed=7, batch_size=16)
    other = specdsl.fakeit(pn, model, parameters, seed=8)

    np.testing.assert_array_equal(first, again)
    assert (first != other).any()


def test_a_spectrum_depends_only_on_its_own_parameters(pn, model):
    parameters = tutorial_parameters(20)
    changed = {name: values.copy() for name, values in parameters.items()}
    changed["powerlaw_1.PhoIndex"][5] = 2.9

    before = specdsl.fakeit(pn, model, parameters, seed=3)
    after = specdsl.fakeit(pn, model, changed, seed=3)

    differs = (before != after).any(axis=1)
    assert differs[5]
    assert not differs[np.arange(20) != 5].any()


def _independent_response(pn_dir):
    """RMF x ARF x exposure read row by row with astropy, with no specdsl code."""
    with fits.open(pn_dir / "PN.rmf") as rmf, fits.open(pn_dir / "PN.arf") as arf:
        matrix_hdu = rmf["MATRIX"]
        first = matrix_hdu.header.get("TLMIN4", 1)
        rows = matrix_hdu.data
        n_channels = rmf["EBOUNDS"].header["NAXIS2"]
        response = np.zeros((len(rows), n_channels))
        for i, row in enumerate(rows):
            values = np.asarray(row["MATRIX"], dtype=float)
            position = 0
            for start, width in zip(
                np.atleast_1d(row["F_CHAN"]), np.atleast_1d(row["N_CHAN"]), strict=False
            ):
                column = int(start) - first
                response[i, column : column + width] = values[
                    position : position + width
                ]
                position += int(width)
        lo, hi = rows["ENERG_LO"].astype(float), rows["ENERG_HI"].astype(float)
        area = arf["SPECRESP"].data["SPECRESP"].astype(float)
    with fits.open(pn_dir / "PN_spectrum_grp20.fits") as pha:
        exposure = pha["SPECTRUM"].header["EXPOSURE"]
    return lo, hi, response * (area * exposure)[:, None]


def _independent_flux(lo, hi, shared_data):
    """The seed model's photon flux per bin: formulas and XSPEC's own sigma table."""
    p = ONE_SET
    index = p["powerlaw_1.PhoIndex"]
    powerlaw = (
        p["powerlaw_1.norm"] * (hi ** (1 - index) - lo ** (1 - index)) / (1 - index)
    )

    kT = p["bbodyrad_1.kT"]

    def planck(energy):
        return 1.0344e-3 * p["bbodyrad_1.norm"] * energy**2 / np.expm1(energy / kT)

    pairs = zip(lo, hi, strict=True)
    blackbody = np.array(
        [integrate.quad(planck, a, b, epsrel=1e-10)[0] for a, b in pairs]
    )

    with fits.open(shared_data / "reference-xsect" / "xsect_tbabs_wilm.fits") as table:
        energy = table[1].data["ENERGY"].astype(float)
        sigma = table[1].data["SIGMA"].astype(float)
    centre = np.sqrt(lo * hi)
    # log-log interpolation; below 0.1 keV continue the first segment's slope.
    log_sigma = np.interp(np.log(centre), np.log(energy), np.log(sigma))
    slope = np.log(sigma[1] / sigma[0]) / np.log(energy[1] / energy[0])
    below = centre < energy[0]
    log_sigma[below] = np.log(sigma[0]) + slope * np.log(centre[below] / energy[0])
    transmission = np.exp(-p["tbabs_1.nH"] * np.exp(log_sigma))
    transmission[centre >= 100] = 1.0
    return transmission * (powerlaw + blackbody)


def test_expected_counts_match_an_independent_computation(
    pn, model, pn_dir, shared_data
):
    lo, hi, response = _independent_response(pn_dir)
    independent = _independent_flux(lo, hi, shared_data) @ response

    ours = specdsl.fakeit(pn, model, ONE_SET, counting_statistics=False)

    bright = independent > 10
    assert bright.sum() > 1000
    np.testing.assert_allclose(ours[bright], independent[bright], rtol=0.01)


def test_single_parameter_set_gives_one_spectrum(pn, model):
    spectrum = specdsl.fakeit(pn, model, ONE_SET, seed=1)

    assert spectrum.shape == (4096,)


def test_nested_parameters_equal_flat_ones(pn, model):
    nested = {
        "tbabs_1": {"nH": 0.2},
        "powerlaw_1": {"PhoIndex": 1.8, "norm": 1e-2},
        "bbodyrad_1": {"kT": 0.4, "norm": 5.0},
    }

    flat = specdsl.fakeit(pn, model, ONE_SET, counting_statistics=False)
    tree = specdsl.fakeit(pn, model, nested, counting_statistics=False)

    np.testing.assert_array_equal(flat, tree)


def test_missing_parameters_take_their_defaults(pn, model):
    given = specdsl.fakeit(
        pn, model, {"powerlaw_1.norm": 1e-3}, counting_statistics=False
    )
    explicit = specdsl.fakeit(
        pn,
        model,
        {**model.defaults(), "powerlaw_1.norm": 1e-3},
        counting_statistics=False,
    )

    np.testing.assert_array_equal(given, explicit)


def test_exposure_scales_expected_counts(pn, model):
    base = specdsl.fakeit(pn, model, ONE_SET, counting_statistics=False)
    longer = specdsl.fakeit(
        pn, model, ONE_SET, counting_statistics=False, exposure=2 * pn.exposure
    )

    np.testing.assert_allclose(longer, 2 * base, rtol=1e-6)


def test_poisson_counts_scatter_around_the_expectation(pn, model):
    parameters = {name: np.full(400, value) for name, value in ONE_SET.items()}

    counts = specdsl.fakeit(pn, model, parameters, seed=5)
    expected = specdsl.fakeit(pn, model, ONE_SET, counting_statistics=False)

    total = counts.sum(axis=1)
    assert abs(total.mean() - expected.sum()) < 4 * np.sqrt(expected.sum() / 400)
    assert total.var() == pytest.approx(expected.sum(), rel=0.25)


def test_grouped_sums_groups_and_drops_bad_channels(pn, model):
    full = specdsl.fakeit(pn, model, ONE_SET, counting_statistics=False)
    grouped = specdsl.fakeit(
        pn, model, ONE_SET, counting_statistics=False, grouped=True
    )

    assert grouped.shape == (114,)
    np.testing.assert_allclose(grouped, pn.group_matrix() @ full, rtol=1e-5)


def test_unknown_parameter_lists_the_valid_ones(pn, model):
    with pytest.raises(ParameterError) as caught:
        specdsl.fakeit(pn, model, {"powerlaw_1.Gamma": 2.0})

    assert "powerlaw_1.Gamma" in str(caught.value)
    assert "powerlaw_1.PhoIndex" in str(caught.value)


@pytest.mark.parametrize(
    "values, words",
    [
        ({"powerlaw_1.norm": -1.0}, "below its hard limit 0"),
        ({"powerlaw_1.PhoIndex": 11.0}, "above its hard limit 10"),
        ({"powerlaw_1.norm": [1, -0.5, 1, -2]}, r"norm\[1\] = -0.5 is below"),
        ({"powerlaw_1.PhoIndex": [[1, 12], [11, 2]]}, r"\[0, 1\] = 12 is above"),
        ({"bbodyrad_1.kT": np.nan}, "finite"),
        ({"tbabs_1.nH": [0.1, 0.2], "powerlaw_1.norm": [1, 2, 3]}, "different shapes"),
        ({"powerlaw_1.norm": "a lot"}, "expected a number"),
    ],
)
def test_bad_parameter_values_are_refused(pn, model, values, words):
    with pytest.raises(ParameterError, match=words):
        specdsl.fakeit(pn, model, values)


def test_model_may_be_given_as_text(pn):
    assert specdsl.fakeit(pn, "powerlaw", {"powerlaw_1.norm": 1e-3}).shape == (4096,)


def test_jaxspec_style_call(pn, model):
    parameters = tutorial_parameters(5)

    single = specdsl.fakeit_for_multiple_parameters(pn, model, parameters, rng_key=3)
    several = specdsl.fakeit_for_multiple_parameters(
        {"PN": pn}, model, parameters, rng_key=3
    )

    np.testing.assert_array_equal(several["PN"], single)
    assert single.shape == (5, 4096)


def test_default_response_runs_without_files(model):
    observation = specdsl.Observation.default()

    spectra = specdsl.fakeit(observation, model, tutorial_parameters(3), seed=0)

    assert spectra.shape == (3, 1024)
    assert spectra.sum() > 0


def test_second_instrument_chandra_acis(shared_data, model):
    observation = specdsl.Observation.from_pha(
        shared_data / "chandra-acis-3c273" / "3c273.pi"
    )

    spectrum = specdsl.fakeit(observation, model, ONE_SET, seed=0)
    expected = specdsl.fakeit(observation, model, ONE_SET, counting_statistics=False)

    assert spectrum.shape == (1024,)
    assert abs(spectrum.sum() - expected.sum()) < 5 * np.sqrt(expected.sum())
