"""Bad and awkward input on the command line (issue 6): what ``specdsl fakeit``
refuses, in which order, in which words, and what it writes when it goes on.

Files are copied from ../shared/data into tmp_path before they are edited. The
XMM-RGS set has no response matrix, so its test folds through a small
RGS-shaped RMF made here (3600 channels, each energy bin spread over 10).
"""

from __future__ import annotations

import ast
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

import specdsl
from specdsl.cli import cli_spelling, main
from specdsl.errors import OGIPError
from specdsl.response import Observation, read_pha

RGS = ("xmm-rgs1-no-rsp", "P0112880201R1S004SBSPEC1003.FTZ")
ACIS = ("3c273.pi", "3c273.rmf", "3c273.arf")


def fakeit(capsys, *arguments) -> tuple[int, str]:
    """Run ``specdsl fakeit`` in this process: its status and what went to stderr,
    with the error panel's frame removed and its wrapped lines joined."""
    status = main(["fakeit", *map(str, arguments)])
    err = capsys.readouterr().err
    if "╭" not in err:
        return status, err
    return status, " ".join(re.sub(r"[╭╮╰╯│─]", " ", err).split())


def fake_acis(capsys, folder, *options) -> tuple[int, str]:
    """``specdsl fakeit 3c273.pi -m powerlaw -o fake.pha [options]`` in `folder`."""
    return fakeit(
        capsys,
        folder / "3c273.pi",
        "-m",
        "powerlaw",
        "-o",
        folder / "fake.pha",
        *options,
    )


@pytest.fixture
def acis(shared_data, tmp_path):
    """The 3C 273 spectrum, RMF and ARF (no background file) in tmp_path."""
    for name in ACIS:
        shutil.copy(shared_data / "chandra-acis-3c273" / name, tmp_path / name)
    return tmp_path


def write_rgs_like_rmf(path: Path, n_channels: int = 3600, spread: int = 10) -> Path:
    """A redistribution-only RMF on RGS's channels 1..3600, 360 energy bins."""
    n_energy = n_channels // spread
    edges = np.geomspace(0.35, 2.5, n_energy + 1)
    fine = np.concatenate(
        [
            np.linspace(lo, hi, spread + 1)[:-1]
            for lo, hi in zip(edges[:-1], edges[1:], strict=True)
        ]
        + [edges[-1:]]
    )
    matrix = fits.BinTableHDU.from_columns(
        [
            fits.Column("ENERG_LO", "E", array=edges[:-1]),
            fits.Column("ENERG_HI", "E", array=edges[1:]),
            fits.Column("N_GRP", "I", array=np.ones(n_energy)),
            fits.Column("F_CHAN", "J", array=1 + spread * np.arange(n_energy)),
            fits.Column("N_CHAN", "J", array=np.full(n_energy, spread)),
            fits.Column(
                "MATRIX", f"{spread}E", array=np.full((n_energy, spread), 1 / spread)
            ),
        ],
        name="MATRIX",
    )
    ebounds = fits.BinTableHDU.from_columns(
        [
            fits.Column("CHANNEL", "J", array=np.arange(1, n_channels + 1)),
            fits.Column("E_MIN", "E", array=fine[:-1]),
            fits.Column("E_MAX", "E", array=fine[1:]),
        ],
        name="EBOUNDS",
    )
    common = {"HDUCLASS": "OGIP", "HDUCLAS1": "RESPONSE", "DETCHANS": n_channels}
    matrix.header.update(common, HDUCLAS2="RSP_MATRIX", HDUCLAS3="REDIST", TLMIN4=1)
    ebounds.header.update(common, HDUCLAS2="EBOUNDS")
    fits.HDUList([fits.PrimaryHDU(), matrix, ebounds]).writeto(path)
    return path


# ----------------------------------------- 1. per-channel BACKSCAL / AREASCAL


@pytest.mark.parametrize("count", [1, 3])
def test_rgs_per_channel_scales_survive_a_cli_fake(shared_data, tmp_path, count):
    spectrum = shared_data.joinpath(*RGS)
    rmf = write_rgs_like_rmf(tmp_path / "rgs.rmf")
    output = tmp_path / "rgs.fak"

    status = main(
        ["fakeit", str(spectrum), "--rmf", str(rmf), "--model", "powerlaw"]
        + ["--count", str(count), "--output", str(output)]
    )

    assert status == 0
    with fits.open(spectrum) as source, fits.open(output) as written:
        written.verify("exception")
        table = written["SPECTRUM"]
        for name in ("BACKSCAL", "AREASCAL"):
            original = np.asarray(source["SPECTRUM"].data[name], dtype=np.float64)
            assert np.ptp(original) > 0  # really per channel
            assert name not in table.header  # a column, so no keyword
            values = np.asarray(table.data[name])
            assert values.shape == ((3600,) if count == 1 else (count, 3600))
            np.testing.assert_array_equal(
                values, np.broadcast_to(original, values.shape)
            )
    back = read_pha(output, row=None if count == 1 else count)
    np.testing.assert_array_equal(back.backscal, source_column(spectrum, "BACKSCAL"))


def source_column(path, name):
    with fits.open(path) as hdul:
        return np.asarray(hdul["SPECTRUM"].data[name], dtype=np.float64)


def test_grouped_fake_averages_per_channel_backscal_over_groups(shared_data, tmp_path):
    spectrum = shared_data.joinpath(*RGS)
    rmf = write_rgs_like_rmf(tmp_path / "rgs.rmf")
    output = tmp_path / "grouped.fak"

    status = main(
        ["fakeit", str(spectrum), "--rmf", str(rmf), "--model", "powerlaw"]
        + ["--grouped", "--output", str(output)]
    )

    assert status == 0
    with fits.open(spectrum) as hdul:  # no GROUPING: every good channel is a group
        good = np.asarray(hdul["SPECTRUM"].data["QUALITY"]) == 0
    written = fits.getdata(output, "SPECTRUM")
    assert len(written) == good.sum() < 3600
    np.testing.assert_array_equal(
        written["BACKSCAL"], source_column(spectrum, "BACKSCAL")[good]
    )


# --------------------------------------------------------------- 2. EXPOSURE


def test_zero_exposure_is_refused_at_setup_and_fixed_by_the_option(acis, capsys):
    fits.setval(acis / "3c273.pi", "EXPOSURE", value=0.0, ext=1)

    status, error = fake_acis(capsys, acis)

    assert status == 2 and not (acis / "fake.pha").exists()
    assert "3c273.pi [EXPOSURE]" in error and "EXPOSURE is 0 s" in error
    assert "--exposure" in error

    status, _ = fake_acis(capsys, acis, "--exposure", 750)
    assert status == 0
    assert fits.getheader(acis / "fake.pha", "SPECTRUM")["EXPOSURE"] == 750


def test_a_response_without_a_spectrum_notes_its_1_s_exposure(acis, capsys):
    rmf, output = acis / "3c273.rmf", acis / "fake.pha"

    status, error = fakeit(capsys, "-m", "powerlaw", "--rmf", rmf, "-o", output)

    assert status == 0
    assert fits.getheader(output, "SPECTRUM")["EXPOSURE"] == 1.0
    notice = [line for line in error.splitlines() if line.strip()]
    assert len(notice) == 1, error
    assert "exposure is 1 s" in notice[0] and "--exposure SECONDS" in notice[0]

    status, error = fakeit(
        capsys, "-m", "powerlaw", "--rmf", rmf, "-o", output, "--clobber",
        "--exposure", 500,
    )  # fmt: skip
    assert status == 0 and error.strip() == ""


def test_exposure_help_names_each_default(capsys):
    with pytest.raises(SystemExit):
        main(["fakeit", "--help"])
    words = " ".join(capsys.readouterr().out.split())

    for default in ("spectrum's EXPOSURE", "10 ks for the default", "1 s, as XSPEC"):
        assert default in words


def test_negative_exposure_names_the_override_in_each_front_end(acis, capsys):
    fits.setval(acis / "3c273.pi", "EXPOSURE", value=-5.0, ext=1)

    with pytest.raises(OGIPError) as caught:
        Observation.from_pha(acis / "3c273.pi")
    assert caught.value.field == "EXPOSURE"
    assert "cannot be negative" in str(caught.value)
    assert "exposure=..." in str(caught.value)  # the API's spelling

    status, error = fake_acis(capsys, acis)
    assert status == 2
    assert "--exposure SECONDS" in error and "exposure=..." not in error

    fixed = Observation.from_pha(acis / "3c273.pi", exposure=300.0, background=False)
    assert fixed.exposure == 300.0


# ---------------------------------------------------------------- 3. BACKFILE


def test_missing_backfile_warns_in_one_line_and_the_fake_goes_on(acis, capsys):
    status, error = fake_acis(capsys, acis)

    assert status == 0 and (acis / "fake.pha").exists()
    warning = [line for line in error.splitlines() if line.strip()]
    assert len(warning) == 1, error
    assert warning[0].startswith("warning: ")
    for word in ("3c273.pi", "BACKFILE", "3c273_bg.pi", "3c273_bg.pi.gz"):
        assert word in warning[0]
    assert "--no-background" in warning[0]

    status, error = fake_acis(capsys, acis, "--clobber", "--no-background")
    assert status == 0 and error.strip() == ""


def test_the_api_and_prompt_still_refuse_a_missing_backfile(acis):
    with pytest.raises(OGIPError) as caught:
        Observation.from_pha(acis / "3c273.pi")
    assert caught.value.field == "BACKFILE"
    assert "background=False" in str(caught.value)  # what the prompt catches


def test_no_background_belongs_to_model_runs(capsys):
    status, error = fakeit(capsys, "--no-background")
    assert status == 2 and "backgrnd none" in error


@pytest.mark.parametrize(
    ("options", "named"),
    [
        (["--count", 5, "--param", "1=2", "-o", "x.pha"], "--count, --param, --output"),
        (["--exposure", 100], "--exposure"),
        (["--no-counting-statistics", "--clobber"], "--no-counting-statistics"),
        (["--table", "t.csv", "--grouped"], "--table, --grouped"),
    ],
)
def test_job_options_without_a_model_are_refused(capsys, monkeypatch, options, named):
    import specdsl.prompt

    monkeypatch.setattr(specdsl.prompt, "run_prompt", lambda *a, **k: pytest.fail())
    status, error = fakeit(capsys, *options)

    assert status == 2
    assert named in error and "need --model" in error
    assert "'specdsl fakeit' alone" in error


def test_the_prompt_still_takes_a_spectrum_rmf_arf_and_seed(capsys, monkeypatch):
    import specdsl.prompt

    taken = {}
    monkeypatch.setattr(
        specdsl.prompt, "run_prompt", lambda *a, **k: taken.update(a=a, **k) or 0
    )
    status, _ = fakeit(capsys, "s.pha", "--rmf", "r.rmf", "--arf", "a", "--seed", 3)

    assert status == 0
    assert taken == {"a": ("s.pha",), "rmf": "r.rmf", "arf": "a", "seed": 3}


# ------------------------------------------------- 4. command-line spelling


def test_missing_arf_error_names_the_cli_options(acis, capsys):
    (acis / "3c273.arf").unlink()
    with pytest.raises(OGIPError) as caught:
        Observation.from_pha(acis / "3c273.pi", background=False)
    assert "arf=False" in str(caught.value)  # the Python API keeps its spelling

    status, error = fake_acis(capsys, acis)

    assert status == 2
    assert "--arf file.arf" in error and "--arf none" in error
    assert "arf=" not in error


def test_arf_none_leaves_the_ancrfile_out(acis, capsys):
    status, _ = fake_acis(capsys, acis, "--arf", "none", "--no-background")
    assert status == 0
    assert fits.getheader(acis / "fake.pha", "SPECTRUM")["ANCRFILE"] == "none"


def test_existing_output_names_clobber_as_an_option(tmp_path, capsys):
    output = tmp_path / "fake.pha"
    output.write_text("precious")

    status, error = fakeit(capsys, "-m", "powerlaw", "-o", output)

    assert status == 2 and output.read_text() == "precious"
    assert "--clobber" in error and "clobber=True" not in error


PYTHON_SPELLING = re.compile(r"\b[a-z_]+=(True|False|\.\.\.|'[^']*')")


def _message_strings(path: Path):
    """String constants of a module that are not docstrings (message parts)."""
    tree = ast.parse(path.read_text())
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef))
        and node.body
        and isinstance(node.body[0], ast.Expr)
    }
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in docstrings
        ):
            yield node.value


def test_every_python_spelled_hint_has_a_cli_spelling():
    package = Path(specdsl.__file__).parent
    found = []
    for path in sorted(package.rglob("*.py")):
        if path.name == "cli.py" or "prompt" in path.parts:
            continue  # the front ends speak their own language
        found += [
            (path.name, text)
            for text in _message_strings(path)
            if PYTHON_SPELLING.search(text)
        ]

    assert len(found) >= 8  # the scan sees the hints (rmf=, arf=, clobber= ...)
    for module, text in found:
        rewritten = cli_spelling(text)
        assert "--" in rewritten, (module, text)
        assert not PYTHON_SPELLING.search(rewritten), (module, rewritten)


def test_cli_spelling_of_the_known_hints():
    assert (
        cli_spelling("pass arf='file.arf' to give the file, or arf=False to go without")
        == "pass --arf file.arf to give the file, or --arf none to go without"
    )
    assert cli_spelling("pass rmf='file.rmf'; or rmf='diagonal'") == (
        "pass --rmf file.rmf; or --rmf diagonal"
    )
    assert "--no-background" in cli_spelling(
        "pass background='file.pha' to give the file, or background=False to go without"
    )
    assert cli_spelling("pass exposure=... to set one") == (
        "pass --exposure SECONDS to set one"
    )


# ------------------------------------------------------------- 5. --param


def test_param_by_global_index(tmp_path, capsys):
    output = tmp_path / "fake.pha"

    status, _ = fakeit(
        capsys, "-m", "tbabs*powerlaw", "-p", "2=1.7", "-p", "3=0.5", "-o", output
    )

    assert status == 0
    history = str(fits.getheader(output, "SPECTRUM")["HISTORY"])
    assert "powerlaw_1.PhoIndex = 1.7" in history
    assert "powerlaw_1.norm = 0.5" in history


@pytest.mark.parametrize(
    "first, second",
    [
        ("2=1.7", "powerlaw_1.PhoIndex=2"),
        ("powerlaw_1.norm=1", "POWERLAW_1.NORM=uniform(1,2)"),
        ("1=0.1", "1=0.2"),
    ],
)
def test_a_parameter_given_twice_is_refused_naming_both(
    tmp_path, capsys, first, second
):
    output = tmp_path / "x.pha"
    status, error = fakeit(
        capsys, "-m", "tbabs*powerlaw", "-p", first, "-p", second, "-o", output
    )

    assert status == 2 and "ParameterError" in error
    assert first in error and second in error and "give each parameter once" in error
    assert not (tmp_path / "x.pha").exists()


# ------------------------------------------------------- 6. order of checks


@pytest.mark.parametrize(
    "arguments, words",
    [
        (["-m", "tbabs*powrlaw"], ["model error", "unknown model component", "^"]),
        (["-m", "powerlaw", "-p", "Gamma=2"], ["ParameterError", "unknown parameter"]),
        (["-m", "powerlaw", "-p", "1=50"], ["ParameterError", "hard limit 10"]),
        (["-m", "powerlaw", "-p", "1=1", "-p", "1=2"], ["give each parameter once"]),
    ],
)
def test_model_and_parameters_are_checked_before_any_file_is_read(
    tmp_path, capsys, arguments, words
):
    missing = tmp_path / "missing.pha"

    rmf, output = tmp_path / "missing.rmf", tmp_path / "x.pha"
    status, error = fakeit(capsys, missing, *arguments, "--rmf", rmf, "-o", output)

    assert status == 2
    for word in words:
        assert word in error
    assert "missing.pha" not in error and "OGIPError" not in error


def test_a_job_too_big_for_the_disk_is_refused_before_it_runs(tmp_path, monkeypatch):
    from specdsl.errors import OutputError
    from specdsl.runtime.job import FakeitJob

    class Usage:
        free = 1_000_000  # 1 MB: 300 spectra of 4096 channels need ~7.4 MB

    monkeypatch.setattr(shutil, "disk_usage", lambda path: Usage)
    job = FakeitJob(expression="powerlaw", count=300, output=str(tmp_path / "b.pha"))

    with pytest.raises(OutputError, match=r"needs about 0\.0\d GB .* 0\.00 GB free"):
        job.run()
    assert "simulate" not in job.timings
    assert list(tmp_path.iterdir()) == []


def test_a_type_ii_file_without_a_row_names_the_row_suffix(shared_data, capsys):
    pha2 = shared_data / "chandra-letg-hrc-pha2" / "pha2.gz"

    status, err = fakeit(capsys, str(pha2), "--model", "powerlaw")

    assert status == 2
    assert "'pha2.gz{n}' with n from 1 to 2" in err
    assert "row=" not in err


def test_grouped_without_grouping_says_so(tmp_path, capsys):
    output = tmp_path / "g.pha"
    status, err = fakeit(capsys, "--model", "powerlaw", "--grouped", "-o", output)

    assert status == 0 and output.is_file()
    assert "no spectrum given: --grouped keeps one group per good" in err


@pytest.mark.parametrize(
    "fmt, name, hint",
    [("npy", "out.pha", "name it out.npy"), ("pha", "out.npy", "name it out.pha")],
)
def test_a_format_its_output_name_contradicts_is_refused(
    tmp_path, capsys, fmt, name, hint
):
    output = tmp_path / name
    status, err = fakeit(capsys, "-m", "powerlaw", "--format", fmt, "-o", output)

    assert status == 2 and f"--format {fmt} writes" in err and hint in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "name, count, what",
    [
        ("3c273.arf", "1", "the ARF"),
        ("3c273.pi", "3", "the spectrum"),
        ("3c273_bg.pi", "1", "the spectrum's background"),
    ],
)
def test_clobber_never_writes_over_an_input(
    acis, shared_data, capsys, name, count, what
):
    shutil.copy(shared_data / "chandra-acis-3c273" / "3c273_bg.pi", acis)
    before = (acis / name).read_bytes()
    status, err = fakeit(
        capsys, acis / "3c273.pi", "-m", "powerlaw", "-n", count,
        "-o", acis / name, "--clobber",
    )  # fmt: skip

    assert status == 2 and f"is {what} this job reads" in err
    assert (acis / name).read_bytes() == before


def test_an_empty_output_name_is_refused(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    status, err = fakeit(capsys, "-m", "powerlaw", "-o", "")

    assert status == 2 and "--output is empty" in err
    assert list(tmp_path.iterdir()) == []


def test_a_response_too_far_to_name_is_a_warning(acis, capsys):
    far = acis.joinpath(*["a_folder_with_a_long_name"] * 4)
    far.mkdir(parents=True)
    for name in ACIS:
        (acis / name).rename(far / name)
    output = acis / "out" / "fake.pha"
    output.parent.mkdir()

    status, err = fakeit(capsys, far / "3c273.pi", "-m", "powerlaw", "-o", output)

    assert status == 0, err
    assert "warning: RESPFILE names 3c273.rmf only" in err
    assert "put a copy or a link to it beside fake.pha" in err
    assert fits.getheader(output, "SPECTRUM")["RESPFILE"] == "3c273.rmf"


@pytest.mark.parametrize("link", [".", "/", "sub"])
def test_a_backfile_that_names_no_file_only_warns(tmp_path, shared_data, capsys, link):
    from astropy.io import fits

    from specdsl.cli import main

    folder = shared_data / "chandra-acis-3c273"
    (tmp_path / "sub").mkdir()
    with fits.open(folder / "3c273.pi") as hdus:
        hdus[1].header["BACKFILE"] = link
        for key in ("RESPFILE", "ANCRFILE"):
            hdus[1].header[key] = str(folder / hdus[1].header[key])
        hdus.writeto(tmp_path / "src.pi")
    output = tmp_path / "out.fak"

    status = main(["fakeit", str(tmp_path / "src.pi"), "-m", "po", "-o", str(output)])

    assert status == 0 and output.exists()
    assert "going on without a background" in capsys.readouterr().err
