"""OGIP readers refuse damaged or inconsistent files with an OGIPError that names
the file and the keyword or column: gzip streams that fail their check, links
that name a directory, implausible DETCHANS and TLMIN, EBOUNDS channels out of
order, negative effective areas and scaling factors.

Broken files are made in tmp_path from copies of the Chandra ACIS 3C 273 set
(PHA, RMF, ARF and background side by side, so the header links resolve).
"""

from __future__ import annotations

import gzip

import numpy as np
import pytest
from astropy.io import fits
from fits_edits import column, copy_acis, edit, header

from specdsl.errors import OGIPError
from specdsl.response import Observation, ogip, read_arf, read_pha, read_rmf


@pytest.fixture
def acis(shared_data, tmp_path):
    """A private copy of the 3C 273 set: edits never touch the shared data."""
    return copy_acis(shared_data, tmp_path)


def with_column(name, values):
    """An edit that adds (or replaces) a per-channel float column."""

    def apply(hdu):
        kept = [c for c in hdu.columns if c.name.upper() != name]
        new = fits.Column(name=name, format="E", array=np.asarray(values, np.float32))
        return fits.BinTableHDU.from_columns(
            kept + [new], header=hdu.header, name=hdu.name
        )

    return apply


def refused(call, field_name, *words):
    """Run `call`, expect an OGIPError naming `field_name` with all `words`."""
    with pytest.raises(OGIPError) as caught:
        call()
    message = str(caught.value)
    assert caught.value.field == field_name, message
    for word in words:
        assert word in message, f"{word!r} missing from: {message}"
    return caught.value


# ------------------------------------------------------------------------ gzip


def damaged_gzip(data: bytes, how: str) -> bytes:
    """A level-0 gzip stream of `data` with one bit flipped in the middle, or a
    wrong CRC or length in its trailer: it still decompresses, to wrong bytes."""
    packed = bytearray(gzip.compress(data, 0))
    at = {"middle": len(packed) // 2, "crc": len(packed) - 8, "size": len(packed) - 2}
    packed[at[how]] ^= 0x10
    return bytes(packed)


@pytest.mark.parametrize("how", ["middle", "crc", "size"])
def test_gzip_that_fails_its_check_is_refused(acis, how):
    bad = acis / "bad.arf.gz"
    bad.write_bytes(damaged_gzip((acis / "3c273.arf").read_bytes(), how))

    refused(lambda: read_arf(bad), None, "bad.arf.gz", "gzip", "corrupt")
    refused(
        lambda: Observation.from_pha(acis / "3c273.pi", arf=bad, background=False),
        None,
        "bad.arf.gz",
        "arf argument",
        "corrupt",
    )


def test_good_gzip_reads_like_the_plain_file(acis):
    packed = acis / "good.rmf.gz"
    packed.write_bytes(gzip.compress((acis / "3c273.rmf").read_bytes(), 1))
    plain = read_rmf(acis / "3c273.rmf")
    np.testing.assert_array_equal(read_rmf(packed).matrix, plain.matrix)
    assert ogip.file_kind(packed) == "rmf"


# ----------------------------------------------------------------------- links


@pytest.mark.parametrize("keyword", ["RESPFILE", "ANCRFILE", "BACKFILE"])
@pytest.mark.parametrize("value", ["/", ".", "..", "sub/", "{2}"])
def test_link_that_names_no_file_is_refused_by_keyword(acis, keyword, value):
    edit(acis / "3c273.pi", "SPECTRUM", header(**{keyword: value}))
    refused(
        lambda: Observation.from_pha(acis / "3c273.pi"),
        keyword,
        "3c273.pi",
        f"{keyword}='{value}'",
        "not a file name",
    )


@pytest.mark.parametrize(
    ("keyword", "name"),
    [("RESPFILE", "3c273.rmf"), ("ANCRFILE", "3c273.arf"), ("BACKFILE", "bg.pi")],
)
def test_link_to_a_directory_says_so(acis, keyword, name):
    (acis / name).unlink(missing_ok=True)
    (acis / name).mkdir()
    edit(acis / "3c273.pi", "SPECTRUM", header(**{keyword: name}))
    error = refused(
        lambda: Observation.from_pha(acis / "3c273.pi"),
        keyword,
        name,
        "is a directory",
        f"{keyword} of 3c273.pi",
    )
    assert "not found" not in str(error) and "not there" not in str(error)


@pytest.mark.parametrize(
    ("argument", "name"), [("rmf", "3c273.rmf"), ("arf", "3c273.arf")]
)
def test_directory_given_as_a_file_says_so(acis, argument, name):
    folder = acis / "folder"
    folder.mkdir()
    refused(
        lambda: Observation.from_pha(acis / "3c273.pi", **{argument: folder}),
        argument,
        "folder",
        "is a directory",
    )
    refused(lambda: read_pha(folder), None, "folder", "is a directory")


# --------------------------------------------------------------- DETCHANS, TLMIN


def test_huge_detchans_is_refused_before_allocating(acis):
    edit(acis / "3c273.pi", "SPECTRUM", header(DETCHANS=10**12))
    refused(
        lambda: read_pha(acis / "3c273.pi"),
        "DETCHANS",
        "3c273.pi",
        "DETCHANS=1000000000000",
        "CHANNEL 1..1024",
    )


@pytest.mark.parametrize(
    ("name", "extname", "keyword", "value", "words"),
    [
        ("3c273.pi", "SPECTRUM", "DETCHANS", 1.5, "not a whole number"),
        ("3c273.pi", "SPECTRUM", "TLMIN1", "abc", "not a number"),
        ("3c273.pi", "SPECTRUM", "TLMIN1", 0.5, "not a whole number"),
        ("3c273.rmf", "MATRIX", "DETCHANS", "x", "not a number"),
        ("3c273.rmf", "MATRIX", "TLMIN4", "abc", "not a number"),
    ],
)
def test_integer_keywords_must_be_whole_numbers(
    acis, name, extname, keyword, value, words
):
    edit(acis / name, extname, header(**{keyword: value}))
    reader = read_pha if name.endswith(".pi") else read_rmf
    refused(lambda: reader(acis / name), keyword, name, f"{keyword}=", words)


# --------------------------------------------------------------------- EBOUNDS


@pytest.mark.parametrize(
    ("col", "change", "words"),
    [
        ("CHANNEL", lambda c: c.__setitem__(5, 1), "increase strictly"),
        ("CHANNEL", lambda c: c.__setitem__(5, 5), "channel 5 after 5"),
        ("CHANNEL", lambda c: c.__setitem__(5, 6.5), "whole numbers"),
        ("E_MIN", lambda c: c.__setitem__(3, -0.1), "negative"),
        ("E_MAX", lambda c: c.__setitem__(3, 0.0), "below its E_MIN"),
    ],
)
def test_bad_ebounds_is_refused_when_read(acis, col, change, words):
    edit(acis / "3c273.rmf", "EBOUNDS", column(col, change))
    refused(lambda: read_rmf(acis / "3c273.rmf"), col, "3c273.rmf", words)
    if col == "CHANNEL":
        refused(
            lambda: Observation.from_pha(acis / "3c273.pi"),
            "CHANNEL",
            "3c273.rmf",
            "EBOUNDS CHANNEL",
        )


# ------------------------------------------------------------ ARF and scaling


def test_negative_effective_area_is_refused(acis):
    edit(
        acis / "3c273.arf",
        "SPECRESP",
        column("SPECRESP", lambda a: a.__setitem__(500, -50)),
    )
    refused(
        lambda: Observation.from_pha(acis / "3c273.pi"),
        "SPECRESP",
        "3c273.arf",
        "-50",
        "bin 500",
        "negative",
    )


@pytest.mark.parametrize(
    ("keyword", "value", "words"),
    [
        ("AREASCAL", 0.0, "must be > 0"),
        ("AREASCAL", -2.0, "cannot be negative"),
        ("BACKSCAL", -1.0, "cannot be negative"),
    ],
)
def test_bad_scaling_keyword_is_refused(acis, keyword, value, words):
    edit(acis / "3c273.pi", "SPECTRUM", header(**{keyword: value}))
    refused(
        lambda: read_pha(acis / "3c273.pi"),
        keyword,
        "3c273.pi",
        f"{keyword}={value:g}",
        "keyword",
        words,
    )


def test_zero_backscal_keyword_is_kept(acis):
    edit(acis / "3c273.pi", "SPECTRUM", header(BACKSCAL=0.0))
    assert read_pha(acis / "3c273.pi").backscal == 0.0


@pytest.mark.parametrize("name", ["AREASCAL", "BACKSCAL"])
def test_per_channel_scaling_zero_kept_negative_refused(acis, name):
    values = np.ones(1024)
    values[10] = 0.0  # as XMM-Newton RGS marks unusable channels
    edit(acis / "3c273.pi", "SPECTRUM", with_column(name, values))
    assert getattr(read_pha(acis / "3c273.pi"), name.lower())[10] == 0.0

    values[20] = -1.0
    edit(acis / "3c273.pi", "SPECTRUM", with_column(name, values))
    refused(
        lambda: read_pha(acis / "3c273.pi"),
        name,
        "3c273.pi",
        "channel 21",
        "cannot be negative",
    )


# --------------------------------------------------------------------- type II


@pytest.mark.parametrize("keyword", ["HDUCLAS3", "HDUCLAS4"])
def test_type_ii_claim_on_a_type_i_layout_reads_as_type_i(acis, keyword):
    expected = read_pha(acis / "3c273.pi")
    edit(acis / "3c273.pi", "SPECTRUM", header(**{keyword: "TYPE:II"}))

    spectrum = read_pha(acis / "3c273.pi")
    assert spectrum.row is None and spectrum.n_channels == 1024
    np.testing.assert_array_equal(spectrum.counts, expected.counts)
    assert ogip.file_kind(acis / "3c273.pi") == "pha1"
    assert ogip.pha_rows(acis / "3c273.pi") == [{"row": None}]


# ------------------------------------------------ damaged columns (fifth review)


def two_per_row(name):
    """An edit that turns a scalar column into one of two values per row."""

    def apply(hdu):
        columns = [
            fits.Column(
                name=c.name, format="2E", array=np.stack([hdu.data[c.name]] * 2, 1)
            )
            if c.name.upper() == name
            else c
            for c in hdu.columns
        ]
        return fits.BinTableHDU.from_columns(columns, header=hdu.header, name=hdu.name)

    return apply


@pytest.mark.parametrize(
    ("file", "extname", "name", "read"),
    [
        ("3c273.arf", "SPECRESP", "ENERG_HI", read_arf),
        ("3c273.arf", "SPECRESP", "SPECRESP", read_arf),
        ("3c273.rmf", "MATRIX", "ENERG_LO", read_rmf),
    ],
)
def test_a_column_of_one_value_per_row_with_two_is_named(
    acis, file, extname, name, read
):
    edit(acis / file, extname, two_per_row(name))
    refused(lambda: read(acis / file), name, file, "holds 2 values per row")


def test_a_column_without_a_name_is_not_a_traceback(acis):
    raw = bytearray((acis / "3c273.pi").read_bytes())
    raw[raw.index(b"TTYPE2  =") + 6] ^= 0xFF  # TTYPE2 is no longer a TTYPEn keyword
    (acis / "3c273.pi").write_bytes(bytes(raw))
    refused(lambda: read_pha(acis / "3c273.pi"), None, "3c273.pi", "damaged")


def test_a_damaged_heap_descriptor_is_refused_before_allocating(acis):
    with fits.open(acis / "3c273.rmf") as hdul:
        matrix = hdul["MATRIX"]
        field = matrix.data.view(np.ndarray).dtype.fields["N_CHAN"][1]
        start = matrix._data_offset + field  # the first row's descriptor
    raw = bytearray((acis / "3c273.rmf").read_bytes())
    raw[start + 1] = 0xFF  # the element count of N_CHAN's first row, far too big
    (acis / "3c273.rmf").write_bytes(bytes(raw))
    refused(lambda: read_rmf(acis / "3c273.rmf"), "N_CHAN", "row 1", "outside the")


def test_an_areascal_column_of_zeros_only_is_refused(acis):
    edit(acis / "3c273.pi", "SPECTRUM", with_column("AREASCAL", np.zeros(1024)))
    refused(lambda: read_pha(acis / "3c273.pi"), "AREASCAL", "must be > 0")


def test_text_counts_are_named_not_taken_for_type_ii(acis):
    def text_counts(hdu):
        columns = [
            fits.Column(
                name="COUNTS", format="8A", array=hdu.data["COUNTS"].astype(str)
            )
            if c.name == "COUNTS"
            else c
            for c in hdu.columns
        ]
        return fits.BinTableHDU.from_columns(columns, header=hdu.header, name=hdu.name)

    edit(acis / "3c273.pi", "SPECTRUM", text_counts)
    refused(
        lambda: read_pha(acis / "3c273.pi"), "COUNTS", "is a text column (TFORM 8A)"
    )


def test_links_to_nowhere_and_devices_say_what_they_are(tmp_path):
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    with pytest.raises(OGIPError, match="a symbolic link that leads to no file"):
        read_pha(tmp_path / "a")
    with pytest.raises(OGIPError, match="not a regular file"):
        read_arf("/dev/null")
