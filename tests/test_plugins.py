"""User components: the decorator, and a plugin package found by its entry point."""

import os
import subprocess
import sys
from pathlib import Path

import jax.numpy as jnp
import numpy as np
from astropy.io import fits

import specdsl
from specdsl.library.registry import LIBRARY

PLUGIN_PATH = Path(__file__).resolve().parent / "plugin"


def test_decorated_component_is_first_class():
    @specdsl.component("tstline", "additive", [("Energy", 1.0)])
    def tstline(edges, constants, Energy):
        return ((edges[:-1] < Energy) & (Energy <= edges[1:])).astype(float)

    try:
        model = specdsl.compile("tbabs*(tstl(Energy=2.0, norm=3) + powerlaw)")
        edges = np.array([1.0, 1.5, 2.5, 4.0])
        flux = np.asarray(model(edges, {"tbabs_1.nH": 0.0, "powerlaw_1.norm": 0.0}))

        np.testing.assert_allclose(flux, [0.0, 3.0, 0.0])
        assert model.parameter_names[1:4] == [
            "tstline_1.Energy",
            "tstline_1.norm",
            "powerlaw_1.PhoIndex",
        ]
        assert (
            specdsl.to_string(model.tree)
            == "tbabs*(tstl(Energy=2.0, norm=3.0)+powerlaw)"
        )
    finally:
        LIBRARY.unregister("tstline")


def test_plugin_package_works_through_the_command_line(tmp_path):
    output = tmp_path / "plugin.pha"
    environment = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(
            [str(PLUGIN_PATH), os.environ.get("PYTHONPATH", "")]
        ),
    }

    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "specdsl.cli",
            "fakeit",
            "--model",
            "tbabs*flatspec",
            "--param",
            "flatspec_1.level=3",
            "--count",
            "2",
            "--output",
            str(output),
        ],
        capture_output=True,
        text=True,
        env=environment,
        check=False,
    )
    shown = subprocess.run(
        [sys.executable, "-m", "specdsl.cli", "show", "flats"],
        capture_output=True,
        text=True,
        env=environment,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert fits.getdata(output, "SPECTRUM")["COUNTS"].shape == (2, 1024)
    assert fits.getdata(output, "SPECTRUM")["flatspec_1.level"].tolist() == [3.0, 3.0]
    assert shown.returncode == 0, shown.stderr
    assert "flatspec_1" in shown.stdout and "level" in shown.stdout


def test_plugin_kernel_is_plain_jax():
    sys.path.insert(0, str(PLUGIN_PATH))
    try:
        from specdsl_test_plugin import flatspec
    finally:
        sys.path.remove(str(PLUGIN_PATH))

    assert float(flatspec.kernel(jnp.array([1.0, 3.0]), None, 2.0)[0]) == 4.0
