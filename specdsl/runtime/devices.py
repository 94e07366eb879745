"""One JAX CPU device per core, so that a job on a CPU-only machine uses every core.

XLA runs an element-wise model evaluation on one thread per device; spectra are
sharded over the local devices, so on a CPU the job needs one device per core.
JAX fixes its CPU device count when its first operation runs: this must be
called before that (the command line does it first thing; in Python, call it
right after ``import specdsl``, as with ``numpyro.set_host_device_count``).
Results do not depend on the device count (see ``specdsl.fold``).
"""

from __future__ import annotations

import logging
import os

log = logging.getLogger(__name__)

_XLA_FLAG = "xla_force_host_platform_device_count"


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity where the OS says)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def use_cpu_cores(count: int | None = None) -> int:
    """Ask JAX for ``count`` CPU devices (default: one per core); the count set.

    Returns 0, changing nothing, when the device count is already decided: JAX
    has started, or XLA_FLAGS or JAX_NUM_CPU_DEVICES says it.
    """
    count = available_cores() if count is None else int(count)
    if count < 1:
        raise ValueError(f"the CPU device count must be >= 1, got {count}")
    if _XLA_FLAG in os.environ.get("XLA_FLAGS", ""):
        return 0
    if os.environ.get("JAX_NUM_CPU_DEVICES"):
        return 0

    import jax

    try:
        jax.config.update("jax_num_cpu_devices", count)
    except (RuntimeError, AttributeError):  # started already, or an older JAX
        log.debug("JAX has started: its CPU device count stays as it is")
        return 0
    return count
