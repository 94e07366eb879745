"""The examples folder keeps working: the tutorial writes its PNG."""

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
