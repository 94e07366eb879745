"""Every real dataset in ../shared/data: it fakes and round-trips, or fails precisely.

One parametrized case per dataset folder (PROVENANCE.md lists their quirks). A
case says how a user loads the data, what the plain load refuses and why, and
whether the data can then be faked: fold ``tbabs*powerlaw`` through the
response, draw Poisson counts, write them with ``write_pha`` and read the file
back with astropy and with our own reader.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pytest
from astropy.io import fits

import specdsl
from specdsl import parameters as specdsl_parameters
from specdsl.errors import OGIPError
from specdsl.output.pha import write_pha
from specdsl.response import Observation, read_pha
from specdsl.response.ogip import file_kind, pha_rows
from specdsl.runtime.fakeit import iter_spectra

MODEL = "tbabs*powerlaw"
TARGET_COUNTS = 2.0e4  # the powerlaw norm is scaled to about this many counts

# Folders beside the datasets that are not OGIP spectral data (cross-section
# reference tables for the absorption tests).
NOT_DATASETS = {"reference-xsect"}


@dataclass
class Case:
    """How one dataset is loaded, what it refuses, and how it is faked."""

    spectrum: str | None  # PHA file in the folder (None: a response only)
    load: dict = field(default_factory=dict)  # from_pha / from_response arguments
    refused: tuple[str, ...] = ()  # (field, words ...) of the plain from_pha error
    fake: bool = True  # False: not faked; `load`, if given, ends in `load_refused`
    load_refused: tuple[str, ...] = ()
    channels: tuple[int, int] | None = None  # (number, first channel)
    total: float | None = None  # counts in the spectrum as read
    background_total: float | None = None
    response: str | None = None  # RMF/RSP for a spectrum-less case


TABLE_MODELS = {
    "xspec-tables-sherpa": {
        "smod000.tmod": "mtable",
        "smod011.tmod": "mtable",
        "smod100.tmod": "atable",
        "smod111.tmod": "atable",
        "testpcfabs.mod": "mtable",
        "xspec-tablemodel-RCS.mod": "atable",
    },
    "xspec-tables-heasoft": {"testpo.mod": "atable", "testephabs.mod": "mtable"},
    "xspec-table-heasoft-twopar": {"test.mod": "atable"},
}

NO_MATRIX = ("RESPFILE", "no redistribution matrix", "rmf=", "diagonal", "default")

CASES = {
    "asca-sis0": Case(
        "s0_mar24_bin.pha",
        load={"background": False},
        refused=("BACKFILE", "s0_bkg_sky.pha", "background=False"),
        channels=(512, 0),
        total=1688,
    ),
    "chandra-acis-3c273": Case(
        "3c273.pi", channels=(1024, 1), total=736, background_total=216
    ),
    "chandra-acis-cdfs-179": Case(
        "179.pi", channels=(1024, 1), total=2830, background_total=19068
    ),
    "chandra-acis-csc-gz": Case(
        "acisf04487_001N023_r0009_pha3.fits.gz",
        channels=(1024, 1),
        total=389,
        background_total=77,
    ),
    "chandra-acis-cy15-fakeit": Case("aciss.fak", channels=(1024, 1), total=1287),
    "chandra-hrci-csc": Case(
        "hrcf24564_000N030_r0001_pha3.fits.gz", channels=(1024, 1), total=4965
    ),
    # Type II, 12 rows; row 4 is HEG +1 with BACKGROUND_UP/DOWN columns. The HETG
    # RMFs are absent: faked through the HEG +1 ARF on a diagonal response (8192 x
    # 8192, held sparse).
    "chandra-hetg-3c120-pha2": Case(
        "3c120_pha2.gz{4}",
        load={"rmf": "diagonal", "arf": "3c120_heg_1.arf.gz"},
        refused=NO_MATRIX,
        channels=(8192, 1),
        total=15363,
    ),
    # Type II, 2 rows, BACKFILE 'pha2_bg' is a type II background read at the same
    # row. No RMF; the diagonal LETG response (16384^2) is held and folded sparse.
    "chandra-letg-hrc-pha2": Case(
        "pha2.gz{2}",
        refused=NO_MATRIX,
        load={"rmf": "diagonal", "arf": "leg_1.arf.gz"},
        channels=(16384, 1),
        total=46943,
    ),
    "exosat-me-session": Case("file1.pha", channels=(128, 1)),
    "exosat-me-walkthrough": Case("s54405.pha", channels=(128, 1)),
    # 2395 time-resolved spectra, no CHANNEL column, EBOUNDS in the file, TZERO
    # counts. No GBM response exists here, and nothing else has 128 channels.
    "fermi-gbm-cspec-pha2": Case(
        "glg_cspec_n6_bn110721200_v00.pha{1}",
        refused=NO_MATRIX,
        fake=False,
        load={"rmf": "diagonal"},
        load_refused=("ANCRFILE", "needs an ARF"),
        channels=(128, 0),
        total=4230,
    ),
    "ginga-lac": Case("hisum.pha", channels=(48, 1)),
    # 32768 channels: the diagonal response (8 GiB dense) is held sparse.
    "hitomi-sxs-no-rmf": Case(
        "ah100040040sxs_src_grp.pha.gz",
        refused=NO_MATRIX + ("ah100040040sxs.rmf.gz",),
        load={"rmf": "diagonal"},
        channels=(32768, 0),
        total=119760,
    ),
    "ixpe-gpd": Case("det1_filt_src_Q.pha", channels=(375, 0)),
    # The ARF has 3451 bins for 1501 channels: no diagonal response fits.
    "nicer-xti-no-rmf": Case(
        "g2_b_001_raw_opt.pha",
        refused=NO_MATRIX + ("2050300110.rmf",),
        fake=False,
        load={"rmf": "diagonal"},
        load_refused=("DETCHANS", "3451 bins", "1501 channels"),
        channels=(1501, 0),
        total=2019,
    ),
    "nicer-xti-rsp-tutorial": Case(
        "spec.pha", channels=(1191, 1), total=10811, background_total=135
    ),
    # The ARF has one 40 eV bin per channel, so rmf="diagonal" fakes it (checked
    # by hand); its 4096^2 fold is left out here for speed: MOS covers the path.
    "nustar-fpma-no-rmf": Case(
        "nu90402339002A01_sr.pha",
        fake=False,
        refused=NO_MATRIX + ("nu90402339002A01_sr.rmf",),
        channels=(4096, 0),
        total=1446870,
    ),
    "rosat-pspc-rsp": Case(
        "xrbg_xspec.pi",
        load={"rmf": "pspcc_gain1_256.rsp"},
        refused=NO_MATRIX,
        channels=(256, 1),
    ),
    "rxte-pca-pcu2-rsp": Case(
        "RXTE_PCA_EVT_PCU2.fak", channels=(64, 0), total=27839800
    ),
    # Type II with a vector CHANNEL column; no 129-channel response exists.
    "rxte-pca-typeII": Case(
        "sacmult.pha{1}",
        refused=NO_MATRIX,
        fake=False,
        load={"rmf": "../rxte-pca-pcu2-rsp/PCU2.rsp"},
        load_refused=("DETCHANS", "129 channels", "64"),
        channels=(129, 0),
        total=259,
    ),
    "swift-bat-survey-rsp": Case(
        None, response="swiftbat_survey_full_157m.rsp", load={"exposure": 1e4}
    ),
    "swift-xrt-pc": Case(
        "target_sr.pha",
        load={
            "rmf": "swxpc0to12s6_20130101v014.rmf.gz",
            "arf": "target_sr.arf",
        },
        refused=NO_MATRIX,
        channels=(1024, 0),
        total=58,
    ),
    "xmm-mos-ngc7793-ulx4-no-rmf": Case(
        "MOS1_spectrum_grp.fits",
        load={"rmf": "diagonal"},
        refused=NO_MATRIX + ("MOS1.rmf",),
        channels=(2400, 0),
        total=6316,
        background_total=502,
    ),
    "xmm-pn-ngc7793-ulx4": Case(
        "PN_spectrum_grp20.fits", channels=(4096, 0), total=11526, background_total=1213
    ),
    # No response and no ARF in the set at all.
    "xmm-rgs1-no-rsp": Case(
        "P0112880201R1S004SRSPEC1003.FTZ",
        refused=NO_MATRIX,
        fake=False,
        load={"rmf": "diagonal"},
        load_refused=("ANCRFILE", "needs an ARF"),
        channels=(3600, 1),
        total=2724,
    ),
    # 60000 channels: the diagonal response (27 GiB dense) is held sparse.
    "xrism-resolve-no-rmf": Case(
        "xa_merged_p0px1000_Hp.pi.gz",
        refused=NO_MATRIX,
        load={"rmf": "diagonal", "arf": "rsl_standard_GVclosed.arf"},
        channels=(60000, 0),
        total=228716,
    ),
}


# ------------------------------------------------------------------ helpers


def in_folder(folder, arguments: dict) -> dict:
    """File-name arguments made absolute in the dataset's folder."""
    resolved = {}
    for key, value in arguments.items():
        is_file = isinstance(value, str) and value != "diagonal"
        resolved[key] = str(folder / value) if is_file else value
    return resolved


def load(folder, case: Case) -> Observation:
    """The Observation the way a user would get one for this dataset."""
    arguments = in_folder(folder, case.load)
    if case.spectrum is None:
        return Observation.from_response(folder / case.response, **arguments)
    return Observation.from_pha(str(folder / case.spectrum), **arguments)


def assert_refused(error: OGIPError, expected: tuple[str, ...]) -> None:
    """The error names the expected field and carries the essential words."""
    field_name, *words = expected
    assert error.field == field_name, str(error)
    for word in words:
        assert word in str(error), f"{word!r} missing from: {error}"


def fake_one(observation, model, seed: int = 3):
    """Fold once and fake one spectrum of about TARGET_COUNTS counts.

    The powerlaw norm is scaled from the expected counts at norm 1 (the counts
    are linear in it), so every instrument gets a spectrum worth checking. The
    draw goes through the runtime's own path (``iter_spectra``, what ``fakeit``
    and the command line use) on the same folded model, so the response is
    compiled once per dataset.
    """
    folded = specdsl.FoldedModel(model, observation)
    values = {"tbabs_1.nH": 0.05, "powerlaw_1.PhoIndex": 1.8, "powerlaw_1.norm": 1.0}
    per_unit_norm = np.asarray(folded.expected_counts(values), dtype=np.float64)
    assert np.all(np.isfinite(per_unit_norm)) and per_unit_norm.sum() > 0

    values["powerlaw_1.norm"] = TARGET_COUNTS / per_unit_norm.sum()
    normalized, _ = specdsl_parameters.normalize(model.parameters, values)
    flat = {name: value.reshape(1) for name, value in normalized.items()}
    ((start, counts),) = list(iter_spectra(folded, flat, seed))
    return per_unit_norm * values["powerlaw_1.norm"], counts[0]


def written_and_read_back(tmp_path, observation, counts):
    """Write one fake spectrum, check astropy and our reader read the same counts."""
    scalars = {
        key: value
        for key, value in (
            ("backscal", observation.backscal),
            ("areascal", observation.areascal),
        )
        if np.ndim(value) == 0
    }
    path = write_pha(
        tmp_path / "fake.pha",
        counts,
        channels=observation.channels,
        exposure=observation.exposure,
        keywords={
            k: v
            for k, v in observation.keywords.items()
            if k in ("TELESCOP", "INSTRUME", "FILTER")
        },
        respfile=observation.rmf_path,
        ancrfile=observation.arf_path,
        **scalars,
    )

    with fits.open(path) as hdul:
        table = hdul["SPECTRUM"].data
        np.testing.assert_array_equal(table["COUNTS"], counts)
        np.testing.assert_array_equal(table["CHANNEL"], observation.channels)
        assert hdul["SPECTRUM"].header["EXPOSURE"] == pytest.approx(
            observation.exposure
        )

    again = read_pha(path)
    np.testing.assert_array_equal(again.counts, counts)
    assert again.first_channel == int(observation.channels[0])
    return path


# -------------------------------------------------------------------- tests


def test_every_folder_has_a_case(shared_data):
    folders = {p.name for p in shared_data.iterdir() if p.is_dir()}
    covered = set(CASES) | set(TABLE_MODELS) | NOT_DATASETS
    assert folders - covered == set(), "datasets without a test case"
    assert len(set(CASES) | set(TABLE_MODELS)) == 29


@pytest.mark.parametrize("name", sorted(CASES))
def test_dataset(name, shared_data, tmp_path):
    case = CASES[name]
    folder = shared_data / name

    if case.refused:
        with pytest.raises(OGIPError) as refused:
            Observation.from_pha(str(folder / case.spectrum))
        assert_refused(refused.value, case.refused)

    if case.spectrum is not None:
        spectrum = read_pha(str(folder / case.spectrum))
        if case.channels is not None:
            assert (spectrum.n_channels, spectrum.first_channel) == case.channels
        if case.total is not None:
            assert spectrum.counts.sum() == pytest.approx(case.total)

    if not case.fake:
        if case.load_refused:
            with pytest.raises(OGIPError) as refused:
                load(folder, case)
            assert_refused(refused.value, case.load_refused)
        return

    observation = load(folder, case)
    if case.background_total is not None:
        assert observation.background.counts.sum() == pytest.approx(
            case.background_total
        )

    expected, counts = fake_one(observation, specdsl.compile(MODEL))

    assert counts.shape == (observation.n_channels,) and counts.dtype == np.int32
    mu = expected.sum()
    assert abs(counts.sum() - mu) < 6 * np.sqrt(mu) + 1
    written_and_read_back(tmp_path, observation, counts)


@pytest.mark.parametrize(
    ("folder", "name", "kind"),
    [(f, n, k) for f, files in TABLE_MODELS.items() for n, k in files.items()],
)
def test_table_models_are_recognised_and_not_read_as_spectra(
    shared_data, folder, name, kind
):
    path = shared_data / folder / name
    assert file_kind(path) == kind

    for reader in (read_pha, Observation.from_pha, Observation.from_response):
        with pytest.raises(OGIPError) as refused:
            reader(path)
        assert refused.value.field == "HDUCLAS1"
        assert "XSPEC table model" in str(refused.value)
        assert f"{kind}{{{name}}}" in str(refused.value)


# --------------------------------------------------- quirks beyond the table


def test_type_ii_rows_are_listed_and_chosen_by_number_or_value(shared_data):
    path = shared_data / "chandra-hetg-3c120-pha2" / "3c120_pha2.gz"
    rows = pha_rows(path)

    assert len(rows) == 12
    assert [r["TG_M"] for r in rows] == [-3, -2, -1, 1, 2, 3] * 2
    by_value = read_pha(path, row={"TG_M": 1, "TG_PART": 2})
    assert by_value.row == 10 and by_value.counts.sum() == 33930

    with pytest.raises(OGIPError) as refused:
        read_pha(path)
    assert refused.value.field == "row"
    assert "12 spectra" in str(refused.value) and "TG_M=-3" in str(refused.value)
    with pytest.raises(OGIPError, match="matches 2 spectra"):
        read_pha(path, row={"TG_M": 1})
    with pytest.raises(OGIPError, match="rows 1..12"):
        read_pha(path, row=13)


def test_type_ii_grating_background_columns(shared_data):
    path = shared_data / "chandra-hetg-3c120-pha2" / "3c120_pha2.gz"
    source = read_pha(path, row=4)
    background = read_pha(path, row=4, background=True)

    with fits.open(path) as hdul:
        row = hdul["SPECTRUM"].data[3]
        up, down = row["BACKGROUND_UP"], row["BACKGROUND_DOWN"]
        header = hdul["SPECTRUM"].header
        np.testing.assert_array_equal(source.counts, row["COUNTS"])
    np.testing.assert_array_equal(background.counts, up.astype(float) + down)
    assert background.backscal == pytest.approx(header["BACKSCUP"] + header["BACKSCDN"])
    assert background.hduclas2 == "BKG" and source.has_background_columns


def test_type_ii_background_file_is_read_at_the_same_row(shared_data):
    folder = shared_data / "chandra-letg-hrc-pha2"
    first = Observation.from_pha(
        folder / "pha2.gz", row=1, rmf=_tiny_identity(16384), background=None
    )
    assert first.row == 1 and first.background.row == 1
    assert first.background.counts.sum() == 337818
    assert first.background.backscal == 10.0


def _tiny_identity(n):
    """A stand-in Redistribution with n channels (only channel bookkeeping used)."""
    from specdsl.response.ogip import Redistribution

    edges = np.linspace(0.1, 10.0, 3)
    return Redistribution(
        path=None,
        energy_lo=edges[:-1],
        energy_hi=edges[1:],
        matrix=np.full((2, n), 1.0 / n),
        channels=np.arange(1, n + 1),
        e_min=np.zeros(n),
        e_max=np.ones(n),
        first_channel=1,
        is_full_response=False,
    )


def test_gbm_unsigned_counts_per_row_exposure_and_own_ebounds(shared_data):
    path = shared_data / "fermi-gbm-cspec-pha2" / "glg_cspec_n6_bn110721200_v00.pha"
    with fits.open(path) as hdul:
        table = hdul["SPECTRUM"].data
        raw = np.asarray(table["COUNTS"][100], dtype=np.int64)
        exposure = float(table["EXPOSURE"][100])
        e_min = np.asarray(hdul["EBOUNDS"].data["E_MIN"], dtype=float)

    spectrum = read_pha(path, row=101)
    np.testing.assert_array_equal(spectrum.counts, raw)
    assert raw.max() > 0 and spectrum.counts.min() >= 0  # TZERO applied
    assert spectrum.exposure == pytest.approx(exposure)
    np.testing.assert_array_equal(spectrum.e_min, e_min)

    with pytest.raises(OGIPError) as refused:
        read_pha(path, row=1564)
    assert refused.value.field == "EXPOSURE"
    assert "row 1564" in str(refused.value) and "negative" in str(refused.value)


def test_rgs_per_channel_scales_reach_the_fold(shared_data):
    path = shared_data / "xmm-rgs1-no-rsp" / "P0112880201R1S004BGSPEC1003.FTZ"
    spectrum = read_pha(path)
    with fits.open(path) as hdul:
        table = hdul["SPECTRUM"].data
        np.testing.assert_allclose(spectrum.areascal, table["AREASCAL"])
        np.testing.assert_allclose(spectrum.backscal, table["BACKSCAL"])
    assert np.ptp(spectrum.areascal) > 0  # really per channel


def test_diagonal_response_puts_each_arf_bin_in_its_channel(shared_data):
    folder = shared_data / "xmm-mos-ngc7793-ulx4-no-rmf"
    obs = Observation.from_pha(folder / "MOS1_spectrum_grp.fits", rmf="diagonal")

    np.testing.assert_array_equal(obs.redistribution, np.eye(2400))
    assert obs.channels[0] == 0 and obs.arf_path.name == "MOS1.arf"
    assert obs.e_max[10] == pytest.approx(0.055)  # MOS channels are 5 eV wide
    assert 0 < obs.energy_edges[0] < obs.energy_edges[1]  # ENERG_LO 0 moved up
