"""Background in fakeit, by XSPEC's rules, on Chandra ACIS 3C 273 (3c273_bg.pi)."""

from __future__ import annotations

import dataclasses
import io

import numpy as np
import pytest
from astropy.io import fits
from rich.console import Console

from specdsl.errors import OGIPError
from specdsl.prompt.inputs import ScriptInput
from specdsl.prompt.session import Session
from specdsl.response.observation import Observation
from specdsl.runtime.background import (
    background_expected,
    background_file_name,
    background_rate,
    fake_background,
    has_background,
    source_background_counts,
)

PARAMETERS = {"powerlaw_1.PhoIndex": 1.7, "powerlaw_1.norm": 1e-3}


@pytest.fixture(scope="module")
def source(shared_data):
    return Observation.from_pha(shared_data / "chandra-acis-3c273" / "3c273.pi")


def run(tmp_path, script: str) -> str:
    console = Console(file=io.StringIO(), width=100, color_system=None)
    session = Session(console, cwd=tmp_path)
    session.run(ScriptInput(script.lstrip("\n").splitlines(), console))
    return console.file.getvalue()


def read(path):
    with fits.open(path) as hdus:
        return hdus[1].header.copy(), hdus[1].data.copy()


# --- the formula ---------------------------------------------------------------


def test_background_rate_follows_xspec_scaling(source):
    bkg = source.background
    # 3C 273: the source region is about 7.4 times smaller than the background one.
    assert bkg.backscal / source.backscal == pytest.approx(7.4116, rel=1e-4)
    channel = int(np.argmax(bkg.counts))
    expected = (
        bkg.counts[channel]
        / (bkg.exposure * bkg.areascal)
        * (source.backscal / bkg.backscal)
    )
    assert background_rate(source)[channel] == pytest.approx(expected, rel=1e-12)
    assert background_rate(source).sum() * bkg.exposure == pytest.approx(
        216 / 7.4116, rel=1e-4
    )


def test_areascal_enters_both_sides(source):
    bkg = dataclasses.replace(source.background, areascal=2.0)
    scaled = dataclasses.replace(source, areascal=0.5, background=bkg)
    rate = background_rate(scaled)
    plain = background_rate(source)

    np.testing.assert_allclose(rate, plain / 2.0, rtol=1e-12)
    np.testing.assert_allclose(
        source_background_counts(scaled, 1000.0), 1000.0 * 0.5 * rate, rtol=1e-12
    )
    # The simulated background needs only its counts and the two exposures.
    np.testing.assert_allclose(
        background_expected(scaled, 2 * bkg.exposure), 2 * bkg.counts, rtol=1e-12
    )


def test_no_background_is_an_error_naming_the_field(shared_data):
    observation = Observation.from_response(
        shared_data / "chandra-acis-cy15-fakeit" / "aciss_aimpt_cy15.rmf"
    )
    assert not has_background(observation)
    with pytest.raises(OGIPError, match="no background") as caught:
        background_rate(observation)
    assert caught.value.field == "BACKFILE"


def test_background_draws_are_reproducible_and_separate_streams(source):
    exposure = 10 * source.background.exposure
    first = fake_background(source, exposure, count=3, seed=7)
    again = fake_background(source, exposure, count=3, seed=7)
    other = fake_background(source, exposure, count=3, seed=8)

    assert first.dtype == np.int32 and first.shape == (3, 1024)
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)
    assert not np.array_equal(first[0], first[1])
    # Mean 2160 counts per spectrum: every draw within 6 sigma of it.
    assert np.all(np.abs(first.sum(axis=1) - 2160) < 6 * np.sqrt(2160))


@pytest.mark.parametrize(
    "name, expected",
    [("test.fak", "test_bkg.fak"), ("a.b.pha", "a.b_bkg.pha"), ("plain", "plain_bkg")],
)
def test_background_file_name_is_xspecs(name, expected):
    assert background_file_name(name) == expected


# --- through the prompt --------------------------------------------------------


@pytest.fixture(scope="module")
def faked(tmp_path_factory, shared_data):
    """One session: 3C 273 faked without, then with, counting statistics."""
    folder = tmp_path_factory.mktemp("bkg")
    data = shared_data / "chandra-acis-3c273" / "3c273.pi"
    screen = run(
        folder,
        f"""
        data {data}
        model powerlaw
        1.7
        1e-3
        fakeit
        n

        src.fak
        40000 1 80000
        fakeit
        y

        poisson.fak
        40000 1 80000
        """,
    )
    return folder, screen


def expected_model_counts(observation, exposure: float) -> np.ndarray:
    """Model counts folded here with numpy, independently of FoldedModel."""
    edges = np.asarray(observation.energy_edges)
    index, norm = PARAMETERS["powerlaw_1.PhoIndex"], PARAMETERS["powerlaw_1.norm"]
    flux = norm * np.diff(edges ** (1 - index)) / (1 - index)  # photons/cm2/s/bin
    area = np.asarray(observation.effective_area)[:, None]
    response = area * np.asarray(observation.redistribution)
    return flux @ response * exposure * observation.areascal


def test_prompt_fakes_3c273_with_its_background(faked, source):
    folder, screen = faked
    assert "wrote src.fak" in screen and "wrote src_bkg.fak (background" in screen

    header, table = read(folder / "src.fak")
    bkg_header, bkg_table = read(folder / "src_bkg.fak")
    assert header["BACKFILE"] == "src_bkg.fak"
    assert header["BACKSCAL"] == pytest.approx(source.backscal)
    assert bkg_header["HDUCLAS2"] == "BKG"
    assert bkg_header["EXPOSURE"] == 80000.0
    assert bkg_header["BACKSCAL"] == pytest.approx(source.background.backscal)
    assert not header["POISSERR"] and not bkg_header["POISSERR"]

    model = expected_model_counts(source, 40000.0)
    scaled = source_background_counts(source, 40000.0)
    bright = model > 1e-3 * model.max()
    total = model + scaled
    np.testing.assert_allclose(table["COUNTS"][bright], total[bright], rtol=1e-5)
    np.testing.assert_allclose(table["COUNTS"].sum(), (model + scaled).sum(), rtol=1e-5)
    np.testing.assert_allclose(
        bkg_table["COUNTS"],
        source.background.counts * 80000.0 / source.background.exposure,
        rtol=1e-12,
    )


def test_prompt_poisson_background_counts_are_near_expectation(faked, source):
    folder, _ = faked
    _, table = read(folder / "poisson.fak")
    _, bkg = read(folder / "poisson_bkg.fak")

    assert bkg["COUNTS"].dtype.kind == "i" and table["COUNTS"].dtype.kind == "i"
    bkg_mean = 216 * 80000.0 / source.background.exposure
    assert abs(int(bkg["COUNTS"].sum()) - bkg_mean) < 6 * np.sqrt(bkg_mean)

    mean = expected_model_counts(source, 40000.0).sum()
    mean += source_background_counts(source, 40000.0).sum()
    assert abs(int(table["COUNTS"].sum()) - mean) < 6 * np.sqrt(mean)


def test_backgrnd_command_adds_one_to_a_response(tmp_path, shared_data):
    folder = shared_data / "chandra-acis-3c273"
    run(
        tmp_path,
        f"""
        response {folder / "3c273.rmf"}
        arf {folder / "3c273.arf"}
        backgrnd {folder / "3c273_bg.pi"}
        model powerlaw
        /*
        fakeit
        n

        r.fak
        /
        """,
    )
    header, table = read(tmp_path / "r.fak")
    _, bkg = read(tmp_path / "r_bkg.fak")
    # Not based on data: the background's exposure is the default for both.
    assert header["EXPOSURE"] == pytest.approx(38564.608926889)
    original = fits.getdata(folder / "3c273_bg.pi")["COUNTS"]
    np.testing.assert_allclose(bkg["COUNTS"], original)
    assert header["BACKFILE"] == "r_bkg.fak"
    # With no source region of its own, the fake takes the background's BACKSCAL:
    # the background file is what the source spectrum gets, scaled by exposure.
    backscal = fits.getval(folder / "3c273_bg.pi", "BACKSCAL", 1)
    assert header["BACKSCAL"] == pytest.approx(backscal)
    assert np.all(table["COUNTS"] >= original - 1e-9)
