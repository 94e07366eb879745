"""One JAX CPU device per core: set before JAX starts, left alone after."""

import os
import subprocess
import sys

import pytest


def _run(code: str, **environment) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("XLA_FLAGS",)}
    env.pop("JAX_NUM_CPU_DEVICES", None)
    env.update(environment)
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


def test_devices_are_set_before_jax_starts():
    out = _run(
        "from specdsl.runtime.devices import use_cpu_cores\n"
        "n = use_cpu_cores(3)\n"
        "import jax\n"
        "print(n, len(jax.local_devices()))\n"
    )
    assert out == ["3", "3"]


def test_too_late_changes_nothing():
    out = _run(
        "import jax.numpy as jnp\n"
        "jnp.zeros(1).block_until_ready()\n"
        "from specdsl.runtime.devices import use_cpu_cores\n"
        "import jax\n"
        "print(use_cpu_cores(3), len(jax.local_devices()))\n"
    )
    assert out == ["0", "1"]


def test_xla_flags_win():
    out = _run(
        "from specdsl.runtime.devices import use_cpu_cores\n"
        "n = use_cpu_cores(3)\n"
        "import jax\n"
        "print(n, len(jax.local_devices()))\n",
        XLA_FLAGS="--xla_force_host_platform_device_count=2",
    )
    assert out == ["0", "2"]


def test_bad_count_is_refused():
    from specdsl.runtime.devices import use_cpu_cores

    with pytest.raises(ValueError, match="device count must be >= 1"):
        use_cpu_cores(0)
