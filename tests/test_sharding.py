"""Batches sharded over 8 host CPU devices give the same spectra as one device.

JAX fixes the number of CPU devices when it starts, so the 8-device runs happen
in a subprocess (XLA_FLAGS=--xla_force_host_platform_device_count=8).
"""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np

import specdsl

MODEL = "tbabs*(powerlaw+bbodyrad)"
COUNT = 700

SCRIPT = textwrap.dedent(
    """
    import json, sys
    import jax, numpy as np
    import specdsl
    from specdsl.fold import FoldedModel

    out, count = sys.argv[1], int(sys.argv[2])
    rng = np.random.default_rng(0)
    values = {
        "tbabs_1.nH": rng.uniform(0.1, 0.4, count),
        "powerlaw_1.PhoIndex": rng.uniform(1, 3, count),
        "powerlaw_1.norm": rng.uniform(0.1, 1.0, count),
        "bbodyrad_1.kT": rng.uniform(0.1, 3.0, count),
        "bbodyrad_1.norm": rng.exponential(10**3, count),
    }
    observation = specdsl.Observation.default()
    model = specdsl.compile("tbabs*(powerlaw+bbodyrad)")
    devices = jax.local_devices()
    results = {}
    for n in (8, 3, 1):
        counts = specdsl.fakeit(
            observation, model, values, seed=4, devices=devices[:n], batch_size=300
        )
        np.save(f"{out}/counts_{n}.npy", counts)
    fold = FoldedModel(model, observation, devices=devices)
    sharding = fold.batch_sharding
    json.dump(
        {
            "devices": len(devices),
            "mesh_axis": list(sharding.mesh.axis_names),
            "spec": str(sharding.spec),
            "window": fold.window,
        },
        open(f"{out}/info.json", "w"),
    )
    """
)


def test_eight_host_devices_give_the_same_spectra_as_one(tmp_path):
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=8")
    env["SPECDSL_THREADS"] = "2"
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path), str(COUNT)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr

    info = json.loads((tmp_path / "info.json").read_text())
    assert info["devices"] == 8
    assert info["mesh_axis"] == ["spectra"]
    assert info["window"] == 8 * 256

    rng = np.random.default_rng(0)
    values = {
        "tbabs_1.nH": rng.uniform(0.1, 0.4, COUNT),
        "powerlaw_1.PhoIndex": rng.uniform(1, 3, COUNT),
        "powerlaw_1.norm": rng.uniform(0.1, 1.0, COUNT),
        "bbodyrad_1.kT": rng.uniform(0.1, 3.0, COUNT),
        "bbodyrad_1.norm": rng.exponential(10**3, COUNT),
    }
    here = specdsl.fakeit(
        specdsl.Observation.default(), specdsl.compile(MODEL), values, seed=4
    )
    assert here.sum() > 0
    for n in (8, 3, 1):
        np.testing.assert_array_equal(np.load(tmp_path / f"counts_{n}.npy"), here)
