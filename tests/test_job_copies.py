"""What a command-line fake copies from the spectrum it is based on, as XSPEC's
fakeit does: QUALITY and GROUPING, and the keywords that say which instrument,
detector and data selection it is (XFLTnnnn: IXPE's Stokes parameter)."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from astropy.io import fits

from specdsl.cli import main
from specdsl.response import Observation

EXOSAT = ("exosat-me-walkthrough", "s54405.pha", "s54405.rsp")


@pytest.fixture
def exosat(shared_data, tmp_path):
    """The EXOSAT ME spectrum (40 bad channels) and its response, in tmp_path,
    with a GROUPING column that groups channels 20..29."""
    folder, *names = EXOSAT
    for name in names:
        shutil.copy(shared_data / folder / name, tmp_path / name)
    spectrum = tmp_path / names[0]
    with fits.open(spectrum, mode="update") as hdus:
        grouping = hdus["SPECTRUM"].data["GROUPING"]
        grouping[20:30] = -1
        grouping[20] = 1
    return spectrum


def fake(*arguments) -> None:
    assert main(["fakeit", *map(str, arguments)]) == 0


def flags(path) -> dict:
    with fits.open(path) as hdus:
        data = hdus["SPECTRUM"].data
        return {name: np.atleast_2d(data[name]) for name in ("QUALITY", "GROUPING")}


@pytest.mark.parametrize("count", [1, 3])
def test_quality_and_grouping_are_copied_from_the_spectrum(exosat, tmp_path, count):
    output = tmp_path / "o.fak"
    fake(exosat, "-m", "powerlaw", "-n", count, "-o", output)

    expected = Observation.from_pha(exosat, background=False)
    copied = flags(output)
    for name, values in (
        ("QUALITY", expected.quality),
        ("GROUPING", expected.grouping),
    ):
        assert copied[name].shape == (count, values.size)
        assert (copied[name] == values).all(), name
    assert (copied["QUALITY"] != 0).sum() == count * (expected.quality != 0).sum()
    assert (expected.quality[3:] != 0).sum() == 40  # the file's own bad channels
    assert (copied["GROUPING"] == -1).sum() == count * 9


def test_a_grouped_fake_has_no_channel_flags(exosat, tmp_path):
    output = tmp_path / "g.fak"
    fake(exosat, "-m", "powerlaw", "-n", 3, "--grouped", "-o", output)

    header = fits.getheader(output, "SPECTRUM")
    assert (header["QUALITY"], header["GROUPING"]) == (0, 0)
    assert "QUALITY" not in fits.getdata(output, "SPECTRUM").columns.names


@pytest.mark.parametrize("count", [1, 2])
def test_ixpe_stokes_filter_and_instrument_keywords_are_copied(
    shared_data, tmp_path, count
):
    spectrum = shared_data / "ixpe-gpd" / "det1_filt_src_Q.pha"
    output = tmp_path / "q.fak"
    fake(spectrum, "-m", "powerlaw", "-n", count, "-o", output)

    original = fits.getheader(spectrum, "SPECTRUM")
    header = fits.getheader(output, "SPECTRUM")
    assert header["XFLT0001"] == original["XFLT0001"] == "Stokes:1"
    for key in ("TELESCOP", "INSTRUME", "FILTER", "CHANTYPE"):
        assert header[key] == original[key], key
    for key in ("OBJECT", "DATE-OBS", "TSTART", "ONTIME", "LIVETIME", "DETNAM"):
        assert key not in header, key
