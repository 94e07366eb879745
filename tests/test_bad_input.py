"""Bad input of every kind gets one clear error of our own: files, parameters,
output targets and model strings (API, command line and prompt).

Broken files are made in tmp_path from the good Chandra ACIS 3C 273 set (PHA,
RMF, ARF and background, copied side by side so the header links resolve).
"""

from __future__ import annotations

import gzip
import io
import os
import signal
import subprocess
import sys
import textwrap

import jax.numpy as jnp
import numpy as np
import pytest
from astropy.io import fits
from fits_edits import column, copy_acis, edit, header, table_copy, without

import specdsl
from specdsl.cli import main
from specdsl.errors import (
    ModelError,
    ModelSyntaxError,
    OGIPError,
    OutputError,
    ParameterError,
    SpecdslError,
)
from specdsl.library.registry import ADDITIVE, ComponentSpec, Library
from specdsl.output.pha import write_pha
from specdsl.response import Observation, read_arf, read_pha, read_rmf
from specdsl.response.ogip import REDIST_ROW_SUM_LIMIT

# ------------------------------------------------------------------ fixtures


@pytest.fixture
def acis(shared_data, tmp_path):
    """A private copy of the 3C 273 set: edits never touch the shared data."""
    return copy_acis(shared_data, tmp_path)


def as_image(hdu):
    """The extension replaced by an image that keeps its name."""
    return fits.ImageHDU(np.zeros((4, 4), np.float32), name=hdu.name)


def as_ascii_table(hdu):
    """The extension replaced by an ASCII table that keeps its name."""
    return fits.TableHDU.from_columns(
        [fits.Column(name="ENERG_LO", format="E12.5", array=np.ones(3))],
        name=hdu.name,
    )


def refused(call, field_name, *words, error=OGIPError):
    """Run `call`, expect `error` naming `field_name` with all `words`; return it."""
    with pytest.raises(error) as caught:
        call()
    message = str(caught.value)
    if error is OGIPError:
        assert caught.value.field == field_name, message
    for word in words:
        assert word in message, f"{word!r} missing from: {message}"
    assert "Traceback" not in message
    return caught.value


# ------------------------------------------------- truncated and corrupt files


@pytest.mark.parametrize("fraction", [0.3, 0.6, 0.95])
def test_truncated_pha(acis, fraction):
    path = acis / "3c273.pi"
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * fraction)])

    error = refused(lambda: read_pha(path), None, "3c273.pi")
    assert "truncated" in str(error) or "corrupt" in str(error)


def test_rmf_cut_at_a_block_boundary_says_it_may_be_truncated(acis):
    path = acis / "3c273.rmf"
    data = path.read_bytes()
    path.write_bytes(data[: data.index(b"XTENSION")])  # the primary HDU only

    refused(lambda: read_rmf(path), "MATRIX", "3c273.rmf", "truncated")


def test_truncated_gzip_file(acis):
    path = acis / "3c273.pi.gz"
    packed = gzip.compress((acis / "3c273.pi").read_bytes())
    path.write_bytes(packed[: len(packed) // 2])

    refused(lambda: read_pha(path), None, "3c273.pi.gz", "gzip", "truncated")


def test_corrupt_extension_header(acis):
    path = acis / "3c273.arf"
    data = bytearray(path.read_bytes())
    start = data.index(b"XTENSION", 2880)
    data[start : start + 80] = b"\x00\xff garbage " * 7 + b"\x00" * 3
    path.write_bytes(bytes(data))

    refused(lambda: read_arf(path), "SPECRESP", "3c273.arf", "corrupt")


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"", "not a readable FITS file"),
        (b"SIMPLE  = this is not FITS\n" * 200, "3c273.pi"),
        (bytes(range(256)) * 40, "FITS"),
    ],
)
def test_not_fits_at_all(acis, content, words):
    path = acis / "3c273.pi"
    path.write_bytes(content)
    refused(lambda: read_pha(path), None, "3c273.pi", words)


def test_missing_file_names_the_argument(acis):
    refused(
        lambda: Observation.from_pha(acis / "3c273.pi", rmf=acis / "gone.rmf"),
        "rmf",
        "gone.rmf",
        "not found",
        "rmf argument",
    )


# ------------------------------------------------------------ wrong HDU types


@pytest.mark.parametrize(
    ("name", "extname", "reader", "kind"),
    [
        ("3c273.pi", "SPECTRUM", read_pha, as_image),
        ("3c273.rmf", "MATRIX", read_rmf, as_image),
        ("3c273.rmf", "EBOUNDS", read_rmf, as_ascii_table),
        ("3c273.arf", "SPECRESP", read_arf, as_ascii_table),
    ],
)
def test_wrong_hdu_type(acis, name, extname, reader, kind):
    path = edit(acis / name, extname, kind)
    refused(lambda: reader(path), extname, name, "not a binary table")


def test_pre_ogip_response_as_a_primary_image(acis):
    path = acis / "old.rsp"
    fits.HDUList([fits.PrimaryHDU(np.ones((8, 8), np.float32))]).writeto(path)
    refused(lambda: read_rmf(path), "MATRIX", "old.rsp", "no MATRIX extension")


def test_response_given_where_a_spectrum_is_expected(acis):
    refused(lambda: read_pha(acis / "3c273.rmf"), "SPECTRUM", "no SPECTRUM extension")


def test_table_model_given_as_response(shared_data):
    path = shared_data / "xspec-tables-sherpa" / "testpcfabs.mod"
    for reader in (read_rmf, read_arf):
        refused(lambda r=reader: r(path), "HDUCLAS1", "XSPEC table model", "mtable")


# -------------------------------------------------------------- missing pieces


@pytest.mark.parametrize(
    ("name", "extname", "field_name", "reader", "words"),
    [
        ("3c273.pi", "SPECTRUM", "COUNTS", read_pha, "neither a COUNTS nor a RATE"),
        ("3c273.pi", "SPECTRUM", "CHANNEL", read_pha, "no CHANNEL column"),
        ("3c273.rmf", "MATRIX", "MATRIX", read_rmf, "no MATRIX column"),
        ("3c273.rmf", "MATRIX", "F_CHAN", read_rmf, "no F_CHAN column"),
        ("3c273.rmf", "MATRIX", "N_GRP", read_rmf, "no N_GRP column"),
        ("3c273.rmf", "MATRIX", "ENERG_HI", read_rmf, "no ENERG_HI column"),
        ("3c273.rmf", "EBOUNDS", "E_MIN", read_rmf, "no E_MIN column"),
        ("3c273.arf", "SPECRESP", "SPECRESP", read_arf, "no SPECRESP column"),
    ],
)
def test_missing_column(acis, name, extname, field_name, reader, words):
    path = edit(acis / name, extname, without(field_name))
    error = refused(lambda: reader(path), field_name, name, words)
    assert "columns:" in str(error)  # lists what the table does have


def test_missing_exposure(acis):
    edit(acis / "3c273.pi", "SPECTRUM", header(EXPOSURE=None))
    refused(
        lambda: Observation.from_pha(acis / "3c273.pi", background=False),
        "EXPOSURE",
        "3c273.pi",
        "exposure=",
    )


@pytest.mark.parametrize(
    ("value", "words"),
    [("soon", "is not a number"), (-10.0, "cannot be negative")],
)
def test_bad_exposure_keyword(acis, value, words):
    edit(acis / "3c273.pi", "SPECTRUM", header(EXPOSURE=value))
    refused(lambda: read_pha(acis / "3c273.pi"), "EXPOSURE", "3c273.pi", words)


def test_rate_spectrum_without_exposure(acis):
    def to_rate(hdu):
        table = table_copy(hdu, without=("COUNTS",))
        rate = fits.Column("RATE", "E", array=hdu.data["COUNTS"] / 100.0)
        new = fits.BinTableHDU.from_columns(table.columns + rate, header=hdu.header)
        del new.header["EXPOSURE"]
        return new

    edit(acis / "3c273.pi", "SPECTRUM", to_rate)
    refused(lambda: read_pha(acis / "3c273.pi"), "EXPOSURE", "RATE")


def test_missing_linked_files_name_the_link(acis):
    (acis / "3c273.arf").unlink()
    refused(
        lambda: Observation.from_pha(acis / "3c273.pi"),
        "ANCRFILE",
        "ANCRFILE of 3c273.pi",
        "3c273.arf",
        "arf=False",
    )
    (acis / "3c273.rmf").unlink()
    refused(
        lambda: Observation.from_pha(acis / "3c273.pi"),
        "RESPFILE",
        "no redistribution matrix",
        "3c273.rmf",
    )


# ------------------------------------------------------------ channel counts


def test_pha_and_rmf_channel_counts_differ(acis, shared_data):
    rmf = shared_data / "asca-sis0" / "s0_mar24.rmf"
    refused(
        lambda: Observation.from_pha(acis / "3c273.pi", rmf=rmf, arf=False),
        "DETCHANS",
        "3c273.pi",
        "s0_mar24.rmf",
        "1024",
        "512",
    )


def test_background_channel_count_differs(acis, shared_data):
    background = shared_data / "asca-sis0" / "s0_mar24_bin.pha"
    refused(
        lambda: Observation.from_pha(acis / "3c273.pi", background=background),
        "DETCHANS",
        "s0_mar24_bin.pha",
        "background",
    )


def test_rmf_detchans_disagrees_with_ebounds(acis):
    edit(acis / "3c273.rmf", "MATRIX", header(DETCHANS=1000))
    refused(lambda: read_rmf(acis / "3c273.rmf"), "DETCHANS", "1000", "1024")


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda c: c.__setitem__(-1, 5000), "outside"),
        (lambda c: c.__setitem__(5, 3), "twice"),
    ],
)
def test_bad_channel_numbers(acis, change, words):
    edit(acis / "3c273.pi", "SPECTRUM", column("CHANNEL", change))
    refused(lambda: read_pha(acis / "3c273.pi"), "CHANNEL", words)


def test_matrix_groups_ask_for_more_values_than_stored(acis):
    def longer(hdu):
        hdu.data["N_CHAN"][200][0] += 5
        return hdu

    edit(acis / "3c273.rmf", "MATRIX", longer)
    refused(lambda: read_rmf(acis / "3c273.rmf"), "MATRIX", "row 200", "N_CHAN")


# --------------------------------------------------------------- energy grids


def test_arf_on_another_grid(acis):
    def shift(hdu):
        hdu.data["ENERG_LO"] *= 1.01
        hdu.data["ENERG_HI"] *= 1.01
        return hdu

    edit(acis / "3c273.arf", "SPECRESP", shift)
    refused(
        lambda: Observation.from_pha(acis / "3c273.pi"),
        "ENERG_LO",
        "3c273.arf",
        "3c273.rmf",
        "energy grids differ",
    )


def test_arf_with_other_bin_count(acis):
    edit(
        acis / "3c273.arf",
        "SPECRESP",
        lambda h: fits.BinTableHDU(h.data[:-10], header=h.header, name=h.name),
    )
    refused(lambda: Observation.from_pha(acis / "3c273.pi"), "ENERG_LO", "1080", "1090")


def test_decreasing_energy_grid(acis):
    def reverse(hdu):
        for name in ("ENERG_LO", "ENERG_HI"):
            hdu.data[name][:] = hdu.data[name][::-1].copy()
        return hdu

    edit(acis / "3c273.rmf", "MATRIX", reverse)
    refused(lambda: Observation.from_response(acis / "3c273.rmf"), "ENERG_LO")


# ----------------------------------------------------------------- bad values


@pytest.mark.parametrize(
    ("name", "extname", "col", "reader"),
    [
        ("3c273.pi", "SPECTRUM", "COUNTS", read_pha),
        ("3c273.arf", "SPECRESP", "SPECRESP", read_arf),
        ("3c273.rmf", "MATRIX", "ENERG_LO", read_rmf),
    ],
)
def test_non_finite_values(acis, name, extname, col, reader):
    def poison(hdu):
        values = hdu.data[col]
        if values.dtype.kind != "f":  # COUNTS is integer: make it float first
            table = table_copy(hdu, without=(col,))
            new = fits.Column(col, "E", array=values.astype(np.float32))
            hdu = fits.BinTableHDU.from_columns(table.columns + new, header=hdu.header)
        hdu.data[col][7] = np.nan
        return hdu

    edit(acis / name, extname, poison)
    refused(lambda: reader(acis / name), col, "non-finite", name)


def test_negative_matrix_value(acis):
    def negative(hdu):
        hdu.data["MATRIX"][300][2] = -0.5
        return hdu

    edit(acis / "3c273.rmf", "MATRIX", negative)
    refused(lambda: read_rmf(acis / "3c273.rmf"), "MATRIX", "negative", "row 300")


def scaled_rmf(path, factor, hduclas3="REDIST"):
    """The RMF with every MATRIX element times `factor` and the given HDUCLAS3."""

    def scale(hdu):
        for row in hdu.data["MATRIX"]:
            row *= factor
        hdu.header["HDUCLAS3"] = hduclas3
        return hdu

    return edit(path, "MATRIX", scale)


def test_redistribution_rows_summing_above_one_are_refused(acis):
    path = scaled_rmf(acis / "3c273.rmf", 1.5)
    error = refused(lambda: read_rmf(path), "MATRIX", "sums to", "HDUCLAS3=REDIST")
    assert str(REDIST_ROW_SUM_LIMIT) in str(error) and "FULL" in str(error)


def test_real_rmf_rounding_overshoot_is_accepted(shared_data, acis):
    # The Chandra Cycle 15 canned RMF sums to 1.0088 in places, as shipped.
    real = read_rmf(shared_data / "chandra-acis-cy15-fakeit" / "aciss_aimpt_cy15.rmf")
    assert 1.005 < real.matrix.sum(axis=1).max() < REDIST_ROW_SUM_LIMIT
    assert not real.is_full_response

    a_bit_over = read_rmf(scaled_rmf(acis / "3c273.rmf", 1.05))
    assert not a_bit_over.is_full_response


def test_same_sums_are_fine_in_a_full_response(acis):
    rsp = read_rmf(scaled_rmf(acis / "3c273.rmf", 1.5, hduclas3="FULL"))
    assert rsp.is_full_response
    refused(
        lambda: Observation.from_response(rsp, acis / "3c273.arf"),
        "ANCRFILE",
        "full response",
        "twice",
    )


def test_type_ii_row_selection_errors(shared_data, acis):
    pha2 = shared_data / "rxte-pca-typeII" / "sacmult.pha"
    refused(lambda: read_pha(pha2), "row", "2 spectra", "row=1..2")
    refused(lambda: read_pha(pha2, row=0), "row", "rows 1..2")
    refused(lambda: read_pha(pha2, row="first"), "row", "whole number")
    refused(lambda: read_pha(acis / "3c273.pi", row=2), "row", "type I")


# ----------------------------------------------------------------- parameters


@pytest.fixture(scope="module")
def seed_model():
    return specdsl.compile("tbabs*(powerlaw+bbodyrad)")


@pytest.mark.parametrize(
    ("values", "words"),
    [
        ({"powerlaw_1.PhoIndex": 10.5}, ["powerlaw_1.PhoIndex", "hard limit 10"]),
        ({"powerlaw_1.norm": -1e-3}, ["powerlaw_1.norm", "hard limit 0"]),
        ({"bbodyrad_1.kT": [1.0, 2.0, 300.0]}, ["bbodyrad_1.kT[2]", "hard limit 200"]),
        ({"tbabs_1.nH": np.nan}, ["tbabs_1.nH", "finite"]),
        ({"tbabs_1.nH": [0.1, np.inf]}, ["tbabs_1.nH[1]", "finite"]),
        ({"powerlaw_1.norm": -np.inf}, ["powerlaw_1.norm", "finite"]),
        ({"tbabs_1.nH": "0.3"}, ["tbabs_1.nH", "expected a number"]),
        ({"tbabs_1.nH": True}, ["tbabs_1.nH", "expected a number"]),
        ({"tbabs_1.nH": 0.1 + 1j}, ["tbabs_1.nH", "expected a number"]),
        ({"tbabs_1.nH": [0.1, [0.2, 0.3]]}, ["tbabs_1.nH", "expected a number"]),
        ({"tbabs_1.nH": None}, ["tbabs_1.nH", "expected a number"]),
        (
            {"tbabs_1.nH": [0.1, 0.2], "powerlaw_1.norm": [1.0, 2.0, 3.0]},
            ["different shapes", "(2,)", "(3,)"],
        ),
        (
            {"tbabs_1.nH": np.ones((2, 3)), "powerlaw_1.norm": np.ones(6)},
            ["different shapes", "(2, 3)", "(6,)"],
        ),
        ({"powerlaw_1.Gamma": 2.0}, ["unknown parameter", "powerlaw_1.PhoIndex"]),
        ({"powerlaw_2.norm": 1.0}, ["unknown parameter 'powerlaw_2.norm'"]),
        ({"bbody_1": {"kT": 1.0}}, ["unknown parameter 'bbody_1.kT'"]),
        ({99: 1.0}, ["unknown parameter 99"]),
        ({True: 1.0}, ["unknown parameter True"]),
        (
            {"tbabs_1.nH": 0.1, "TBABS_1.NH": 0.2},
            ["tbabs_1.nH is given twice"],
        ),
        ({2: 1.5, "powerlaw_1": {"PhoIndex": 2.0}}, ["given twice"]),
        (np.array([1.0, 2.0]), ["must be a mapping"]),
    ],
)
def test_bad_parameters_name_the_parameter_and_limit(seed_model, values, words):
    error = refused(
        lambda: specdsl.parameters.normalize(seed_model.parameters, values),
        None,
        *words,
        error=ParameterError,
    )
    assert isinstance(error, SpecdslError)


def test_parameters_are_refused_before_the_model_runs(monkeypatch, seed_model):
    from specdsl.runtime import fakeit as fakeit_module

    def never(*args, **kwargs):
        raise AssertionError("the folded model ran with bad parameters")

    monkeypatch.setattr(fakeit_module, "iter_spectra", never)
    observation = Observation.default()
    with pytest.raises(ParameterError, match="hard limit 10"):
        specdsl.fakeit(observation, seed_model, {"powerlaw_1.PhoIndex": [1.0, 11.0]})


def negative_flux_library(value: float) -> Library:
    """A library with one additive component whose flux is `value` in every bin."""
    library = Library()
    library.register(
        ComponentSpec(
            "oddflux",
            ADDITIVE,
            (),
            kernel=lambda edges, constants: jnp.full(edges.shape[0] - 1, value),
        )
    )
    return library


@pytest.mark.parametrize(("value", "words"), [(-1.0, "-"), (np.nan, "nan")])
def test_negative_or_nan_model_never_reaches_the_sampler(value, words):
    model = specdsl.compile("oddflux", library=negative_flux_library(value))
    with pytest.raises(ParameterError) as caught:
        specdsl.fakeit(Observation.default(), model, {"oddflux_1.norm": [1.0, 1.0]})
    message = str(caught.value)
    assert "spectrum 1 (index 0)" in message and "expected counts" in message
    assert words in message.lower()


# --------------------------------------------------------------------- output


def small_spectrum():
    return {"counts": np.arange(8), "channels": np.arange(1, 9), "exposure": 100.0}


def test_existing_file_is_never_overwritten_without_clobber(tmp_path, capsys):
    target = tmp_path / "fake.pha"
    target.write_bytes(b"precious")

    refused(
        lambda: write_pha(target, **small_spectrum()),
        None,
        "already exists",
        "clobber",
        error=OutputError,
    )
    status = main(["fakeit", "--model", "powerlaw", "--output", str(target)])
    assert status == 2 and "--clobber" in capsys.readouterr().err
    assert target.read_bytes() == b"precious"

    write_pha(target, **small_spectrum(), clobber=True)
    assert fits.getdata(target, "SPECTRUM")["COUNTS"].sum() == 28


@pytest.mark.parametrize(
    ("make_target", "words"),
    [
        (lambda tmp: tmp / "missing" / "fake.pha", "does not exist"),
        (lambda tmp: tmp / "a_file.txt" / "fake.pha", "is a file, not a directory"),
        (lambda tmp: tmp, "is a directory"),
    ],
)
def test_unusable_target_is_refused_before_the_run(tmp_path, make_target, words):
    from specdsl.runtime.job import FakeitJob

    (tmp_path / "a_file.txt").write_text("x")
    job = FakeitJob(expression="powerlaw", output=str(make_target(tmp_path)))

    refused(job.run, None, words, error=OutputError)
    assert "simulate" not in job.timings and "write" not in job.timings


def test_unwritable_directory_is_refused_before_the_run(tmp_path, monkeypatch):
    from specdsl.output import pha
    from specdsl.runtime.job import FakeitJob

    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    if os.access(locked, os.W_OK):  # root ignores permission bits: deny it as the
        real_access = os.access  # operating system would for anyone else

        def access(path, mode, *args, **kwargs):
            if os.fspath(path) == os.fspath(locked) and mode & os.W_OK:
                return False
            return real_access(path, mode, *args, **kwargs)

        monkeypatch.setattr(pha.os, "access", access)

    job = FakeitJob(expression="powerlaw", output=str(locked / "fake.pha"))
    refused(job.run, None, "not writable", error=OutputError)
    assert "simulate" not in job.timings
    locked.chmod(0o700)


# A child that runs the command line and stalls just before the file named by
# its last argument is synced and published: its bytes are written under the
# hidden temporary name, it says READY and sleeps until killed.
STALLING_CHILD = textwrap.dedent(
    """
    import os, sys, time
    stall_on, real_fsync = sys.argv.pop(), os.fsync

    def fsync(fd):
        if stall_on in os.readlink(f"/proc/self/fd/{fd}"):
            print("READY", flush=True)
            time.sleep(300)
        return real_fsync(fd)

    os.fsync = fsync
    from specdsl.cli import main
    sys.exit(main(sys.argv[1:]))
    """
)


def run_and_kill(folder, arguments, stall_on, sig):
    """Run the command line in a child, kill it while it writes `stall_on`."""
    child = subprocess.Popen(
        [sys.executable, "-c", STALLING_CHILD, "fakeit", "--model", "powerlaw"]
        + arguments
        + ["--output", str(folder / "fake.pha"), stall_on],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = child.stdout.readline().strip()
        assert line == "READY", child.stderr.read() if not line else line
        partial = [p for p in folder.iterdir() if stall_on in p.name]
        assert partial and partial[0].name.startswith(".")  # hidden, being written
        child.send_signal(sig)
        child.wait(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
    return child.stderr.read()


def test_interrupted_write_leaves_no_file_at_all(tmp_path, monkeypatch):
    from specdsl.output import pha

    def interrupt(fd):
        raise KeyboardInterrupt  # Ctrl-C once the bytes are out, before the rename

    monkeypatch.setattr(pha.os, "fsync", interrupt)
    with pytest.raises(KeyboardInterrupt):
        write_pha(tmp_path / "fake.pha", **small_spectrum())
    assert sorted(tmp_path.iterdir()) == []  # no target and no temporary file


def test_killed_run_keeps_every_complete_part_and_no_partial_one(tmp_path):
    run_and_kill(
        tmp_path, ["--count", "8", "--part-size", "2"], "fake-0002", signal.SIGKILL
    )

    visible = sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith("."))
    assert visible == ["fake-0000.pha", "fake-0001.pha"]
    for name in visible:
        with fits.open(tmp_path / name) as hdul:
            assert hdul["SPECTRUM"].data["COUNTS"].shape == (2, 1024)
            assert hdul["SPECTRUM"].data["COUNTS"].sum() > 0
    # SIGKILL gives no chance to clean up: only a hidden temporary remains.
    hidden = [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]
    assert all("fake-0002" in name for name in hidden)


# ------------------------------------------------------------- model strings

# (expression, error type, essential words); each also gets a caret.
MALFORMED = [
    ("", ModelSyntaxError, ["empty"]),
    ("   ", ModelSyntaxError, ["empty"]),
    ("tbabs*(po", ModelSyntaxError, ["never closed"]),
    ("((po)", ModelSyntaxError, ["never closed"]),
    ("po)", ModelSyntaxError, ["no matching"]),
    ("po*()", ModelSyntaxError, ["empty parentheses"]),
    ("()", ModelSyntaxError, ["empty parentheses"]),
    ("po+", ModelSyntaxError, ["ends with '+'"]),
    ("po*", ModelSyntaxError, ["ends with '*'"]),
    ("+po", ModelSyntaxError, ["on its left"]),
    ("po++bb", ModelSyntaxError, ["on its left"]),
    ("tb*(po+)", ModelSyntaxError, ["on its right"]),
    ("po bb", ModelSyntaxError, ["side by side"]),
    ("po-bb", ModelSyntaxError, ["'-'"]),
    ("powerläw", ModelSyntaxError, ["invalid character"]),
    ("po+bb\u00a0", ModelSyntaxError, ["invalid character"]),
    ("po\u2217bb", ModelSyntaxError, ["invalid character"]),
    ("powerlow", ModelError, ["unknown model component", "Did you mean powerlaw"]),
    ("xyzzy*po", ModelError, ["xyzzy"]),
    ("p", ModelError, ["'p'"]),
    ("po*bb", ModelError, ["cannot multiply another additive"]),
    ("(po+bb)*(bb+po)", ModelError, ["cannot multiply another additive"]),
    ("tbabs", ModelError, ["no additive component"]),
    ("tbabs*constant", ModelError, ["no additive component"]),
    ("po+tbabs", ModelError, ["'+' term", "additive"]),
    ("cflux", ModelError, ["cflux", "followed by what it acts on"]),
    ("po*cflux", ModelError, ["followed by what it acts on"]),
    ("cflux+po", ModelError, ["followed by what it acts on"]),
    ("powerlaw(PhoIndex=)", ModelSyntaxError, ["value must follow '='"]),
    ("powerlaw(PhoIndex=1.7,)", ModelSyntaxError, ["value must follow ','"]),
    ("powerlaw(Foo=1)", ModelError, ["no parameter 'Foo'", "PhoIndex"]),
    ("powerlaw(PhoIndex=11)", ModelError, ["hard limits", "10"]),
    ("powerlaw(norm=-1)", ModelError, ["powerlaw_1.norm", "hard limits"]),
    ("po(1e999)", ModelError, ["not a finite real number", "overflow"]),
    ("powerlaw(PhoIndex=abc)", ModelError, ["unknown parameter 'abc'"]),
    ("po(PhoIndex=powerlaw_1.PhoIndex)", ModelError, ["cycle"]),
    ("atable{}", ModelSyntaxError, ["atable{file}"]),
    ("atable{missing_table.mod}", ModelError, ["missing_table.mod", "not found"]),
    ("(" * 5000 + "po" + ")" * 5000, ModelSyntaxError, ["nest"]),
    ("po" * 50_000, ModelSyntaxError, ["characters long", "limit"]),
]


@pytest.mark.parametrize(
    ("expression", "error", "words"),
    MALFORMED,
    ids=[repr(e[:24]) + f"#{i}" for i, (e, _, _) in enumerate(MALFORMED)],
)
def test_malformed_expression_in_the_api(expression, error, words):
    with pytest.raises(error) as caught:
        specdsl.compile(expression)

    found = caught.value
    assert type(found) is error, f"{type(found).__name__}: {found}"
    for word in words:
        assert word in str(found), f"{word!r} missing from: {found}"
    assert 0 <= found.position <= max(len(expression), 1)
    assert found.caret_line == " " * found.position + "^"
    assert found.excerpt()[1] in str(found)  # the caret, under a window of a long line


@pytest.mark.parametrize("command", ["show", "fakeit"])
@pytest.mark.parametrize(
    ("expression", "error", "words"),
    [case for case in MALFORMED if 0 < len(case[0]) < 200],
    ids=[repr(e[:24]) for e, _, _ in MALFORMED if 0 < len(e) < 200],
)
def test_malformed_expression_on_the_command_line(
    tmp_path, capsys, command, expression, error, words
):
    output = tmp_path / "x.pha"
    arguments = (
        ["show", expression]
        if command == "show"
        else ["fakeit", "--model", expression, "--output", str(output)]
    )
    status = main(arguments)

    printed = capsys.readouterr().err
    flat = " ".join(printed.split())
    assert status == 2
    assert "Traceback" not in printed and "^" in printed
    for word in words:
        assert " ".join(word.split()) in flat, f"{word!r} missing from: {printed}"
    assert not output.exists()


@pytest.mark.parametrize(
    ("expression", "words"),
    [
        ("po*bb", "cannot multiply another additive"),
        ("tbabs*(po", "never closed"),
        ("powerlow", "unknown model component"),
    ],
)
def test_malformed_expression_at_the_prompt(expression, words):
    from rich.console import Console

    from specdsl.prompt import run_prompt

    screen = io.StringIO()
    status = run_prompt(
        stdin=io.StringIO(f"model {expression}\nexit\n"),
        console=Console(file=screen, width=200, color_system=None),
        interactive=False,
    )
    printed = screen.getvalue()
    assert status == 1
    assert words in printed and "^" in printed and "Traceback" not in printed


@pytest.mark.parametrize(
    "value", ["1/0", "2**1024", "0**-1", "(-8)**(1/3)", "10**1000", "-(1/0)"]
)
def test_inline_arithmetic_that_fails_is_a_model_error_with_a_caret(value):
    text = f"powerlaw(PhoIndex={value})"
    with pytest.raises(ModelError) as error:
        specdsl.compile(text)
    assert "not a finite real number" in str(error.value)
    assert f"    {text}\n" + " " * (4 + text.index(value)) + "^" in str(error.value)

    with pytest.raises(ModelError, match="not a finite real number"):
        specdsl.compile("powerlaw", links={"powerlaw_1.norm": value})


def test_failing_link_arithmetic_at_the_prompt_keeps_the_session(tmp_path):
    script = (
        "model powerlaw(PhoIndex=1/0)\nmodel po\n/*\nnewpar 2 = int(1e400)\n"
        "newpar 2 = p1/0\nshow par\n"
    )
    done = subprocess.run(
        [sys.executable, "-m", "specdsl.cli", "fakeit"],
        input=script,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=300,
    )
    assert "Traceback" not in done.stdout + done.stderr
    assert "not a finite real number" in done.stdout
    assert done.stdout.count("gives a value that is not finite") == 2
    assert "specdsl> show par" in done.stdout


@pytest.mark.parametrize(
    ("edges", "words"),
    [
        ([1.0, np.nan], "energies[1] = nan"),
        ([-1.0, 1.0], "energies[0] = -1:"),
        ([2.0, 1.0], "energies must rise: energies[0] = 2"),
        ([1.0, 1.0, 2.0], "energies must rise"),
        ([[1.0, 2.0]], "1-D array"),
        ([1.0], "at least 2 bin edges"),
        (["a", "b"], "must be numbers"),
    ],
)
def test_bad_energy_grids_are_refused(edges, words):
    with pytest.raises(ParameterError) as error:
        specdsl.compile("powerlaw")(edges, {})
    assert words in str(error.value)


@pytest.mark.parametrize(
    ("keywords", "words"),
    [
        ({"seed": 1.5}, "seed must be an integer >= 0, got 1.5"),
        ({"seed": "a"}, "seed must be an integer"),
        ({"seed": None}, "seed must be an integer"),
        ({"seed": -3}, "seed must be an integer >= 0"),
        ({"batch_size": 1.5}, "batch_size must be an integer >= 1"),
        ({"batch_size": 0}, "batch_size must be an integer >= 1"),
        ({"exposure": np.nan}, "exposure must be finite and > 0 s, got nan"),
        ({"exposure": -1.0}, "exposure must be finite and > 0 s"),
        ({"exposure": "10"}, "exposure must be a number of seconds, got '10'"),
    ],
)
def test_fakeit_argument_mistakes_are_named(keywords, words):
    observation = Observation.default(exposure=100.0)
    with pytest.raises(ParameterError) as error:
        specdsl.fakeit(observation, "powerlaw", {}, **keywords)
    assert words in str(error.value)


def test_counts_too_many_for_the_sampler_name_the_exposure():
    observation = Observation.default(exposure=1e20)
    per_second = specdsl.fakeit(
        Observation.default(exposure=1.0), "powerlaw", {}, counting_statistics=False
    )
    first_over = int(np.flatnonzero(per_second * 1e20 > 2.0**31)[0])
    with pytest.raises(ParameterError) as error:
        specdsl.fakeit(observation, "powerlaw", {})

    assert "< 2^31. Check the exposure and the parameter values" in str(error.value)
    assert observation.first_channel == 1  # channels count from 1, columns from 0
    assert f"counts in channel {first_over + 1} of spectrum 1" in str(error.value)


def test_counts_too_many_name_the_channel_by_its_number(shared_data):
    """Swift XRT counts its channels from 0 (TLMIN1 = 0)."""
    folder = shared_data / "swift-xrt-pc"

    def observation(exposure):
        return Observation.from_pha(
            folder / "target_sr.pha",
            rmf=folder / "swxpc0to12s6_20130101v014.rmf.gz",
            exposure=exposure,
        )

    values = {"powerlaw_1.PhoIndex": [1.0, 1.0], "powerlaw_1.norm": [1e-30, 1.0]}
    per_second = specdsl.fakeit(
        observation(1.0), "powerlaw", values, counting_statistics=False
    )
    first_over = int(np.flatnonzero(per_second[1] * 1e20 > 2.0**31)[0])
    with pytest.raises(ParameterError) as error:
        specdsl.fakeit(observation(1e20), "powerlaw", values)

    assert observation(1.0).first_channel == 0
    assert f"counts in channel {first_over} of spectrum 2 (index 1)" in str(error.value)
