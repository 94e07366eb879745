"""The examples folder keeps working: the tutorial writes its PNG."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def test_tutorial_example_writes_a_png(tmp_path, pn_dir):
    output = tmp_path / "tutorial.png"

    result = subprocess.run(
        [
            sys.executable,
            str(EXAMPLES / "tutorial_fakeit.py"),
            str(pn_dir / "PN_spectrum_grp20.fits"),
            str(output),
        ],
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert "10 spectra of 114 groups" in result.stdout
    assert output.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert output.stat().st_size > 10_000


def run_copied_tutorial(folder: Path, shared_data: Path) -> subprocess.CompletedProcess:
    """The tutorial copied away from the clone, with SPECDSL_SHARED_DATA set."""
    script = folder / "tutorial_fakeit.py"
    shutil.copy(EXAMPLES / "tutorial_fakeit.py", script)
    return subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        check=False,
        cwd=folder,
        env={**os.environ, "SPECDSL_SHARED_DATA": str(shared_data)},
    )


def test_tutorial_reads_the_data_from_specdsl_shared_data(tmp_path, shared_data):
    result = run_copied_tutorial(tmp_path, shared_data)

    assert result.returncode == 0, result.stderr
    assert (tmp_path / "tutorial_fakeit.png").stat().st_size > 10_000


def test_tutorial_without_its_data_says_where_it_looked(tmp_path):
    result = run_copied_tutorial(tmp_path, tmp_path / "nowhere")

    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert str(tmp_path / "nowhere" / "xmm-pn-ngc7793-ulx4") in result.stderr
    assert "SPECDSL_SHARED_DATA" in result.stderr
