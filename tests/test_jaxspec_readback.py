"""Files written by specdsl, read back by jaxspec's own OGIP readers (issue 5).

Every kind of file specdsl writes is read twice: with astropy, and with jaxspec
0.4.1's readers (``jaxspec.data``: ``DataPHA.from_file``,
``Observation.from_pha_file``, ``ObsConfiguration.from_pha_file``). Both must
agree on the counts, exposure, grouping, quality, BACKSCAL/AREASCAL and the
RESPFILE/ANCRFILE/BACKFILE links, which jaxspec resolves beside the file.

jaxspec pins other JAX and numpy versions than specdsl's own test environment,
so it is an optional test dependency (``pip install ".[test,jaxspec]"``). Without
it this module is skipped; ``SPECDSL_REQUIRE_JAXSPEC=1`` (CI's second
environment) turns that skip, and a missing data folder, into a failure.

What jaxspec 0.4.1 does not read is asserted, with its own message:

- type II files (``--count N``, ``fakeit N``): ``DataPHA.from_file`` refuses
  HDUCLAS4='TYPE:II'. A row exported as type I is read instead.
- expected counts (``--no-counting-statistics``, ``fakeit`` answered ``n``): it
  refuses fractional COUNTS, since its likelihood is Poisson.
- ``--grouped`` output has RESPFILE 'none' (no channel response fits the groups):
  ``Observation`` reads it, ``ObsConfiguration`` asks for an RMF.
- links name the response as seen from the fake's folder; a fake copied
  elsewhere loses a relative link, and jaxspec says where it looked.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from conftest import SHARED_DATA

REQUIRED = os.environ.get("SPECDSL_REQUIRE_JAXSPEC") == "1"


def _import_jaxspec():
    """jaxspec, or a skip; an ImportError (a failure) when CI requires it."""
    if not REQUIRED:
        return pytest.importorskip("jaxspec", minversion="0.4.1")
    import jaxspec

    return jaxspec


jaxspec = _import_jaxspec()

from jaxspec.data import ObsConfiguration, Observation  # noqa: E402
from jaxspec.data.ogip import DataPHA  # noqa: E402
from rich.console import Console  # noqa: E402

from specdsl.cli import main  # noqa: E402
from specdsl.output.pha import write_pha  # noqa: E402
from specdsl.prompt.inputs import ScriptInput  # noqa: E402
from specdsl.prompt.session import Session  # noqa: E402
from specdsl.response.observation import Observation as SpecdslObservation  # noqa: E402

PN = "xmm-pn-ngc7793-ulx4"
ACIS = "chandra-acis-3c273"
CY15 = "chandra-acis-cy15-fakeit"
POWERLAW = ["--param", "powerlaw_1.PhoIndex=1.7", "--param", "powerlaw_1.norm=1e-3"]
TYPE_II_REFUSED = r"HDUCLAS4=TYPE:II keyword in the PHA file is not supported"


@pytest.fixture(scope="module")
def data() -> Path:
    """The shared data folder; missing, it skips, or fails where CI requires it."""
    if not SHARED_DATA.is_dir():
        stop = pytest.fail if REQUIRED else pytest.skip
        stop(f"real test data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(scope="module", autouse=True)
def jaxspec_cache(data):
    """Put the tbabs table in jaxspec's pooch cache, so nothing is downloaded
    (as benchmarks/jaxspec_side.py does); the sha256 is jaxspec's own."""
    from jaxspec.util.online_storage import table_manager

    name = "xsect_tbabs_wilm.fits"
    target = Path(table_manager.abspath) / name
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(data / "reference-xsect" / name, target)
    digest = hashlib.sha256(target.read_bytes()).hexdigest()
    assert table_manager.registry[name] == f"sha256:{digest}"
    return target


def linked_data(folder: Path, data: Path) -> Path:
    """``data`` through a link in ``folder``: links written there stay short
    enough for a FITS string wherever the data lie."""
    (folder / "data").symlink_to(data, target_is_directory=True)
    return folder / "data"


def points_to(found: str | None, file: Path) -> bool:
    """Whether a path jaxspec found from a link is ``file``."""
    return found is not None and Path(found).resolve() == file.resolve()


def spectrum(path: Path):
    """The SPECTRUM header and table as astropy reads them."""
    with fits.open(path) as hdus:
        return hdus["SPECTRUM"].header.copy(), hdus["SPECTRUM"].data.copy()


def read_jaxspec(path: Path):
    """jaxspec's DataPHA and Observation of a file, and the warnings it gave."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        pha = DataPHA.from_file(str(path))
        observation = Observation.from_pha_file(str(path))
    return pha, observation, [str(w.message) for w in caught]


def group_ids(grouping: np.ndarray | None, n_channels: int) -> np.ndarray:
    """The group of each channel from an OGIP GROUPING column (1 or 0 starts one)."""
    if grouping is None:
        return np.arange(n_channels)
    return np.cumsum(np.asarray(grouping) != -1) - 1


def jaxspec_group_ids(pha) -> np.ndarray:
    """The group of each channel from jaxspec's sparse grouping matrix."""
    groups, channels = pha.grouping.coords
    ids = np.full(pha.grouping.shape[1], -1)
    ids[channels] = groups
    return ids


def linked(folder: Path, header, keyword: str) -> str | None:
    """Where a link points, beside the file; None for 'none'."""
    value = str(header[keyword]).strip()
    return None if value.lower() in ("", "none") else str(folder / value)


def check_type_i(path: Path):
    """Assert jaxspec reads what astropy reads; return jaxspec's two objects."""
    header, table = spectrum(path)
    pha, observation, caught = read_jaxspec(path)
    n = len(table)

    assert caught == []
    np.testing.assert_array_equal(observation.counts.data, table["COUNTS"])
    np.testing.assert_array_equal(observation.channel.data, table["CHANNEL"])
    assert float(observation.exposure) == header["EXPOSURE"]
    np.testing.assert_array_equal(pha.quality, table["QUALITY"])
    np.testing.assert_array_equal(
        jaxspec_group_ids(pha), group_ids(table["GROUPING"], n)
    )
    np.testing.assert_allclose(pha.backscal, np.full(n, header["BACKSCAL"]), rtol=0)
    np.testing.assert_allclose(pha.areascal, np.full(n, header["AREASCAL"]), rtol=0)

    folder = path.parent
    attrs = observation.attrs
    assert attrs["response_matrix_file"] == linked(folder, header, "RESPFILE")
    assert attrs["ancillary_response_file"] == linked(folder, header, "ANCRFILE")
    assert attrs["background_file"] == linked(folder, header, "BACKFILE")
    return pha, observation


def grouped_sum(counts, grouping, quality, keep=None) -> np.ndarray:
    """Counts summed per group over good channels, empty groups left out."""
    good = np.asarray(quality) == 0
    if keep is not None:
        good &= keep
    ids = group_ids(grouping, len(counts))
    kept = np.unique(ids[good])
    return np.array([counts[good & (ids == group)].sum() for group in kept])


def export_row(fake: Path, row: int, output: Path) -> Path:
    """Row ``row`` of a type II fake as a type I file (with its background row),
    read with specdsl and written with specdsl's writer."""
    source = SpecdslObservation.from_pha(fake, row=row)
    background = None
    if source.background is not None:
        bkg = source.background
        background = output.with_name(output.stem + "_bkg" + output.suffix)
        write_pha(
            background,
            bkg.counts,
            channels=bkg.channels,
            exposure=bkg.exposure,
            keywords={"HDUCLAS2": "BKG"},
            backscal=bkg.backscal,
            areascal=bkg.areascal,
        )
    return write_pha(
        output,
        source.counts,
        channels=source.channels,
        exposure=source.exposure,
        grouping=source.grouping,
        quality=source.quality,
        backscal=source.backscal,
        areascal=source.areascal,
        respfile=source.rmf_path,
        ancrfile=source.arf_path,
        backfile=background,
    )


# --- the command line: type I, type II, grouped, expected counts ---------------


@pytest.fixture(scope="module")
def cli(tmp_path_factory, data) -> Path:
    """``specdsl fakeit`` on the XMM PN spectrum, every output kind, one folder."""
    folder = tmp_path_factory.mktemp("cli")
    pn = linked_data(folder, data) / PN
    batch = ["--param", "powerlaw_1.PhoIndex=uniform(1,3)"]
    batch += ["--param", "powerlaw_1.norm=1e-3"]
    runs = {
        "one.fak": ["--count", "1", *POWERLAW],
        "expected.fak": ["--count", "1", *POWERLAW, "--no-counting-statistics"],
        "batch.fak": ["--count", "3", *batch],
        "grouped.fak": ["--count", "1", "--grouped", *POWERLAW],
        "grouped_expected.fak": [
            "--count", "1", "--grouped", *POWERLAW, "--no-counting-statistics"
        ],
    }  # fmt: skip
    for name, options in runs.items():
        arguments = ["fakeit", str(pn / "PN_spectrum_grp20.fits"), "--model"]
        arguments += ["powerlaw", *options, "--seed", "7"]
        assert main([*arguments, "--output", str(folder / name)]) == 0, name
    return folder


@pytest.fixture(scope="module")
def one_obsconf(cli):
    """jaxspec's fit-ready view of the type I fake: it opens the linked RMF/ARF."""
    return ObsConfiguration.from_pha_file(str(cli / "one.fak"))


def test_cli_type_i_reads_back_with_its_links(cli, one_obsconf, data):
    header, table = spectrum(cli / "one.fak")
    assert header["HDUCLAS4"] == "TYPE:I" and table["COUNTS"].sum() > 1000
    _, observation = check_type_i(cli / "one.fak")

    # The links name the shared response as seen from the fake's folder.
    assert points_to(observation.attrs["response_matrix_file"], data / PN / "PN.rmf")
    assert points_to(observation.attrs["ancillary_response_file"], data / PN / "PN.arf")
    assert observation.attrs["background_file"] is None  # BACKFILE 'none'

    # The whole chain: jaxspec opens the RMF and ARF the links name. It leaves
    # out channel 0, whose EBOUNDS E_MIN is 0 keV.
    e_min = fits.getdata(data / PN / "PN.rmf", "EBOUNDS")["E_MIN"]
    assert float(one_obsconf.exposure) == header["EXPOSURE"]
    np.testing.assert_array_equal(
        one_obsconf.folded_counts.data,
        grouped_sum(table["COUNTS"], table["GROUPING"], table["QUALITY"], e_min > 0),
    )


def test_jaxspec_folds_our_model_through_the_linked_response(cli, one_obsconf):
    """jaxspec's powerlaw through the response it found from our links gives the
    expected counts we wrote: the links name the response we folded through."""
    from jaxspec.data.util import fakeit_for_multiple_parameters
    from jaxspec.model.additive import Powerlaw

    parameters = {"powerlaw_1.alpha": np.array([1.7]), "powerlaw_1.norm": [1e-3]}
    parameters = {name: np.asarray(value) for name, value in parameters.items()}
    folded = fakeit_for_multiple_parameters(
        one_obsconf, Powerlaw(), parameters, apply_stat=False
    )
    theirs = np.asarray(folded)[0]

    _, table = spectrum(cli / "expected.fak")
    ours = one_obsconf.grouping.data.to_scipy_sparse() @ table["COUNTS"]
    bright = ours > 1e-3 * ours.max()
    assert bright.sum() > 100  # the fake keeps the spectrum's GROUPING (grp20)
    np.testing.assert_allclose(theirs[bright], ours[bright], rtol=1e-4)
    np.testing.assert_allclose(theirs.sum(), ours.sum(), rtol=1e-4)


def test_expected_counts_are_refused_by_jaxspec(cli):
    header, table = spectrum(cli / "expected.fak")
    assert header["POISSERR"] is False and table["COUNTS"].dtype.kind == "f"
    assert np.any(table["COUNTS"] != np.floor(table["COUNTS"]))

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(ValueError, match="PHA counts contains fractional values"):
            DataPHA.from_file(str(cli / "expected.fak"))
    assert any("POISSERR=False" in str(w.message) for w in caught)


def test_type_ii_is_refused_and_an_exported_row_reads_back(cli, tmp_path, data):
    header, table = spectrum(cli / "batch.fak")
    assert header["HDUCLAS4"] == "TYPE:II" and table["COUNTS"].shape == (3, 4096)
    with pytest.raises(ValueError, match=TYPE_II_REFUSED):
        DataPHA.from_file(str(cli / "batch.fak"))
    with pytest.raises(ValueError, match=TYPE_II_REFUSED):
        Observation.from_pha_file(str(cli / "batch.fak"))

    row = export_row(cli / "batch.fak", 2, tmp_path / "row2.fak")
    _, observation = check_type_i(row)
    np.testing.assert_array_equal(observation.counts.data, table["COUNTS"][1])
    assert float(observation.exposure) == header["EXPOSURE"]
    assert points_to(observation.attrs["response_matrix_file"], data / PN / "PN.rmf")
    assert not np.array_equal(table["COUNTS"][0], table["COUNTS"][1])


def test_grouped_output_has_jaxspecs_groups_and_no_response(cli, data):
    source = data / PN / "PN_spectrum_grp20.fits"
    theirs = ObsConfiguration.from_pha_file(str(source))  # jaxspec groups the source
    header, table = spectrum(cli / "grouped.fak")
    assert header["SDGROUPD"] is True
    assert len(table) == theirs.sizes["folded_channel"] == 114

    _, observation = check_type_i(cli / "grouped.fak")
    assert observation.attrs["response_matrix_file"] is None  # RESPFILE 'none'
    with pytest.raises(ValueError, match="No response file was supplied for PHA"):
        ObsConfiguration.from_pha_file(str(cli / "grouped.fak"))

    # The same groups: ours summed before the draw, jaxspec's summed after.
    _, grouped = spectrum(cli / "grouped_expected.fak")
    _, channels = spectrum(cli / "expected.fak")
    summed = theirs.grouping.data.to_scipy_sparse() @ channels["COUNTS"]
    np.testing.assert_allclose(grouped["COUNTS"], summed, rtol=1e-5)


def test_links_are_read_from_the_files_folder(cli, tmp_path, data):
    header, _ = spectrum(cli / "one.fak")
    link = header["ANCRFILE"]
    assert link == f"data/{PN}/PN.arf"  # not beside: a path from the fake's folder

    # A copy one folder deeper loses the relative link, and jaxspec says where
    # it looked.
    deeper = tmp_path / "a" / "b"
    deeper.mkdir(parents=True)
    shutil.copyfile(cli / "one.fak", deeper / "one.fak")
    assert not (deeper / link).exists()
    with pytest.raises(FileNotFoundError, match=r"^Can't find .*PN\.arf"):
        ObsConfiguration.from_pha_file(str(deeper / "one.fak"))


# --- the prompt: .fak files, background, batches ----------------------------------


def run_prompt(folder: Path, script: str) -> str:
    """Run prompt commands in ``folder``; returns what the session printed."""
    console = Console(file=io.StringIO(), width=100, color_system=None)
    session = Session(console, cwd=folder)
    lines = textwrap.dedent(script).lstrip("\n").splitlines()
    session.run(ScriptInput(lines, console))
    return console.file.getvalue()


@pytest.fixture(scope="module")
def prompt(tmp_path_factory, data) -> Path:
    """One prompt session: 3C 273 with its background (one and a batch of 3),
    then XSPEC's aciss.fak as data, then its response alone (fakeit none)."""
    folder = tmp_path_factory.mktemp("prompt")
    near = linked_data(folder, data)
    acis, cy15 = near / ACIS, near / CY15
    screen = run_prompt(
        folder,
        f"""
        data {acis / "3c273.pi"}
        model powerlaw
        1.7
        1e-3
        fakeit
        y

        src.fak
        40000 1 80000
        newpar 1 uniform(1.5, 2.5)
        fakeit 3
        y

        batch.fak
        40000 1 80000
        data {cy15 / "aciss.fak"}
        fakeit
        y

        cy15.fak
        /
        fakeit none
        {cy15 / "aciss_aimpt_cy15.rmf"}
        {cy15 / "aciss_aimpt_cy15.arf"}
        y

        resp.fak
        10000
        """,
    )
    for name in ("src", "src_bkg", "batch", "batch_bkg", "cy15", "resp"):
        assert f"wrote {name}.fak" in screen, screen
    return folder


def test_prompt_fake_with_its_background_reads_back(prompt, data):
    header, table = spectrum(prompt / "src.fak")
    bkg_header, bkg_table = spectrum(prompt / "src_bkg.fak")
    assert header["BACKFILE"] == "src_bkg.fak" and bkg_header["HDUCLAS2"] == "BKG"
    _, original = spectrum(data / ACIS / "3c273.pi")
    np.testing.assert_array_equal(table["GROUPING"], original["GROUPING"])

    pha, observation = check_type_i(prompt / "src.fak")
    attrs = observation.attrs
    assert points_to(attrs["response_matrix_file"], data / ACIS / "3c273.rmf")
    assert points_to(attrs["ancillary_response_file"], data / ACIS / "3c273.arf")
    assert attrs["background_file"] == str(prompt / "src_bkg.fak")
    assert jaxspec_group_ids(pha).max() == 45  # 3c273.pi's 46 groups

    # The background as jaxspec pairs it with the source.
    np.testing.assert_array_equal(observation.background.data, bkg_table["COUNTS"])
    assert attrs["background_exposure"] == bkg_header["EXPOSURE"] == 80000.0
    source_side = header["BACKSCAL"] * header["EXPOSURE"] * header["AREASCAL"]
    bkg_side = bkg_header["BACKSCAL"] * bkg_header["EXPOSURE"] * bkg_header["AREASCAL"]
    np.testing.assert_allclose(observation.backratio.data, source_side / bkg_side)

    obsconf = ObsConfiguration.from_pha_file(str(prompt / "src.fak"))
    flags = table["GROUPING"], table["QUALITY"]
    np.testing.assert_array_equal(
        obsconf.folded_counts.data, grouped_sum(table["COUNTS"], *flags)
    )
    np.testing.assert_array_equal(
        obsconf.folded_background.data, grouped_sum(bkg_table["COUNTS"], *flags)
    )


def test_prompt_background_file_reads_back_on_its_own(prompt):
    _, observation = check_type_i(prompt / "src_bkg.fak")
    assert float(observation.exposure) == 80000.0
    assert observation.attrs["response_matrix_file"] is None  # RESPFILE 'none'


def test_prompt_batch_is_refused_and_exported_rows_read_back(prompt, tmp_path):
    header, table = spectrum(prompt / "batch.fak")
    _, bkg_table = spectrum(prompt / "batch_bkg.fak")
    assert header["HDUCLAS4"] == "TYPE:II" and table["COUNTS"].shape == (3, 1024)
    for name in ("batch.fak", "batch_bkg.fak"):
        with pytest.raises(ValueError, match=TYPE_II_REFUSED):
            DataPHA.from_file(str(prompt / name))

    row = export_row(prompt / "batch.fak", 3, tmp_path / "row3.fak")
    _, observation = check_type_i(row)
    np.testing.assert_array_equal(observation.counts.data, table["COUNTS"][2])
    np.testing.assert_array_equal(observation.background.data, bkg_table["COUNTS"][2])
    assert observation.attrs["background_file"] == str(tmp_path / "row3_bkg.fak")
    assert observation.attrs["background_exposure"] == 80000.0


@pytest.mark.parametrize("name", ["cy15.fak", "resp.fak"])
def test_prompt_fak_files_read_back_with_their_response(prompt, data, name):
    header, table = spectrum(prompt / name)
    _, observation = check_type_i(prompt / name)
    rmf, arf = "aciss_aimpt_cy15.rmf", "aciss_aimpt_cy15.arf"
    assert points_to(observation.attrs["response_matrix_file"], data / CY15 / rmf)
    assert points_to(observation.attrs["ancillary_response_file"], data / CY15 / arf)
    if name == "cy15.fak":  # based on XSPEC's aciss.fak: its flags are copied
        _, xspec = spectrum(data / CY15 / "aciss.fak")
        np.testing.assert_array_equal(table["GROUPING"], xspec["GROUPING"])
        np.testing.assert_array_equal(table["QUALITY"], xspec["QUALITY"])

    obsconf = ObsConfiguration.from_pha_file(str(prompt / name))
    assert float(obsconf.exposure) == header["EXPOSURE"]
    assert int(obsconf.folded_counts.sum()) == int(table["COUNTS"].sum()) > 1000
