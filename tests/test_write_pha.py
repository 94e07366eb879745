"""The PHA writer: astropy round trips, XSPEC's fakeit layout, and file safety."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from specdsl.errors import OutputError, ParameterError
from specdsl.output import pha as pha_module
from specdsl.output.pha import write_pha

CHANNELS = np.arange(1, 1025)
CHANDRA = {"TELESCOP": "CHANDRA", "INSTRUME": "ACIS", "CHANTYPE": "PI"}

# OGIP/92-007 keywords that a SPECTRUM extension must (or, for POISSERR, should)
# carry. HDUVERS1 is the older spelling of HDUVERS that XSPEC 12.8 writes.
OGIP_MANDATORY = {
    "EXTNAME", "TELESCOP", "INSTRUME", "FILTER", "EXPOSURE", "AREASCAL",
    "BACKFILE", "BACKSCAL", "CORRFILE", "CORRSCAL", "RESPFILE", "ANCRFILE",
    "HDUCLASS", "HDUCLAS1", "HDUVERS", "HDUVERS1", "CHANTYPE", "DETCHANS",
    "POISSERR", "TLMIN1", "TLMAX1",
}  # fmt: skip

# How our type-I header differs from XSPEC 12.8's aciss.fak, key by key:
# XSPEC alone writes its fakeit provenance (FKSRC/FKRSP/FKARF; a caller may pass
# them through `keywords`) and the old HDUVERS1. We alone write the class keywords
# and FILTER, which OGIP/92-007 asks for and XSPEC leaves out.
XSPEC_ONLY = {"HDUVERS1", "FKSRC001", "FKRSP001", "FKARF001"}
OURS_ONLY = {"HDUCLAS2", "HDUCLAS3", "HDUCLAS4", "HDUVERS", "FILTER"}


@pytest.fixture
def aciss(shared_data):
    """XSPEC 12.8's own fakeit output: header, columns and data of SPECTRUM."""
    with fits.open(shared_data / "chandra-acis-cy15-fakeit" / "aciss.fak") as hdus:
        return hdus[1].header.copy(), hdus[1].columns, hdus[1].data.copy()


def poisson_counts(shape, seed=0):
    return np.random.default_rng(seed).poisson(2.5, shape)


def read_spectrum(path):
    with fits.open(path) as hdus:
        return hdus[0].header.copy(), hdus[1].header.copy(), hdus[1].data.copy()


def value_keys(header) -> set[str]:
    return {key for key in header if key not in ("HISTORY", "COMMENT", "")}


def temporaries(folder) -> list[str]:
    return [n for n in os.listdir(folder) if n.startswith(".") and n.endswith(".tmp")]


# --- type I ----------------------------------------------------------------------


def test_type1_round_trip_is_bit_identical(tmp_path):
    counts = poisson_counts(1024)
    path = write_pha(
        tmp_path / "src.pha",
        counts,
        channels=CHANNELS,
        exposure=40000.0,
        keywords=CHANDRA,
        respfile=tmp_path / "sub" / "aciss_aimpt_cy15.rmf",
        ancrfile="aciss_aimpt_cy15.arf",
    )
    primary, header, data = read_spectrum(path)

    assert path == tmp_path / "src.pha"
    assert data["COUNTS"].dtype == np.dtype(">i4")
    np.testing.assert_array_equal(data["COUNTS"], counts)
    np.testing.assert_array_equal(data["CHANNEL"], CHANNELS)
    assert (header["TLMIN1"], header["TLMAX1"], header["DETCHANS"]) == (1, 1024, 1024)
    assert header["EXPOSURE"] == 40000.0
    assert header["RESPFILE"] == "aciss_aimpt_cy15.rmf"  # no such file: its name
    assert header["ANCRFILE"] == "aciss_aimpt_cy15.arf"
    assert header["BACKFILE"] == header["CORRFILE"] == "none"
    classes = [header[f"HDUCLAS{i}"] for i in "S1234"]
    assert classes == "OGIP SPECTRUM TOTAL COUNT TYPE:I".split()
    assert header["HDUVERS"] == "1.2.1"
    assert header["POISSERR"] is True
    assert primary["CREATOR"].startswith("specdsl ")
    assert primary["DATE"][:4].isdigit()


def test_links_are_written_as_seen_from_the_spectrum(tmp_path):
    beside, below = tmp_path / "out" / "a.rmf", tmp_path / "resp" / "b.arf"
    deep = tmp_path.joinpath(*["a_long_folder_name"] * 8, "c.rmf")
    for path in (beside, below, deep):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"")
    path = write_pha(
        tmp_path / "out" / "src.pha",
        poisson_counts(1024),
        channels=CHANNELS,
        exposure=1.0,
        respfile=beside,
        ancrfile=below,
        backfile=deep,
    )

    _, header, _ = read_spectrum(path)
    assert header["RESPFILE"] == "a.rmf"
    assert header["ANCRFILE"] == "../resp/b.arf"
    assert header["BACKFILE"] == "c.rmf"  # no path fits in a FITS string


def test_links_through_symbolic_links_keep_the_short_name(tmp_path):
    far = tmp_path.joinpath(*["a_long_folder_name"] * 8)
    far.mkdir(parents=True)
    (far / "c.rmf").write_bytes(b"")
    (tmp_path / "out").mkdir()
    (tmp_path / "data").symlink_to(far)  # the user's link to a data folder
    (tmp_path / "out" / "here").symlink_to(far)  # the output's folder is a link
    (tmp_path / "d.arf").write_bytes(b"")

    first = write_pha(
        tmp_path / "out" / "src.pha",
        poisson_counts(1024),
        channels=CHANNELS,
        exposure=1.0,
        respfile=tmp_path / "data" / "c.rmf",
    )
    second = write_pha(
        tmp_path / "out" / "here" / "src.pha",
        poisson_counts(1024),
        channels=CHANNELS,
        exposure=1.0,
        respfile=tmp_path / "d.arf",
    )

    assert read_spectrum(first)[1]["RESPFILE"] == "../data/c.rmf"
    # '../../d.arf' from out/here would climb from the link's target: the
    # path from the real folder is written.
    assert read_spectrum(second)[1]["RESPFILE"] == "../" * 8 + "d.arf"


def test_no_warning_when_a_link_to_the_data_keeps_the_path_short(tmp_path):
    from specdsl.output.pha import unreachable_links

    far = tmp_path.joinpath(*["a_long_folder_name"] * 8)
    far.mkdir(parents=True)
    (far / "c.rmf").write_bytes(b"")
    (tmp_path / "data").symlink_to(far)
    target = tmp_path / "src.pha"

    assert unreachable_links(target, {"RESPFILE": tmp_path / "data" / "c.rmf"}) == []
    (message,) = unreachable_links(target, {"RESPFILE": far / "c.rmf"})
    assert message.startswith("RESPFILE names c.rmf only: no path to ")


def test_an_output_path_through_a_link_and_dotdot_gets_a_working_link(tmp_path):
    (tmp_path / "deep" / "sub").mkdir(parents=True)
    (tmp_path / "work").mkdir()
    (tmp_path / "work" / "r.rmf").write_bytes(b"")
    (tmp_path / "work" / "lnk").symlink_to(tmp_path / "deep" / "sub")

    # work/lnk/.. is deep/, not work/: the kernel follows the link first.
    path = write_pha(
        tmp_path / "work" / "lnk" / ".." / "out.pha",
        poisson_counts(1024),
        channels=CHANNELS,
        exposure=1.0,
        respfile=tmp_path / "work" / "r.rmf",
    )

    assert (tmp_path / "deep" / "out.pha").exists()
    assert read_spectrum(path)[1]["RESPFILE"] == "../work/r.rmf"


@pytest.mark.parametrize(
    "folder",
    ["q'" * 31, "~x", " d"],  # quotes doubled past 68; '~' expanded; blank stripped
)
def test_a_link_readers_would_misread_is_written_another_way(tmp_path, folder):
    from specdsl.output.pha import unreachable_links

    response = tmp_path / folder / "r.rmf"
    response.parent.mkdir()
    response.write_bytes(b"")

    path = write_pha(
        tmp_path / "out.pha",
        poisson_counts(1024),
        channels=CHANNELS,
        exposure=1.0,
        respfile=response,
    )

    link = read_spectrum(path)[1]["RESPFILE"]
    warnings = unreachable_links(path, {"RESPFILE": response})
    if link == "r.rmf":  # the absolute path is too long here: a warning says so
        assert warnings and "names r.rmf only" in warnings[0]
    else:
        assert Path(link).is_absolute() and Path(link) == response and not warnings


def test_a_bare_link_name_is_resolved_from_the_working_folder(tmp_path, monkeypatch):
    (tmp_path / "resp").mkdir()
    (tmp_path / "resp" / "b.rmf").write_bytes(b"")
    monkeypatch.chdir(tmp_path / "resp")

    path = write_pha(
        tmp_path / "out.pha",
        poisson_counts(1024),
        channels=CHANNELS,
        exposure=1.0,
        respfile="b.rmf",
        ancrfile="not_here.arf",
    )

    _, header, _ = read_spectrum(path)
    assert header["RESPFILE"] == "resp/b.rmf"
    assert header["ANCRFILE"] == "not_here.arf"  # not a file here: its name


def test_whole_number_floats_are_written_as_integers(tmp_path):
    counts = poisson_counts(1024).astype(np.float64)
    path = write_pha(tmp_path / "f.pha", counts, channels=CHANNELS, exposure=1.0)

    _, header, data = read_spectrum(path)
    assert header["TFORM2"] == "J"
    np.testing.assert_array_equal(data["COUNTS"], counts)


def test_expected_counts_are_float64_without_poisson_errors(tmp_path):
    expected = np.random.default_rng(3).random(1024) * 7.0
    path = write_pha(
        tmp_path / "e.pha", expected, channels=CHANNELS, exposure=1e3, poisserr=False
    )
    _, header, data = read_spectrum(path)

    assert header["POISSERR"] is False
    assert [header["TFORM2"], header["TTYPE3"], header["TFORM3"]] == [
        "D",
        "STAT_ERR",
        "E",
    ]
    back = data["COUNTS"].astype(np.float64)
    np.testing.assert_array_equal(back.view(np.uint64), expected.view(np.uint64))
    assert not data["STAT_ERR"].any()


def test_type1_parameters_are_recorded_as_history(tmp_path):
    path = write_pha(
        tmp_path / "p.pha",
        poisson_counts(1024),
        channels=CHANNELS,
        exposure=1.0,
        parameters={"powerlaw_1.PhoIndex": 1.7, "tbabs_1.nH": np.array([0.1])},
        history=["made in a test"],
    )
    _, header, _ = read_spectrum(path)
    assert list(header["HISTORY"]) == [
        "made in a test",
        "specdsl parameter powerlaw_1.PhoIndex = 1.7",
        "specdsl parameter tbabs_1.nH = 0.1",
    ]


def test_keywords_pass_through_for_a_background_file(tmp_path):
    extra = {"HDUCLAS2": "BKG", "OBJECT": "NGC 7793", "FKSRC001": "tbabs*powerlaw"}
    path = write_pha(
        tmp_path / "b.pha",
        poisson_counts(8),
        channels=np.arange(8),
        exposure=1.0,
        keywords={**extra, "telescop": "XMM"},
    )
    _, header, _ = read_spectrum(path)
    assert {k: header[k] for k in extra} == extra
    assert header["TELESCOP"] == "XMM"


def test_channels_from_zero_set_tlmin_zero(tmp_path):
    path = write_pha(
        tmp_path / "z.pha", poisson_counts(64), channels=np.arange(64), exposure=1.0
    )
    _, header, _ = read_spectrum(path)
    assert (header["TLMIN1"], header["TLMAX1"], header["DETCHANS"]) == (0, 63, 64)


def test_gzip_name_writes_a_gzipped_file(tmp_path):
    counts = poisson_counts(1024)
    path = write_pha(tmp_path / "src.pha.gz", counts, channels=CHANNELS, exposure=1.0)

    raw = path.read_bytes()
    assert raw[:2] == b"\x1f\x8b"
    assert gzip.decompress(raw)[:6] == b"SIMPLE"
    assert b"src.pha\x00" in raw[:40]  # the name stored in the gzip header
    _, _, data = read_spectrum(path)
    np.testing.assert_array_equal(data["COUNTS"], counts)


def test_file_mode_follows_the_umask(tmp_path):
    old = os.umask(0o027)
    try:
        path = write_pha(
            tmp_path / "m.pha", poisson_counts(8), channels=np.arange(8), exposure=1
        )
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == 0o640


# --- comparison with XSPEC's fakeit output ---------------------------------------


def test_type1_columns_match_xspec_fakeit(tmp_path, aciss):
    _, xspec_columns, _ = aciss
    path = write_pha(
        tmp_path / "a.pha", poisson_counts(1024), channels=CHANNELS, exposure=4e4
    )
    with fits.open(path) as hdus:
        ours = [(c.name, c.format) for c in hdus[1].columns]
    assert ours == [(c.name, c.format) for c in xspec_columns]


def test_type1_keywords_compared_with_xspec_fakeit(tmp_path, aciss):
    xspec_header, _, _ = aciss
    path = write_pha(
        tmp_path / "a.pha",
        poisson_counts(1024),
        channels=CHANNELS,
        exposure=40000.0,
        keywords=CHANDRA,
        respfile="aciss_aimpt_cy15.rmf",
        ancrfile="aciss_aimpt_cy15.arf",
    )
    _, header, _ = read_spectrum(path)
    ours, xspec = value_keys(header), value_keys(xspec_header)

    assert xspec - ours == XSPEC_ONLY
    assert ours - xspec == OURS_ONLY
    assert (OGIP_MANDATORY & xspec) - {"HDUVERS1"} <= ours
    assert OGIP_MANDATORY - {"HDUVERS1"} <= ours
    same = (
        "HDUCLASS HDUCLAS1 TELESCOP INSTRUME CHANTYPE RESPFILE ANCRFILE EXPOSURE"
        " TLMIN1 TLMAX1 DETCHANS POISSERR AREASCAL BACKSCAL"
    ).split()
    assert {k: header[k] for k in same} == {k: xspec_header[k] for k in same}


def test_rewriting_xspec_fakeit_data_keeps_every_value(tmp_path, aciss):
    _, _, xspec = aciss
    path = write_pha(
        tmp_path / "again.fak",
        xspec["COUNTS"],
        channels=xspec["CHANNEL"],
        exposure=40000.0,
        grouping=xspec["GROUPING"],
        quality=xspec["QUALITY"],
    )
    _, _, data = read_spectrum(path)
    for name in ("CHANNEL", "COUNTS", "QUALITY", "GROUPING"):
        np.testing.assert_array_equal(data[name], xspec[name])
    assert int(data["COUNTS"].sum()) == 1287


# --- type II ---------------------------------------------------------------------


def test_type2_with_parameters_and_per_row_exposure(tmp_path):
    counts = poisson_counts((5, 64), seed=1)
    exposure = np.array([1e3, 2e3, 3e3, 4e3, 5e3])
    index = np.linspace(1.5, 2.5, 5)
    path = write_pha(
        tmp_path / "stack.pha",
        counts,
        channels=np.arange(64),
        exposure=exposure,
        parameters={"powerlaw_1.PhoIndex": index, "tbabs_1.nH": np.arange(5)},
        respfile="resp.rmf",
    )
    _, header, data = read_spectrum(path)

    assert header["HDUCLAS4"] == "TYPE:II"
    assert header["TTYPE2"] == "CHANNEL"
    assert (header["TLMIN2"], header["TLMAX2"], header["DETCHANS"]) == (0, 63, 64)
    assert "EXPOSURE" not in header  # the values differ, so only the column
    np.testing.assert_array_equal(data["SPEC_NUM"], [1, 2, 3, 4, 5])
    np.testing.assert_array_equal(data["COUNTS"], counts)
    np.testing.assert_array_equal(data["CHANNEL"], np.tile(np.arange(64), (5, 1)))
    np.testing.assert_array_equal(data["EXPOSURE"], exposure)
    np.testing.assert_array_equal(data["powerlaw_1.PhoIndex"], index)
    np.testing.assert_array_equal(data["tbabs_1.nH"], np.arange(5))
    assert header["RESPFILE"] == "resp.rmf"
    assert (header["GROUPING"], header["QUALITY"]) == (0, 0)


def test_type2_uniform_exposure_array_also_sets_the_keyword(tmp_path):
    path = write_pha(
        tmp_path / "u.pha",
        poisson_counts((3, 16)),
        channels=np.arange(1, 17),
        exposure=np.full(3, 50.0),
        backscal=np.array([0.1, 0.2, 0.3]),
    )
    _, header, data = read_spectrum(path)
    assert header["EXPOSURE"] == 50.0
    assert "BACKSCAL" not in header
    np.testing.assert_array_equal(data["BACKSCAL"], [0.1, 0.2, 0.3])


def test_type2_expected_counts_and_shared_grouping(tmp_path):
    expected = np.random.default_rng(4).random((4, 32)) * 3
    grouping = np.tile([1, -1], 16)
    path = write_pha(
        tmp_path / "x.pha",
        expected,
        channels=np.arange(1, 33),
        exposure=10.0,
        poisserr=False,
        grouping=grouping,
    )
    _, header, data = read_spectrum(path)

    assert header["POISSERR"] is False
    assert header["TFORM3"] == "32D"
    assert header["EXPOSURE"] == 10.0
    back = data["COUNTS"].astype(np.float64)
    np.testing.assert_array_equal(back.view(np.uint64), expected.view(np.uint64))
    np.testing.assert_array_equal(data["GROUPING"], np.tile(grouping, (4, 1)))
    assert "GROUPING" not in header and header["QUALITY"] == 0


# --- file safety -----------------------------------------------------------------


def test_existing_file_is_refused_without_clobber(tmp_path):
    target = tmp_path / "src.pha"
    write_pha(target, poisson_counts(1024), channels=CHANNELS, exposure=1.0)
    before = target.read_bytes()

    with pytest.raises(OutputError, match="clobber") as caught:
        write_pha(target, poisson_counts(1024, 9), channels=CHANNELS, exposure=2.0)
    assert str(target) in str(caught.value)
    assert target.read_bytes() == before


def test_clobber_replaces_the_file(tmp_path):
    target = tmp_path / "src.pha"
    write_pha(target, poisson_counts(1024), channels=CHANNELS, exposure=1.0)
    newer = poisson_counts(1024, seed=9)

    write_pha(target, newer, channels=CHANNELS, exposure=2.0, clobber=True)
    _, header, data = read_spectrum(target)
    assert header["EXPOSURE"] == 2.0
    np.testing.assert_array_equal(data["COUNTS"], newer)
    assert temporaries(tmp_path) == []


def test_failed_write_leaves_old_file_and_no_temporary(tmp_path, monkeypatch):
    target = tmp_path / "src.pha"
    write_pha(target, poisson_counts(1024), channels=CHANNELS, exposure=1.0)
    before = target.read_bytes()
    seen = []

    def half_write(self, fileobj, **kwargs):
        fileobj.write(b"SIMPLE  =  T" * 100)
        seen.extend(temporaries(tmp_path))
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(fits.HDUList, "writeto", half_write)
    with pytest.raises(OutputError, match="No space left"):
        write_pha(
            target,
            poisson_counts(1024, 5),
            channels=CHANNELS,
            exposure=1.0,
            clobber=True,
        )

    assert len(seen) == 1 and seen[0].startswith(".src.pha.")
    assert temporaries(tmp_path) == []
    assert target.read_bytes() == before


def test_interrupted_write_leaves_nothing(tmp_path, monkeypatch):
    def interrupted(self, fileobj, **kwargs):
        fileobj.write(b"partial")
        raise KeyboardInterrupt

    monkeypatch.setattr(fits.HDUList, "writeto", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_pha(
            tmp_path / "new.pha", poisson_counts(8), channels=np.arange(8), exposure=1.0
        )
    assert os.listdir(tmp_path) == []


def test_file_that_appears_during_the_write_is_not_overwritten(tmp_path, monkeypatch):
    target = tmp_path / "race.pha"
    writeto = fits.HDUList.writeto

    def racing(self, fileobj, **kwargs):
        target.write_bytes(b"someone else's")
        writeto(self, fileobj, **kwargs)

    monkeypatch.setattr(fits.HDUList, "writeto", racing)
    with pytest.raises(OutputError, match="already exists"):
        write_pha(target, poisson_counts(8), channels=np.arange(8), exposure=1.0)
    assert target.read_bytes() == b"someone else's"
    assert temporaries(tmp_path) == []


def test_missing_directory_is_refused(tmp_path):
    with pytest.raises(OutputError, match="does not exist"):
        write_pha(
            tmp_path / "nowhere" / "src.pha",
            poisson_counts(8),
            channels=np.arange(8),
            exposure=1.0,
        )
    assert not (tmp_path / "nowhere").exists()


@pytest.mark.parametrize("below", ["src.pha", "sub/src.pha"])
def test_a_file_where_the_folder_should_be_is_named(tmp_path, below):
    (tmp_path / "my.fak").write_text("x")

    with pytest.raises(OutputError, match="my.fak is a file, not a directory"):
        write_pha(
            tmp_path / "my.fak" / below,
            poisson_counts(8),
            channels=np.arange(8),
            exposure=1.0,
        )
    assert (tmp_path / "my.fak").read_text() == "x"


def test_directory_path_is_refused(tmp_path):
    with pytest.raises(OutputError, match="is a directory"):
        write_pha(tmp_path, poisson_counts(8), channels=np.arange(8), exposure=1.0)


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write into any directory")
def test_read_only_directory_is_refused(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        with pytest.raises(OutputError, match="not writable"):
            write_pha(
                folder / "s.pha", poisson_counts(8), channels=np.arange(8), exposure=1.0
            )
    finally:
        folder.chmod(0o755)


def test_directory_without_write_permission_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(pha_module.os, "access", lambda path, mode: False)
    with pytest.raises(OutputError, match=f"directory {tmp_path} is not writable"):
        write_pha(
            tmp_path / "s.pha", poisson_counts(8), channels=np.arange(8), exposure=1.0
        )


def test_a_name_too_long_is_an_output_error_naming_it(tmp_path):
    target = tmp_path / ("a" * 300 + ".pha")

    with pytest.raises(OutputError) as caught:
        write_pha(target, poisson_counts(8), channels=np.arange(8), exposure=1.0)

    message = str(caught.value)
    assert message.startswith(f"cannot write {target}: File name too long")
    assert "choose a shorter name" in message
    assert list(tmp_path.iterdir()) == []


def test_a_name_that_fits_only_without_the_temporary_suffix_is_refused(tmp_path):
    target = tmp_path / ("b" * 250 + ".pha")  # 254 bytes: its temporary has 268

    with pytest.raises(OutputError, match="File name too long .254 bytes"):
        pha_module.check_output(target, clobber=False)


def test_an_error_looking_at_the_target_is_an_output_error(tmp_path, monkeypatch):
    import errno

    target = tmp_path / "s.pha"
    is_dir = Path.is_dir

    def refused(path):
        if path == target:
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return is_dir(path)

    monkeypatch.setattr(Path, "is_dir", refused)
    for check in (
        lambda: pha_module.check_output(target, clobber=True),
        lambda: pha_module.check_target(target),
    ):
        with pytest.raises(OutputError, match=f"cannot write {target}: Permission"):
            check()


def test_check_target_names_a_directory_whatever_clobber_says(tmp_path):
    with pytest.raises(OutputError, match="it is a directory; name a file"):
        pha_module.check_target(tmp_path)
    assert pha_module.check_target(tmp_path / "new.pha") == tmp_path / "new.pha"


# --- validation ------------------------------------------------------------------

GOOD = {"counts": np.ones(8, int), "channels": np.arange(1, 9), "exposure": 1.0}
BAD_INPUTS = [
    ({"channels": np.arange(1, 8)}, "channels has shape \\(7,\\).*8 channels"),
    ({"counts": np.array([1, 2, np.nan, 4, 5, 6, 7, 8])}, "NaN.*at counts\\[2\\]"),
    ({"counts": np.array([1, 2, 3, np.inf, 5, 6, 7, 8])}, "infinity.*counts\\[3\\]"),
    ({"counts": -np.ones(8, int)}, "negative at counts\\[0\\] \\(8 values"),
    ({"counts": np.full(8, 2.5)}, "not whole numbers.*poisserr=False"),
    ({"counts": np.full(8, 3e9)}, "int32 range"),
    ({"counts": np.ones((2, 2, 8))}, "shape \\(2, 2, 8\\)"),
    ({"counts": np.ones((0, 8))}, "no empty axis"),
    ({"counts": np.array(["a"] * 8)}, "must be numbers"),
    ({"channels": np.arange(8, 0, -1)}, "strictly increasing"),
    ({"channels": np.arange(8) + 0.5}, "whole numbers"),
    ({"exposure": 0.0}, "exposure must be > 0"),
    ({"exposure": np.ones(8)}, "exposure must be a number; got shape"),
    ({"backscal": np.nan}, "backscal must be finite"),
    ({"backscal": np.ones(7)}, "backscal must be a number or \\(8,\\) array; got"),
    ({"grouping": np.full(8, 2)}, "grouping values must be among"),
    ({"quality": np.ones(7)}, "quality has shape \\(7,\\)"),
    ({"keywords": {"EXPOSURE": 5.0}}, "EXPOSURE is set by write_pha.*exposure="),
    ({"keywords": {"TLMIN1": 0}}, "TLMIN1 is set by write_pha"),
    ({"keywords": {"LONGKEYWORD": 1}}, "not a FITS keyword name"),
    ({"keywords": {"OBJECT": [1]}}, "ASCII string or a number"),
    ({"keywords": {"HDUCLAS2": "SRC"}}, "HDUCLAS2 must be one of"),
    ({"parameters": {"a.b": np.ones(3)}}, "must be one number"),
]


@pytest.mark.parametrize(("change", "message"), BAD_INPUTS)
def test_bad_input_is_refused_before_any_file_exists(tmp_path, change, message):
    arguments = {**GOOD, **change}
    counts = arguments.pop("counts")
    with pytest.raises(ParameterError, match=message):
        write_pha(tmp_path / "bad.pha", counts, **arguments)
    assert os.listdir(tmp_path) == []


def test_type1_per_channel_scales_are_columns_unless_constant(tmp_path):
    backscal = np.linspace(0.5, 1.2, 8)
    path = write_pha(
        tmp_path / "rgs.pha",
        poisson_counts(8),
        channels=np.arange(1, 9),
        exposure=100.0,
        backscal=backscal,
        areascal=np.full(8, 0.25),
    )

    _, header, data = read_spectrum(path)
    np.testing.assert_array_equal(data["BACKSCAL"], backscal)
    assert "BACKSCAL" not in header  # a column replaces the keyword
    assert header["AREASCAL"] == 0.25 and "AREASCAL" not in data.names


def test_type2_scales_per_row_and_channel_round_trip(tmp_path):
    areascal = np.arange(1.0, 25.0).reshape(3, 8) / 10
    path = write_pha(
        tmp_path / "stack.pha",
        poisson_counts((3, 8)),
        channels=np.arange(1, 9),
        exposure=50.0,
        areascal=areascal,
        backscal=np.linspace(1, 2, 8),  # per channel, the same in every row
    )

    _, header, data = read_spectrum(path)
    np.testing.assert_array_equal(data["AREASCAL"], areascal)
    np.testing.assert_array_equal(data["BACKSCAL"][2], np.linspace(1, 2, 8))
    assert data.columns["BACKSCAL"].format == "8D"
    assert "AREASCAL" not in header and "BACKSCAL" not in header


BAD_TYPE2 = [
    ({"parameters": {"powerlaw_1.norm": np.ones(2)}}, "shape \\(3,\\), one value"),
    ({"parameters": {"counts": np.ones(3)}}, "clashes with another column"),
    ({"parameters": {"p.A": np.ones(3), "P.a": np.ones(3)}}, "clashes"),
    ({"parameters": {"x" * 69: np.ones(3)}}, "1 to 68 characters"),
    ({"exposure": np.ones(2)}, "exposure must be a number or \\(3,\\) array"),
    ({"exposure": np.ones(8)}, "exposure must be a number or \\(3,\\) array;"),
    ({"areascal": np.ones((2, 8))}, "areascal must be .* \\(3, 8\\) array"),
    ({"grouping": np.ones((2, 8))}, "grouping has shape \\(2, 8\\)"),
]


@pytest.mark.parametrize(("change", "message"), BAD_TYPE2)
def test_bad_type2_input_is_refused(tmp_path, change, message):
    arguments = {**GOOD, "counts": np.ones((3, 8), int), **change}
    counts = arguments.pop("counts")
    with pytest.raises(ParameterError, match=message):
        write_pha(tmp_path / "bad.pha", counts, **arguments)
    assert os.listdir(tmp_path) == []


def test_creator_falls_back_when_specdsl_is_not_installed(tmp_path, monkeypatch):
    import importlib.metadata

    def not_installed(name):
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "version", not_installed)
    pha_module._version.cache_clear()
    try:
        path = write_pha(
            tmp_path / "v.pha", np.ones(4, int), channels=np.arange(4), exposure=1.0
        )
    finally:
        pha_module._version.cache_clear()
    primary, _, _ = read_spectrum(path)
    assert primary["CREATOR"] == "specdsl 0+unknown"


# --- other readers, when installed -----------------------------------------------


def test_sherpa_reads_back_the_counts(tmp_path):
    astro_io = pytest.importorskip("sherpa.astro.io")
    counts = poisson_counts(1024)
    path = write_pha(tmp_path / "s.pha", counts, channels=CHANNELS, exposure=40000.0)

    data = astro_io.read_pha(str(path))
    np.testing.assert_array_equal(data.counts, counts)
    assert data.exposure == 40000.0


def test_jaxspec_reads_back_the_counts(tmp_path):
    ogip = pytest.importorskip("jaxspec.data.ogip")
    counts = poisson_counts(1024)
    path = write_pha(tmp_path / "j.pha", counts, channels=CHANNELS, exposure=40000.0)

    data = ogip.DataPHA.from_file(path)
    np.testing.assert_array_equal(data.counts, counts)
    assert data.respfile == "none"
