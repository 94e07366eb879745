"""README stays true: its set-up commands and the component list match the code."""

import re
import subprocess
import sys
from pathlib import Path

import specdsl.library as library

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def test_readme_gives_the_two_set_up_commands():
    assert "pip install . && specdsl fakeit --model" in README
    assert 'pip install ".[test]" && python -m pytest' in README


def test_every_component_is_listed_in_the_readme():
    table = README.split("<!-- components:start -->")[1].split(
        "<!-- components:end -->"
    )[0]

    missing = [
        spec.name for spec in library.LIBRARY if f"| `{spec.name}` |" not in table
    ]

    assert not missing, f"run scripts/component_table.py; missing: {missing}"
    assert len(list(library.LIBRARY)) >= 60


def test_the_abundance_call_runs_as_written():
    call = re.search(r"`(from specdsl\.library\.settings import [^`]+)`", README)
    script = f"import specdsl\n{call.group(1)}\n" + (
        "from specdsl.library import settings\nprint(settings.abundance())\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "angr"
