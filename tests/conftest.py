"""Shared fixtures: where the real OGIP test data lives (beside the clone)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(
    os.environ.get("SPECDSL_SHARED_DATA", REPO.parent / "shared" / "data")
)


@pytest.fixture(autouse=True)
def _default_abundances_again():
    """A test that runs ``abund`` (the prompt's command changes the library's
    settings) must not change the absorption of the tests after it."""
    yield
    settings = sys.modules.get("specdsl.library.settings")
    if settings is not None:
        settings.reset()


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The folder of real mission data; tests that need it skip loudly without it."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real test data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture
def near_data(tmp_path, shared_data) -> Path:
    """``shared_data`` through a link in ``tmp_path``: short paths, so links
    written beside tmp_path fit a FITS string and messages stay on one line
    wherever the data lie."""
    link = tmp_path / "data"
    link.symlink_to(shared_data, target_is_directory=True)
    return link


@pytest.fixture(scope="session")
def pn_dir(shared_data) -> Path:
    return shared_data / "xmm-pn-ngc7793-ulx4"


def tutorial_parameters(count: int, seed: int = 0) -> dict:
    """The jaxspec fakeit tutorial's parameter distributions, ``count`` draws each."""
    rng = np.random.default_rng(seed)
    return {
        "tbabs_1.nH": rng.uniform(0.1, 0.4, count),
        "powerlaw_1.PhoIndex": rng.uniform(1, 3, count),
        "powerlaw_1.norm": rng.exponential(10**-0.5, count),
        "bbodyrad_1.kT": rng.uniform(0.1, 3.0, count),
        "bbodyrad_1.norm": rng.exponential(10**-3, count),
    }


def prompt_process(folder, script: str, env=None) -> subprocess.CompletedProcess:
    """``specdsl fakeit`` run in ``folder`` with ``script`` on its standard input."""
    return subprocess.run(
        [sys.executable, "-m", "specdsl.cli", "fakeit"],
        input=script,
        capture_output=True,
        text=True,
        cwd=folder,
        env=env,
        timeout=300,
    )
