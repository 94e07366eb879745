"""The command line: the README's main job, the real-data job, show, and its errors."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from specdsl.cli import main
from specdsl.response.observation import DIAGONAL_LABEL

SEED_MODEL = "tbabs*(powerlaw+bbodyrad)"
TUTORIAL_PARAMS = [
    "--param",
    "tbabs_1.nH=uniform(0.1,0.4)",
    "--param",
    "powerlaw_1.PhoIndex=uniform(1,3)",
    "--param",
    "powerlaw_1.norm=exponential(0.316)",
    "--param",
    "bbodyrad_1.kT=uniform(0.1,3)",
    "--param",
    "bbodyrad_1.norm=exponential(0.001)",
]


def test_main_job_on_the_default_response(tmp_path):
    output = tmp_path / "fake.pha"

    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "specdsl.cli",
            "fakeit",
            "--model",
            SEED_MODEL,
            "--count",
            "1000",
            "--output",
            str(output),
        ],
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert "wrote 1000 spectra" in result.stdout
    with fits.open(output) as hdus:
        spectrum = hdus["SPECTRUM"]
        assert spectrum.header["HDUCLAS4"] == "TYPE:II"
        assert spectrum.data["COUNTS"].shape == (1000, 1024)
        assert spectrum.header["FKSRC001"] == SEED_MODEL
        assert "specdsl abund wilm, xsect vern" in str(spectrum.header["HISTORY"])


def test_real_data_job_writes_10000_pn_spectra(tmp_path, near_data):
    pn_dir = near_data / "xmm-pn-ngc7793-ulx4"
    output = tmp_path / "fake.pha"

    status = main(
        [
            "fakeit",
            str(pn_dir / "PN_spectrum_grp20.fits"),
            "--model",
            SEED_MODEL,
            "--count",
            "10000",
            *TUTORIAL_PARAMS,
            "--seed",
            "42",
            "--output",
            str(output),
        ]
    )

    assert status == 0
    with fits.open(output) as hdus:
        spectrum = hdus["SPECTRUM"]
        counts = spectrum.data["COUNTS"]
        assert counts.shape == (10000, 4096)
        assert spectrum.header["EXPOSURE"] == pytest.approx(20265.98058616)
        # Links are written as seen from the output's folder.
        for key, name in (("RESPFILE", "PN.rmf"), ("ANCRFILE", "PN.arf")):
            assert spectrum.header[key] == f"data/xmm-pn-ngc7793-ulx4/{name}"
        index = spectrum.data["powerlaw_1.PhoIndex"]
        assert index.min() >= 1 and index.max() <= 3 and index.std() > 0.4


def test_same_seed_same_file_contents(tmp_path):
    runs = []
    for name in ("a.pha", "b.pha"):
        main(
            [
                "fakeit",
                "--model",
                "powerlaw",
                "--count",
                "5",
                "--seed",
                "9",
                "--param",
                "powerlaw_1.norm=uniform(1,2)",
                "--output",
                str(tmp_path / name),
            ]
        )
        with fits.open(tmp_path / name) as hdus:
            runs.append(np.array(hdus["SPECTRUM"].data["COUNTS"]))

    np.testing.assert_array_equal(*runs)


def test_one_spectrum_is_type_one_with_expected_counts(tmp_path):
    output = tmp_path / "one.pha"

    status = main(
        [
            "fakeit",
            "--model",
            "powerlaw",
            "--no-counting-statistics",
            "--exposure",
            "500",
            "--output",
            str(output),
        ]
    )

    assert status == 0
    with fits.open(output) as hdus:
        spectrum = hdus["SPECTRUM"]
        assert spectrum.header["HDUCLAS4"] == "TYPE:I"
        assert spectrum.header["POISSERR"] is False
        assert spectrum.header["EXPOSURE"] == 500
        assert spectrum.data["COUNTS"].dtype.kind == "f"


LINKED = "powerlaw(PhoIndex=1.5)+powerlaw(PhoIndex=powerlaw_1.PhoIndex+0.5)"


def test_linked_parameters_are_recorded_with_the_values_the_link_gave(tmp_path):
    draw = ["--param", "powerlaw_1.PhoIndex=uniform(1,2)", "--count", "3"]
    for name in ("linked.pha", "linked.npy"):
        assert main(["fakeit", "-m", LINKED, *draw, "-o", str(tmp_path / name)]) == 0
    assert main(["fakeit", "-m", LINKED, "-o", str(tmp_path / "one.pha")]) == 0

    with fits.open(tmp_path / "linked.pha") as hdus:
        columns = hdus["SPECTRUM"].data
        first, second = columns["powerlaw_1.PhoIndex"], columns["powerlaw_2.PhoIndex"]
    assert np.all((first > 1) & (first < 2)) and np.ptp(first) > 0
    np.testing.assert_allclose(second, first + 0.5, rtol=1e-15)
    with np.load(tmp_path / "linked.params.npz") as params:
        np.testing.assert_array_equal(params["powerlaw_2.PhoIndex"], second)
    with fits.open(tmp_path / "one.pha") as hdus:
        history = str(hdus["SPECTRUM"].header["HISTORY"])
    assert "specdsl parameter powerlaw_2.PhoIndex = 2.0" in history


def test_existing_output_needs_clobber(tmp_path, capsys):
    output = tmp_path / "fake.pha"
    output.write_text("precious")

    status = main(["fakeit", "--model", "powerlaw", "--output", str(output)])

    assert status == 2
    assert output.read_text() == "precious"
    assert "--clobber" in capsys.readouterr().err
    assert (
        main(["fakeit", "--model", "powerlaw", "--output", str(output), "--clobber"])
        == 0
    )
    assert fits.getheader(output, "SPECTRUM")["HDUCLAS1"] == "SPECTRUM"


@pytest.mark.parametrize(
    "arguments, words",
    [
        (
            ["--model", "tbabs*(powrlaw+bbodyrad)"],
            ["unknown model component", "^", "powerlaw"],
        ),
        (["--model", "powerlaw*bbodyrad"], ["cannot multiply another additive"]),
        (
            ["--model", "powerlaw", "--param", "powerlaw_1.Gamma=1"],
            ["powerlaw_1.PhoIndex"],
        ),
        (
            ["--model", "powerlaw", "--param", "powerlaw_1.norm=gauss(1,2)"],
            ["cannot read", "uniform(low, high)"],
        ),
        (["--model", "powerlaw", "--param", "powerlaw_1.norm"], ["NAME=VALUE"]),
        (
            ["--model", "powerlaw", "--param", "powerlaw_1.norm=exponential(-1)"],
            ["scale must be > 0"],
        ),
        (
            ["--model", "powerlaw", "--param", "powerlaw_1.norm=uniform(3,1)"],
            ["low must be below high"],
        ),
        (
            ["--model", "powerlaw", "--param", "powerlaw_1.norm=loguniform(0,1)"],
            ["0 < low < high"],
        ),
        (
            ["--model", "powerlaw", "--param", "powerlaw_1.norm=normal(1,-2)"],
            ["width must be > 0"],
        ),
        (
            ["--model", "powerlaw", "--param", "powerlaw_1.norm=uniform(1,inf)"],
            ["must be finite"],
        ),
        (["--model", "powerlaw", "--exposure", "-5"], ["--exposure must be > 0"]),
        (["--model", "powerlaw", "--count", "0"], ["--count must be at least 1"]),
        (["missing.pha", "--model", "powerlaw"], ["missing.pha"]),
    ],
)
def test_errors_are_one_panel_without_traceback(tmp_path, capsys, arguments, words):
    status = main(["fakeit", *arguments, "--output", str(tmp_path / "x.pha")])

    error = capsys.readouterr().err
    assert status == 2
    assert "Traceback" not in error
    for word in words:
        assert word in error
    assert not (tmp_path / "x.pha").exists()


def test_show_prints_the_parameter_table(capsys):
    assert main(["show", SEED_MODEL, "--source"]) == 0

    printed = capsys.readouterr().out
    for word in (
        "tbabs_1",
        "nH",
        "10^22",
        "powerlaw_1",
        "PhoIndex",
        "bbodyrad_1",
        "kT",
        "keV",
        "def model(params, edges, constants):",
    ):
        assert word in printed
    assert "1e+24" in printed


def test_device_files_are_never_replaced(tmp_path, capsys):
    status = main(
        ["fakeit", "--model", "powerlaw", "--output", "/dev/null", "--clobber"]
    )

    assert status == 2
    assert "not a regular file" in capsys.readouterr().err
    assert not Path("/dev/null").is_file()


def test_sigterm_leaves_no_temporary_file(tmp_path):
    import signal
    import time

    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "specdsl.cli",
            "fakeit",
            "--model",
            SEED_MODEL,
            "--count",
            "200000",
            "--output",
            str(tmp_path / "big.pha"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 120
    while not any(tmp_path.iterdir()) and process.poll() is None:
        assert time.monotonic() < deadline, "no file was ever started"
        time.sleep(0.05)
    assert process.poll() is None, "the run ended before a file was being written"
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=60)

    assert process.returncode != 0
    assert list(tmp_path.iterdir()) == []


CY15 = "chandra-acis-cy15-fakeit"


@pytest.mark.parametrize(
    "inputs",
    [["{cy15}/aciss.fak"], ["--arf", "{cy15}/aciss_aimpt_cy15.arf"]],
    ids=["spectrum", "arf"],
)
def test_a_diagonal_fake_names_the_diagonal_response(tmp_path, near_data, inputs):
    cy15 = near_data / CY15
    output = tmp_path / "d.pha"
    inputs = [item.format(cy15=cy15) for item in inputs]

    status = main(
        ["fakeit", *inputs, "--model", "po", "--rmf", "diagonal", "-o", str(output)]
    )

    assert status == 0
    header = fits.getheader(output, "SPECTRUM")
    assert header["FKRSP001"] == DIAGONAL_LABEL
    assert header["RESPFILE"] == "none"  # no file to link: OGIP's word for it
    assert header["FKARF001"] == "aciss_aimpt_cy15.arf"


@pytest.mark.parametrize(
    "arguments",
    [["compile", SEED_MODEL, "--json"], ["show", SEED_MODEL, "--source"]],
    ids=["compile", "show"],
)
def test_a_closed_pipe_ends_quietly(arguments):
    import os

    read, write = os.pipe()
    os.close(read)  # the reader is gone before anything is written, as `| true`
    try:
        result = subprocess.run(
            [sys.executable, "-m", "specdsl.cli", *arguments],
            stdout=write,
            stderr=subprocess.PIPE,
            text=True,
            check=False,
            timeout=120,
        )
    finally:
        os.close(write)

    assert result.returncode == 1
    assert result.stderr == ""
