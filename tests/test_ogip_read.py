"""OGIP reading stage: readers and Observation on real mission files, and failures."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from astropy.io import fits
from fits_edits import table_copy

from specdsl.errors import OGIPError
from specdsl.response import Observation, ogip, read_arf, read_pha, read_rmf
from specdsl.response.default import default_response, resolution_sigma

# ---------------------------------------------------------------------- helpers


def reference_matrix(path) -> np.ndarray:
    """Slow, obvious per-group expansion of an RMF, to check the vectorised one."""
    with fits.open(path) as hdul:
        hdu = next(h for h in hdul if h.name in ("MATRIX", "SPECRESP MATRIX"))
        n_channels = len(hdul["EBOUNDS"].data)
        names = [n.upper() for n in hdu.columns.names]
        first = hdu.header.get(f"TLMIN{names.index('F_CHAN') + 1}", 1)
        dense = np.zeros((len(hdu.data), n_channels))
        for i, row in enumerate(hdu.data):
            f_chan = np.atleast_1d(row["F_CHAN"])
            n_chan = np.atleast_1d(row["N_CHAN"])
            values = np.atleast_1d(row["MATRIX"])
            used = 0
            for j in range(row["N_GRP"]):
                start = f_chan[j] - first
                dense[i, start : start + n_chan[j]] = values[used : used + n_chan[j]]
                used += n_chan[j]
    return dense


def rewrite(src, dst, extname, edit):
    """Copy a FITS file to tmp, letting `edit(table)` change or replace one table."""
    with fits.open(src) as hdul:
        hdus = list(hdul)
        index = next(i for i, h in enumerate(hdus) if h.name == extname)
        hdus[index] = edit(table_copy(hdus[index]))
        fits.HDUList(hdus).writeto(dst, overwrite=True)
    return dst


def drop_column(hdu, name):
    """The same table without one column."""
    return table_copy(hdu, without=(name,))


# --------------------------------------------------------------- XMM-Newton pn


@pytest.fixture(scope="module")
def pn_obs(pn_dir):
    return Observation.from_pha(pn_dir / "PN_spectrum_grp20.fits")


def test_pn_links_resolve_beside_the_spectrum(pn_obs, pn_dir):
    assert pn_obs.rmf_path == pn_dir / "PN.rmf"
    assert pn_obs.arf_path == pn_dir / "PN.arf"
    assert pn_obs.background_path == pn_dir / "PNbackground_spectrum.fits"
    assert pn_obs.spectrum_path == pn_dir / "PN_spectrum_grp20.fits"


def test_pn_channels_exposure_and_shapes(pn_obs):
    assert pn_obs.n_channels == 4096
    assert pn_obs.first_channel == 0
    assert pn_obs.channels[0] == 0 and pn_obs.channels[-1] == 4095
    assert pn_obs.exposure == pytest.approx(20265.98058616)
    assert pn_obs.redistribution.shape == (2067, 4096)
    assert pn_obs.redistribution.dtype == np.float64
    assert pn_obs.energy_edges.shape == (2068,)
    assert np.all(np.diff(pn_obs.energy_edges) > 0)
    assert pn_obs.counts.sum() == 11526
    assert pn_obs.backscal == 2010100
    assert pn_obs.keywords["INSTRUME"] == "EPN"


def test_pn_area_is_the_arf(pn_obs, pn_dir):
    arf = read_arf(pn_dir / "PN.arf")
    np.testing.assert_array_equal(pn_obs.effective_area, arf.specresp)
    assert not pn_obs.is_full_response


def test_pn_background(pn_obs):
    bkg = pn_obs.background
    assert bkg is not None
    assert bkg.counts.sum() == 1213
    assert bkg.exposure == pytest.approx(20265.98058616)
    assert bkg.backscal == 6866200
    assert bkg.redistribution is pn_obs.redistribution  # shared, not copied


def test_pn_grouping_gives_114_groups(pn_obs):
    groups = pn_obs.group_matrix()
    good = pn_obs.quality == 0

    assert groups.shape == (114, 4096)
    np.testing.assert_array_equal(groups.sum(axis=0), good.astype(float))
    assert (groups @ pn_obs.counts).sum() == pn_obs.counts[good].sum()


def test_pn_dense_matrix_matches_per_group_expansion(pn_dir):
    rmf = read_rmf(pn_dir / "PN.rmf")
    np.testing.assert_array_equal(rmf.matrix, reference_matrix(pn_dir / "PN.rmf"))


def test_arrays_are_read_only(pn_obs):
    with pytest.raises(ValueError):
        pn_obs.counts[0] = 5
    with pytest.raises(dataclasses.FrozenInstanceError):
        pn_obs.exposure = 1.0


# ------------------------------------------------------------ other real sets


def test_chandra_3c273_with_background(shared_data):
    folder = shared_data / "chandra-acis-3c273"
    obs = Observation.from_pha(folder / "3c273.pi")

    assert obs.rmf_path.name == "3c273.rmf" and obs.arf_path.name == "3c273.arf"
    assert obs.n_channels == 1024 and obs.first_channel == 1
    assert obs.redistribution.shape == (1090, 1024)
    assert obs.background.counts.sum() == 216
    assert obs.background_path.name == "3c273_bg.pi"
    assert obs.group_matrix().shape[0] == int((obs.grouping == 1).sum()) == 46


def test_chandra_3c273_dense_matrix_matches_reference(shared_data):
    path = shared_data / "chandra-acis-3c273" / "3c273.rmf"
    np.testing.assert_array_equal(read_rmf(path).matrix, reference_matrix(path))


def test_heap_layouts_and_astropy_fallback_agree(tmp_path, shared_data, monkeypatch):
    path = shared_data / "chandra-acis-3c273" / "3c273.rmf"
    expected = read_rmf(path).matrix

    # astropy writes the heap column by column, not row by row: the unpacked case.
    copy = rewrite(path, tmp_path / "copy.rmf", "MATRIX", lambda hdu: hdu)
    np.testing.assert_array_equal(read_rmf(copy).matrix, expected)

    monkeypatch.setattr(ogip, "_heap_rows", lambda *args: None)
    np.testing.assert_array_equal(read_rmf(path).matrix, expected)


def test_swift_xrt_zero_based_fixed_width_and_zero_energy(shared_data):
    folder = shared_data / "swift-xrt-pc"
    rmf_path = folder / "swxpc0to12s6_20130101v014.rmf.gz"
    rmf = read_rmf(rmf_path)

    assert rmf.first_channel == 0 and rmf.channels[0] == 0
    assert rmf.energy_lo[0] == 0.0
    np.testing.assert_array_equal(rmf.matrix, reference_matrix(rmf_path))

    obs = Observation.from_pha(
        folder / "target_sr.pha", rmf=rmf_path, arf=folder / "target_sr.arf"
    )
    assert obs.n_channels == 1024 and obs.first_channel == 0
    assert obs.counts.sum() == 58
    assert 0.0 < obs.energy_edges[0] < obs.energy_edges[1] == pytest.approx(0.005)
    assert np.all(np.isfinite(obs.energy_edges**-3.0))


def test_swift_xrt_links_none_need_explicit_response(shared_data):
    with pytest.raises(OGIPError) as err:
        Observation.from_pha(shared_data / "swift-xrt-pc" / "target_sr.pha")
    assert err.value.field == "RESPFILE"
    message = str(err.value)
    assert "target_sr.pha" in message and "no redistribution matrix" in message
    assert "rmf=" in message and "rmf='diagonal'" in message
    assert "Observation.default" in message


def test_cdfs_ebounds_first_and_background_areascal(shared_data):
    folder = shared_data / "chandra-acis-cdfs-179"
    obs = Observation.from_pha(folder / "179.pi")

    assert obs.redistribution.shape == (1918, 1024)
    assert obs.first_channel == 1
    assert obs.e_min[0] < obs.e_max[0] <= obs.e_min[1] + 1e-6
    assert obs.exposure == pytest.approx(3.74651e6, rel=1e-5)
    assert obs.background.areascal == pytest.approx(32.4418, rel=1e-4)


def test_rosat_full_rsp_and_zero_width_bins(shared_data):
    folder = shared_data / "rosat-pspc-rsp"
    rsp = read_rmf(folder / "pspcc_gain1_256.rsp")
    assert rsp.is_full_response
    assert np.sum(rsp.energy_hi == rsp.energy_lo) == 19

    obs = Observation.from_pha(folder / "xrbg_xspec.pi", rmf=rsp)
    assert obs.n_energy == 729 - 19
    assert np.all(np.diff(obs.energy_edges) > 0)
    np.testing.assert_array_equal(obs.effective_area, 1.0)
    kept = rsp.energy_hi > rsp.energy_lo
    np.testing.assert_array_equal(obs.redistribution, rsp.matrix[kept])
    np.testing.assert_array_equal(obs.energy_index, np.flatnonzero(kept))


def test_rsp_refuses_an_arf_on_top(shared_data):
    rsp = shared_data / "rosat-pspc-rsp" / "pspcc_gain1_256.rsp"
    arf = shared_data / "chandra-acis-3c273" / "3c273.arf"
    with pytest.raises(OGIPError) as err:
        Observation.from_response(rsp, arf)
    assert "full response" in str(err.value) and "pspcc_gain1_256.rsp" in str(err.value)


def test_exosat_match_link_and_partial_channels(shared_data):
    folder = shared_data / "exosat-me-walkthrough"
    obs = Observation.from_pha(folder / "s54405.pha")

    assert obs.rmf_path == folder / "s54405.rsp"
    assert obs.is_full_response and obs.n_channels == 128

    spectrum = read_pha(folder / "s54405.pha")
    assert spectrum.present.sum() == 125 and not spectrum.present[:3].any()
    assert spectrum.is_rate
    np.testing.assert_array_equal(obs.counts[:3], 0.0)
    assert np.all(obs.quality[:3] != 0)
    assert obs.group_matrix()[:, :3].sum() == 0

    # The malformed first bin (ENERG_LO 0.928 > ENERG_HI 0.443) is dropped.
    assert obs.n_energy == 127
    assert obs.energy_edges[0] == pytest.approx(0.44346535)


def test_csc_gz_links_and_background_in_the_same_file(shared_data):
    folder = shared_data / "chandra-acis-csc-gz"
    obs = Observation.from_pha(folder / "acisf04487_001N023_r0009_pha3.fits.gz")

    assert obs.rmf_path.name == "acisf04487_001N022_r0009_rmf3.fits.gz"
    assert obs.arf_path.name == "acisf04487_001N022_r0009_arf3.fits.gz"
    assert obs.counts.sum() == 389
    assert obs.background.counts.sum() == 77


def test_nicer_link_with_directory_prefix(shared_data):
    folder = shared_data / "nicer-xti-rsp-tutorial"
    obs = Observation.from_pha(folder / "spec.pha")
    assert obs.rmf_path == folder / "spec.rmf"
    assert obs.background_path == folder / "spec_bkg.pha"
    assert obs.is_full_response


def test_rgs_ftz_per_channel_scaling(shared_data):
    path = shared_data / "xmm-rgs1-no-rsp" / "P0112880201R1S004BGSPEC1003.FTZ"
    spectrum = read_pha(path)
    assert spectrum.n_channels == 3600
    assert isinstance(spectrum.backscal, np.ndarray)
    assert isinstance(spectrum.areascal, np.ndarray)
    assert spectrum.backscal.shape == (3600,)


@pytest.mark.parametrize(
    ("relpath", "rows"),
    [
        ("chandra-hetg-3c120-pha2/3c120_pha2.gz", 12),
        ("fermi-gbm-cspec-pha2/glg_cspec_n6_bn110721200_v00.pha", 2395),
        ("rxte-pca-typeII/sacmult.pha", 2),
    ],
)
def test_type_ii_needs_a_row_and_reads_one(shared_data, relpath, rows):
    path = shared_data / relpath
    with pytest.raises(OGIPError) as err:
        read_pha(path)
    assert err.value.field == "row" and f"{rows} spectra" in str(err.value)

    last = read_pha(path, row=rows)
    same = read_pha(f"{path}{{{rows}}}")
    assert last.row == rows == same.row
    np.testing.assert_array_equal(last.counts, same.counts)
    assert ogip.file_kind(path) == "pha2" and len(ogip.pha_rows(path)) == rows


def test_sacmult_vector_channel_column(shared_data):
    path = shared_data / "rxte-pca-typeII" / "sacmult.pha"
    with fits.open(path) as hdul:
        table = hdul["SPECTRUM"].data
        expected = np.asarray(table["COUNTS"][1], dtype=float)
    spectrum = read_pha(path, row=2)
    assert spectrum.first_channel == 0 and spectrum.n_channels == 129
    np.testing.assert_array_equal(spectrum.counts, expected)
    assert spectrum.exposure == 128.0 and not spectrum.poisserr


@pytest.mark.parametrize(
    ("relpath", "kind"),
    [
        ("chandra-acis-3c273/3c273.pi", "pha1"),
        ("chandra-acis-3c273/3c273.rmf", "rmf"),
        ("chandra-acis-3c273/3c273.arf", "arf"),
        ("rosat-pspc-rsp/pspcc_gain1_256.rsp", "rsp"),
        ("nicer-xti-rsp-tutorial/spec.rmf", "rsp"),  # an RSP despite its name
        ("chandra-hrci-csc/hrcf24564_000N030_r0001_rmf3.fits.gz", "rmf"),
        ("xspec-tables-heasoft/testpo.mod", "atable"),
        ("xspec-tables-heasoft/testephabs.mod", "mtable"),
    ],
)
def test_file_kind_from_headers(shared_data, relpath, kind):
    assert ogip.file_kind(shared_data / relpath) == kind


def test_row_suffix_only_when_the_name_is_not_a_file(tmp_path):
    odd = tmp_path / "odd{2}"
    odd.write_bytes(b"")
    assert ogip.split_row_suffix(odd, None) == (odd, None)
    assert ogip.split_row_suffix(tmp_path / "x.pha{3}", None) == (
        tmp_path / "x.pha",
        3,
    )
    with pytest.raises(OGIPError, match="row given twice"):
        ogip.split_row_suffix(tmp_path / "x.pha{3}", 4)


def test_gz_links_are_not_tried_as_gz_gz(shared_data):
    from specdsl.response.observation import _link_candidates

    pha = shared_data / "hitomi-sxs-no-rmf" / "ah100040040sxs_src_grp.pha.gz"
    names = [c.name for c in _link_candidates(pha, "ah100040040sxs.rmf.gz", "RESPFILE")]
    assert names == ["ah100040040sxs.rmf.gz"]


def test_diagonal_redistribution_from_an_arf(shared_data):
    arf = read_arf(shared_data / "chandra-acis-3c273" / "3c273.arf")
    rmf = ogip.diagonal_redistribution(arf, first_channel=0)

    np.testing.assert_array_equal(rmf.matrix, np.eye(arf.specresp.size))
    np.testing.assert_array_equal(rmf.e_min, arf.energy_lo)
    assert rmf.channels[0] == 0 and not rmf.is_full_response

    obs = Observation.from_response("diagonal", arf.path, exposure=10.0)
    assert obs.n_channels == obs.n_energy == 1090 and obs.channels[0] == 1
    np.testing.assert_array_equal(obs.effective_area, arf.specresp)


def test_oversized_dense_response_is_held_sparse_instead(monkeypatch, shared_data):
    # Above the dense limit a response is read sparse (tests/test_large_responses.py
    # checks it against the dense read); only too many non-zeros are refused.
    monkeypatch.setattr(ogip, "MAX_DENSE_ELEMENTS", 1000 * 1024)
    rmf = read_rmf(shared_data / "chandra-acis-3c273" / "3c273.rmf")
    assert isinstance(rmf.matrix, ogip.SparseResponse)
    assert rmf.matrix.shape == (1090, 1024)


@pytest.mark.parametrize(
    ("relpath", "tolerance"),
    [
        ("xmm-pn-ngc7793-ulx4/PN.rmf", 1e-5),
        ("swift-xrt-pc/swxpc0to12s6_20130101v014.rmf.gz", 1e-5),
        ("chandra-acis-3c273/3c273.rmf", 1e-5),
        ("ixpe-gpd/ixpe_d1_20170101_alpha075_02.rmf", 1e-5),
        ("asca-sis0/s0_mar24.rmf", 1e-5),
        # These ACIS RMFs, as shipped, sum up to 1.0014 and 1.0088 in some rows.
        ("chandra-acis-cdfs-179/cdfs4Ms_179.rmf", 2e-3),
        ("chandra-acis-cy15-fakeit/aciss_aimpt_cy15.rmf", 1e-2),
    ],
)
def test_pure_rmf_rows_sum_to_at_most_one(shared_data, relpath, tolerance):
    rmf = read_rmf(shared_data / relpath)
    assert not rmf.is_full_response
    assert rmf.matrix.sum(axis=1).max() <= 1.0 + tolerance
    assert rmf.matrix.min() >= 0.0


# ------------------------------------------------------------------- failures


def test_missing_file(tmp_path):
    with pytest.raises(OGIPError) as err:
        read_rmf(tmp_path / "absent.rmf")
    assert "absent.rmf" in str(err.value) and "not found" in str(err.value)


def test_missing_linked_file_names_the_link(tmp_path, pn_dir):
    def relink(hdu):
        hdu.header["RESPFILE"] = "gone.rmf"
        return hdu

    pha = rewrite(
        pn_dir / "PN_spectrum_grp20.fits", tmp_path / "obs.pha", "SPECTRUM", relink
    )
    with pytest.raises(OGIPError) as err:
        Observation.from_pha(pha)
    assert err.value.field == "RESPFILE"
    assert "RESPFILE of obs.pha" in str(err.value) and "gone.rmf" in str(err.value)


def test_missing_background_can_be_skipped(shared_data):
    pha = shared_data / "asca-sis0" / "s0_mar24_bin.pha"
    with pytest.raises(OGIPError) as err:
        Observation.from_pha(pha)
    assert err.value.field == "BACKFILE" and "s0_bkg_sky.pha" in str(err.value)

    obs = Observation.from_pha(pha, background=False)
    assert obs.background is None and obs.first_channel == 0


def test_not_a_fits_file(tmp_path):
    path = tmp_path / "notes.pha"
    path.write_text("this is not FITS\n" * 100)
    with pytest.raises(OGIPError) as err:
        read_pha(path)
    assert "notes.pha" in str(err.value) and "FITS" in str(err.value)


def test_missing_counts_column(tmp_path, pn_dir):
    pha = rewrite(
        pn_dir / "PN_spectrum_grp20.fits",
        tmp_path / "nocounts.pha",
        "SPECTRUM",
        lambda hdu: drop_column(hdu, "COUNTS"),
    )
    with pytest.raises(OGIPError) as err:
        read_pha(pha)
    assert err.value.field == "COUNTS" and "nocounts.pha" in str(err.value)


def test_missing_matrix_column(tmp_path, shared_data):
    rmf = rewrite(
        shared_data / "chandra-acis-3c273" / "3c273.rmf",
        tmp_path / "broken.rmf",
        "MATRIX",
        lambda hdu: drop_column(hdu, "N_CHAN"),
    )
    with pytest.raises(OGIPError) as err:
        read_rmf(rmf)
    assert err.value.field == "N_CHAN" and "broken.rmf" in str(err.value)


def test_missing_extension(shared_data):
    with pytest.raises(OGIPError) as err:
        read_rmf(shared_data / "chandra-acis-3c273" / "3c273.arf")
    assert err.value.field == "MATRIX" and "3c273.arf" in str(err.value)


def test_missing_exposure_keyword(tmp_path, pn_dir):
    def no_exposure(hdu):
        del hdu.header["EXPOSURE"]
        hdu.header["RESPFILE"] = str(pn_dir / "PN.rmf")
        hdu.header["ANCRFILE"] = "none"
        hdu.header["BACKFILE"] = "none"
        return hdu

    pha = rewrite(
        pn_dir / "PN_spectrum_grp20.fits", tmp_path / "x.pha", "SPECTRUM", no_exposure
    )
    with pytest.raises(OGIPError) as err:
        Observation.from_pha(pha)
    assert err.value.field == "EXPOSURE"
    assert Observation.from_pha(pha, exposure=100.0).exposure == 100.0


def test_mismatched_arf_and_rmf_grids(tmp_path, shared_data):
    folder = shared_data / "chandra-acis-3c273"

    def shift(hdu):
        hdu.data["ENERG_LO"] *= 1.01
        hdu.data["ENERG_HI"] *= 1.01
        return hdu

    arf = rewrite(folder / "3c273.arf", tmp_path / "shifted.arf", "SPECRESP", shift)
    with pytest.raises(OGIPError) as err:
        Observation.from_response(folder / "3c273.rmf", arf)
    message = str(err.value)
    assert "shifted.arf" in message and "3c273.rmf" in message
    assert err.value.field == "ENERG_LO"


def test_arf_with_fewer_bins(tmp_path, shared_data):
    folder = shared_data / "chandra-acis-3c273"

    def truncate(hdu):
        return fits.BinTableHDU(hdu.data[:-10], header=hdu.header, name=hdu.name)

    arf = rewrite(folder / "3c273.arf", tmp_path / "short.arf", "SPECRESP", truncate)
    with pytest.raises(OGIPError) as err:
        Observation.from_response(folder / "3c273.rmf", arf)
    assert "1080" in str(err.value) and "1090" in str(err.value)


def test_channel_count_mismatch_names_both_files(pn_dir, shared_data):
    rmf = shared_data / "chandra-acis-3c273" / "3c273.rmf"
    with pytest.raises(OGIPError) as err:
        Observation.from_pha(
            pn_dir / "PN_spectrum_grp20.fits", rmf=rmf, arf=False, background=False
        )
    message = str(err.value)
    assert err.value.field == "DETCHANS"
    assert "PN_spectrum_grp20.fits" in message and "3c273.rmf" in message


def test_non_contiguous_energy_grid(tmp_path, shared_data):
    def gap(hdu):
        hdu.data["ENERG_LO"][500] += 0.002
        return hdu

    rmf = rewrite(
        shared_data / "chandra-acis-3c273" / "3c273.rmf",
        tmp_path / "gap.rmf",
        "MATRIX",
        gap,
    )
    with pytest.raises(OGIPError) as err:
        Observation.from_response(rmf)
    assert err.value.field == "ENERG_LO" and "contiguous" in str(err.value)


# ------------------------------------------------------------ default response


def test_default_response_shape_and_keywords():
    obs = Observation.default()
    assert obs.exposure == 10_000.0
    assert obs.redistribution.shape == (1500, 1024)
    assert obs.energy_edges[0] == pytest.approx(0.1)
    assert obs.energy_edges[-1] == pytest.approx(12.0)
    assert obs.e_max[-1] == pytest.approx(10.24)
    assert obs.keywords["TELESCOP"] == "SPECDSL"
    assert obs.keywords["INSTRUME"] == "DEFAULT"
    assert obs.counts is None and obs.spectrum_path is None


def test_default_redistribution_rows_are_probabilities():
    rmf, _ = default_response()
    rows = rmf.matrix.sum(axis=1)
    assert rows.max() <= 1.0 + 1e-12
    assert rmf.matrix.min() >= 0.0
    inside = (rmf.energy_hi > 0.5) & (rmf.energy_hi < 9.5)
    assert rows[inside].min() > 0.999  # nothing lost well inside the channel range


def test_default_redistribution_is_centred_with_ccd_resolution():
    rmf, _ = default_response()
    mid = 0.5 * (rmf.energy_lo + rmf.energy_hi)
    row = int(np.argmin(np.abs(mid - 6.0)))
    channel_mid = 0.5 * (rmf.e_min + rmf.e_max)
    mean = rmf.matrix[row] @ channel_mid / rmf.matrix[row].sum()
    spread = np.sqrt(
        rmf.matrix[row] @ (channel_mid - mean) ** 2 / rmf.matrix[row].sum()
    )

    assert mean == pytest.approx(mid[row], abs=2e-3)
    assert spread == pytest.approx(resolution_sigma(mid[row]), rel=0.05)
    assert 2.3548 * resolution_sigma(6.0) == pytest.approx(0.137, abs=0.005)


def test_default_area_curve():
    obs = Observation.default()
    mid = 0.5 * (obs.energy_edges[:-1] + obs.energy_edges[1:])
    peak = int(np.argmax(obs.effective_area))

    assert 1.2 < mid[peak] < 1.8
    assert 200.0 < obs.effective_area[peak] < 600.0
    assert obs.effective_area[mid < 0.2].max() < 0.05 * obs.effective_area[peak]
    assert obs.effective_area[mid > 10.0].max() < 0.2 * obs.effective_area[peak]


def test_with_exposure_returns_a_copy():
    obs = Observation.default()
    longer = obs.with_exposure(50_000.0)
    assert longer.exposure == 50_000.0 and obs.exposure == 10_000.0
    assert longer.redistribution is obs.redistribution
    with pytest.raises(OGIPError):
        obs.with_exposure(-1.0)


def test_group_matrix_rules():
    obs = dataclasses.replace(
        Observation.default(),
        grouping=np.r_[1, -1, -1, 0, 1, -1, 1, -1, np.ones(1016, int)],
        quality=np.r_[0, 0, 0, 0, 0, 5, 1, 1, np.zeros(1016, int)],
    )
    groups = obs.group_matrix()

    assert groups.shape == (1 + 1 + 1 + 1016, 1024)  # last pair is all bad: dropped
    np.testing.assert_array_equal(groups[0, :4], [1, 1, 1, 0])
    np.testing.assert_array_equal(groups[1, :4], [0, 0, 0, 1])  # 0 = own group
    np.testing.assert_array_equal(groups[2, 4:8], [1, 0, 0, 0])  # bad channel left out


@pytest.mark.parametrize("seed", range(5))
def test_sum_groups_is_the_group_matrix_product(seed):
    rng = np.random.default_rng(seed)
    grouping = rng.choice([1, -1, -1, 0], 1024)
    quality = rng.choice([0, 0, 0, 2, 5], 1024)
    quality[100:140] = 1  # whole groups bad
    obs = dataclasses.replace(Observation.default(), grouping=grouping, quality=quality)
    matrix = rng.random((50, 1024))

    summed = obs.sum_groups(matrix)
    np.testing.assert_allclose(summed, matrix @ obs.group_matrix().T, rtol=1e-12)
    assert summed.shape[1] == obs.group_sparse().shape[0]


def test_sum_groups_with_every_channel_bad_is_empty():
    obs = dataclasses.replace(Observation.default(), quality=np.ones(1024, int))
    assert obs.sum_groups(np.ones((3, 1024))).shape == (3, 0)


def test_group_matrix_without_grouping_is_identity():
    groups = Observation.default().group_matrix()
    np.testing.assert_array_equal(groups, np.eye(1024))
